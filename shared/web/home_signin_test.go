package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// TestOrgHome: sign-in buttons for active integrations only; 404 for unknown orgs.
func TestOrgHome(t *testing.T) {
	e := startEnv(t, envOptions{})
	a := e.integration(t, e.Org, "Main GitLab", forgelink.StatusActive)
	e.integration(t, e.Org, "Pending GitLab", forgelink.StatusPending)

	r := e.get(t, e.browser(t), "/orgs/"+e.Org)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Sign in with Main GitLab", service.LoginURL(e.URL, e.Org, a.ID))
	if strings.Contains(r.Body, "Pending GitLab") {
		t.Errorf("home offers a pending integration")
	}
	if strings.Contains(r.Body, "Sign out") {
		t.Errorf("home offers sign-out to a visitor")
	}

	wantStatus(t, e.get(t, e.browser(t), "/orgs/nope"), http.StatusNotFound)
	who := e.get(t, e.browser(t), "/api/v1/orgs/"+e.Org+"/session")
	wantStatus(t, who, http.StatusUnauthorized)
	if !strings.HasPrefix(who.Header.Get("Content-Type"), "application/json") {
		t.Errorf("whoami 401 is not JSON: %s", who.Header.Get("Content-Type"))
	}
}

// TestCrossOrgSession: a session of org acme is worth nothing at org globex: its home
// shows the sign-in buttons, whoami is 401, logout is 403 and leaves the session alone.
func TestCrossOrgSession(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	e.createOrg(t, "globex")
	e.integration(t, "globex", "Globex GitLab", forgelink.StatusActive)

	c := e.browser(t)
	r := e.signIn(t, c, service.LoginURL(e.URL, e.Org, in.ID), "alice")
	wantStatus(t, r, http.StatusSeeOther)
	acmeHome := e.follow(t, c, r)
	csrf := inputValue(acmeHome.Body, "csrf_token")
	if csrf == "" {
		t.Fatal("no CSRF token on the signed-in home page")
	}

	home := e.get(t, c, "/orgs/globex")
	wantStatus(t, home, http.StatusOK)
	wantBody(t, home, "Sign in with Globex GitLab")
	if strings.Contains(home.Body, "Signed in as") {
		t.Errorf("globex home treats an acme session as signed in")
	}
	wantStatus(t, e.get(t, c, "/api/v1/orgs/globex/session"), http.StatusUnauthorized)
	r = e.post(t, c, "/orgs/globex/logout", url.Values{"csrf_token": {csrf}})
	wantStatus(t, r, http.StatusForbidden)
	if sc := setCookie(r, sessionCookie); sc != nil {
		t.Errorf("a refused logout touched the session cookie")
	}
	wantStatus(t, e.get(t, c, "/api/v1/orgs/"+e.Org+"/session"), http.StatusOK)
}

// TestSessionEnds: sessions last 12 hours, and end when their integration is turned off.
func TestSessionEnds(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	c := e.browser(t)
	wantStatus(t, e.signIn(t, c, service.LoginURL(e.URL, e.Org, in.ID), "alice"), http.StatusSeeOther)

	e.Clock.Advance(11 * time.Hour)
	wantStatus(t, e.get(t, c, "/api/v1/orgs/"+e.Org+"/session"), http.StatusOK)
	e.Clock.Advance(time.Hour)
	wantStatus(t, e.get(t, c, "/api/v1/orgs/"+e.Org+"/session"), http.StatusUnauthorized)

	c = e.browser(t)
	wantStatus(t, e.signIn(t, c, service.LoginURL(e.URL, e.Org, in.ID), "alice"), http.StatusSeeOther)
	cur, _ := e.Mem.GetIntegration(t.Context(), e.Org, in.ID)
	cur.Status = forgelink.StatusDisabled
	if _, err := e.Mem.UpdateIntegration(t.Context(), cur); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(31 * time.Second) // the integration cache's bound
	wantStatus(t, e.get(t, c, "/api/v1/orgs/"+e.Org+"/session"), http.StatusUnauthorized)
}
