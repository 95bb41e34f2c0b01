package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/returnto"
)

// LoginState is what a started sign-in keeps in the browser. The web layer seals it into
// the state cookie (encrypted, integrity-checked, 10 minutes) and hands it back, opened,
// to FinishLogin. Nothing of it is stored server-side.
type LoginState struct {
	State         string `json:"s"`
	Verifier      string `json:"v"`
	Org           string `json:"o"`
	IntegrationID string `json:"i"`
	ReturnTo      string `json:"r,omitempty"`
	// Test marks an admin's Test sign-in: its callback reports instead of signing in.
	Test bool `json:"t,omitempty"`
}

// LoginStart is the outcome of StartLogin.
type LoginStart struct {
	// AuthURL is GitLab's /oauth/authorize URL to redirect the browser to.
	AuthURL string
	// State goes into the state cookie.
	State LoginState
}

// Sign-in failures that the pages tell apart (compare with errors.Is). Their messages
// are the whole story for the user; the cause is logged by the service.
var (
	ErrLoginExpired = forgelink.Errorf(forgelink.EEXPIRED,
		"A sign-in must be finished within 10 minutes in the same browser. This one took longer, or it came back to another browser than the one it was started in. Press Start again to begin a new sign-in.")
	ErrLoginCancelled = forgelink.Errorf(forgelink.EDENIED,
		"You cancelled the sign-in at GitLab, so you were not signed in.")
	ErrAccountNotActive = forgelink.Errorf(forgelink.EDENIED,
		"Your GitLab account is not active (it may be blocked or deactivated), so it cannot be used to sign in. Ask your GitLab administrator.")
)

// SignIn runs the OAuth sign-in through GitLab: it starts one (login function) and
// finishes it (callback function).
type SignIn struct{ *base }

// NewSignIn returns the SignIn noun over d (it needs Store, Secrets and GitLab).
func NewSignIn(d Deps) *SignIn { return &SignIn{newBase(d)} }

// maxReturnTo bounds return_to: it travels in the state cookie (browsers keep ~4 KiB).
const maxReturnTo = 1024

// OrgHomePath is where a sign-in lands without return_to.
func OrgHomePath(org string) string { return "/orgs/" + org }

// StartLogin begins a sign-in through integration id of org: it checks the integration
// (ENOTFOUND: unknown org or integration; EPENDING: not active), draws a random state and
// PKCE verifier and returns GitLab's authorize URL with the state to seal into the cookie.
// rawReturnTo is cleaned (same-origin absolute path only); an invalid one is ignored.
// It writes nothing and reads at most the integration item (through the cache).
func (s *SignIn) StartLogin(ctx context.Context, base, org, id, rawReturnTo string) (LoginStart, error) {
	in, err := s.signInIntegration(ctx, org, id, false)
	if err != nil {
		return LoginStart{}, err
	}
	return s.start(ctx, base, in, LoginState{ReturnTo: CleanReturnTo(org, rawReturnTo)})
}

// start draws the state and PKCE verifier of a sign-in through in and builds GitLab's
// authorize URL. It asks for read_user alone, or read_user and api when a rule of in
// needs group memberships (DESIGN.md: ask for no more than sign-in needs).
func (s *SignIn) start(ctx context.Context, base string, in forgelink.Integration, st LoginState) (LoginStart, error) {
	rules, err := s.adminRules(ctx, in.Org, false)
	if err != nil {
		return LoginStart{}, err
	}
	scopes := []string{scopeReadUser}
	if NeedsGroups(in, rules) {
		scopes = append(scopes, scopeAPI)
	}
	st.State, st.Verifier = randomState(32), randomState(32)
	st.Org, st.IntegrationID = in.Org, in.ID
	url := s.gitlab.AuthCodeURLScopes(in, CallbackURL(base, in.Org, in.ID), st.State, st.Verifier, scopes)
	return LoginStart{AuthURL: url, State: st}, nil
}

