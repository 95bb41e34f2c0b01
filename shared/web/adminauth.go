package web

import (
	"net/http"
	"strings"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// adminPage authenticates an admin browser session for the org in the path. It answers
// the request itself (401 / 403 page) and returns ok false when there is none.
func (s *integrationsServer) adminPage(w http.ResponseWriter, r *http.Request) (actor service.Actor, sessionID string, ok bool) {
	org := r.PathValue("org")
	sessionID = s.cookie(r, sessionCookie(org))
	actor, sess, err := s.sessions.AdminSession(r.Context(), org, sessionID)
	if err != nil {
		page := errorPage{ActionURL: service.OrgHomePath(org), ActionLabel: "Go to the organization's sign-in page"}
		switch forgelink.ErrorCode(err) {
		case forgelink.EUNAUTHORIZED:
			page.Title = "Please sign in as an admin"
		case forgelink.EFORBIDDEN:
			page.Title = "Admins only"
			page.ActionLabel = "Back to the organization"
		}
		s.failPage(w, r, err, page)
		return service.Actor{}, "", false
	}
	metaOf(r).settings = &settingsHeader{Org: org, Who: who(sess), CSRF: s.csrfToken(sessionID), Current: section(r.URL.Path)}
	return actor, sessionID, true
}

// who names the holder of sess for the settings header.
func who(sess forgelink.Session) string {
	if sess.User.Username == "" {
		return "Setup link: " + sess.Principal
	}
	return "@" + sess.User.Username + " · " + sess.GitLabHost
}

// section is the settings section a path belongs to.
func section(path string) string {
	for _, s := range []string{"admins", "members"} {
		if strings.Contains(path, "/settings/"+s) {
			return s
		}
	}
	return "integrations"
}

// adminForm authenticates a POSTed admin form: session, form body, CSRF token. A missing
// or wrong CSRF token is a 403 page and nothing changes.
func (s *integrationsServer) adminForm(w http.ResponseWriter, r *http.Request) (service.Actor, string, bool) {
	actor, sid, ok := s.adminPage(w, r)
	if !ok {
		return actor, sid, false
	}
	if err := s.checkForm(r, sid); err == errCSRF {
		s.failPage(w, r, forgelink.Wrap(forgelink.EFORBIDDEN, err,
			"The form had expired or did not come from this site, so nothing was changed. Reload the page and try again."),
			errorPage{Title: "Form not accepted", ActionURL: integrationsPath(r.PathValue("org")), ActionLabel: "Back to integrations"})
		return service.Actor{}, "", false
	} else if err != nil {
		s.failHTML(w, r, err, "")
		return service.Actor{}, "", false
	}
	return actor, sid, true
}

// apiActor authenticates a JSON API request by its bearer token only; cookies are ignored,
// so the API needs no CSRF defence.
func (s *integrationsServer) apiActor(w http.ResponseWriter, r *http.Request) (service.Actor, bool) {
	actor, err := s.tokens.AuthenticateToken(r.Context(), r.PathValue("org"), bearerToken(r))
	if err != nil {
		s.failJSON(w, r, err)
		return service.Actor{}, false
	}
	return actor, true
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header, or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

func integrationsPath(org string) string { return "/orgs/" + org + "/settings/integrations" }

func integrationPath(org, id string) string { return integrationsPath(org) + "/" + id }
