package fakegitlab

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Lifetimes GitLab configures for Doorkeeper.
const (
	codeLifetime    = 10 * time.Minute
	tokenLifetime   = 7200 * time.Second
	idTokenLifetime = 120 * time.Second
)

// Doorkeeper's error descriptions, as GitLab's locale file words them.
var oauthDescriptions = map[string]string{
	"invalid_request":           "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.",
	"invalid_client":            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
	"invalid_grant":             "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
	"invalid_redirect_uri":      "The redirect URI included is not valid.",
	"invalid_scope":             "The requested scope is invalid, unknown, or malformed.",
	"access_denied":             "The resource owner or authorization server denied the request.",
	"unsupported_response_type": "The authorization server does not support this response type.",
	"unsupported_grant_type":    "The authorization grant type is not supported by the authorization server.",
	"unauthorized_client":       "The client is not authorized to perform this request using this method.",
	"invalid_code_challenge":    "Code challenge is required.",
}

func missingParam(name string) string { return "Missing required parameter: " + name + "." }

// grant is an authorization code.
type grant struct {
	AppUID      string
	UserID      int
	RedirectURI string
	Scopes      []string
	Challenge   string
	Method      string
	Nonce       string
	AuthTime    time.Time
	ExpiresAt   time.Time
	Used        bool
}

// accessToken is an OAuth access token with its refresh token.
type accessToken struct {
	Token     string
	Refresh   string
	AppUID    string
	UserID    int
	Scopes    []string
	Nonce     string
	AuthTime  time.Time
	CreatedAt time.Time
	Revoked   bool // access token and its refresh token are dead
}

func (t *accessToken) expired(now time.Time) bool { return now.After(t.CreatedAt.Add(tokenLifetime)) }

type personalToken struct {
	UserID int
	Scopes []string
}

// oauthError is an error Doorkeeper either renders as a page (nothing safe
// to redirect to yet) or appends to the client's redirect URI.
type oauthError struct {
	Code, Description string
	Status            int
}

func newOAuthError(code string, status int) *oauthError {
	return &oauthError{Code: code, Description: oauthDescriptions[code], Status: status}
}

// authzRequest is a validated /oauth/authorize request.
type authzRequest struct {
	App                                  Application
	RedirectURI, State, Nonce            string
	Scopes                               []string
	Challenge, Method, ResponseType, Raw string
	params                               url.Values
}

// preAuthorize validates in Doorkeeper's order. pageErr is for errors shown
// on GitLab's own error page (unknown client, bad redirect URI); redirErr
// for errors sent back to the (now trusted) redirect URI.
func (s *Server) preAuthorize(p url.Values) (req *authzRequest, pageErr, redirErr *oauthError) {
	clientID := p.Get("client_id")
	if clientID == "" {
		e := newOAuthError("invalid_request", http.StatusBadRequest)
		e.Description = missingParam("client_id")
		return nil, e, nil
	}
	s.mu.Lock()
	app := s.appByUIDLocked(clientID)
	var a Application
	if app != nil {
		a = *app
	}
	s.mu.Unlock()
	if app == nil {
		return nil, newOAuthError("invalid_client", http.StatusUnauthorized), nil
	}
	redirectURI := p.Get("redirect_uri")
	if redirectURI == "" || !contains(a.RedirectURIs, redirectURI) {
		return nil, newOAuthError("invalid_redirect_uri", http.StatusBadRequest), nil
	}
	req = &authzRequest{
		App: a, RedirectURI: redirectURI, State: p.Get("state"), Nonce: p.Get("nonce"),
		Challenge: p.Get("code_challenge"), Method: p.Get("code_challenge_method"),
		ResponseType: p.Get("response_type"), Raw: p.Get("scope"), params: p,
	}
	switch req.ResponseType {
	case "code":
	case "":
		e := newOAuthError("invalid_request", http.StatusBadRequest)
		e.Description = missingParam("response_type")
		return req, nil, e
	default:
		return req, nil, newOAuthError("unsupported_response_type", http.StatusBadRequest)
	}
	req.Scopes = strings.Fields(req.Raw)
	if len(req.Scopes) == 0 {
		req.Scopes = []string{"api"} // GitLab's Doorkeeper default_scopes
	}
	for _, sc := range req.Scopes {
		if !contains(a.Scopes, sc) {
			return req, nil, newOAuthError("invalid_scope", http.StatusBadRequest)
		}
	}
	if req.Challenge != "" {
		if req.Method == "" {
			req.Method = "plain" // RFC 7636 4.3
		}
		if req.Method != "plain" && req.Method != "S256" {
			e := newOAuthError("invalid_request", http.StatusBadRequest)
			e.Description = "The code challenge method must be plain or S256."
			return req, nil, e
		}
	}
	return req, nil, nil
}

