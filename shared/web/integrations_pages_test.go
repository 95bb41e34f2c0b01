package web_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/forgelink"
)

// TestAdminJourneyHTML walks DESIGN.md's journey steps 1-5 in a browser-like client.
func TestAdminJourneyHTML(t *testing.T) { onBothStores(t, testAdminJourneyHTML) }

func testAdminJourneyHTML(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	c := e.AdminClient(t)
	list := "/orgs/" + e.Org + "/settings/integrations"

	// 1. Settings → Integrations, Add Integration.
	r := e.Get(t, c, list)
	igWantStatus(t, r, http.StatusOK)
	for _, want := range []string{"<h1>Integrations</h1>", `href="` + list + `/new"`, "Add Integration", "No integrations yet"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("list page lacks %q", want)
		}
	}

	// 2. Platform and server URL.
	r = e.Get(t, c, list+"/new")
	igWantStatus(t, r, http.StatusOK)
	for _, want := range []string{`<option value="gitlab" selected>GitLab Self-Managed</option>`, `<label for="url">`, `<label for="platform">`, `<label for="name">`, "Continue"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("new page lacks %q", want)
		}
	}
	csrf := apptest.FormValue(r.Body, "csrf_token")
	if csrf == "" {
		t.Fatal("new page has no csrf_token")
	}

	// A refused URL: 422, the field error next to the field and in the summary, input kept.
	r = e.PostForm(t, c, list, map[string]string{"csrf_token": csrf, "platform": "gitlab", "url": "https://127.0.0.1", "name": "Our GitLab"})
	igWantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.Body, `id="url-error"`) || !strings.Contains(r.Body, `class="error-summary"`) || !strings.Contains(r.Body, `href="#url"`) {
		t.Errorf("422 page lacks field error or summary: %s", r.Body)
	}
	if apptest.FormValue(r.Body, "name") != "Our GitLab" || apptest.FormValue(r.Body, "url") != "https://127.0.0.1" {
		t.Errorf("422 page did not keep the input")
	}

	// 3. Pending integration and its setup page.
	r = e.PostForm(t, c, list, map[string]string{"csrf_token": csrf, "platform": "gitlab", "url": e.GitLabURL + "/", "name": ""})
	igWantStatus(t, r, http.StatusSeeOther)
	m := igLocationID.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("create redirected to %q", r.Header.Get("Location"))
	}
	id := m[1]
	callback := e.URL + "/orgs/" + e.Org + "/login/" + id + "/callback"

	r = e.Follow(t, c, r)
	igWantStatus(t, r, http.StatusOK)
	for _, want := range []string{
		`id="callback_url" value="` + callback + `"`,
		`data-copy="callback_url"`,
		`href="` + e.GitLabURL + `/-/user_settings/applications"`,
		e.GitLabURL + `/admin/applications/new`,
		e.GitLabURL + `/groups/{group}/-/settings/applications`,
		"<code>api</code>", "<code>read_user</code>", "<em>Trusted</em> unchecked", "Keep <em>Confidential</em> checked",
		"Step 2 of 3 — Create the application on GitLab", "Step 3 of 3 — Paste its Application ID and Secret",
		`<label for="client_id">`, `<label for="client_secret">`, `type="password" id="client_secret" name="client_secret" value=""`,
		`autocomplete="off"`, "Save Integration", "Integration added",
	} {
		if !strings.Contains(html.UnescapeString(r.Body), want) && !strings.Contains(r.Body, want) {
			t.Errorf("setup page lacks %q", want)
		}
	}

	// Leaving loses nothing: the list shows it pending with "Finish setup".
	r = e.Get(t, c, list)
	if !strings.Contains(r.Body, "Finish setup") || !strings.Contains(r.Body, "status-pending") || strings.Contains(r.Body, "<summary class=\"button secondary\">Login link") {
		t.Errorf("list does not show the pending integration: %s", r.Body)
	}

	// 4. Save with a wrong secret: field error, input kept, the secret not echoed.
	creds := igNewApp(e, callback)
	r = e.Get(t, c, list+"/"+id)
	csrf = apptest.FormValue(r.Body, "csrf_token")
	version := apptest.FormValue(r.Body, "version")
	wrong := "gloas-wrong-secret-0123456789abcdef"
	r = e.PostForm(t, c, list+"/"+id, map[string]string{"csrf_token": csrf, "version": version, "client_id": creds.ClientID, "client_secret": wrong, "name": "Our GitLab", "ca_bundle": ""})
	igWantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.Body, "Application ID or Secret is wrong") || !strings.Contains(r.Body, `id="client_secret-error"`) {
		t.Errorf("no field error for a wrong secret: %s", r.Body)
	}
	if apptest.FormValue(r.Body, "client_id") != creds.ClientID || apptest.FormValue(r.Body, "name") != "Our GitLab" {
		t.Errorf("input not kept")
	}
	igNoSecretIn(t, r, wrong)
	if in := igStored(t, e)[0]; in.Status != forgelink.StatusPending || in.SecretARN != "" || len(igSecretNames(t, e)) != 0 {
		t.Errorf("a failed save stored something: %+v", in)
	}

	// GitLab down: 502 with a message naming the server, input kept.
	e.GitLab.SetFault(igDown())
	r = e.PostForm(t, c, list+"/"+id, map[string]string{"csrf_token": csrf, "version": version, "client_id": creds.ClientID, "client_secret": creds.Secret, "name": "Our GitLab"})
	e.GitLab.SetFault(igHealthy())
	igWantStatus(t, r, http.StatusBadGateway)
	if !strings.Contains(r.Body, e.GitLabURL) || apptest.FormValue(r.Body, "client_id") != creds.ClientID {
		t.Errorf("502 page does not name the server or lost the input: %s", r.Body)
	}
	igNoSecretIn(t, r, creds.Secret)

	// The right credentials: 303 to the list with a notice and the Login link.
	r = e.PostForm(t, c, list+"/"+id, map[string]string{"csrf_token": csrf, "version": version, "client_id": creds.ClientID, "client_secret": creds.Secret, "name": "Our GitLab"})
	igWantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != list+"?saved="+id {
		t.Errorf("save redirected to %q", loc)
	}
	r = e.Follow(t, c, r)
	loginURL := e.URL + "/orgs/" + e.Org + "/login/" + id
	for _, want := range []string{`role="status"`, "Our GitLab", "is saved and active", "Login link", `id="login-` + id + `" value="` + loginURL + `"`, `data-copy="login-` + id + `"`, "status-active"} {
		if !strings.Contains(html.UnescapeString(r.Body), want) {
			t.Errorf("list after save lacks %q", want)
		}
	}
	igNoSecretIn(t, r, creds.Secret)

	// The edit page of the active integration: secret set, never shown, audit trail.
	r = e.Get(t, c, list+"/"+id)
	igWantStatus(t, r, http.StatusOK)
	for _, want := range []string{"A secret is set", `name="client_secret" value=""`, `<textarea id="ca_bundle"`, "Credentials saved and verified", loginURL, "data-confirm="} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("edit page lacks %q", want)
		}
	}
	igNoSecretIn(t, r, creds.Secret)

	// Edit the name alone: the secret stays.
	csrf, version = apptest.FormValue(r.Body, "csrf_token"), apptest.FormValue(r.Body, "version")
	r = e.PostForm(t, c, list+"/"+id, map[string]string{"csrf_token": csrf, "version": version, "client_id": "", "client_secret": "", "name": "Renamed", "ca_bundle": ""})
	igWantStatus(t, r, http.StatusSeeOther)
	in := igStored(t, e)[0]
	if in.Name != "Renamed" || in.Status != forgelink.StatusActive || in.SecretARN == "" {
		t.Errorf("after rename: %+v", in)
	}

	// Delete with confirmation form: 303 to the list, item and secret gone.
	r = e.Get(t, c, list+"/"+id)
	r = e.PostForm(t, c, list+"/"+id+"/delete", map[string]string{"csrf_token": apptest.FormValue(r.Body, "csrf_token")})
	igWantStatus(t, r, http.StatusSeeOther)
	r = e.Follow(t, c, r)
	if !strings.Contains(r.Body, "was deleted") || len(igStored(t, e)) != 0 || len(igSecretNames(t, e)) != 0 {
		t.Errorf("delete left something: %d integrations, secrets %v", len(igStored(t, e)), igSecretNames(t, e))
	}
	r = e.Get(t, c, list+"/"+id)
	igWantStatus(t, r, http.StatusNotFound)
	igNoLeak(t, e, creds.Secret, wrong)
}

