package fakegitlab

import (
	"net/http"
	"strings"
	"time"
)

// apiAuth authenticates a REST API request the ways GitLab accepts: an
// OAuth access token or personal access token as Bearer, a personal access
// token in PRIVATE-TOKEN, or the access_token / private_token query
// parameters. The token needs one of scopes. On failure it has answered.
func (s *Server) apiAuth(w http.ResponseWriter, r *http.Request, scopes ...string) (*User, []string, bool) {
	return s.authenticate(w, r, scopes, scopes, false)
}

// apiAuthFor authenticates like apiAuth for an endpoint that registered
// scopes (GitLab's allow_access_with_scope, listed in the order GitLab
// reports them). As in GitLab, read_* scopes only count for GET and HEAD,
// yet every registered scope is listed in an insufficient_scope answer.
// With anonymousOK a request without any token passes with a nil user, as
// GitLab's authenticate_non_get! lets anonymous reads through.
func (s *Server) apiAuthFor(w http.ResponseWriter, r *http.Request, anonymousOK bool, registered ...string) (*User, bool) {
	readOnly := r.Method == http.MethodGet || r.Method == http.MethodHead
	var allowed []string
	for _, sc := range registered {
		if readOnly || !strings.HasPrefix(sc, "read_") {
			allowed = append(allowed, sc)
		}
	}
	u, _, ok := s.authenticate(w, r, registered, allowed, anonymousOK)
	return u, ok
}

func requestToken(r *http.Request) string {
	raw := bearerToken(r)
	if raw == "" {
		raw = r.Header.Get("PRIVATE-TOKEN")
	}
	if raw == "" {
		raw = r.URL.Query().Get("private_token")
	}
	if raw == "" {
		raw = r.URL.Query().Get("access_token")
	}
	return raw
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, listed, allowed []string, anonymousOK bool) (*User, []string, bool) {
	raw := requestToken(r)
	if raw == "" && anonymousOK {
		return nil, nil, true
	}
	s.mu.Lock()
	var userID int
	var granted []string
	if p := s.pats[raw]; p != nil && raw != "" {
		userID, granted = p.UserID, p.Scopes
	} else if t := s.tokens[raw]; t != nil && raw != "" {
		switch {
		case t.Revoked:
			s.mu.Unlock()
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token",
				"error_description": "Token was revoked. You have to re-authorize from the user."})
			return nil, nil, false
		case t.expired(s.now()):
			s.mu.Unlock()
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token",
				"error_description": "Token is expired. You can either do re-authorization or token refresh."})
			return nil, nil, false
		}
		userID, granted = t.UserID, t.Scopes
	}
	var u *User
	if userID != 0 {
		cp := *s.userByIDLocked(userID)
		u = &cp
	}
	s.mu.Unlock()
	if u == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return nil, nil, false
	}
	for _, want := range allowed {
		if contains(granted, want) {
			return u, granted, true
		}
	}
	writeInsufficientScope(w, listed)
	return nil, nil, false
}

// writeInsufficientScope answers as GitLab's API guard does: rack-oauth2's
// Bearer::Forbidden, whose JSON names the endpoint's registered scopes. It
// sends no WWW-Authenticate header (GitLab's api_guard.rb has a FIXME
// saying exactly that), so neither does the fake.
func writeInsufficientScope(w http.ResponseWriter, listed []string) {
	writeJSON(w, http.StatusForbidden, map[string]any{"error": "insufficient_scope",
		"error_description": "The request requires higher privileges than provided by the access token.",
		"scope":             strings.Join(listed, " ")})
}

// Scopes the endpoint classes register, in GitLab's order: the class's own
// allow_access_with_scope first, then API::API's api and read_api.
var (
	usersScopes  = []string{"read_user", "api", "read_api"}
	groupsScopes = []string{"api", "read_api"}
)

