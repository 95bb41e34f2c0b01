package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
)

type arRule struct {
	ID             string  `json:"id"`
	IntegrationID  string  `json:"integration_id"`
	Username       *string `json:"username"`
	Group          *string `json:"group"`
	MinAccessLevel *int    `json:"min_access_level"`
	CreatedAt      string  `json:"created_at"`
}

func arPath(org, rest string) string { return "/api/v1/orgs/" + org + "/admins" + rest }

// arSecondOrg creates org beta with an admin token and an integration of its own.
func arSecondOrg(t *testing.T, e *apptest.Env) (token, integrationID string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.App.Services.Orgs.EnsureOrg(ctx, "beta", "Beta"); err != nil {
		t.Fatal(err)
	}
	token, err := e.App.Services.Tokens.CreateAdminToken(ctx, "beta", "beta", "")
	if err != nil {
		t.Fatal(err)
	}
	r := e.APIWithToken(t, token, http.MethodPost, "/api/v1/orgs/beta/integrations", map[string]string{"platform": "gitlab", "url": e.GitLabURL})
	igWantStatus(t, r, http.StatusCreated)
	return token, igDecode[igIntegration](t, r).ID
}

func TestAdminRulesAPI(t *testing.T) { onBothStores(t, testAdminRulesAPI) }

