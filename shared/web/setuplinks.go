package web

import (
	"net/http"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// handleAdminSignIn redeems a one-time admin sign-in link: a new admin browser session
// (any previous one of this browser ends), then 303 to the integrations list. The token
// in the URL is never logged (the request log has the route pattern, not the URL), and
// Referrer-Policy: no-referrer keeps it from leaking onwards.
func (s *sessionServer) handleAdminSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		sid, err := s.links.RedeemAdminLink(r.Context(), org, r.URL.Query().Get("token"))
		if err != nil {
			s.failPage(w, r, err, errorPage{Title: "This sign-in link does not work"})
			return
		}
		if old := s.cookie(r, cookieAdmin); old != "" {
			if err := s.sessions.EndAdminSession(r.Context(), old); err != nil {
				s.log.WarnContext(r.Context(), "could not end the previous admin session", "error", err.Error())
			}
		}
		s.setCookie(w, r, cookieAdmin, sid, forgelink.SessionTTL)
		http.Redirect(w, r, integrationsPath(org), http.StatusSeeOther)
	})
}