// handleAuthorize is GET /oauth/authorize: sign-in first (remembering the
// request), then validation, then the consent page unless it can be skipped.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if s.opts.AutoApprove != "" && s.currentUser(r) == nil {
		if !s.autoSignIn(w, r) {
			return
		}
	} else if s.requireSignIn(w, r) == nil {
		return
	}
	user := s.sessionUser(r)
	req, pageErr, redirErr := s.preAuthorize(r.URL.Query())
	if pageErr != nil {
		s.renderOAuthError(w, r, pageErr)
		return
	}
	if redirErr != nil {
		s.redirectError(w, r, req, redirErr)
		return
	}
	if req.App.Trusted || s.opts.AutoApprove != "" || s.hasMatchingToken(req, user.ID) {
		s.issueCode(w, r, req, user)
		return
	}
	var hidden []hiddenField
	for _, k := range []string{"client_id", "redirect_uri", "state", "response_type", "scope", "nonce", "code_challenge", "code_challenge_method"} {
		if v := r.URL.Query().Get(k); v != "" {
			hidden = append(hidden, hiddenField{k, v})
		}
	}
	u := user.User
	s.render(w, r, http.StatusOK, "consent", pageData{
		Title:   "Authorize " + req.App.Name,
		Heading: "Authorize " + req.App.Name + " to use your account?",
		User:    &u, App: &req.App, Scopes: req.Scopes, Hidden: hidden,
	})
}

// autoSignIn signs Options.AutoApprove's user in without a form.
func (s *Server) autoSignIn(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	u := s.userByLoginLocked(s.opts.AutoApprove)
	s.mu.Unlock()
	if u == nil {
		http.Error(w, "fakegitlab: AutoApprove names an unknown user", http.StatusInternalServerError)
		return false
	}
	sess := s.newSession(w, r, "")
	s.mu.Lock()
	sess.UserID, sess.SignedInAt = u.ID, s.now()
	s.mu.Unlock()
	// The rest of this request must see the new session.
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: sess.ID})
	return true
}

// signedIn is the signed-in user and when they signed in.
type signedIn struct {
	User
	AuthTime time.Time
}

func (s *Server) sessionUser(r *http.Request) signedIn {
	// r may carry an old and a new session cookie after autoSignIn; the
	// last one is the fresh session.
	var sess *session
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie && s.sessions[c.Value] != nil && s.sessions[c.Value].UserID != 0 {
			sess = s.sessions[c.Value]
		}
	}
	if sess == nil {
		return signedIn{}
	}
	return signedIn{User: *s.userByIDLocked(sess.UserID), AuthTime: sess.SignedInAt}
}

// hasMatchingToken mirrors Doorkeeper: a confidential app the user already
// authorized for the same scopes is not asked about again.
func (s *Server) hasMatchingToken(req *authzRequest, userID int) bool {
	if !req.App.Confidential {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.AppUID == req.App.UID && t.UserID == userID && !t.Revoked && sameScopes(t.Scopes, req.Scopes) {
			return true
		}
	}
	return false
}

func sameScopes(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

// handleAuthorizeDecision is the consent form: POST authorizes, DELETE (or
// POST with _method=delete) denies.
func (s *Server) handleAuthorizeDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderOAuthError(w, r, newOAuthError("invalid_request", http.StatusBadRequest))
		return
	}
	user := s.sessionUser(r)
	if user.ID == 0 {
		http.Redirect(w, r, s.base(r)+"/users/sign_in", http.StatusFound)
		return
	}
	req, pageErr, redirErr := s.preAuthorize(r.PostForm)
	if pageErr != nil {
		s.renderOAuthError(w, r, pageErr)
		return
	}
	if redirErr != nil {
		s.redirectError(w, r, req, redirErr)
		return
	}
	if r.Method == http.MethodDelete {
		s.redirectError(w, r, req, newOAuthError("access_denied", http.StatusBadRequest))
		return
	}
	s.issueCode(w, r, req, user)
}

