package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
)

type mbMember struct {
	ID             string  `json:"id"`
	IntegrationID  string  `json:"integration_id"`
	GitLabUserID   int64   `json:"gitlab_user_id"`
	Username       string  `json:"username"`
	Name           string  `json:"name"`
	Role           *string `json:"role"`
	FirstSignInAt  string  `json:"first_sign_in_at"`
	LastSignInAt   string  `json:"last_sign_in_at"`
	ActiveSessions int     `json:"active_sessions"`
}

func mbPath(org, rest string) string { return "/api/v1/orgs/" + org + "/members" + rest }

// mbList returns the org's members by username.
func mbList(t *testing.T, e *apptest.Env) map[string]mbMember {
	t.Helper()
	r := e.API(t, http.MethodGet, mbPath(e.Org, ""), nil)
	igWantStatus(t, r, http.StatusOK)
	out := map[string]mbMember{}
	for _, m := range igDecode[struct{ Members []mbMember }](t, r).Members {
		out[m.Username] = m
	}
	return out
}

// mbWhoami is the status of the browser's whoami in the org.
func mbWhoami(t *testing.T, e *apptest.Env, c *http.Client) int {
	t.Helper()
	return apptest.Do(t, c, mustRequest(t, e.URL+"/api/v1/orgs/"+e.Org+"/session")).StatusCode
}

// mbSignIn signs user in with a new browser and checks that it worked.
func mbSignIn(t *testing.T, e *apptest.Env, loginURL, user string) *http.Client {
	t.Helper()
	c := e.Client(t)
	if r := e.SignIn(t, c, loginURL, user); r.StatusCode != http.StatusOK || mbWhoami(t, e, c) != http.StatusOK {
		t.Fatalf("sign-in of %s: %d %s", user, r.StatusCode, snippet(r.Body))
	}
	return c
}

func TestMembers(t *testing.T) { onBothStores(t, testMembers) }

func testMembers(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	in, _ := e.ActiveIntegration(t)
	alice1, alice2 := mbSignIn(t, e, in.LoginURL, "alice"), mbSignIn(t, e, in.LoginURL, "alice")
	bob := mbSignIn(t, e, in.LoginURL, "bob")

	members := mbList(t, e)
	a, b := members["alice"], members["bob"]
	if len(members) != 2 || a.ActiveSessions != 2 || b.ActiveSessions != 1 || a.GitLabUserID != 2 ||
		a.Name != "Alice Liddell" || a.IntegrationID != in.ID || a.Role == nil || *a.Role != "member" ||
		a.FirstSignInAt == "" || a.LastSignInAt < a.FirstSignInAt || a.ID == "" || a.ID == b.ID {
		t.Fatalf("members after three sign-ins: %+v", members)
	}
	// A sign-out is no longer counted.
	home := e.Get(t, alice2, "/orgs/"+e.Org)
	igWantStatus(t, e.PostForm(t, alice2, "/orgs/"+e.Org+"/logout", map[string]string{"csrf_token": apptest.FormValue(home.Body, "csrf_token")}), http.StatusSeeOther)
	if n := mbList(t, e)["alice"].ActiveSessions; n != 1 {
		t.Errorf("alice's active sessions after one sign-out: %d, want 1", n)
	}
	alice2 = mbSignIn(t, e, in.LoginURL, "alice")

	// The page lists both; its form needs the CSRF token.
	admin := e.AdminClient(t)
	page := "/orgs/" + e.Org + "/settings/members"
	r := e.Get(t, admin, page)
	igWantStatus(t, r, http.StatusOK)
	for _, want := range []string{"@alice", "Alice Liddell", "@bob", "Sign out everywhere", page + "/" + a.ID + "/sign-out"} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("members page lacks %q:\n%s", want, snippet(r.Body))
		}
	}
	csrf := apptest.FormValue(r.Body, "csrf_token")
	signOut := page + "/" + a.ID + "/sign-out"
	igWantStatus(t, e.PostForm(t, admin, signOut, map[string]string{}), http.StatusForbidden)
	if mbWhoami(t, e, alice1) != http.StatusOK || mbList(t, e)["alice"].ActiveSessions != 2 {
		t.Fatal("a sign-out everywhere without the CSRF token changed something")
	}

	r = e.PostForm(t, admin, signOut, map[string]string{"csrf_token": csrf})
	igWantStatus(t, r, http.StatusSeeOther)
	if r = e.Follow(t, admin, r); !strings.Contains(r.Body, "@alice was signed out everywhere (2 sessions ended)") {
		t.Errorf("after sign out everywhere:\n%s", snippet(r.Body))
	}
	if mbWhoami(t, e, alice1) != http.StatusUnauthorized || mbWhoami(t, e, alice2) != http.StatusUnauthorized {
		t.Error("alice's sessions survived sign out everywhere")
	}
	if mbWhoami(t, e, bob) != http.StatusOK {
		t.Error("bob's session ended with alice's")
	}
	if n := mbList(t, e)["alice"].ActiveSessions; n != 0 {
		t.Errorf("alice's active sessions after sign out everywhere: %d", n)
	}
	// She may sign in again.
	mbSignIn(t, e, in.LoginURL, "alice")
	if n := mbList(t, e)["alice"].ActiveSessions; n != 1 {
		t.Errorf("alice's active sessions after signing in again: %d", n)
	}

	// The API: 204, bob is signed out; the audit trail names both.
	igWantStatus(t, e.API(t, http.MethodDelete, mbPath(e.Org, "/"+b.ID+"/sessions"), nil), http.StatusNoContent)
	if mbWhoami(t, e, bob) != http.StatusUnauthorized {
		t.Error("bob's session survived the API's sign out everywhere")
	}
	audit := e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/integrations/"+in.ID+"/audit", nil)
	for _, want := range []string{"Signed out everywhere: @alice", "Signed out everywhere: @bob", "member.signed_out_everywhere"} {
		if !strings.Contains(audit.Body, want) {
			t.Errorf("audit lacks %q: %s", want, audit.Body)
		}
	}
	testMembersIsolation(t, e, a, admin, page, csrf)
}