// apiUser is GitLab's UserWithAdmin entity for the current user. Blocked
// users get their record with state "blocked" (see handleSignIn) so that a
// client's state check can be tested.
type apiUser struct {
	ID               int      `json:"id"`
	Username         string   `json:"username"`
	Name             string   `json:"name"`
	State            string   `json:"state"`
	Locked           bool     `json:"locked"`
	AvatarURL        string   `json:"avatar_url"`
	WebURL           string   `json:"web_url"`
	CreatedAt        string   `json:"created_at"`
	Bio              string   `json:"bio"`
	Location         string   `json:"location"`
	PublicEmail      *string  `json:"public_email"`
	Skype            string   `json:"skype"`
	Linkedin         string   `json:"linkedin"`
	Twitter          string   `json:"twitter"`
	Discord          string   `json:"discord"`
	WebsiteURL       string   `json:"website_url"`
	Organization     string   `json:"organization"`
	JobTitle         string   `json:"job_title"`
	Pronouns         *string  `json:"pronouns"`
	Bot              bool     `json:"bot"`
	WorkInformation  *string  `json:"work_information"`
	LocalTime        *string  `json:"local_time"`
	LastSignInAt     string   `json:"last_sign_in_at"`
	ConfirmedAt      string   `json:"confirmed_at"`
	LastActivityOn   string   `json:"last_activity_on"`
	Email            string   `json:"email"`
	ThemeID          int      `json:"theme_id"`
	ColorSchemeID    int      `json:"color_scheme_id"`
	ProjectsLimit    int      `json:"projects_limit"`
	CurrentSignInAt  string   `json:"current_sign_in_at"`
	Identities       []string `json:"identities"`
	CanCreateGroup   bool     `json:"can_create_group"`
	CanCreateProject bool     `json:"can_create_project"`
	TwoFactorEnabled bool     `json:"two_factor_enabled"`
	External         bool     `json:"external"`
	PrivateProfile   bool     `json:"private_profile"`
	CommitEmail      string   `json:"commit_email"`
	IsAdmin          *bool    `json:"is_admin,omitempty"`
}

// handleAPIUser is GET /api/v4/user; OAuth tokens need api, read_api or
// read_user (GitLab's Users class registers read_user, so it is listed
// first in insufficient_scope).
func (s *Server) handleAPIUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.apiAuthFor(w, r, false, usersScopes...)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.toAPIUser(s.base(r), u, false))
}

// toAPIUser renders u as /api/v4/user does. is_admin appears for admins
// there; withAdmin (UserWithAdmin, what admins get from /users) always
// includes it.
func (s *Server) toAPIUser(base string, u *User, withAdmin bool) apiUser {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	now := s.now()
	out := apiUser{
		ID: u.ID, Username: u.Username, Name: u.Name, State: u.State,
		AvatarURL: s.avatarURL(base, u), WebURL: base + "/" + u.Username,
		CreatedAt: ts(u.CreatedAt), PublicEmail: &u.Email,
		Bio: u.Bio, Location: u.Location, Organization: u.Organization, JobTitle: u.JobTitle,
		WebsiteURL:   u.WebsiteURL,
		LastSignInAt: ts(now), ConfirmedAt: ts(u.CreatedAt), LastActivityOn: now.UTC().Format("2006-01-02"),
		Email: u.Email, ThemeID: 3, ColorSchemeID: 1, ProjectsLimit: 100000, CurrentSignInAt: ts(now),
		Identities: []string{}, CanCreateGroup: true, CanCreateProject: true, CommitEmail: u.Email,
	}
	if u.Pronouns != "" {
		p := u.Pronouns
		out.Pronouns = &p
	}
	if u.Admin || withAdmin {
		admin := u.Admin
		out.IsAdmin = &admin
	}
	return out
}

func (s *Server) handleAPIVersion(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := s.apiAuth(w, r, "api", "read_api", "read_user", "ai_features"); !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version":    Version,
		"revision":   "6d5b5c4b8e1",
		"kas":        map[string]any{"enabled": false, "externalUrl": nil, "version": nil},
		"enterprise": true,
	})
}