func TestAdminPagesNeedSession(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	other := apptest.Start(t, apptest.Options{Org: "other"})
	_ = other
	list := "/orgs/" + e.Org + "/settings/integrations"

	anon := e.Client(t)
	for _, path := range []string{list, list + "/new", list + "/abc"} {
		r := e.Get(t, anon, path)
		igWantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(r.Body, "setup link") || !strings.Contains(r.Body, "Sign in with GitLab") {
			t.Errorf("401 page does not say how to sign in: %s", r.Body)
		}
	}
	r := e.PostForm(t, anon, list, map[string]string{"url": e.GitLabURL, "platform": "gitlab"})
	igWantStatus(t, r, http.StatusUnauthorized)

	// A bad, reused or foreign setup link. Opening one only shows its page: a link
	// preview or scanner that fetches it does not use it up.
	r = e.RedeemSetupLink(t, anon, e.Org, "/orgs/"+e.Org+"/admin/sign-in?token=nope")
	igWantStatus(t, r, http.StatusBadRequest)
	link := e.SetupLink(t, e.Org, "Jane Doe")
	for range 2 {
		igWantStatus(t, e.Get(t, e.Client(t), link), http.StatusOK)
	}
	r = e.RedeemSetupLink(t, anon, e.Org, link)
	igWantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != list {
		t.Errorf("sign-in redirected to %q", r.Header.Get("Location"))
	}
	r = e.RedeemSetupLink(t, e.Client(t), e.Org, link)
	igWantStatus(t, r, http.StatusBadRequest)

	// An admin session of org acme does not open org "beta" (same app, second org), and
	// beta's setup link does not work on acme's page, nor is it used up there.
	if _, err := e.App.Services.Orgs.EnsureOrg(context.Background(), "beta", "Beta"); err != nil {
		t.Fatal(err)
	}
	c := e.AdminClient(t)
	r = e.Get(t, c, "/orgs/beta/settings/integrations")
	igWantStatus(t, r, http.StatusUnauthorized)
	betaLink := e.SetupLink(t, "beta", "Beta admin")
	_, betaToken, _ := strings.Cut(betaLink, "?token=")
	r = e.RedeemSetupLink(t, e.Client(t), e.Org, "/orgs/"+e.Org+"/admin/sign-in?token="+betaToken)
	igWantStatus(t, r, http.StatusBadRequest)
	igWantStatus(t, e.RedeemSetupLink(t, c, "beta", betaLink), http.StatusSeeOther)
	// Now c is admin of both orgs at once.
	igWantStatus(t, e.Get(t, c, list), http.StatusOK)
	igWantStatus(t, e.Get(t, c, "/orgs/beta/settings/integrations"), http.StatusOK)

	// A member-style cookie value that is not an admin session is refused.
	igNoLeak(t, e, link, betaLink)
}

