package web_test

// People and access over HTTP, as browsers and scripts meet it: sessions per org, the
// login page and its cross-site refusal, setup links that previews cannot use up, roles
// from admin rules (usernames and groups, inherited membership), allowed groups, and Test
// sign-in. The fake GitLab has eng (alice 40, bob 30), eng/platform (inherited) and ops
// (alice 50), and carol in no group.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
)

func whoamiOf(t *testing.T, e *apptest.Env, c *http.Client, org string) apptest.Response {
	t.Helper()
	return e.Get(t, c, "/api/v1/orgs/"+org+"/session")
}

func TestSessionsArePerOrg(t *testing.T) { onBothStores(t, testSessionsArePerOrg) }

func testSessionsArePerOrg(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	in, _ := e.ActiveIntegration(t)
	if _, err := e.App.Services.Orgs.EnsureOrg(t.Context(), "beta", "Beta"); err != nil {
		t.Fatal(err)
	}
	c := e.Client(t)
	if r := e.SignIn(t, c, in.LoginURL, "alice"); !strings.Contains(r.Body, "Signed in as @alice") {
		t.Fatalf("sign-in: %d %s", r.StatusCode, r.Body)
	}
	// A setup link of beta in the same browser adds beta's session; acme's stays.
	igWantStatus(t, e.RedeemSetupLink(t, c, "beta", e.SetupLink(t, "beta", "Jane Doe")), http.StatusSeeOther)
	if r := whoamiOf(t, e, c, e.Org); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"username":"alice"`) || !strings.Contains(r.Body, `"role":"member"`) {
		t.Errorf("acme after beta's setup link: %d %s", r.StatusCode, r.Body)
	}
	if r := whoamiOf(t, e, c, "beta"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"role":"admin"`) || !strings.Contains(r.Body, `"principal":"Jane Doe"`) {
		t.Errorf("beta: %d %s", r.StatusCode, r.Body)
	}
	// Signing out of beta leaves acme signed in.
	home := e.Get(t, c, "/orgs/beta")
	r := e.PostForm(t, c, "/orgs/beta/logout", map[string]string{"csrf_token": apptest.FormValue(home.Body, "csrf_token")})
	igWantStatus(t, r, http.StatusSeeOther)
	igWantStatus(t, whoamiOf(t, e, c, "beta"), http.StatusUnauthorized)
	igWantStatus(t, whoamiOf(t, e, c, e.Org), http.StatusOK)
	// The login page says who is signed in, and offers to sign in as someone else.
	page := e.Get(t, c, in.LoginURL)
	if !strings.Contains(page.Body, "Signed in as @alice") || !strings.Contains(page.Body, "Sign in with GitLab") {
		t.Errorf("login page of a signed-in browser:\n%s", page.Body)
	}
}

