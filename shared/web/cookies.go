package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// Cookie base names; cookieName adds the __Host- prefix on https.
const (
	cookieState   = "forgelink_state"   // sealed OAuth state, 10 min, cleared at callback
	cookieSession = "forgelink_session" // prefix of the per-org session cookies
)

// MaxOrgSessions caps the orgs one browser can be signed in to at once: each is a cookie
// sent with every request, and browsers keep about 50 per site.
const MaxOrgSessions = 20

// sessionCookie is the name of the browser's session cookie in org: one cookie per org,
// so signing in to or out of one org never touches another's session. Org slugs are
// [a-z0-9-], safe in a cookie name.
func sessionCookie(org string) string { return cookieSession + "_" + org }

// orgSessions counts the org session cookies r carries besides org's own.
func (s *site) orgSessions(r *http.Request, org string) int {
	prefix, own := s.cookieName(r, cookieSession+"_"), s.cookieName(r, sessionCookie(org))
	n := 0
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, prefix) && c.Name != own && c.Value != "" {
			n++
		}
	}
	return n
}

// errTooManySessions refuses a new org session past MaxOrgSessions: evicting another
// org's session would break the promise that signing in here never signs you out there.
var errTooManySessions = forgelink.Errorf(forgelink.ECONFLICT,
	"This browser is signed in to too many organizations at once. Sign out of one you no longer use, then sign in again.")

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
	// VerifyMAC accepts the previous cookie key too: forms open during a key rotation
	// still post.
	if sessionID == "" || got == "" || !s.sealer.VerifyMAC("csrf", sessionID, got) {
		return errCSRF
	}
	return nil
}

// crossOrigin is Go's protection against cross-site form posts (Sec-Fetch-Site, then
// Origin against Host).
var crossOrigin = http.NewCrossOriginProtection()

var errCrossSite = forgelink.Errorf(forgelink.EFORBIDDEN,
	"This request did not come from forgelink's own page, so nothing happened. Open the link again and use the button on its page.")

// sameOrigin refuses a state-changing request that forms without a CSRF token (the login
// button, a setup link's Continue) accept only from forgelink's own pages: cross-site or
// same-site by Sec-Fetch-Site, or, from browsers without it, an Origin other than the
// base URL's. It changes nothing, so the caller answers 403 and sets no cookie.
func (s *site) sameOrigin(r *http.Request) error {
	err := crossOrigin.Check(r)
	if err == nil && r.Header.Get("Sec-Fetch-Site") == "" {
		if o := r.Header.Get("Origin"); o != "" && o != originOf(s.base(r)) {
			err = errCrossSite
		}
	}
	if err != nil {
		s.log.InfoContext(r.Context(), "cross-origin post refused", "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		return errCrossSite
	}
	return nil
}

// originOf is the scheme://host[:port] of a base URL.
func originOf(base string) string {
	if i := strings.Index(base, "://"); i >= 0 {
		if j := strings.IndexByte(base[i+3:], '/'); j >= 0 {
			return base[:i+3+j]
		}
	}
	return base
}

// cookieTest carries a Test sign-in's outcome from the callback to the integration's page
// (sealed: it names GitLab users and groups).
const cookieTest = "forgelink_test"

// testOutcomeTTL is how long a Test sign-in's report waits to be shown.
const testOutcomeTTL = 5 * time.Minute

func (s *site) setTestOutcome(w http.ResponseWriter, r *http.Request, out *service.TestOutcome) {
	sealed, err := s.sealer.Seal(out, s.now(), testOutcomeTTL)
	if err != nil {
		s.log.ErrorContext(r.Context(), "could not seal a test outcome", "error", err.Error())
		return
	}
	s.setCookie(w, r, cookieTest, sealed, testOutcomeTTL)
}

// takeTestOutcome returns the Test sign-in report waiting for integration id, and clears
// it; nil when there is none.
func (s *site) takeTestOutcome(w http.ResponseWriter, r *http.Request, id string) *service.TestOutcome {
	raw := s.cookie(r, cookieTest)
	if raw == "" {
		return nil
	}
	var out service.TestOutcome
	if err := s.sealer.Open(raw, s.now(), &out); err != nil || out.IntegrationID != id {
		return nil
	}
	s.clearCookie(w, r, cookieTest)
	return &out
}
