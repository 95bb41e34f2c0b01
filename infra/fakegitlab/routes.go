package fakegitlab

import (
	"encoding/json"
	"net/http"
	"strings"
)

// routes maps GitLab's paths. Anything not listed answers GitLab's 404: JSON
// under /api/, an HTML page elsewhere.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Web: sign-in, home, health.
	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /-/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("GitLab OK"))
	})
	mux.HandleFunc("GET /users/sign_in", s.handleSignInForm)
	mux.HandleFunc("POST /users/sign_in", s.handleSignIn)
	mux.HandleFunc("POST /users/sign_out", s.handleSignOut)
	mux.HandleFunc("GET /uploads/-/system/user/avatar/{id}/avatar.png", s.handleAvatar)

	// OAuth 2 / OpenID Connect (Doorkeeper).
	mux.HandleFunc("GET /oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /oauth/authorize", s.handleAuthorizeDecision)
	mux.HandleFunc("DELETE /oauth/authorize", s.handleAuthorizeDecision)
	mux.HandleFunc("POST /oauth/token", s.handleToken)
	mux.HandleFunc("POST /oauth/revoke", s.handleRevoke)
	mux.HandleFunc("GET /oauth/token/info", s.handleTokenInfo)
	mux.HandleFunc("GET /oauth/userinfo", s.handleUserinfo)
	mux.HandleFunc("POST /oauth/userinfo", s.handleUserinfo)
	mux.HandleFunc("GET /oauth/discovery/keys", s.handleJWKS)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.handleDiscovery)

	// REST API v4.
	mux.HandleFunc("GET /api/v4/user", s.handleAPIUser)
	mux.HandleFunc("GET /api/v4/version", s.handleAPIVersion)
	mux.HandleFunc("GET /api/v4/applications", s.handleAPIListApps)
	mux.HandleFunc("POST /api/v4/applications", s.handleAPICreateApp)
	mux.HandleFunc("DELETE /api/v4/applications/{id}", s.handleAPIDeleteApp)
	mux.HandleFunc("GET /api/v4/users", s.handleAPIListUsers)
	mux.HandleFunc("PUT /api/v4/users/{id}", s.handleAPIUpdateUser)

	s.groupRoutes(mux)

	// Pages where a person registers an OAuth application.
	mux.HandleFunc("GET /-/user_settings/applications", s.handleUserApps)
	mux.HandleFunc("POST /-/user_settings/applications", s.handleUserAppCreate)
	mux.HandleFunc("GET /-/user_settings/applications/{id}", s.handleUserAppShow)
	mux.HandleFunc("GET /admin/applications", s.handleAdminApps)
	mux.HandleFunc("GET /admin/applications/new", s.handleAdminAppNew)
	mux.HandleFunc("POST /admin/applications", s.handleAdminAppCreate)
	mux.HandleFunc("GET /admin/applications/{id}", s.handleAdminAppShow)

	// Test control, not part of GitLab.
	mux.HandleFunc(faultPath, s.handleFault)

	mux.HandleFunc("/", s.notFound)
	return s.withFaults(methodOverride(mux))
}

// groupRoutes maps the groups and members API. {id} is a numeric id or a
// URL-encoded full path ("eng%2Fplatform"): ServeMux matches the escaped
// path segment by segment and PathValue unescapes it, so an encoded slash
// stays inside the segment, while "eng/platform" unencoded matches nothing,
// as in GitLab, whose :id requirement is [^/]+.
func (s *Server) groupRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v4/groups", s.handleAPIListGroups)
	mux.HandleFunc("POST /api/v4/groups", s.handleAPICreateGroup)
	mux.HandleFunc("GET /api/v4/groups/{id}", s.handleAPIGetGroup)
	mux.HandleFunc("GET /api/v4/groups/{id}/members", s.handleAPIListMembers(directOnly))
	mux.HandleFunc("GET /api/v4/groups/{id}/members/all", s.handleAPIListMembers(withInherited))
	mux.HandleFunc("GET /api/v4/groups/{id}/members/{user_id}", s.handleAPIGetMember(directOnly))
	mux.HandleFunc("GET /api/v4/groups/{id}/members/all/{user_id}", s.handleAPIGetMember(withInherited))
	mux.HandleFunc("POST /api/v4/groups/{id}/members", s.handleAPIAddMember)
}

// methodOverride honours Rails' hidden _method field, which GitLab's Deny
// button uses to send DELETE /oauth/authorize from a plain form. It is
// limited to that path because reading _method consumes the body, which
// other handlers (JSON bodies sent as form by curl -d) must still see.
func methodOverride(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/oauth/authorize" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			if m := strings.ToUpper(r.FormValue("_method")); m == http.MethodDelete || m == http.MethodPatch || m == http.MethodPut {
				r.Method = m
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		return
	}
	s.render(w, r, http.StatusNotFound, "error", pageData{
		Title:   "Not Found",
		Heading: "404: Page not found",
		Message: "Make sure the address is correct and the page has not moved.",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