func TestLoginPostFromAnotherSiteIsRefused(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	in, _ := e.ActiveIntegration(t)
	for name, h := range map[string]map[string]string{
		"cross-site":     {"Sec-Fetch-Site": "cross-site"},
		"same-site":      {"Sec-Fetch-Site": "same-site"},
		"foreign Origin": {"Origin": "https://evil.example"},
		"null Origin":    {"Origin": "null"},
	} {
		req, _ := http.NewRequest(http.MethodPost, in.LoginURL, strings.NewReader("return_to=%2F"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		r := apptest.Do(t, e.Client(t), req)
		if r.StatusCode != http.StatusForbidden || len(r.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("%s: %d, cookies %v", name, r.StatusCode, r.Header.Values("Set-Cookie"))
		}
	}
	// From forgelink's own page (Sec-Fetch-Site: same-origin) it starts the sign-in.
	req, _ := http.NewRequest(http.MethodPost, in.LoginURL, strings.NewReader("return_to=%2Forgs%2Facme"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", "null") // no-referrer pages send null; Sec-Fetch-Site decides
	if r := apptest.Do(t, e.Client(t), req); r.StatusCode != http.StatusFound {
		t.Errorf("same-origin post: %d", r.StatusCode)
	}
	// The setup link's Continue is protected the same way, and the link is not used up.
	link := e.SetupLink(t, e.Org, "Jane")
	_, token, _ := strings.Cut(link, "?token=")
	req, _ = http.NewRequest(http.MethodPost, e.URL+"/orgs/"+e.Org+"/admin/sign-in", strings.NewReader("token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := apptest.Do(t, e.Client(t), req); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site setup link post: %d", r.StatusCode)
	}
	igWantStatus(t, e.RedeemSetupLink(t, e.Client(t), e.Org, link), http.StatusSeeOther)
}

// adminRule adds an admin rule through the API and returns its id.
func adminRule(t *testing.T, e *apptest.Env, body map[string]any) string {
	t.Helper()
	r := e.API(t, http.MethodPost, "/api/v1/orgs/"+e.Org+"/admins", body)
	igWantStatus(t, r, http.StatusCreated)
	return igDecode[struct{ ID string }](t, r).ID
}

func TestAdminRulesGiveAndTakeTheRole(t *testing.T) {
	onBothStores(t, testAdminRulesGiveAndTakeTheRole)
}

func testAdminRulesGiveAndTakeTheRole(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	in, _ := e.ActiveIntegration(t)
	settings := "/orgs/" + e.Org + "/settings/integrations"

	// alice by username; bob through eng/platform, inherited from eng at Developer.
	aliceRule := adminRule(t, e, map[string]any{"integration_id": in.ID, "username": "alice"})
	adminRule(t, e, map[string]any{"integration_id": in.ID, "group": "eng/platform", "min_access_level": 30})
	alice, bob, carol := e.Client(t), e.Client(t), e.Client(t)
	for user, c := range map[string]*http.Client{"alice": alice, "bob": bob} {
		e.SignIn(t, c, in.LoginURL, user)
		if r := whoamiOf(t, e, c, e.Org); !strings.Contains(r.Body, `"role":"admin"`) {
			t.Errorf("%s: %s", user, r.Body)
		}
		igWantStatus(t, e.Get(t, c, settings), http.StatusOK)
	}
	e.SignIn(t, carol, in.LoginURL, "carol")
	if r := whoamiOf(t, e, carol, e.Org); !strings.Contains(r.Body, `"role":"member"`) {
		t.Errorf("carol: %s", r.Body)
	}
	igWantStatus(t, e.Get(t, carol, settings), http.StatusForbidden)

	// Removing alice's rule takes the role from her session on its next request.
	igWantStatus(t, e.API(t, http.MethodDelete, "/api/v1/orgs/"+e.Org+"/admins/"+aliceRule, nil), http.StatusNoContent)
	igWantStatus(t, e.Get(t, alice, settings), http.StatusForbidden)
	if r := whoamiOf(t, e, alice, e.Org); !strings.Contains(r.Body, `"role":"member"`) {
		t.Errorf("alice after her rule went: %s", r.Body)
	}
}

func TestAllowedGroupsRefuseOthers(t *testing.T) { onBothStores(t, testAllowedGroupsRefuseOthers) }

func testAllowedGroupsRefuseOthers(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	in, _ := e.ActiveIntegration(t)
	r := e.API(t, http.MethodPatch, "/api/v1/orgs/"+e.Org+"/integrations/"+in.ID,
		map[string]any{"allowed_groups": []map[string]any{{"path": "eng/platform", "min_access_level": 30}}})
	igWantStatus(t, r, http.StatusOK)

	// bob (Developer in eng, inherited into eng/platform) may sign in; carol may not.
	if r := e.SignIn(t, e.Client(t), in.LoginURL, "bob"); !strings.Contains(r.Body, "Signed in as @bob") {
		t.Errorf("bob: %d %s", r.StatusCode, r.Body)
	}
	c := e.Client(t)
	r = e.SignIn(t, c, in.LoginURL, "carol")
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "@carol") || !strings.Contains(r.Body, "eng/platform") {
		t.Errorf("carol: %d %s", r.StatusCode, r.Body)
	}
	igWantStatus(t, whoamiOf(t, e, c, e.Org), http.StatusUnauthorized)
	audit := e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/integrations/"+in.ID+"/audit", nil)
	if !strings.Contains(audit.Body, "signin.refused") {
		t.Errorf("no signin.refused record: %s", audit.Body)
	}
}

func TestTestSignIn(t *testing.T) { onBothStores(t, testTestSignIn) }

func testTestSignIn(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	in, _ := e.ActiveIntegration(t)
	adminRule(t, e, map[string]any{"integration_id": in.ID, "group": "ops", "min_access_level": 50})
	admin := e.AdminClient(t)
	page := e.Get(t, admin, "/orgs/"+e.Org+"/settings/integrations/"+in.ID)
	if !strings.Contains(page.Body, "not verified yet") && !strings.Contains(page.Body, "Test sign-in") {
		t.Errorf("integration page has no Test sign-in:\n%s", page.Body)
	}
	r := e.PostForm(t, admin, "/orgs/"+e.Org+"/settings/integrations/"+in.ID+"/test",
		map[string]string{"csrf_token": apptest.FormValue(page.Body, "csrf_token")})
	igWantStatus(t, r, http.StatusFound)
	if loc, _ := url.Parse(r.Header.Get("Location")); !strings.Contains(loc.Query().Get("scope"), "api") {
		t.Errorf("a group rule needs api; the test asked for %q", loc.Query().Get("scope"))
	}
	if at := e.Follow(t, admin, r); !strings.Contains(at.Request.URL.Path, "/users/sign_in") {
		t.Fatalf("the test did not reach GitLab's sign-in page: %s", at.Request.URL)
	}
	r = e.PostForm(t, admin, e.GitLabURL+"/users/sign_in", map[string]string{"user[login]": "alice", "user[password]": "password"})
	r = e.Follow(t, admin, r)
	r = e.Follow(t, admin, e.PostForm(t, admin, e.GitLabURL+"/oauth/authorize", apptest.HiddenInputs(r.Body, "authorize")))
	for _, want := range []string{"Test sign-in succeeded", "@alice", "read_user", "ops", "admin"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("test outcome lacks %q:\n%s", want, r.Body)
		}
	}
	// The admin's own session is untouched: still the setup link's.
	if w := whoamiOf(t, e, admin, e.Org); !strings.Contains(w.Body, `"principal":"apptest"`) {
		t.Errorf("the test changed the session: %s", w.Body)
	}
	got := e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/integrations/"+in.ID, nil)
	if strings.Contains(got.Body, `"verified_at":null`) {
		t.Errorf("verified_at not set after a test: %s", got.Body)
	}
}

func TestTestSignInExplainsAMissingScope(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	in := e.PendingIntegration(t, "")
	app := e.GitLab.CreateApplication("forgelink", in.CallbackURL, []string{"read_user"}, true, false)
	igWantStatus(t, e.API(t, http.MethodPatch, "/api/v1/orgs/"+e.Org+"/integrations/"+in.ID,
		map[string]string{"client_id": app.UID, "client_secret": app.Secret}), http.StatusOK)
	adminRule(t, e, map[string]any{"integration_id": in.ID, "group": "eng", "min_access_level": 40})
	admin := e.AdminClient(t)
	page := e.Get(t, admin, "/orgs/"+e.Org+"/settings/integrations/"+in.ID)
	r := e.PostForm(t, admin, "/orgs/"+e.Org+"/settings/integrations/"+in.ID+"/test",
		map[string]string{"csrf_token": apptest.FormValue(page.Body, "csrf_token")})
	if at := e.Follow(t, admin, r); !strings.Contains(at.Request.URL.Path, "/users/sign_in") {
		t.Fatalf("the test did not reach GitLab's sign-in page: %s", at.Request.URL)
	}
	r = e.PostForm(t, admin, e.GitLabURL+"/users/sign_in", map[string]string{"user[login]": "alice", "user[password]": "password"})
	r = e.Follow(t, admin, r) // GitLab refuses the api scope: back to the callback, then the page
	if !strings.Contains(r.Body, "Test sign-in failed") || !strings.Contains(r.Body, "lacks a scope") {
		t.Errorf("missing scope outcome: %d at %s\n%s", r.StatusCode, r.Request.URL, r.Body)
	}
}

func TestSettingsHeader(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	in, _ := e.ActiveIntegration(t)
	admin := e.AdminClient(t)
	page := e.Get(t, admin, "/orgs/"+e.Org+"/settings/integrations")
	for _, want := range []string{"Setup link: apptest", ">Integrations</a>", ">Admins</a>", ">Members</a>", "Sign out"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("settings header lacks %q", want)
		}
	}
	// A member made admin by a rule sees who they are; Sign out in the header works.
	adminRule(t, e, map[string]any{"integration_id": in.ID, "username": "alice"})
	alice := e.Client(t)
	e.SignIn(t, alice, in.LoginURL, "alice")
	page = e.Get(t, alice, "/orgs/"+e.Org+"/settings/admins")
	host := strings.TrimPrefix(e.GitLabURL, "http://")
	if !strings.Contains(page.Body, "@alice · "+host) {
		t.Errorf("settings header does not name @alice · %s", host)
	}
	r := e.PostForm(t, alice, "/orgs/"+e.Org+"/logout", map[string]string{"csrf_token": apptest.FormValue(page.Body, "csrf_token")})
	igWantStatus(t, r, http.StatusSeeOther)
	igWantStatus(t, whoamiOf(t, e, alice, e.Org), http.StatusUnauthorized)
	// The org home links admins to the settings.
	if home := e.Get(t, admin, "/orgs/"+e.Org); !strings.Contains(home.Body, "Organization settings") {
		t.Errorf("the org home does not link an admin to the settings")
	}
}

// TestIntegrationHealth: "not verified yet" until the first sign-in, then verified_at and
// last_sign_in_at from that sign-in.
func TestIntegrationHealth(t *testing.T) { onBothStores(t, testIntegrationHealth) }

func testIntegrationHealth(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	in, _ := e.ActiveIntegration(t)
	get := func() string {
		return e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/integrations/"+in.ID, nil).Body
	}
	if b := get(); !strings.Contains(b, `"verified_at":null`) || !strings.Contains(b, `"last_sign_in_at":null`) {
		t.Errorf("before any sign-in: %s", b)
	}
	if list := e.Get(t, e.AdminClient(t), "/orgs/"+e.Org+"/settings/integrations"); !strings.Contains(list.Body, "not verified yet") {
		t.Errorf("the list does not say the integration is not verified yet")
	}
	e.SignIn(t, e.Client(t), in.LoginURL, "bob")
	if b := get(); strings.Contains(b, `"verified_at":null`) || strings.Contains(b, `"last_sign_in_at":null`) {
		t.Errorf("after bob's sign-in: %s", b)
	}
}

// TestOneGitLabCallPerGroup: a sign-in reads each group the integration's rules name once
// (allowed_groups and admin rules together; a group named twice is read once), with the
// person's token, and nothing else of GitLab's group API.
func TestOneGitLabCallPerGroup(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	in, _ := e.ActiveIntegration(t)
	igWantStatus(t, e.API(t, http.MethodPatch, "/api/v1/orgs/"+e.Org+"/integrations/"+in.ID,
		map[string]any{"allowed_groups": []map[string]any{{"path": "eng", "min_access_level": 10}, {"path": "ops", "min_access_level": 10}}}), http.StatusOK)
	adminRule(t, e, map[string]any{"integration_id": in.ID, "group": "eng/platform", "min_access_level": 40})
	adminRule(t, e, map[string]any{"integration_id": in.ID, "group": "eng", "min_access_level": 50})
	before := len(e.GitLab.Requests())
	if r := e.SignIn(t, e.Client(t), in.LoginURL, "alice"); !strings.Contains(r.Body, "Signed in as @alice") {
		t.Fatalf("sign-in: %d %s", r.StatusCode, r.Body)
	}
	groups := map[string]int{}
	for _, p := range e.GitLab.Requests()[before:] {
		if strings.Contains(p, "/api/v4/groups/") {
			path, _, _ := strings.Cut(strings.TrimPrefix(p, "GET /api/v4/groups/"), "/members/all/")
			groups[path]++
		}
	}
	want := map[string]int{"eng": 1, "ops": 1, "eng%2Fplatform": 1}
	if len(groups) != len(want) {
		t.Errorf("group reads %v, want one each of %v", groups, want)
	}
	for g, n := range want {
		if groups[g] != n {
			t.Errorf("group reads %v, want one each of %v", groups, want)
			break
		}
	}
}