// The scopes sign-in asks GitLab for: read_user for /api/v4/user, api for the group
// memberships that rules need (GitLab has no narrower scope for them).
const (
	scopeReadUser = "read_user"
	scopeAPI      = "api"
)

// CleanReturnTo returns raw when it is a same-origin absolute path, else the org home.
func CleanReturnTo(org, raw string) string {
	if raw == "" || len(raw) > maxReturnTo {
		return OrgHomePath(org)
	}
	if clean, ok := returnto.Clean(raw); ok {
		return clean
	}
	return OrgHomePath(org)
}

// Integration returns integration id of org if people can sign in through it (the login
// page), through the cache: ENOTFOUND, or EPENDING when it is not active.
func (s *SignIn) Integration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	return s.signInIntegration(ctx, org, id, false)
}

// signInIntegration returns integration id of org if people can sign in through it.
// fresh skips the cache (the callback, which grants sessions, always reads fresh).
func (s *base) signInIntegration(ctx context.Context, org, id string, fresh bool) (forgelink.Integration, error) {
	if org == "" || id == "" || len(org) > 64 || len(id) > 64 {
		return forgelink.Integration{}, errBadLoginLink
	}
	get := s.cachedIntegration
	if fresh {
		get = s.freshIntegration
	}
	in, err := get(ctx, org, id)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		// Whether the org exists decides only where the page points (its home, or
		// nowhere): a path's unknown org is never echoed back.
		if _, oerr := s.store.GetOrg(ctx, org); forgelink.ErrorCode(oerr) == forgelink.ENOTFOUND {
			return forgelink.Integration{}, &forgelink.Error{Code: forgelink.ENOTFOUND, Message: errBadLoginLink.Message, Err: ErrUnknownOrg}
		}
		return forgelink.Integration{}, forgelink.Wrap(forgelink.ENOTFOUND, err, "%s", errBadLoginLink.Message)
	} else if err != nil {
		return forgelink.Integration{}, err
	}
	switch in.Status {
	case forgelink.StatusActive:
		return in, nil
	case forgelink.StatusDisabled:
		return forgelink.Integration{}, forgelink.Errorf(forgelink.EPENDING,
			"Sign-in through %s is turned off. Ask your organization admin.", signInName(in))
	default:
		return forgelink.Integration{}, forgelink.Errorf(forgelink.EPENDING,
			"Sign-in through %s is not set up yet. Ask your organization admin to finish setting it up.", signInName(in))
	}
}

// ErrUnknownOrg marks a login link or callback whose org does not exist.
var ErrUnknownOrg = forgelink.Errorf(forgelink.ENOTFOUND, "There is no such organization.")

var errBadLoginLink = forgelink.Errorf(forgelink.ENOTFOUND,
	"This login link is not valid: the organization or its sign-in method does not exist (any more). Ask your organization admin for the current link.")

func signInName(in forgelink.Integration) string {
	if in.Name != "" {
		return in.Name
	}
	return in.Host()
}

// LoginCallback is what arrived at the callback: the path, GitLab's query parameters and
// the opened state cookie (zero when missing or not openable).
type LoginCallback struct {
	Base          string
	Org           string
	IntegrationID string
	// Code, State and Error are GitLab's query parameters (error_description is not
	// shown: it is free text anyone can put into a link).
	Code  string
	State string
	Error string
	// Cookie is the opened state cookie; the zero value means none or expired.
	Cookie LoginState
	// PreviousSessionID is the member session id the browser presented, if any; it is
	// ended at sign-in (rotation).
	PreviousSessionID string
}

// SignedIn is the outcome of a finished sign-in.
type SignedIn struct {
	// SessionID goes into the session cookie; only its hash is stored. Empty for a test.
	SessionID string
	Session   forgelink.Session
	// ReturnTo is where to send the browser: a same-origin path.
	ReturnTo string
	// Test is the report of a Test sign-in (no session was made), nil for a real one.
	Test *TestOutcome
}

// defaultGitLabBudget bounds the whole exchange with GitLab at the callback (DESIGN.md:
// GitLab down or slow, timeout ≤ 10 s).
const defaultGitLabBudget = 10 * time.Second

