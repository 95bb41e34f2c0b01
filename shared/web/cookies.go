package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/statecookie"
)

// Cookie base names; cookieName adds the __Host- prefix on https.
const (
	cookieState   = "forgelink_state"   // sealed OAuth state, 10 min, cleared at callback
	cookieSession = "forgelink_session" // member session id
	cookieAdmin   = "forgelink_admin"   // admin browser session id
)

// base returns the public base URL for r: FORGELINK_BASE_URL when set, otherwise the API
// Gateway domain (always https), otherwise the request's own scheme and host.
func (s *site) base(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	if d := requestInfo(r).Domain; d != "" {
		return "https://" + d
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *site) secure(r *http.Request) bool { return strings.HasPrefix(s.base(r), "https://") }

func (s *site) cookieName(r *http.Request, base string) string {
	if s.secure(r) {
		return "__Host-" + base
	}
	return base
}

// setCookie sets an HttpOnly, SameSite=Lax, Path=/ cookie; Secure on https.
func (s *site) setCookie(w http.ResponseWriter, r *http.Request, name, value string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieName(r, name),
		Value:    value,
		Path:     "/",
		MaxAge:   int(ttl.Seconds()),
		Expires:  s.now().Add(ttl),
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *site) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieName(r, name),
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Expires:  time.Unix(0, 0),
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// cookie returns the value of the named cookie, or "".
func (s *site) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(s.cookieName(r, name))
	if err != nil {
		return ""
	}
	return c.Value
}

// csrfToken binds a form to the browser session whose id is sessionID: a page of one
// session cannot post into another, and nothing needs storing.
func (s *site) csrfToken(sessionID string) string {
	return s.sealer.MAC("csrf", sessionID)
}

// errCSRF is what a state-changing form without a valid csrf_token gets; callers word
// their own page around it.
var errCSRF = forgelink.Errorf(forgelink.EFORBIDDEN, "The form's CSRF token is missing or wrong; nothing was changed.")

// checkForm parses r's url-encoded form and checks that its csrf_token belongs to
// sessionID: nil when it does, errCSRF when not. A body that is not a url-encoded form
// (none at all, JSON, text, multipart) carries no token that counts, so it is errCSRF too
// (DESIGN.md: a missing token is 403, not 415) — and PostFormValue is never asked, since it
// would parse multipart. An oversized or unreadable form keeps its own error (413/400).
func (s *site) checkForm(r *http.Request, sessionID string) error {
	if err := parseForm(r); forgelink.ErrorCode(err) == forgelink.EUNSUPPORTED {
		return errCSRF
	} else if err != nil {
		return err
	}
	got := r.PostFormValue("csrf_token")
	if sessionID == "" || got == "" || !statecookie.Equal(got, s.csrfToken(sessionID)) {
		return errCSRF
	}
	return nil
}
