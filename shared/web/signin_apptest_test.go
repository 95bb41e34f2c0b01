package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/storetest"
)

// TestSignInAfterAdminSetup runs the member sign-in on the application as the local runner
// wires it (shared/apptest), on an integration set up through the admin API: create,
// register the GitLab application with the callback URL shown, save credentials.
func TestSignInAfterAdminSetup(t *testing.T) { onBothStores(t, testSignInAfterAdminSetup) }

func testSignInAfterAdminSetup(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	in, _ := e.ActiveIntegration(t)
	c := e.Client(t)

	home := e.SignIn(t, c, in.LoginURL+"?return_to="+url.QueryEscape("//evil.example"), "alice")
	if home.StatusCode != http.StatusOK || home.Request.URL.Path != "/orgs/"+e.Org {
		t.Fatalf("sign-in ended at %s with %d:\n%s", home.Request.URL, home.StatusCode, snippet(home.Body))
	}
	host := strings.TrimPrefix(e.GitLabURL, "http://")
	if !strings.Contains(home.Body, "Signed in as @alice ("+host+")") {
		t.Fatalf("home page:\n%s", snippet(home.Body))
	}
	who := apptest.Do(t, c, mustRequest(t, e.URL+"/api/v1/orgs/"+e.Org+"/session"))
	if who.StatusCode != http.StatusOK || !strings.Contains(who.Body, `"username":"alice"`) {
		t.Fatalf("whoami: %d %s", who.StatusCode, who.Body)
	}
	r := e.PostForm(t, c, "/orgs/"+e.Org+"/logout", map[string]string{"csrf_token": apptest.FormValue(home.Body, "csrf_token")})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", r.StatusCode, snippet(r.Body))
	}
	who = apptest.Do(t, c, mustRequest(t, e.URL+"/api/v1/orgs/"+e.Org+"/session"))
	if who.StatusCode != http.StatusUnauthorized {
		t.Fatalf("whoami after logout: %d", who.StatusCode)
	}
	// Sign-in and sign-out are in the integration's audit trail.
	audit := e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/integrations/"+in.ID+"/audit", nil)
	if !strings.Contains(audit.Body, "member.signed_in") || !strings.Contains(audit.Body, "member.signed_out") {
		t.Errorf("audit: %s", audit.Body)
	}
}

func mustRequest(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestCallbackBoundsSlowGitLab: a GitLab that answers each call in 6 s — under the
// client's per-call timeout — must still get its clear 502 within the callback's 10 s
// budget for the whole exchange, long before the function's own timeout (15 s).
func TestCallbackBoundsSlowGitLab(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 10 s GitLab budget (-short)")
	}
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	in, _ := e.ActiveIntegration(t)
	c := e.Client(t)

	// Walk to GitLab's redirect back to the callback, without following it.
	r := e.Follow(t, c, e.StartLogin(t, c, in.LoginURL))
	r = e.Follow(t, c, e.PostForm(t, c, e.GitLabURL+"/users/sign_in", map[string]string{"user[login]": "alice", "user[password]": "password"}))
	r = e.PostForm(t, c, e.GitLabURL+"/oauth/authorize", apptest.HiddenInputs(r.Body, "authorize"))
	callback := r.Header.Get("Location")
	if r.StatusCode != http.StatusFound || !strings.HasPrefix(callback, in.CallbackURL+"?") {
		t.Fatalf("authorize: %d → %q", r.StatusCode, callback)
	}

	e.GitLab.SetFault(fakegitlab.Fault{Slow: 6 * time.Second})
	defer e.GitLab.SetFault(fakegitlab.Fault{})
	start := time.Now()
	r = e.Get(t, c, callback)
	took := time.Since(start)
	if r.StatusCode != http.StatusBadGateway {
		t.Fatalf("callback with a slow GitLab: %d, want 502:\n%s", r.StatusCode, snippet(r.Body))
	}
	if took < 9*time.Second || took > 12*time.Second {
		t.Errorf("callback answered after %v, want about 10 s (one budget for both GitLab calls)", took)
	}
}

// TestLogoutAfterSessionExpired: a sign-out form left open past the session's 12 hours
// still signs the browser out (303 home, cookie cleared) instead of refusing: there is
// nothing left to end, and the person's wish is already true.
func TestLogoutAfterSessionExpired(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	e := apptest.Start(t, apptest.Options{Now: clock.Now})
	in, _ := e.ActiveIntegration(t)
	c := e.Client(t)
	home := e.SignIn(t, c, in.LoginURL, "alice")
	csrf := apptest.FormValue(home.Body, "csrf_token")
	if csrf == "" {
		t.Fatalf("no sign-out form on the home page:\n%s", snippet(home.Body))
	}

	clock.Advance(forgelink.SessionTTL + time.Minute)
	r := e.PostForm(t, c, "/orgs/"+e.Org+"/logout", map[string]string{"csrf_token": csrf})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/orgs/"+e.Org {
		t.Fatalf("logout after expiry: %d → %q:\n%s", r.StatusCode, r.Header.Get("Location"), snippet(r.Body))
	}
	cleared := false
	for _, ck := range r.Cookies() {
		if ck.Name == "forgelink_session_"+e.Org && ck.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("the session cookie was not cleared: %v", r.Header["Set-Cookie"])
	}
}