// ErrSetupProblem marks a sign-in that failed because the GitLab application is set up
// wrongly: only an admin can fix it.
var ErrSetupProblem = forgelink.Errorf(forgelink.EMALFORMED, "The GitLab application is not set up correctly.")

// ErrScopeRefused is the setup problem of an application that lacks a scope forgelink
// asks for (GitLab answered invalid_scope); errors.Is also finds ErrSetupProblem in it.
var ErrScopeRefused = &forgelink.Error{Code: forgelink.EMALFORMED, Err: ErrSetupProblem,
	Message: "The GitLab application lacks a scope forgelink asks for."}

// ErrSignInRefused marks a person the integration's rules keep out (allowed_groups).
var ErrSignInRefused = forgelink.Errorf(forgelink.EDENIED, "You may not sign in here.")

// identity is who came back from GitLab, and what the org's rules make of them.
type identity struct {
	User     forgelink.GitLabUser
	Scopes   []string
	Decision Decision
}

// FinishLogin completes a sign-in: it checks GitLab's answer against the state cookie
// (state, org and integration must match: mix-up defence), exchanges the code with PKCE,
// reads the GitLab user and the groups the rules name (the access token is then dropped),
// refuses users who are not active or whom allowed_groups keeps out, and starts a 12-hour
// session with the role the admin rules give (ending the one the browser had in this
// org). A Test sign-in stops before the session and reports instead.
func (s *SignIn) FinishLogin(ctx context.Context, cb LoginCallback) (SignedIn, error) {
	done, err := s.finishLogin(ctx, cb)
	// One "sign-in" line per finished attempt feeds the dashboard's metric filters;
	// success and refusal write theirs where they happen.
	if err != nil && !errors.Is(err, ErrSignInRefused) && !cb.Cookie.Test {
		s.log.InfoContext(ctx, "sign-in", "outcome", "failed", "code", forgelink.ErrorCode(err),
			"org", cb.Org, "integration", cb.IntegrationID)
	}
	return done, err
}

func (s *SignIn) finishLogin(ctx context.Context, cb LoginCallback) (SignedIn, error) {
	// The integration in the path is checked first, so that an unknown org or integration
	// answers the same 404 page as its login link and a pending or disabled one its 409
	// page: DESIGN.md lists "unknown or pending integration" as a callback failure of its
	// own, and checking the state first would show every such callback as "expired".
	in, err := s.signInIntegration(ctx, cb.Org, cb.IntegrationID, true)
	if err != nil {
		return SignedIn{}, err
	}
	if cb.Error != "" {
		return SignedIn{}, s.gitlabRefusal(ctx, cb)
	}
	if err := s.checkLoginState(ctx, cb); err != nil {
		return SignedIn{}, err
	}
	if cb.Code == "" || len(cb.Code) > 1024 {
		return SignedIn{}, forgelink.Errorf(forgelink.EMALFORMED, "GitLab did not send a sign-in code. Please start again.")
	}
	who, err := s.identify(ctx, in, cb)
	if err != nil {
		return SignedIn{}, err
	}
	if cb.Cookie.Test {
		return s.finishTest(ctx, in, who)
	}
	if !who.Decision.Allowed {
		return SignedIn{}, s.refuse(ctx, in, who)
	}
	return s.startSession(ctx, in, cb, who)
}

