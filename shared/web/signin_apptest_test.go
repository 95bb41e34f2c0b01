package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
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
