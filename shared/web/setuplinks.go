package web

import (
	"net/http"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// setupLinkPage is the data of setup_link.html.
type setupLinkPage struct {
	Org   string
	Token string
}

// handleSetupLinkPage is GET (and HEAD) /orgs/{org}/admin/sign-in?token=…: a page with a
// Continue button. It never redeems: link scanners and chat previews fetch links, and
// must not use them up. The token in the URL is never logged (the request log has the
// route pattern, not the URL), and Referrer-Policy: no-referrer keeps it from leaking.
func (s *sessionServer) handleSetupLinkPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if token == "" || len(token) > 256 {
			s.failPage(w, r, forgelink.Errorf(forgelink.EMALFORMED,
				"This setup link is incomplete: the token is missing. Copy the whole link your operator sent."),
				errorPage{Title: "This setup link does not work"})
			return
		}
		s.render(w, r, http.StatusOK, "setup_link.html", setupLinkPage{Org: r.PathValue("org"), Token: token})
	})
}

// handleAdminSignIn is POST /orgs/{org}/admin/sign-in with the token in the form body: it
// redeems the setup link once and starts an admin session in this org only (another
// org's session in this browser stays), then 303 to the integrations list. The form comes
// from our own page: a cross-site post is refused before anything is used up.
func (s *sessionServer) handleAdminSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		if err := s.sameOrigin(r); err != nil {
			s.failPage(w, r, err, errorPage{Title: "Sign-in not accepted"})
			return
		}
		if err := parseForm(r); err != nil {
			s.failPage(w, r, err, errorPage{Title: "This setup link does not work"})
			return
		}
		if s.orgSessions(r, org) >= MaxOrgSessions {
			s.failPage(w, r, errTooManySessions, errorPage{Title: "Too many organizations"})
			return
		}
		sid, err := s.links.RedeemAdminLink(r.Context(), org, r.PostFormValue("token"))
		if err != nil {
			s.failPage(w, r, err, errorPage{Title: "This setup link does not work"})
			return
		}
		if old := s.cookie(r, sessionCookie(org)); old != "" {
			if err := s.sessions.SignOut(r.Context(), org, old); err != nil {
				s.log.WarnContext(r.Context(), "could not end the previous session", "error", err.Error())
			}
		}
		s.setCookie(w, r, sessionCookie(org), sid, forgelink.SessionTTL)
		http.Redirect(w, r, integrationsPath(org), http.StatusSeeOther)
	})
}