// identify exchanges the code and reads the user and the groups the rules need, all
// within one budget: a GitLab that is slow on each call, but under the client's per-call
// timeout, must still get its clear 502 within 10 s, well before the callback function's
// own timeout would answer with a bare gateway error.
func (s *SignIn) identify(ctx context.Context, in forgelink.Integration, cb LoginCallback) (identity, error) {
	secret, err := s.secretFor(ctx, in)
	if err != nil {
		return identity{}, err
	}
	rules, err := s.adminRules(ctx, in.Org, true)
	if err != nil {
		return identity{}, err
	}
	gctx, cancel := context.WithTimeout(ctx, s.gitlabBudget)
	defer cancel()
	token, scopes, err := s.gitlab.ExchangeGranted(gctx, in, secret, CallbackURL(cb.Base, cb.Org, cb.IntegrationID), cb.Code, cb.Cookie.Verifier)
	if err != nil {
		return identity{}, gitlabFailure(in, err)
	}
	user, err := s.gitlab.User(gctx, in, token)
	if err != nil {
		return identity{}, gitlabFailure(in, err)
	}
	if user.ID <= 0 || user.Username == "" {
		return identity{}, gitlabFailure(in, fmt.Errorf("GitLab user without id or username"))
	}
	if user.State != "active" {
		s.log.InfoContext(ctx, "sign-in refused: GitLab user not active",
			"org", cb.Org, "integration", in.ID, "gitlab_user_id", user.ID, "state", user.State)
		return identity{}, ErrAccountNotActive
	}
	d, err := s.decideAccess(gctx, in, rules, user, token)
	if err != nil {
		return identity{}, err
	}
	return identity{User: user, Scopes: scopes, Decision: d}, nil
}

// secretFor is the client secret of in, with its failures worded for the person signing in.
func (s *SignIn) secretFor(ctx context.Context, in forgelink.Integration) (string, error) {
	secret, err := s.clientSecret(ctx, in)
	switch forgelink.ErrorCode(err) {
	case "":
		return secret, nil
	case forgelink.ENOTFOUND:
		return "", forgelink.Wrap(forgelink.EPENDING, err,
			"Sign-in through %s is not set up completely (its client secret is missing). Ask your organization admin to save the integration again.", signInName(in))
	case forgelink.EUNAVAILABLE:
		return "", err
	}
	return "", forgelink.Wrap(forgelink.EUNAVAILABLE, err, "Sign-in is temporarily unavailable. Please try again in a moment.")
}

// refuse audits and explains a person whom the integration's allowed_groups keep out.
func (s *SignIn) refuse(ctx context.Context, in forgelink.Integration, who identity) error {
	s.audit(ctx, GitLabActor(in.Org, in.ID, who.User.Username), forgelink.AuditSignInRefused, in.ID,
		"GitLab user id "+strconv.FormatInt(who.User.ID, 10)+" is in none of the allowed groups")
	s.log.InfoContext(ctx, "sign-in", "outcome", "refused", "code", forgelink.EDENIED,
		"org", in.Org, "integration", in.ID, "gitlab_user_id", who.User.ID)
	return &forgelink.Error{Code: forgelink.EDENIED, Message: who.Decision.RefusedReason, Err: ErrSignInRefused}
}

// startSession upserts the member (with the new session and the role in the same write),
// starts the session and audits the sign-in (three writes: member, session, audit).
func (s *SignIn) startSession(ctx context.Context, in forgelink.Integration, cb LoginCallback, who identity) (SignedIn, error) {
	now := s.now().UTC()
	user := who.User
	sid, hash := newToken()
	sess := forgelink.Session{
		Hash: hash, Kind: forgelink.SessionMember, Org: cb.Org, IntegrationID: in.ID, GitLabHost: in.Host(),
		User: user, Role: who.Decision.Role, RuleID: who.Decision.RuleID, CreatedAt: now, ExpiresAt: now.Add(forgelink.SessionTTL),
	}
	previous := ""
	if cb.PreviousSessionID != "" && len(cb.PreviousSessionID) <= 256 {
		previous = hashToken(cb.PreviousSessionID)
	}
	if err := s.recordMember(ctx, sess, previous); err != nil {
		return SignedIn{}, err
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return SignedIn{}, err
	}
	err := s.store.PutAudit(ctx, forgelink.AuditRecord{
		Org: cb.Org, Time: now, Actor: GitLabActor(cb.Org, in.ID, user.Username).Name, Action: forgelink.AuditSignIn,
		IntegrationID: in.ID, Detail: "GitLab user id " + strconv.FormatInt(user.ID, 10) + " on " + in.Host() + " as " + sess.Role,
	})
	if err != nil {
		// Every sign-in is audited: without the record there is no sign-in.
		_ = s.store.DeleteSession(ctx, hash)
		return SignedIn{}, err
	}
	if previous != "" {
		if err := s.store.DeleteSession(ctx, previous); err != nil {
			s.log.WarnContext(ctx, "could not end the previous session at sign-in", "error", err.Error())
		}
	}
	s.log.InfoContext(ctx, "sign-in", "outcome", "success", "code", "", "role", sess.Role,
		"org", cb.Org, "integration", in.ID, "gitlab_user_id", user.ID)
	// Cleaned again, so the result is always a same-origin path, whatever the cookie held.
	return SignedIn{SessionID: sid, Session: sess, ReturnTo: CleanReturnTo(cb.Org, cb.Cookie.ReturnTo)}, nil
}