func testAdminRulesAPI(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	in := e.PendingIntegration(t, "Ours")

	r := e.API(t, http.MethodPost, arPath(e.Org, ""), map[string]any{"integration_id": in.ID, "username": "alice"})
	igWantStatus(t, r, http.StatusCreated)
	alice := igDecode[arRule](t, r)
	if alice.ID == "" || alice.IntegrationID != in.ID || alice.Username == nil || *alice.Username != "alice" ||
		alice.Group != nil || alice.MinAccessLevel != nil || alice.CreatedAt == "" {
		t.Errorf("username rule: %s", r.Body)
	}
	if !strings.Contains(r.Body, `"group":null`) || !strings.Contains(r.Body, `"min_access_level":null`) {
		t.Errorf("the unused pair is not null: %s", r.Body)
	}
	if r.Header.Get("Location") != arPath(e.Org, "/"+alice.ID) {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
	r = e.API(t, http.MethodPost, arPath(e.Org, ""), map[string]any{"integration_id": in.ID, "group": "eng/platform", "min_access_level": 30})
	igWantStatus(t, r, http.StatusCreated)
	group := igDecode[arRule](t, r)
	if group.Username != nil || group.Group == nil || *group.Group != "eng/platform" || *group.MinAccessLevel != 30 {
		t.Errorf("group rule: %s", r.Body)
	}

	// The same rule twice: 409, also in other case.
	for _, dup := range []map[string]any{
		{"integration_id": in.ID, "username": "ALICE"},
		{"integration_id": in.ID, "group": "eng/platform", "min_access_level": 30},
	} {
		igWantStatus(t, e.API(t, http.MethodPost, arPath(e.Org, ""), dup), http.StatusConflict)
	}

	// 422 with the fields DESIGN.md names.
	for _, tc := range []struct {
		body   map[string]any
		fields []string
	}{
		{map[string]any{"integration_id": in.ID}, []string{"group", "username"}},
		{map[string]any{"integration_id": in.ID, "username": "bob", "group": "eng", "min_access_level": 30}, []string{"group", "username"}},
		{map[string]any{"integration_id": "nope", "username": "bob"}, []string{"integration_id"}},
		{map[string]any{"username": "bob"}, []string{"integration_id"}},
		{map[string]any{"integration_id": in.ID, "username": "bob smith"}, []string{"username"}},
		{map[string]any{"integration_id": in.ID, "group": "eng"}, []string{"min_access_level"}},
		{map[string]any{"integration_id": in.ID, "group": "eng", "min_access_level": 35}, []string{"min_access_level"}},
		{map[string]any{"integration_id": in.ID, "group": "../x", "min_access_level": 30}, []string{"group"}},
	} {
		r := e.API(t, http.MethodPost, arPath(e.Org, ""), tc.body)
		igWantStatus(t, r, http.StatusUnprocessableEntity)
		var got []string
		for k := range igDecode[igError](t, r).Error.Fields {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.fields) {
			t.Errorf("%v: fields %v, want %v", tc.body, got, tc.fields)
		}
	}

	r = e.API(t, http.MethodGet, arPath(e.Org, ""), nil)
	igWantStatus(t, r, http.StatusOK)
	list := igDecode[struct {
		Admins []arRule `json:"admins"`
	}](t, r)
	if len(list.Admins) != 2 || list.Admins[0].ID != alice.ID || list.Admins[1].ID != group.ID {
		t.Errorf("list: %s", r.Body)
	}

	// Orgs are isolated: org beta's token with org acme's ids.
	beta, betaIn := arSecondOrg(t, e)
	igWantStatus(t, e.APIWithToken(t, beta, http.MethodDelete, arPath("beta", "/"+alice.ID), nil), http.StatusNotFound)
	r = e.APIWithToken(t, beta, http.MethodPost, arPath("beta", ""), map[string]any{"integration_id": in.ID, "username": "mallory"})
	igWantStatus(t, r, http.StatusUnprocessableEntity)
	if igDecode[igError](t, r).Error.Fields["integration_id"] == "" {
		t.Errorf("another org's integration: %s", r.Body)
	}
	igWantStatus(t, e.APIWithToken(t, beta, http.MethodGet, arPath(e.Org, ""), nil), http.StatusForbidden)
	igWantStatus(t, e.APIWithToken(t, beta, http.MethodDelete, arPath(e.Org, "/"+alice.ID), nil), http.StatusForbidden)
	igWantStatus(t, e.APIWithToken(t, "", http.MethodGet, arPath(e.Org, ""), nil), http.StatusUnauthorized)
	r = e.APIWithToken(t, beta, http.MethodPost, arPath("beta", ""), map[string]any{"integration_id": betaIn, "username": "alice"})
	igWantStatus(t, r, http.StatusCreated)
	if igDecode[arRule](t, r).ID == alice.ID {
		t.Error("the same rule in another org's integration has the same id")
	}

	// Delete: 204, then 404; the other org's rule stays.
	igWantStatus(t, e.API(t, http.MethodDelete, arPath(e.Org, "/"+alice.ID), nil), http.StatusNoContent)
	igWantStatus(t, e.API(t, http.MethodDelete, arPath(e.Org, "/"+alice.ID), nil), http.StatusNotFound)
	r = e.APIWithToken(t, beta, http.MethodGet, arPath("beta", ""), nil)
	if n := len(igDecode[struct{ Admins []arRule }](t, r).Admins); n != 1 {
		t.Errorf("beta's rules after acme's delete: %s", r.Body)
	}
	igNoLeak(t, e, beta)
}

func TestAllowedGroupsAPI(t *testing.T) { onBothStores(t, testAllowedGroupsAPI) }

func testAllowedGroupsAPI(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	in := e.PendingIntegration(t, "Ours")
	r := e.API(t, http.MethodGet, igAPIPath(e, "/"+in.ID), nil)
	for _, want := range []string{`"allowed_groups":[]`, `"verified_at":null`, `"last_sign_in_at":null`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("new integration lacks %s: %s", want, r.Body)
		}
	}

	// PATCH may send allowed_groups alone; a missing level means Guest.
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]any{"allowed_groups": []map[string]any{
		{"path": "eng/platform", "min_access_level": 30}, {"path": "ops"},
	}})
	igWantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, `"allowed_groups":[{"path":"eng/platform","min_access_level":30},{"path":"ops","min_access_level":10}]`) {
		t.Errorf("patched: %s", r.Body)
	}
	many := make([]map[string]any, 21)
	for i := range many {
		many[i] = map[string]any{"path": "g" + string(rune('a'+i))}
	}
	for name, groups := range map[string]any{
		"21 groups": many,
		"bad path":  []map[string]any{{"path": "eng platform"}},
		"no path":   []map[string]any{{"min_access_level": 30}},
		"bad level": []map[string]any{{"path": "eng", "min_access_level": 31}},
		"duplicate": []map[string]any{{"path": "eng"}, {"path": "Eng", "min_access_level": 40}},
	} {
		r := e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]any{"allowed_groups": groups})
		igWantStatus(t, r, http.StatusUnprocessableEntity)
		if igDecode[igError](t, r).Error.Fields["allowed_groups"] == "" {
			t.Errorf("%s: %s", name, r.Body)
		}
	}
	igWantStatus(t, e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]any{"allowed_groups": nil}), http.StatusUnprocessableEntity)
	igWantStatus(t, e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]any{"allowed_groups": "eng"}), http.StatusBadRequest)

	// [] clears the restriction.
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]any{"allowed_groups": []any{}})
	igWantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, `"allowed_groups":[]`) {
		t.Errorf("cleared: %s", r.Body)
	}
}

func TestAdminsPage(t *testing.T) { onBothStores(t, testAdminsPage) }