func TestAdminFormsNeedCSRF(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	in := e.PendingIntegration(t, "Keep me")
	c := e.AdminClient(t)
	list := "/orgs/" + e.Org + "/settings/integrations"
	// A token of another admin session of the same org is as wrong as a made-up one.
	otherPage := e.Get(t, e.AdminClient(t), list+"/new")
	foreign := apptest.FormValue(otherPage.Body, "csrf_token")

	for _, token := range []string{"", "made-up", foreign} {
		r := e.PostForm(t, c, list, map[string]string{"csrf_token": token, "platform": "gitlab", "url": e.GitLabURL + "/other"})
		igWantStatus(t, r, http.StatusForbidden)
		r = e.PostForm(t, c, list+"/"+in.ID, map[string]string{"csrf_token": token, "name": "Changed", "client_id": "x", "client_secret": "y"})
		igWantStatus(t, r, http.StatusForbidden)
		r = e.PostForm(t, c, list+"/"+in.ID+"/delete", map[string]string{"csrf_token": token})
		igWantStatus(t, r, http.StatusForbidden)
	}
	got := igStored(t, e)
	if len(got) != 1 || got[0].Name != "Keep me" || got[0].Version != 1 {
		t.Errorf("a refused form changed something: %+v", got)
	}

	// A POST without a url-encoded form carries no CSRF token that counts: 403 like a
	// missing token (it used to be 415), nothing changed, even with the right token in a
	// JSON, text or multipart body.
	right := apptest.FormValue(e.Get(t, c, list+"/new").Body, "csrf_token")
	for _, tc := range []struct{ name, contentType, body string }{
		{"no body", "", ""},
		{"JSON body", "application/json", `{"csrf_token":"` + right + `"}`},
		{"text body", "text/plain", "csrf_token=" + right},
		{"multipart body", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + right + "\r\n--b--\r\n"},
	} {
		for _, path := range []string{list, list + "/" + in.ID, list + "/" + in.ID + "/delete"} {
			req, _ := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			igWantStatus(t, apptest.Do(t, c, req), http.StatusForbidden)
		}
	}
	if got := igStored(t, e); len(got) != 1 || got[0].Name != "Keep me" || got[0].Version != 1 {
		t.Errorf("a form without a url-encoded body changed something: %+v", got)
	}
}