func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, req *authzRequest, user signedIn) {
	code := randomHex(32)
	s.mu.Lock()
	s.grants[code] = &grant{
		AppUID: req.App.UID, UserID: user.ID, RedirectURI: req.RedirectURI, Scopes: req.Scopes,
		Challenge: req.Challenge, Method: req.Method, Nonce: req.Nonce,
		AuthTime: user.AuthTime, ExpiresAt: s.now().Add(codeLifetime),
	}
	s.mu.Unlock()
	q := url.Values{"code": {code}}
	if req.State != "" {
		q.Set("state", req.State)
	}
	http.Redirect(w, r, withQuery(req.RedirectURI, q), http.StatusFound)
}

func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, req *authzRequest, e *oauthError) {
	q := url.Values{"error": {e.Code}, "error_description": {e.Description}}
	if req.State != "" {
		q.Set("state", req.State)
	}
	http.Redirect(w, r, withQuery(req.RedirectURI, q), http.StatusFound)
}

// withQuery adds parameters to a redirect URI, keeping its own query.
func withQuery(raw string, add url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k, v := range add {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Server) renderOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	s.render(w, r, e.Status, "error", pageData{
		Title: "An error has occurred", Heading: "An error has occurred", Message: e.Description,
	})
}

// ---- POST /oauth/token ----

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Doorkeeper", error="`+e.Code+`", error_description="`+e.Description+`"`)
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, e.Status, map[string]string{"error": e.Code, "error_description": e.Description})
}

