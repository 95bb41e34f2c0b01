package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// handleCallback finishes a member sign-in: GET /orgs/{org}/login/{id}/callback. The state
// cookie is cleared whatever happens (single use: a replayed callback finds none). Every
// failure gets its own page and status; success sets the session cookie and answers 303
// to return_to or the org home.
func (s *callbackServer) handleCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, id := r.PathValue("org"), r.PathValue("id")
		q := r.URL.Query()
		cb := service.LoginCallback{
			Base:              s.base(r),
			Org:               org,
			IntegrationID:     id,
			Code:              q.Get("code"),
			State:             q.Get("state"),
			Error:             q.Get("error"),
			PreviousSessionID: s.cookie(r, sessionCookie(org)),
		}
		if raw := s.cookie(r, cookieState); raw != "" {
			var st service.LoginState
			if err := s.sealer.Open(raw, s.now(), &st); err != nil {
				s.log.InfoContext(r.Context(), "state cookie refused", "error", err.Error())
			} else {
				cb.Cookie = st
			}
		}

		done, err := s.signIn.FinishLogin(r.Context(), cb)
		if cb.Cookie.Test {
			// A Test sign-in reports on the integration's page, whatever happened, and
			// never touches the browser's session.
			out := done.Test
			if err != nil {
				out = service.TestFailure(org, id, err)
			}
			s.setTestOutcome(w, r, out)
			s.clearCookie(w, r, cookieState)
			http.Redirect(w, r, service.IntegrationPagePath(org, id), http.StatusSeeOther)
			return
		}
		if err != nil {
			s.clearCookie(w, r, cookieState)
			s.failSignIn(w, r, err)
			return
		}
		// The session cookie goes first and the state cookie's deletion last: some cookie
		// jars (curl 7.x among them) drop a deletion that is followed by another
		// Set-Cookie in the same response, and would then replay the spent state cookie.
		s.setCookie(w, r, sessionCookie(org), done.SessionID, forgelink.SessionTTL)
		s.clearCookie(w, r, cookieState)
		http.Redirect(w, r, done.ReturnTo, http.StatusSeeOther)
	})
}

// failSignIn renders the page of a failed login start or callback: each failure its own
// title, the status from its code, and a way back into the flow where one makes sense.
func (s *site) failSignIn(w http.ResponseWriter, r *http.Request, err error) {
	org, id := r.PathValue("org"), r.PathValue("id")
	loginURL := "/orgs/" + url.PathEscape(org) + "/login/" + url.PathEscape(id)
	home := "/orgs/" + url.PathEscape(org)
	var page errorPage
	switch {
	case errors.Is(err, service.ErrLoginCancelled):
		page = errorPage{Title: "Sign-in cancelled", ActionURL: loginURL, ActionLabel: "Try again"}
	case errors.Is(err, service.ErrLoginExpired):
		page = errorPage{Title: "Your sign-in attempt expired or was not started here", ActionURL: loginURL, ActionLabel: "Start again"}
	case errors.Is(err, service.ErrSignInRefused):
		page = errorPage{Title: "You may not sign in to this organization", ActionURL: home, ActionLabel: "Back to the organization"}
	case errors.Is(err, service.ErrSetupProblem):
		page = errorPage{Title: "Sign-in is not set up correctly", ActionURL: home, ActionLabel: "Back to the organization"}
	case errors.Is(err, service.ErrAccountNotActive):
		page = errorPage{Title: "Your GitLab account is not active", ActionURL: home, ActionLabel: "Back to the organization"}
	default:
		switch forgelink.ErrorCode(err) {
		case forgelink.ENOTFOUND:
			// The org's home lists its working sign-in links; an unknown org gets no link
			// (its name from the path is never echoed).
			page = errorPage{Title: "This login link is not valid", ActionURL: home, ActionLabel: "Go to the organization's sign-in page"}
			if errors.Is(err, service.ErrUnknownOrg) {
				page.ActionURL, page.ActionLabel = "", ""
			}
		case forgelink.EPENDING:
			page = errorPage{Title: "Sign-in is not available yet", ActionURL: home, ActionLabel: "Back to the organization"}
		case forgelink.EEXPIRED, forgelink.EMALFORMED:
			page = errorPage{Title: "Sign-in did not complete", ActionURL: loginURL, ActionLabel: "Start again"}
		case forgelink.EUPSTREAM:
			page = errorPage{Title: "GitLab did not answer as expected", ActionURL: loginURL, ActionLabel: "Try again"}
		case forgelink.EUNAVAILABLE, forgelink.ERATELIMITED:
			page = errorPage{ActionURL: loginURL, ActionLabel: "Try again"}
		}
	}
	s.failPage(w, r, err, page)
}