// TestAdminEditActiveIntegrationForm: the edit page of an active integration fills in the
// current Application ID, so a browser that only renames posts that ID with an empty
// Secret. That used to be refused (422 "Secret is required with the Application ID");
// it keeps the credentials. A different ID without a secret is still refused.
func TestAdminEditActiveIntegrationForm(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	in, creds := e.ActiveIntegration(t)
	before, _ := e.App.Store.GetIntegration(context.Background(), e.Org, in.ID)
	c := e.AdminClient(t)
	page := "/orgs/" + e.Org + "/settings/integrations/" + in.ID
	r := e.Get(t, c, page)
	igWantStatus(t, r, http.StatusOK)
	form := map[string]string{
		"csrf_token":    apptest.FormValue(r.Body, "csrf_token"),
		"version":       apptest.FormValue(r.Body, "version"),
		"client_id":     apptest.FormValue(r.Body, "client_id"),
		"client_secret": "",
		"name":          "Renamed in the browser",
		"ca_bundle":     "",
	}
	if form["client_id"] != creds.ClientID {
		t.Fatalf("edit page client_id %q, want the current one", form["client_id"])
	}

	// A different Application ID without its Secret: 422, nothing changed.
	other := map[string]string{}
	for k, v := range form {
		other[k] = v
	}
	other["client_id"] = "another-app-id"
	r = e.PostForm(t, c, page, other)
	igWantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.Body, `id="client_secret-error"`) {
		t.Errorf("422 page lacks the Secret's error")
	}

	r = e.PostForm(t, c, page, form)
	igWantStatus(t, r, http.StatusSeeOther)
	after, _ := e.App.Store.GetIntegration(context.Background(), e.Org, in.ID)
	if after.Name != "Renamed in the browser" || after.Status != forgelink.StatusActive ||
		after.ClientID != creds.ClientID || after.SecretVersion != before.SecretVersion {
		t.Errorf("rename changed the credentials or did not rename: %+v", after)
	}
}

// TestAdminCreateFormWithoutPlatform: the step-1 page's platform select has one option;
// a form posted without the field means GitLab Self-Managed (303), while a wrong value
// is still a field error.
func TestAdminCreateFormWithoutPlatform(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	c := e.AdminClient(t)
	list := "/orgs/" + e.Org + "/settings/integrations"
	csrf := apptest.FormValue(e.Get(t, c, list+"/new").Body, "csrf_token")
	r := e.PostForm(t, c, list, map[string]string{"csrf_token": csrf, "platform": "github", "url": e.GitLabURL})
	igWantStatus(t, r, http.StatusUnprocessableEntity)
	r = e.PostForm(t, c, list, map[string]string{"csrf_token": csrf, "url": e.GitLabURL})
	igWantStatus(t, r, http.StatusSeeOther)
	if got := igStored(t, e); len(got) != 1 || got[0].Platform != forgelink.PlatformGitLab || got[0].Status != forgelink.StatusPending {
		t.Errorf("stored %+v", got)
	}
}

// TestAdminChangeURLForm: the setup page of a pending integration fixes its Server URL
// with a form of its own, which reaches the server as Continue does: errors keep the
// typed URL, a URL in use links to its integration, a pasted page address is cut back,
// and the page then says what changed while the callback URL stays. An active
// integration's page says how to move instead, and the form's route refuses it.
func TestAdminChangeURLForm(t *testing.T) { onBothStores(t, testAdminChangeURLForm) }