// clientCredentials reads HTTP Basic first, then the body, as Doorkeeper's
// client_credentials :from_basic, :from_params (GitLab keeps that default in
// config/initializers/doorkeeper.rb). Doorkeeper takes the credentials as
// present when the client_id is (Credentials delegates blank? to uid), so a
// body with a client_id and no client_secret still names the client.
func clientCredentials(r *http.Request) (id, secret string) {
	if id, secret, ok := r.BasicAuth(); ok {
		return id, secret
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
}

// authenticateClient is Doorkeeper's Application.by_uid_and_secret
// (doorkeeper-gem/doorkeeper v5.8, lib/doorkeeper/models/application_mixin.rb):
//
//	app = by_uid(uid)
//	return unless app
//	return app if secret.blank? && !app.confidential?
//	return unless app.secret_matches?(secret)
//
// so an application that is not Confidential (a public client) is
// authenticated by its client_id alone, while a secret that is sent must be
// right for every application. GitLab's Authn::OauthApplication overrides
// only secret_matches? (hashed secrets). With the token endpoint's order
// (client before grant), a made-up code with the client_id alone is
// invalid_grant for a public application and invalid_client for a
// confidential one: how forgelink tells them apart.
func (s *Server) authenticateClient(r *http.Request) (Application, bool) {
	id, secret := clientCredentials(r)
	if id == "" {
		return Application{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appByUIDLocked(id)
	if a == nil {
		return Application{}, false
	}
	if secret == "" && !a.Confidential {
		return *a, true
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(a.Secret)) != 1 {
		return Application{}, false
	}
	return *a, true
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, newOAuthError("invalid_request", http.StatusBadRequest))
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.tokenFromCode(w, r)
	case "refresh_token":
		s.tokenFromRefresh(w, r)
	case "":
		e := newOAuthError("invalid_request", http.StatusBadRequest)
		e.Description = missingParam("grant_type")
		writeOAuthError(w, e)
	default:
		writeOAuthError(w, newOAuthError("unsupported_grant_type", http.StatusBadRequest))
	}
}

// tokenFromCode validates in Doorkeeper's AuthorizationCodeRequest order:
// params (invalid_request), client (invalid_client), grant, redirect_uri and
// code_verifier (invalid_grant). So valid credentials with a dummy code give
// invalid_grant, and wrong credentials give invalid_client.
func (s *Server) tokenFromCode(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	code, redirectURI, verifier := f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier")

	s.mu.Lock()
	g := s.grants[code]
	var usesPKCE bool
	if g != nil {
		usesPKCE = g.Challenge != ""
	}
	s.mu.Unlock()
	var missing string
	switch {
	case code == "":
		missing = "code"
	case usesPKCE && verifier == "":
		missing = "code_verifier"
	case redirectURI == "":
		missing = "redirect_uri"
	}
	if missing != "" {
		e := newOAuthError("invalid_request", http.StatusBadRequest)
		e.Description = missingParam(missing)
		writeOAuthError(w, e)
		return
	}
	app, ok := s.authenticateClient(r)
	if !ok {
		writeOAuthError(w, newOAuthError("invalid_client", http.StatusUnauthorized))
		return
	}

	s.mu.Lock()
	g = s.grants[code]
	bad := g == nil || g.Used || s.now().After(g.ExpiresAt) || g.AppUID != app.UID ||
		g.RedirectURI != redirectURI || !verifyPKCE(g, verifier)
	if bad {
		s.mu.Unlock()
		writeOAuthError(w, newOAuthError("invalid_grant", http.StatusBadRequest))
		return
	}
	g.Used = true
	t := s.newTokenLocked(app.UID, g.UserID, g.Scopes, g.Nonce, g.AuthTime)
	resp := s.tokenResponseLocked(r, t)
	s.mu.Unlock()
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// verifyPKCE is Doorkeeper's validate_code_verifier: no challenge and no
// verifier passes; a verifier without a challenge fails.
func verifyPKCE(g *grant, verifier string) bool {
	if g.Challenge == "" && verifier == "" {
		return true
	}
	computed := verifier
	if g.Method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		computed = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return g.Challenge != "" && subtle.ConstantTimeCompare([]byte(computed), []byte(g.Challenge)) == 1
}

// tokenFromRefresh rotates: the old access and refresh tokens are revoked
// and a new pair is issued with the same (or fewer, if asked) scopes.
func (s *Server) tokenFromRefresh(w http.ResponseWriter, r *http.Request) {
	rt := r.PostForm.Get("refresh_token")
	if rt == "" {
		e := newOAuthError("invalid_request", http.StatusBadRequest)
		e.Description = missingParam("refresh_token")
		writeOAuthError(w, e)
		return
	}
	s.mu.Lock()
	old := s.refreshes[rt]
	valid := old != nil && !old.Revoked
	s.mu.Unlock()
	if !valid {
		writeOAuthError(w, newOAuthError("invalid_grant", http.StatusBadRequest))
		return
	}
	// Credentials are optional for a refresh, but when given they must be
	// right and belong to the token's application.
	if id, secret := clientCredentials(r); id != "" || secret != "" {
		app, ok := s.authenticateClient(r)
		if !ok {
			writeOAuthError(w, newOAuthError("invalid_client", http.StatusUnauthorized))
			return
		}
		if app.UID != old.AppUID {
			writeOAuthError(w, newOAuthError("invalid_grant", http.StatusBadRequest))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	scopes := old.Scopes
	if raw := r.PostForm.Get("scope"); raw != "" {
		scopes = strings.Fields(raw)
		for _, sc := range scopes {
			if !contains(old.Scopes, sc) {
				writeOAuthError(w, newOAuthError("invalid_scope", http.StatusBadRequest))
				return
			}
		}
	}
	if old.Revoked { // lost a race with a concurrent refresh
		writeOAuthError(w, newOAuthError("invalid_grant", http.StatusBadRequest))
		return
	}
	old.Revoked = true
	t := s.newTokenLocked(old.AppUID, old.UserID, scopes, old.Nonce, old.AuthTime)
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, s.tokenResponseLocked(r, t))
}

func (s *Server) newTokenLocked(appUID string, userID int, scopes []string, nonce string, authTime time.Time) *accessToken {
	t := &accessToken{
		Token: randomHex(32), Refresh: randomHex(32), AppUID: appUID, UserID: userID,
		Scopes: scopes, Nonce: nonce, AuthTime: authTime, CreatedAt: s.now(),
	}
	s.tokens[t.Token] = t
	s.refreshes[t.Refresh] = t
	return t
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	CreatedAt    int64  `json:"created_at"`
	IDToken      string `json:"id_token,omitempty"`
}

func (s *Server) tokenResponseLocked(r *http.Request, t *accessToken) tokenResponse {
	resp := tokenResponse{
		AccessToken: t.Token, TokenType: "Bearer", ExpiresIn: int(tokenLifetime.Seconds()),
		RefreshToken: t.Refresh, Scope: strings.Join(t.Scopes, " "), CreatedAt: t.CreatedAt.Unix(),
	}
	if contains(t.Scopes, "openid") {
		resp.IDToken = s.idTokenLocked(r, t)
	}
	return resp
}

// idTokenLocked builds the claims GitLab's doorkeeper-openid_connect setup
// puts in an id_token.
func (s *Server) idTokenLocked(r *http.Request, t *accessToken) string {
	u := s.userByIDLocked(t.UserID)
	base := s.baseLocked(r)
	now := s.now()
	claims := s.profileClaims(base, u)
	claims["iss"] = base
	claims["aud"] = t.AppUID
	claims["exp"] = now.Add(idTokenLifetime).Unix()
	claims["iat"] = now.Unix()
	claims["auth_time"] = t.AuthTime.Unix()
	claims["groups_direct"] = s.groupPathsLocked(u.ID, MinimalAccess, false)
	if t.Nonce != "" {
		claims["nonce"] = t.Nonce
	}
	return s.signJWT(claims)
}

// baseLocked is base for callers already holding s.mu.
func (s *Server) baseLocked(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ---- revoke, token info, userinfo, discovery ----

// handleRevoke follows RFC 7009 as Doorkeeper does: the client must
// authenticate; an unknown token is still 200; another client's token is
// refused with unauthorized_client.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, newOAuthError("invalid_request", http.StatusBadRequest))
		return
	}
	app, ok := s.authenticateClient(r)
	if !ok {
		writeOAuthError(w, newOAuthError("invalid_client", http.StatusUnauthorized))
		return
	}
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	t := s.tokens[tok]
	if t == nil {
		t = s.refreshes[tok]
	}
	if t != nil && t.AppUID != app.UID {
		s.mu.Unlock()
		e := newOAuthError("unauthorized_client", http.StatusForbidden)
		e.Description = "You are not authorized to revoke this token"
		writeOAuthError(w, e)
		return
	}
	if t != nil {
		t.Revoked = true
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

// oauthBearer finds a live OAuth access token in the request.
func (s *Server) oauthBearer(r *http.Request) (*accessToken, *oauthError) {
	raw := bearerToken(r)
	if raw == "" {
		raw = r.URL.Query().Get("access_token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[raw]
	switch {
	case t == nil:
		return nil, &oauthError{Code: "invalid_token", Description: "The access token is invalid", Status: http.StatusUnauthorized}
	case t.Revoked:
		return nil, &oauthError{Code: "invalid_token", Description: "The access token was revoked", Status: http.StatusUnauthorized}
	case t.expired(s.now()):
		return nil, &oauthError{Code: "invalid_token", Description: "The access token expired", Status: http.StatusUnauthorized}
	}
	cp := *t
	return &cp, nil
}

func (s *Server) handleTokenInfo(w http.ResponseWriter, r *http.Request) {
	t, e := s.oauthBearer(r)
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	left := int(t.CreatedAt.Add(tokenLifetime).Sub(s.now()).Seconds())
	writeJSON(w, http.StatusOK, map[string]any{
		"resource_owner_id":  t.UserID,
		"scope":              t.Scopes,
		"scopes":             t.Scopes,
		"expires_in":         left,
		"expires_in_seconds": left,
		"application":        map[string]string{"uid": t.AppUID},
		"created_at":         t.CreatedAt.Unix(),
	})
}

// handleUserinfo is the OIDC userinfo endpoint; it needs scope openid.
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	t, e := s.oauthBearer(r)
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	if !contains(t.Scopes, "openid") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Doorkeeper", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token."`)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope",
			"error_description": "The request requires higher privileges than provided by the access token."})
		return
	}
	s.mu.Lock()
	u := *s.userByIDLocked(t.UserID)
	base := s.baseLocked(r)
	claims := s.profileClaims(base, &u)
	s.userinfoGroupClaimsLocked(u.ID, claims)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, claims)
}

// profileClaims are the OIDC claims about u that GitLab puts both in id_tokens and in
// the userinfo answer.
func (s *Server) profileClaims(base string, u *User) map[string]any {
	return map[string]any{
		"sub":                itoa(u.ID),
		"sub_legacy":         sha256Hex("fakegitlab-" + itoa(u.ID)),
		"name":               u.Name,
		"nickname":           u.Username,
		"preferred_username": u.Username,
		"email":              u.Email,
		"email_verified":     true,
		"website":            "",
		"profile":            base + "/" + u.Username,
		"picture":            s.avatarURL(base, u),
	}
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{s.jwk()}})
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	base := s.base(r)
	var scopes []string
	for _, sc := range knownScopes {
		scopes = append(scopes, sc.Name)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/oauth/authorize",
		"token_endpoint":                        base + "/oauth/token",
		"revocation_endpoint":                   base + "/oauth/revoke",
		"userinfo_endpoint":                     base + "/oauth/userinfo",
		"jwks_uri":                              base + "/oauth/discovery/keys",
		"scopes_supported":                      scopes,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claim_types_supported":                 []string{"normal"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "sub_legacy", "name", "nickname",
			"preferred_username", "email", "email_verified", "website", "profile", "picture", "groups", "groups_direct"},
		"code_challenge_methods_supported": []string{"plain", "S256"},
	})
}