func testAdminsPage(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	c := e.AdminClient(t)
	page := "/orgs/" + e.Org + "/settings/admins"
	r := e.Get(t, c, page)
	igWantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, "Add an integration") {
		t.Errorf("page without integrations: %s", r.Body)
	}
	in := e.PendingIntegration(t, "Ours")
	r = e.Get(t, c, page)
	csrf := apptest.FormValue(r.Body, "csrf_token")
	if csrf == "" || !strings.Contains(r.Body, "Ours ("+strings.TrimPrefix(e.GitLabURL, "http://")+")") {
		t.Fatalf("page: %s", r.Body)
	}

	// No CSRF token: 403, nothing added.
	r = e.PostForm(t, c, page, map[string]string{"integration_id": in.ID, "kind": "username", "username": "alice"})
	igWantStatus(t, r, http.StatusForbidden)
	// Invalid: 422, the input kept, the field named.
	r = e.PostForm(t, c, page, map[string]string{"csrf_token": csrf, "integration_id": in.ID, "kind": "group", "group": "eng//x", "username": "typed-before", "min_access_level": "40"})
	igWantStatus(t, r, http.StatusUnprocessableEntity)
	if apptest.FormValue(r.Body, "group") != "eng//x" || !strings.Contains(r.Body, `id="group-error"`) || !strings.Contains(r.Body, `value="40" selected`) {
		t.Errorf("invalid form: %s", r.Body)
	}
	// Valid: 303 back to the page, which lists the rule in words.
	r = e.PostForm(t, c, page, map[string]string{"csrf_token": csrf, "integration_id": in.ID, "kind": "group", "group": "eng/platform", "username": "ignored", "min_access_level": "30"})
	igWantStatus(t, r, http.StatusSeeOther)
	r = e.Follow(t, c, r)
	if !strings.Contains(r.Body, "Group eng/platform · Developer or above") || !strings.Contains(r.Body, "Admin rule added") {
		t.Errorf("after add: %s", r.Body)
	}
	r = e.PostForm(t, c, page, map[string]string{"csrf_token": csrf, "integration_id": in.ID, "kind": "username", "username": "@alice"})
	igWantStatus(t, r, http.StatusSeeOther)
	r = e.PostForm(t, c, page, map[string]string{"csrf_token": csrf, "integration_id": in.ID, "kind": "username", "username": "alice"})
	igWantStatus(t, r, http.StatusConflict)

	r = e.API(t, http.MethodGet, arPath(e.Org, ""), nil)
	rules := igDecode[struct{ Admins []arRule }](t, r).Admins
	if len(rules) != 2 || rules[1].Username == nil || *rules[1].Username != "alice" {
		t.Fatalf("rules: %s", r.Body)
	}
	del := page + "/" + rules[1].ID + "/delete"
	igWantStatus(t, e.PostForm(t, c, del, map[string]string{}), http.StatusForbidden)
	r = e.PostForm(t, c, del, map[string]string{"csrf_token": csrf})
	igWantStatus(t, r, http.StatusSeeOther)
	if r = e.Follow(t, c, r); strings.Contains(r.Body, "GitLab user @alice") || !strings.Contains(r.Body, "removed") {
		t.Errorf("after remove: %s", r.Body)
	}
	igWantStatus(t, e.PostForm(t, c, del, map[string]string{"csrf_token": csrf}), http.StatusNotFound)
	igWantStatus(t, e.Get(t, e.Client(t), page), http.StatusUnauthorized)
}

func TestAllowedGroupsForm(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	c := e.AdminClient(t)
	in, _ := e.ActiveIntegration(t)
	edit := "/orgs/" + e.Org + "/settings/integrations/" + in.ID
	r := e.Get(t, c, edit)
	igWantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, "Who may sign in") || strings.Count(r.Body, `name="group_path"`) != 3 {
		t.Fatalf("edit page: %s", r.Body)
	}
	post := func(paths, levels []string) apptest.Response {
		form := url.Values{"csrf_token": {apptest.FormValue(r.Body, "csrf_token")}, "name": {"Ours"}, "client_id": {""}, "client_secret": {""},
			"ca_bundle": {""}, "allowed_groups_form": {"1"}, "group_path": paths, "group_level": levels}
		req, _ := http.NewRequest(http.MethodPost, e.URL+edit, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return apptest.Do(t, c, req)
	}
	bad := post([]string{"eng", "", "ENG"}, []string{"30", "10", "40"})
	igWantStatus(t, bad, http.StatusUnprocessableEntity)
	if !strings.Contains(bad.Body, `id="allowed_groups-error"`) || !strings.Contains(bad.Body, `value="ENG"`) {
		t.Errorf("duplicate groups: %s", bad.Body)
	}
	igWantStatus(t, post([]string{"eng/platform", "", " ops "}, []string{"30", "10", "50"}), http.StatusSeeOther)
	got := igStored(t, e)[0].AllowedGroups
	if len(got) != 2 || got[0].Path != "eng/platform" || got[0].MinAccessLevel != 30 || got[1].Path != "ops" || got[1].MinAccessLevel != 50 {
		t.Errorf("stored groups %+v", got)
	}
	r = e.Get(t, c, edit)
	if strings.Count(r.Body, `name="group_path"`) != 5 || apptest.FormValue(r.Body, "group_path") != "eng/platform" {
		t.Errorf("edit page with groups: %s", r.Body)
	}
	// A form without the section (a script renaming) keeps the groups.
	igWantStatus(t, e.PostForm(t, c, edit, map[string]string{"csrf_token": apptest.FormValue(r.Body, "csrf_token"), "name": "Renamed"}), http.StatusSeeOther)
	if got := igStored(t, e)[0]; got.Name != "Renamed" || len(got.AllowedGroups) != 2 {
		t.Errorf("after rename: %+v", got)
	}
}