func testAdminChangeURLForm(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	c := e.AdminClient(t)
	list := "/orgs/" + e.Org + "/settings/integrations"
	csrf := apptest.FormValue(e.Get(t, c, list+"/new").Body, "csrf_token")
	typo := e.GitLabURL + "/typo"
	r := e.PostForm(t, c, list, map[string]string{"csrf_token": csrf, "platform": "gitlab", "url": typo})
	igWantStatus(t, r, http.StatusSeeOther)
	page := r.Header.Get("Location")
	r = e.Follow(t, c, r)
	for _, want := range []string{"no GitLab OpenID configuration", "<summary>Wrong server? Change the Server URL</summary>",
		`action="` + page + `/url"`, `id="url" name="url" value="` + typo + `"`, "The Callback URL stays the same."} {
		if !strings.Contains(html.UnescapeString(r.Body), want) {
			t.Errorf("setup page lacks %q", want)
		}
	}
	callback := apptest.FormValue(r.Body, "callback_url")
	form := func(url string) map[string]string {
		return map[string]string{"csrf_token": csrf, "version": apptest.FormValue(r.Body, "version"), "url": url}
	}
	changeURL := func(f map[string]string) apptest.Response { return e.PostForm(t, c, page+"/url", f) }

	// Without the CSRF token: 403, nothing changed.
	bad := form(e.GitLabURL)
	bad["csrf_token"] = "made-up"
	igWantStatus(t, changeURL(bad), http.StatusForbidden)

	// Nothing answers: 422 on the field, the typed URL kept, the summary names it.
	r2 := changeURL(form("https://gitlab.invalid"))
	igWantStatus(t, r2, http.StatusUnprocessableEntity)
	if !strings.Contains(r2.Body, "No server answered at https://gitlab.invalid") || !strings.Contains(r2.Body, `id="url-error"`) ||
		!strings.Contains(r2.Body, `href="#url"`) || !strings.Contains(r2.Body, `<details class="change-url" open>`) {
		t.Errorf("422 page lacks the field error, the summary or the open form: %s", r2.Body)
	}
	if got := apptest.FormValue(r2.Body, "url"); got != "https://gitlab.invalid" {
		t.Errorf("422 page's Server URL holds %q, want the typed URL kept", got)
	}

	// A URL another integration has: 409 with a link to it.
	other := e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{"platform": "gitlab", "url": e.GitLabURL + "/other"})
	otherID := igDecode[igIntegration](t, other).ID
	r2 = changeURL(form(e.GitLabURL + "/other/"))
	igWantStatus(t, r2, http.StatusConflict)
	if !strings.Contains(r2.Body, `<a href="`+list+"/"+otherID+`">Open it</a>`) {
		t.Errorf("409 page does not link to the integration with that URL: %s", r2.Body)
	}

	// A pasted page address on a path without GitLab: cut back, moved, both said.
	r2 = changeURL(form(e.GitLabURL + "/gitlab/-/user_settings/applications"))
	igWantStatus(t, r2, http.StatusSeeOther)
	r2 = e.Follow(t, c, r2)
	for _, want := range []string{"The Server URL is now " + e.GitLabURL + "/gitlab (it was " + typo + ").",
		"forgelink uses the server's URL, " + e.GitLabURL + "/gitlab.", "no GitLab OpenID configuration"} {
		if !strings.Contains(html.UnescapeString(r2.Body), want) {
			t.Errorf("page after the move lacks %q", want)
		}
	}

	// The right server: no warning, the setup link follows, the callback stays.
	r = r2
	r2 = changeURL(form(e.GitLabURL))
	igWantStatus(t, r2, http.StatusSeeOther)
	r2 = e.Follow(t, c, r2)
	body := html.UnescapeString(r2.Body)
	if !strings.Contains(body, "The Server URL is now "+e.GitLabURL+" (it was "+e.GitLabURL+"/gitlab).") || strings.Contains(body, "A server answered") ||
		!strings.Contains(body, `href="`+e.GitLabURL+`/-/user_settings/applications"`) || apptest.FormValue(r2.Body, "callback_url") != callback {
		t.Errorf("page after fixing the URL: %s", r2.Body)
	}
	// The form of the older page is stale now.
	igWantStatus(t, changeURL(form(e.GitLabURL+"/again")), http.StatusConflict)
	if got := igStored(t, e); len(got) != 2 {
		t.Fatalf("stored %+v", got)
	}

	// Active: no form; the page says how to move; the route refuses with that message.
	id := strings.TrimPrefix(page, list+"/")
	creds := igNewApp(e, callback)
	igWantStatus(t, e.API(t, http.MethodPatch, igAPIPath(e, "/"+id), map[string]string{"client_id": creds.ClientID, "client_secret": creds.Secret}), http.StatusOK)
	r = e.Get(t, c, page)
	if strings.Contains(r.Body, "Wrong server?") || !strings.Contains(r.Body, "add an integration for its URL, then delete this one") {
		t.Errorf("active page: %s", r.Body)
	}
	r2 = changeURL(map[string]string{"csrf_token": csrf, "version": apptest.FormValue(r.Body, "version"), "url": e.GitLabURL + "/elsewhere"})
	igWantStatus(t, r2, http.StatusUnprocessableEntity)
	if !strings.Contains(r2.Body, "add an integration for the new URL, then delete this one") {
		t.Errorf("moving an active integration: %s", r2.Body)
	}
	if in, _ := e.App.Store.GetIntegration(context.Background(), e.Org, id); in.URL != e.GitLabURL || in.Status != forgelink.StatusActive {
		t.Errorf("after the refused move: %+v", in)
	}
}
