package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// TestOutcome is what a Test sign-in found: who GitLab signed in, the scopes it granted,
// the groups the rules name with the person's level in each, and the role they would get.
// Error is the setup problem, explained, when the test failed.
type TestOutcome struct {
	IntegrationID string       `json:"i"`
	Username      string       `json:"u,omitempty"`
	Name          string       `json:"n,omitempty"`
	Scopes        []string     `json:"s,omitempty"`
	Groups        []GroupFound `json:"g,omitempty"`
	Role          string       `json:"r,omitempty"` // admin, member or refused
	Error         string       `json:"e,omitempty"`
	Refused       string       `json:"x,omitempty"` // why the person would be refused
}

// StartTest begins an admin's Test sign-in through integration id of org: the real flow,
// marked as a test in the state cookie, coming back to the integration's page. Pending
// integrations can be tested too: that is how an admin finds a wrong Redirect URI or
// missing scope before anyone else does.
func (s *SignIn) StartTest(ctx context.Context, actor Actor, base, org, id string) (LoginStart, error) {
	if err := s.authorize(actor, org); err != nil {
		return LoginStart{}, err
	}
	in, err := s.cachedIntegration(ctx, org, id)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return LoginStart{}, forgelink.Wrap(forgelink.ENOTFOUND, err, "There is no such integration in this org.")
	} else if err != nil {
		return LoginStart{}, err
	}
	if in.Status != forgelink.StatusActive {
		return LoginStart{}, forgelink.Errorf(forgelink.EPENDING,
			"Save the Application ID and Secret first: a test signs in through them.")
	}
	return s.start(ctx, base, in, LoginState{Test: true, ReturnTo: IntegrationPagePath(org, id)})
}

// IntegrationPagePath is an integration's admin page.
func IntegrationPagePath(org, id string) string {
	return "/orgs/" + org + "/settings/integrations/" + id
}

// finishTest records a successful test (verified_at) and reports; no session, no member.
func (s *SignIn) finishTest(ctx context.Context, in forgelink.Integration, who identity) (SignedIn, error) {
	out := &TestOutcome{IntegrationID: in.ID, Username: who.User.Username, Name: who.User.Name,
		Scopes: who.Scopes, Groups: who.Decision.Groups, Role: who.Decision.Role}
	if !who.Decision.Allowed {
		out.Role, out.Refused = "refused", who.Decision.RefusedReason
	}
	now := s.now().UTC()
	if err := s.store.TouchIntegration(ctx, in.Org, in.ID, now, time.Time{}); err != nil {
		s.log.ErrorContext(ctx, "could not record a verified test", "org", in.Org, "integration", in.ID, "error", err.Error())
	}
	s.cache.forgetIntegration(in.Org, in.ID)
	s.audit(ctx, GitLabActor(in.Org, in.ID, who.User.Username), forgelink.AuditIntegrationTested, in.ID,
		"Test sign-in succeeded: @"+who.User.Username+" would be "+out.Role+"; scopes "+strings.Join(who.Scopes, " "))
	s.log.InfoContext(ctx, "test sign-in", "outcome", "success", "org", in.Org, "integration", in.ID)
	return SignedIn{Test: out, ReturnTo: IntegrationPagePath(in.Org, in.ID)}, nil
}

// TestFailure is the report of a Test sign-in that failed, explained as a setup problem.
func TestFailure(org, id string, err error) *TestOutcome {
	msg := forgelink.ErrorMessage(err)
	if errors.Is(err, ErrScopeRefused) {
		msg = "GitLab refused the scopes forgelink asked for (invalid_scope): the GitLab application lacks a scope. Edit it on GitLab and tick api and read_user, then test again."
	}
	return &TestOutcome{IntegrationID: id, Error: msg}
}