// testMembersIsolation: another org's member ids and unknown ids are 404, and change nothing.
func testMembersIsolation(t *testing.T, e *apptest.Env, alice mbMember, admin *http.Client, page, csrf string) {
	beta, _ := arSecondOrg(t, e)
	igWantStatus(t, e.APIWithToken(t, beta, http.MethodDelete, mbPath("beta", "/"+alice.ID+"/sessions"), nil), http.StatusNotFound)
	r := e.APIWithToken(t, beta, http.MethodGet, mbPath("beta", ""), nil)
	igWantStatus(t, r, http.StatusOK)
	if strings.TrimSpace(r.Body) != `{"members":[]}` {
		t.Errorf("beta's members: %s", r.Body)
	}
	igWantStatus(t, e.APIWithToken(t, beta, http.MethodGet, mbPath(e.Org, ""), nil), http.StatusForbidden)
	igWantStatus(t, e.APIWithToken(t, beta, http.MethodDelete, mbPath(e.Org, "/"+alice.ID+"/sessions"), nil), http.StatusForbidden)
	igWantStatus(t, e.APIWithToken(t, "", http.MethodGet, mbPath(e.Org, ""), nil), http.StatusUnauthorized)
	for _, id := range []string{"nope", alice.IntegrationID + "-999", "x-2", alice.IntegrationID + "-02", "-2"} {
		igWantStatus(t, e.API(t, http.MethodDelete, mbPath(e.Org, "/"+id+"/sessions"), nil), http.StatusNotFound)
		igWantStatus(t, e.PostForm(t, admin, page+"/"+id+"/sign-out", map[string]string{"csrf_token": csrf}), http.StatusNotFound)
	}
	if n := mbList(t, e)["alice"].ActiveSessions; n != 1 {
		t.Errorf("alice's active sessions after refused requests: %d, want 1", n)
	}
	// A member is not an admin: the page is refused.
	c := mbSignIn(t, e, "/orgs/"+e.Org+"/login/"+alice.IntegrationID, "bob")
	igWantStatus(t, e.Get(t, c, page), http.StatusForbidden)
}