// checkLoginState compares the callback with the state cookie: the cookie must exist and
// name the org and integration of the callback's path, and state must match (constant
// time). Every mismatch is the same ErrLoginExpired for the user; the reason is logged.
func (s *SignIn) checkLoginState(ctx context.Context, cb LoginCallback) error {
	c := cb.Cookie
	reason := ""
	switch {
	case c.State == "" || c.Verifier == "":
		reason = "no state cookie"
	case cb.State == "":
		reason = "no state parameter"
	case subtle.ConstantTimeCompare([]byte(c.State), []byte(cb.State)) != 1:
		reason = "state mismatch"
	case c.Org != cb.Org || c.IntegrationID != cb.IntegrationID:
		reason = "state cookie for another org or integration"
	default:
		return nil
	}
	s.log.InfoContext(ctx, "sign-in callback refused", "reason", reason, "org", cb.Org, "integration", cb.IntegrationID)
	return ErrLoginExpired
}

// gitlabRefusal turns GitLab's error redirect (RFC 6749 §4.1.2.1) into the user's error.
func (s *SignIn) gitlabRefusal(ctx context.Context, cb LoginCallback) error {
	code := cb.Error
	if !validOAuthErrorCode(code) {
		code = "invalid_response"
	}
	s.log.InfoContext(ctx, "GitLab refused the sign-in", "oauth_error", code, "org", cb.Org, "integration", cb.IntegrationID)
	switch code {
	case "access_denied":
		return ErrLoginCancelled
	case "server_error", "temporarily_unavailable":
		return forgelink.Errorf(forgelink.EUPSTREAM,
			"GitLab could not complete the sign-in (%s). Please try again in a moment.", code)
	case "invalid_scope", "unauthorized_client", "invalid_client", "invalid_request", "unsupported_response_type":
		cause := ErrSetupProblem
		if code == "invalid_scope" {
			cause = ErrScopeRefused
		}
		return &forgelink.Error{Code: forgelink.EMALFORMED, Err: cause, Message: fmt.Sprintf(
			"GitLab refused this sign-in because the organization's GitLab application is not set up correctly (GitLab said: %s). "+
				"An admin of %s must fix the application on GitLab; trying again will not help.", code, cb.Org)}
	default:
		return forgelink.Errorf(forgelink.EMALFORMED,
			"GitLab refused the sign-in request (%s). If this keeps happening, ask your organization admin to check the integration's settings on GitLab.", code)
	}
}

// gitlabFailure makes sure a failed GitLab call reaches the user as a 502 that names the
// GitLab server (the client's EUPSTREAM errors already do), or as the client's EEXPIRED
// when GitLab rejected the code; anything else becomes such a 502, never a 500.
func gitlabFailure(in forgelink.Integration, err error) error {
	switch forgelink.ErrorCode(err) {
	case forgelink.EUPSTREAM, forgelink.EEXPIRED, forgelink.EUNAVAILABLE:
		return err
	}
	return forgelink.Wrap(forgelink.EUPSTREAM, err,
		"GitLab at %s did not answer as expected, so the sign-in could not be completed. Please try again in a moment; if it keeps happening, tell your organization admin.",
		in.URL)
}

// randomState returns n random bytes, base64url-encoded.
func randomState(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
