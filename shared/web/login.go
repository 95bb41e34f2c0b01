package web

import (
	"net/http"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// handleLogin starts a member sign-in: GET /orgs/{org}/login/{id}[?return_to=/path].
// It seals the state, PKCE verifier, org, integration and return_to into the state cookie
// (10 minutes) and sends the browser to GitLab's authorize page. It writes nothing to the
// store.
func (s *loginServer) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, id := r.PathValue("org"), r.PathValue("id")
		start, err := s.signIn.StartLogin(r.Context(), s.base(r), org, id, r.URL.Query().Get("return_to"))
		if err != nil {
			s.failSignIn(w, r, err)
			return
		}
		sealed, err := s.sealer.Seal(start.State, s.now(), forgelink.StateTTL)
		if err != nil {
			s.failSignIn(w, r, forgelink.Wrap(forgelink.EINTERNAL, err, "Sign-in could not be started."))
			return
		}
		s.setCookie(w, r, cookieState, sealed, forgelink.StateTTL)
		// Not http.Redirect: it re-parses an URL we just built (absolute, escaped) and
		// writes an HTML body that browsers never show for a 302.
		w.Header().Set("Location", start.AuthURL)
		w.WriteHeader(http.StatusFound)
	})
}
