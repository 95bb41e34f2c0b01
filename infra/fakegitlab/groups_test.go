package fakegitlab

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// reply is one API answer: status, headers and the raw body.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("not a JSON object (%d): %s", r.Status, r.Body)
	}
	return m
}

func (r reply) list(t *testing.T) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(r.Body, &l); err != nil {
		t.Fatalf("not a JSON list (%d): %s", r.Status, r.Body)
	}
	return l
}

// call sends one API request. body is a url.Values (sent as a form), any
// other value is sent as JSON, nil sends nothing. The token goes in
// PRIVATE-TOKEN when it starts with glpat-, as Bearer otherwise.
func call(t *testing.T, method, u, token string, body any) reply {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, _ := json.Marshal(b)
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	switch {
	case strings.HasPrefix(token, "glpat-"):
		req.Header.Set("PRIVATE-TOKEN", token)
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func names(groups []map[string]any) []string {
	out := []string{}
	for _, g := range groups {
		out = append(out, g["full_path"].(string))
	}
	return out
}

func TestDefaultPeopleAndGroups(t *testing.T) {
	s, base := start(t, Options{})
	want := []Group{
		{ID: 100, Name: "Engineering", Path: "eng", FullPath: "eng", FullName: "Engineering", Visibility: "private"},
		{ID: 101, Name: "Platform", Path: "platform", FullPath: "eng/platform", FullName: "Engineering / Platform", ParentID: 100, Visibility: "private"},
		{ID: 102, Name: "Operations", Path: "ops", FullPath: "ops", FullName: "Operations", Visibility: "private"},
	}
	got := s.Groups()
	if len(got) != len(want) {
		t.Fatalf("groups: %+v", got)
	}
	for i := range want {
		got[i].CreatedAt = time.Time{}
		if got[i] != want[i] {
			t.Errorf("group %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	access := []struct {
		group, user string
		want        int
	}{
		{"eng", "alice", Maintainer}, {"eng", "bob", Developer}, {"eng", "carol", NoAccess},
		{"eng/platform", "alice", Maintainer}, {"eng/platform", "bob", Developer}, {"101", "bob", Developer},
		{"eng/platform", "carol", NoAccess}, {"ops", "alice", Owner}, {"ops", "bob", NoAccess},
		{"ops", "root", NoAccess},
	}
	for _, c := range access {
		if got := s.GroupAccess(c.group, c.user); got != c.want {
			t.Errorf("%s in %s: %d, want %d", c.user, c.group, got, c.want)
		}
	}
	// carol signs in with "password" and belongs to nothing.
	c := browser(t)
	if p := do(t, c, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {"carol"}, "user[password]": {"password"}}); p.Status != http.StatusFound {
		t.Fatalf("carol's sign-in: %d", p.Status)
	}
	r := call(t, http.MethodGet, base+"/api/v4/groups", s.CreatePersonalAccessToken("carol", "read_api"), nil)
	if r.Status != 200 || len(r.list(t)) != 0 {
		t.Fatalf("carol's groups: %d %s", r.Status, r.Body)
	}
}

func TestMembersAllOverHTTP(t *testing.T) {
	s, base := start(t, Options{})
	alice, bob, carol := s.CreatePersonalAccessToken("alice"), s.CreatePersonalAccessToken("bob", "read_api"), s.CreatePersonalAccessToken("carol")
	cases := []struct {
		name, token, path string
		status            int
		want              map[string]any
	}{
		{"direct member by path", alice, "eng/members/all/2", 200, map[string]any{"id": 2.0, "username": "alice", "access_level": 40.0}},
		{"inherited on the subgroup", alice, "eng%2Fplatform/members/all/2", 200, map[string]any{"access_level": 40.0, "name": "Alice Liddell"}},
		{"inherited developer, read_api", bob, "eng%2Fplatform/members/all/3", 200, map[string]any{"access_level": 30.0, "state": "active"}},
		{"numeric id", bob, "101/members/all/2", 200, map[string]any{"access_level": 40.0}},
		{"path is case-insensitive", alice, "ENG%2FPlatform/members/all/3", 200, map[string]any{"access_level": 30.0}},
		{"owner", alice, "ops/members/all/2", 200, map[string]any{"access_level": 50.0}},
		{"not a member", alice, "ops/members/all/3", 404, map[string]any{"message": "404 Not found"}},
		{"carol is in no group", alice, "eng/members/all/5", 404, map[string]any{"message": "404 Not found"}},
		{"private group hidden from non-member", bob, "ops/members/all/3", 404, map[string]any{"message": "404 Group Not Found"}},
		{"private group hidden from carol", carol, "eng%2Fplatform/members/all/5", 404, map[string]any{"message": "404 Group Not Found"}},
		{"unknown path", alice, "nope/members/all/2", 404, map[string]any{"message": "404 Group Not Found"}},
		{"unknown id", alice, "999/members/all/2", 404, map[string]any{"message": "404 Group Not Found"}},
		{"user id not a number", alice, "eng/members/all/alice", 400, map[string]any{"error": "user_id is invalid"}},
		{"direct route has no inherited", alice, "eng%2Fplatform/members/2", 404, map[string]any{"message": "404 Not found"}},
		{"direct route", alice, "eng/members/3", 200, map[string]any{"access_level": 30.0}},
		{"unencoded slash is no route", alice, "eng/platform/members/all/2", 404, map[string]any{"error": "404 Not Found"}},
		{"anonymous", "", "eng/members/all/2", 401, map[string]any{"message": "401 Unauthorized"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, http.MethodGet, base+"/api/v4/groups/"+c.path, c.token, nil)
			m := r.object(t)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			for k, v := range c.want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v (%s)", k, m[k], v, r.Body)
				}
			}
		})
	}
	// The member entity as GitLab presents it.
	m := call(t, http.MethodGet, base+"/api/v4/groups/eng%2Fplatform/members/all/3", alice, nil).object(t)
	for _, k := range []string{"id", "username", "name", "state", "locked", "avatar_url", "web_url", "access_level", "created_at", "expires_at", "membership_state"} {
		if _, ok := m[k]; !ok {
			t.Errorf("member lacks %s: %v", k, m)
		}
	}
	if m["web_url"] != base+"/bob" || m["created_by"].(map[string]any)["username"] != "root" || m["expires_at"] != nil {
		t.Errorf("member: %v", m)
	}
}

func TestGroupReadScopes(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("forgelink", testCallback, []string{"api", "read_user"}, true, false)
	token := func(scopes ...string) string {
		cfg := oauthConfig(base, app, scopes...)
		c, v := code(t, base, cfg, "alice")
		tok, err := cfg.Exchange(context.Background(), c, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	readUser, api := token("read_user"), token("read_user", "api")
	for _, path := range []string{"/api/v4/groups?min_access_level=30", "/api/v4/groups/eng%2Fplatform/members/all/2", "/api/v4/groups/100"} {
		r := call(t, http.MethodGet, base+path, readUser, nil)
		if r.Status != 403 || string(r.Body) != `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}` {
			t.Errorf("%s with read_user: %d %s", path, r.Status, r.Body)
		}
		// GitLab's API guard sends no WWW-Authenticate with a 403 (the
		// FIXME in lib/api/api_guard.rb).
		if h := r.Header.Get("WWW-Authenticate"); h != "" {
			t.Errorf("%s: WWW-Authenticate %q", path, h)
		}
		if r := call(t, http.MethodGet, base+path, api, nil); r.Status != 200 {
			t.Errorf("%s with api: %d %s", path, r.Status, r.Body)
		}
	}
	// read_user still reads the profile, whose class lists read_user first.
	if r := call(t, http.MethodGet, base+"/api/v4/user", readUser, nil); r.Status != 200 {
		t.Fatalf("/user with read_user: %d", r.Status)
	}
	r := call(t, http.MethodGet, base+"/api/v4/user", s.CreatePersonalAccessToken("alice", "read_repository"), nil)
	if r.Status != 403 || r.object(t)["scope"] != "read_user api read_api" {
		t.Fatalf("/user without scope: %d %s", r.Status, r.Body)
	}
}

func TestListGroupsByAccessLevel(t *testing.T) {
	s, base := start(t, Options{})
	tokens := map[string]string{}
	for _, u := range []string{"root", "alice", "bob", "carol"} {
		tokens[u] = s.CreatePersonalAccessToken(u, "read_api")
	}
	cases := []struct {
		user, query string
		want        string
	}{
		{"alice", "min_access_level=30", "eng ops eng/platform"}, // by name: Engineering, Operations, Platform
		{"alice", "min_access_level=50", "ops"},
		{"bob", "min_access_level=30", "eng eng/platform"},
		{"bob", "min_access_level=40", ""},
		{"carol", "min_access_level=10", ""},
		{"root", "min_access_level=10", ""},
		{"root", "", "eng ops eng/platform"},
		{"root", "all_available=false", ""},
		{"bob", "", "eng eng/platform"},
		{"alice", "min_access_level=10&order_by=id", "eng eng/platform ops"},
		{"alice", "min_access_level=10&order_by=path&sort=desc", "eng/platform ops eng"},
		{"alice", "min_access_level=10&top_level_only=true", "eng ops"},
		{"", "", ""},
	}
	for _, c := range cases {
		r := call(t, http.MethodGet, base+"/api/v4/groups?"+c.query, tokens[c.user], nil)
		if got := strings.Join(names(r.list(t)), " "); r.Status != 200 || got != c.want {
			t.Errorf("%s ?%s: %d %q, want %q", c.user, c.query, r.Status, got, c.want)
		}
	}
	g := call(t, http.MethodGet, base+"/api/v4/groups?min_access_level=30", tokens["bob"], nil).list(t)[1]
	if g["id"] != 101.0 || g["parent_id"] != 100.0 || g["full_name"] != "Engineering / Platform" ||
		g["web_url"] != base+"/groups/eng/platform" || g["visibility"] != "private" || g["path"] != "platform" {
		t.Errorf("group entity: %v", g)
	}
	for query, want := range map[string]string{
		"min_access_level=abc": "min_access_level is invalid",
		"min_access_level=35":  "min_access_level does not have a valid value",
		"per_page=x&page=y":    "page is invalid, per_page is invalid",
		"order_by=size":        "order_by does not have a valid value",
	} {
		r := call(t, http.MethodGet, base+"/api/v4/groups?"+query, tokens["alice"], nil)
		if r.Status != 400 || r.object(t)["error"] != want {
			t.Errorf("?%s: %d %s", query, r.Status, r.Body)
		}
	}
}

func TestGroupPagination(t *testing.T) {
	s, base := start(t, Options{})
	tok := s.CreatePersonalAccessToken("alice", "read_api")
	link := func(page int) string {
		return "<" + base + "/api/v4/groups?min_access_level=10&order_by=name&owned=false&page=" + itoa(page) +
			"&per_page=2&sort=asc&statistics=false&with_custom_attributes=false>"
	}
	cases := []struct {
		page                                             int
		items                                            int
		xPage, xNext, xPrev, xPerPage, xTotal, xTotPages string
		link                                             string
	}{
		{1, 2, "1", "2", "", "2", "3", "2", link(2) + `; rel="next", ` + link(1) + `; rel="first", ` + link(2) + `; rel="last"`},
		{2, 1, "2", "", "1", "2", "3", "2", link(1) + `; rel="prev", ` + link(1) + `; rel="first", ` + link(2) + `; rel="last"`},
		{3, 0, "3", "", "", "2", "3", "2", link(1) + `; rel="first", ` + link(2) + `; rel="last"`},
	}
	for _, c := range cases {
		r := call(t, http.MethodGet, base+"/api/v4/groups?min_access_level=10&per_page=2&page="+itoa(c.page), tok, nil)
		h := r.Header
		if r.Status != 200 || len(r.list(t)) != c.items {
			t.Fatalf("page %d: %d %s", c.page, r.Status, r.Body)
		}
		got := []string{h.Get("X-Page"), h.Get("X-Next-Page"), h.Get("X-Prev-Page"), h.Get("X-Per-Page"), h.Get("X-Total"), h.Get("X-Total-Pages")}
		want := []string{c.xPage, c.xNext, c.xPrev, c.xPerPage, c.xTotal, c.xTotPages}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("page %d headers: %q, want %q", c.page, got, want)
		}
		if _, ok := h["X-Next-Page"]; !ok {
			t.Errorf("page %d: X-Next-Page missing (GitLab sends it empty)", c.page)
		}
		if h.Get("Link") != c.link {
			t.Errorf("page %d Link:\n got %s\nwant %s", c.page, h.Get("Link"), c.link)
		}
	}
	// per_page defaults to 20 and is capped at 100; no groups is one page.
	r := call(t, http.MethodGet, base+"/api/v4/groups?per_page=500", tok, nil)
	if r.Header.Get("X-Per-Page") != "100" || r.Header.Get("X-Total") != "3" {
		t.Errorf("per_page cap: %v", r.Header)
	}
	r = call(t, http.MethodGet, base+"/api/v4/groups?min_access_level=50", s.CreatePersonalAccessToken("carol"), nil)
	if r.Header.Get("X-Per-Page") != "20" || r.Header.Get("X-Total") != "0" || r.Header.Get("X-Total-Pages") != "1" || r.Header.Get("X-Page") != "1" {
		t.Errorf("empty list headers: %v", r.Header)
	}
}

func TestRootCreatesGroupsAndMembers(t *testing.T) {
	s, base := start(t, Options{RootToken: "glpat-root"})
	root := s.RootToken()
	r := call(t, http.MethodPost, base+"/api/v4/groups", root, url.Values{"name": {"Security"}, "path": {"security"}, "parent_id": {"100"}})
	g := r.object(t)
	if r.Status != 201 || g["id"] != 103.0 || g["full_path"] != "eng/security" || g["parent_id"] != 100.0 ||
		g["name"] != "Security" || g["path"] != "security" || g["web_url"] != base+"/groups/eng/security" || g["visibility"] != "private" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if _, ok := g["projects"].([]any); !ok {
		t.Errorf("GroupDetail lacks projects: %s", r.Body)
	}
	// The creator becomes Owner, as Groups::CreateService makes it.
	if got := s.GroupAccess("eng/security", "root"); got != Owner {
		t.Errorf("root in its new group: %d", got)
	}
	members := base + "/api/v4/groups/eng%2Fsecurity/members"
	r = call(t, http.MethodPost, members, root, map[string]any{"user_id": 5, "access_level": 30})
	if m := r.object(t); r.Status != 201 || m["username"] != "carol" || m["access_level"] != 30.0 || m["created_by"].(map[string]any)["username"] != "root" {
		t.Fatalf("add carol: %d %s", r.Status, r.Body)
	}
	refusals := []struct {
		name   string
		form   url.Values
		status int
		body   string
	}{
		{"twice", url.Values{"user_id": {"5"}, "access_level": {"40"}}, 409, `{"message":"Member already exists"}`},
		{"unknown user", url.Values{"user_id": {"999"}, "access_level": {"30"}}, 404, `{"message":"404 User Not Found"}`},
		{"below inherited", url.Values{"user_id": {"2"}, "access_level": {"30"}}, 400,
			`{"message":{"access_level":["should be greater than or equal to Maintainer inherited membership from group Engineering"]}}`},
		{"odd level", url.Values{"user_id": {"3"}, "access_level": {"35"}}, 400, `{"error":"access_level does not have a valid value"}`},
		{"nothing", url.Values{}, 400, `{"error":"access_level is missing, user_id is missing"}`},
	}
	for _, c := range refusals {
		if r := call(t, http.MethodPost, members, root, c.form); r.Status != c.status || !sameJSON(r.Body, c.body) {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	// carol now reads her group and, as a member of a subgroup, sees eng,
	// but is no member there.
	carol := s.CreatePersonalAccessToken("carol", "read_api")
	if r := call(t, http.MethodGet, base+"/api/v4/groups?min_access_level=30", carol, nil); strings.Join(names(r.list(t)), " ") != "eng/security" {
		t.Errorf("carol's groups: %s", r.Body)
	}
	if r := call(t, http.MethodGet, base+"/api/v4/groups/eng/members/all/5", carol, nil); r.Status != 404 || r.object(t)["message"] != "404 Not found" {
		t.Errorf("carol in eng: %d %s", r.Status, r.Body)
	}
	if r := call(t, http.MethodGet, base+"/api/v4/groups/eng%2Fsecurity/members/all", carol, nil); len(r.list(t)) != 4 {
		t.Errorf("members/all of eng/security (root, carol, alice, bob): %s", r.Body)
	}
}

func TestCreateGroupRefusals(t *testing.T) {
	s, base := start(t, Options{})
	root, bob := s.RootToken(), s.CreatePersonalAccessToken("bob")
	cases := []struct {
		name, token string
		form        url.Values
		status      int
		body        string
	}{
		{"anonymous", "", url.Values{"name": {"x"}, "path": {"x"}}, 401, `{"message":"401 Unauthorized"}`},
		{"read_user", s.CreatePersonalAccessToken("root", "read_user"), url.Values{"name": {"x"}, "path": {"x"}}, 403,
			`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`},
		{"read_api cannot write", s.CreatePersonalAccessToken("root", "read_api"), url.Values{"name": {"x"}, "path": {"x"}}, 403,
			`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`},
		{"developer makes no subgroup", bob, url.Values{"name": {"x"}, "path": {"x"}, "parent_id": {"100"}}, 403, `{"message":"403 Forbidden"}`},
		{"hidden parent", bob, url.Values{"name": {"x"}, "path": {"x"}, "parent_id": {"102"}}, 404, `{"message":"404 Group Not Found"}`},
		{"missing", root, url.Values{}, 400, `{"error":"name is missing, path is missing"}`},
		{"taken", root, url.Values{"name": {"Eng"}, "path": {"ENG"}}, 400, `{"message":"Failed to save group {:path=>[\"has already been taken\"]}"}`},
		{"a user's namespace", root, url.Values{"name": {"A"}, "path": {"alice"}}, 400, `{"message":"Failed to save group {:path=>[\"has already been taken\"]}"}`},
		{"markup in name", root, url.Values{"name": {"<b>x</b>"}, "path": {"x"}}, 400,
			`{"message":"Failed to save group {:name=>[\"can contain only letters, digits, emoji, '_', '.', dash, space, parenthesis. It must start with letter, digit, emoji or '_'.\"]}"}`},
		{"bad path", root, url.Values{"name": {"x"}, "path": {"-x.git"}}, 400,
			`{"message":"Failed to save group {:path=>[\"can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'.\"]}"}`},
		{"wider than parent", root, url.Values{"name": {"x"}, "path": {"x"}, "parent_id": {"100"}, "visibility": {"public"}}, 400,
			`{"message":"Failed to save group {:visibility_level=>[\"public is not allowed since the parent group has a private visibility.\"]}"}`},
	}
	for _, c := range cases {
		if r := call(t, http.MethodPost, base+"/api/v4/groups", c.token, c.form); r.Status != c.status || !sameJSON(r.Body, c.body) {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	// Managing members takes an Owner: alice owns ops but only maintains eng.
	alice := s.CreatePersonalAccessToken("alice")
	if r := call(t, http.MethodPost, base+"/api/v4/groups/eng/members", alice, url.Values{"user_id": {"5"}, "access_level": {"10"}}); r.Status != 403 {
		t.Errorf("maintainer adds member: %d %s", r.Status, r.Body)
	}
	if r := call(t, http.MethodPost, base+"/api/v4/groups/ops/members", alice, url.Values{"user_id": {"5"}, "access_level": {"10"}}); r.Status != 201 {
		t.Errorf("owner adds member: %d %s", r.Status, r.Body)
	}
	// Like GitLab, any user may create a top-level group and owns it.
	if r := call(t, http.MethodPost, base+"/api/v4/groups", bob, url.Values{"name": {"Bob's team"}, "path": {"bobs-team"}}); r.Status != 400 {
		t.Errorf("apostrophe in a group name: %d %s", r.Status, r.Body)
	}
	if r := call(t, http.MethodPost, base+"/api/v4/groups", bob, url.Values{"name": {"Bob team"}, "path": {"bobs-team"}, "visibility": {"public"}}); r.Status != 201 {
		t.Fatalf("bob's group: %d %s", r.Status, r.Body)
	}
	if s.GroupAccess("bobs-team", "bob") != Owner {
		t.Error("bob should own his group")
	}
	if r := call(t, http.MethodGet, base+"/api/v4/groups/bobs-team", "", nil); r.Status != 200 || r.object(t)["visibility"] != "public" {
		t.Errorf("public group, anonymously: %d %s", r.Status, r.Body)
	}
}

func TestUsersAPI(t *testing.T) {
	s, base := start(t, Options{})
	root, alice := s.RootToken(), s.CreatePersonalAccessToken("alice")
	r := call(t, http.MethodGet, base+"/api/v4/users?username=ALICE", root, nil)
	if l := r.list(t); r.Status != 200 || len(l) != 1 || l[0]["id"] != 2.0 || l[0]["email"] != "alice@example.com" || l[0]["is_admin"] != false || r.Header.Get("X-Total") != "1" {
		t.Fatalf("root looks up alice: %d %s", r.Status, r.Body)
	}
	r = call(t, http.MethodGet, base+"/api/v4/users?username=carol", "", nil)
	if l := r.list(t); r.Status != 200 || len(l) != 1 || l[0]["id"] != 5.0 || l[0]["email"] != nil || l[0]["web_url"] != base+"/carol" {
		t.Fatalf("anonymous looks up carol: %d %s", r.Status, r.Body)
	}
	if r := call(t, http.MethodGet, base+"/api/v4/users?username=nobody", alice, nil); r.Status != 200 || string(r.Body) != "[]" {
		t.Fatalf("unknown username: %d %s", r.Status, r.Body)
	}

	hostile := map[string]any{
		"name":     "<script>alert(\"x\")</script> \u202eevil &amp; \U0001F47E",
		"username": "bob.the-builder",
		"email":    `bob+"quoted"@example.com`,
		"bio":      strings.Repeat("é", 255),
		"pronouns": "they/them",
	}
	r = call(t, http.MethodPut, base+"/api/v4/users/3", root, hostile)
	if u := r.object(t); r.Status != 200 || u["name"] != hostile["name"] || u["username"] != "bob.the-builder" || u["bio"] != hostile["bio"] || u["is_admin"] != false {
		t.Fatalf("hostile profile: %d %s", r.Status, r.Body)
	}
	// The new profile shows wherever GitLab shows people.
	if m := call(t, http.MethodGet, base+"/api/v4/groups/eng%2Fplatform/members/all/3", alice, nil).object(t); m["name"] != hostile["name"] || m["username"] != "bob.the-builder" {
		t.Errorf("member after rename: %v", m)
	}
	if u := call(t, http.MethodGet, base+"/api/v4/user", s.CreatePersonalAccessToken("bob.the-builder", "read_user"), nil).object(t); u["email"] != hostile["email"] || u["pronouns"] != "they/them" {
		t.Errorf("/user after update: %v", u)
	}

	refusals := []struct {
		name, token, path string
		body              any
		status            int
		want              string
	}{
		{"name too long", root, "3", map[string]any{"name": strings.Repeat("é", 256)}, 400, `{"message":{"name":["is too long (maximum is 255 characters)"]}}`},
		{"blank name", root, "3", url.Values{"name": {"  "}}, 400, `{"message":{"name":["can't be blank"]}}`},
		{"username taken", root, "3", url.Values{"username": {"Alice"}}, 409, `{"message":"Username has already been taken"}`},
		{"email taken", root, "3", url.Values{"email": {"ALICE@example.com"}}, 409, `{"message":"Email has already been taken"}`},
		{"group namespace", root, "3", url.Values{"username": {"eng"}}, 400, `{"message":{"username":["has already been taken"]}}`},
		{"bad username", root, "3", url.Values{"username": {"-bob"}}, 400,
			`{"message":{"username":["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'."]}}`},
		{"bad email", root, "3", url.Values{"email": {"bob at example"}}, 400, `{"message":{"email":["is invalid"]}}`},
		{"NUL byte", root, "3", url.Values{"name": {"bo\x00b"}}, 400, "Bad Request"},
		{"not admin", alice, "3", url.Values{"name": {"x"}}, 403, `{"message":"403 Forbidden"}`},
		{"anonymous", "", "3", url.Values{"name": {"x"}}, 401, `{"message":"401 Unauthorized"}`},
		{"read_user", s.CreatePersonalAccessToken("root", "read_user"), "3", url.Values{"name": {"x"}}, 403,
			`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_user api read_api"}`},
		{"id not a number", root, "bob", url.Values{"name": {"x"}}, 400, `{"error":"id is invalid"}`},
		{"unknown user", root, "999", url.Values{"name": {"x"}}, 404, `{"message":"404 User Not Found"}`},
	}
	for _, c := range refusals {
		if r := call(t, http.MethodPut, base+"/api/v4/users/"+c.path, c.token, c.body); r.Status != c.status || !sameJSON(r.Body, c.want) {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
}

func TestGroupFaults(t *testing.T) {
	s, base := start(t, Options{})
	tok := s.CreatePersonalAccessToken("alice")
	member := base + "/api/v4/groups/eng%2Fplatform/members/all/2"

	s.SetFault(Fault{Slow: 300 * time.Millisecond, PathPrefix: "/api/v4/groups"})
	began := time.Now()
	if r := call(t, http.MethodGet, member, tok, nil); r.Status != 200 || time.Since(began) < 300*time.Millisecond {
		t.Errorf("slow group read: %d after %v", r.Status, time.Since(began))
	}
	began = time.Now()
	if r := call(t, http.MethodGet, base+"/api/v4/user", tok, nil); r.Status != 200 || time.Since(began) > 250*time.Millisecond {
		t.Errorf("/user is outside the prefix: %d after %v", r.Status, time.Since(began))
	}

	// The escaped path names one group as clients send it.
	s.SetFault(Fault{Error500: true, PathPrefix: "/api/v4/groups/eng%2Fplatform/"})
	if r := call(t, http.MethodGet, member, tok, nil); r.Status != 500 || string(r.Body) != `{"message":"500 Internal Server Error"}` {
		t.Errorf("error500 on eng/platform: %d %s", r.Status, r.Body)
	}
	if r := call(t, http.MethodGet, base+"/api/v4/groups/eng/members/all/2", tok, nil); r.Status != 200 {
		t.Errorf("eng is unaffected: %d", r.Status)
	}

	s.SetFault(Fault{Malformed: true, PathPrefix: "/api/v4/groups"})
	if r := call(t, http.MethodGet, base+"/api/v4/groups?min_access_level=30", tok, nil); r.Status != 200 || json.Valid(r.Body) {
		t.Errorf("malformed list: %d %q", r.Status, r.Body)
	}

	s.SetFault(Fault{Down: true, PathPrefix: "/api/v4/groups"})
	if resp, err := http.Get(member); err == nil {
		resp.Body.Close()
		t.Errorf("down: answered %d", resp.StatusCode)
	}
	s.SetFault(Fault{})
	if r := call(t, http.MethodGet, member, tok, nil); r.Status != 200 {
		t.Errorf("healed: %d", r.Status)
	}
}

func TestGroupsGoAPI(t *testing.T) {
	s, base := start(t, Options{
		ExtraUsers:  []User{{Username: "dave"}, {Username: "carol", Password: "s3cret-pw"}},
		ExtraGroups: []GroupSpec{{FullPath: "eng/platform/db", Name: "Databases", Members: map[string]int{"dave": Owner}}},
	})
	if s.GroupAccess("eng/platform/db", "dave") != Owner || s.GroupAccess("eng/platform/db", "alice") != Maintainer {
		t.Fatal("extra group memberships")
	}
	for _, u := range s.Users() {
		if u.Username == "carol" && (u.ID != 5 || u.Password != "s3cret-pw" || u.Name != "Carol Shaw") {
			t.Errorf("carol from ExtraUsers should change the default carol: %+v", u)
		}
		if u.Username == "dave" && u.ID != 6 {
			t.Errorf("dave: %+v", u)
		}
	}
	g, err := s.CreateGroup(GroupSpec{FullPath: "qa", Visibility: "internal", Members: map[string]int{"carol": Reporter}})
	if err != nil || g.Name != "qa" || g.FullPath != "qa" || g.Visibility != "internal" {
		t.Fatalf("CreateGroup: %+v %v", g, err)
	}
	if _, err := s.CreateGroup(GroupSpec{FullPath: "nope/x"}); err == nil {
		t.Error("a group under a missing parent")
	}
	if _, err := s.CreateGroup(GroupSpec{FullPath: "qa"}); err == nil || !strings.Contains(err.Error(), "has already been taken") {
		t.Errorf("duplicate: %v", err)
	}
	// SetGroupMember replaces, and NoAccess removes only the direct membership.
	if err := s.SetGroupMember("eng", "bob", Guest); err != nil || s.GroupAccess("eng/platform", "bob") != Guest {
		t.Fatalf("demote bob: %v", err)
	}
	if err := s.SetGroupMember("eng", "bob", NoAccess); err != nil || s.GroupAccess("eng/platform", "bob") != NoAccess {
		t.Fatalf("remove bob: %v", err)
	}
	if err := s.SetGroupMember("eng", "bob", 35); err == nil {
		t.Error("access level 35")
	}
	// An internal group is visible to every signed-in user.
	r := call(t, http.MethodGet, base+"/api/v4/groups/qa/members/all/5", s.CreatePersonalAccessToken("bob", "read_api"), nil)
	if r.Status != 200 || r.object(t)["access_level"] != 20.0 {
		t.Errorf("internal group: %d %s", r.Status, r.Body)
	}
	if !s.UpdateUser("carol", func(u *User) { u.Name = `"><img src=x>`; u.ID = 99 }) {
		t.Fatal("UpdateUser")
	}
	if r := call(t, http.MethodGet, base+"/api/v4/users?username=carol", "", nil); r.list(t)[0]["name"] != `"><img src=x>` || r.list(t)[0]["id"] != 5.0 {
		t.Errorf("after UpdateUser: %s", r.Body)
	}
	defer func() {
		if recover() == nil {
			t.Error("New with a bad ExtraGroups entry should panic")
		}
	}()
	New(Options{ExtraGroups: []GroupSpec{{FullPath: "eng", Members: map[string]int{"nobody": Guest}}}})
}

func TestOIDCGroupClaims(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("app", testCallback, []string{"openid", "read_user"}, true, false)
	cfg := oauthConfig(base, app, "openid")
	c, v := code(t, base, cfg, "alice")
	tok, err := cfg.Exchange(context.Background(), c, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	ui := call(t, http.MethodGet, base+"/oauth/userinfo", tok.AccessToken, nil).object(t)
	want := map[string]string{
		"groups":                                 "[eng eng/platform ops]",
		"https://gitlab.org/claims/groups/owner": "[ops]",
		"https://gitlab.org/claims/groups/maintainer": "[eng]",
		"https://gitlab.org/claims/groups/developer":  "<nil>",
	}
	for k, w := range want {
		if got := fmtAny(ui[k]); got != w {
			t.Errorf("userinfo %s = %s, want %s", k, got, w)
		}
	}
	idToken, _ := tok.Extra("id_token").(string)
	parts := strings.Split(idToken, ".")
	var claims map[string]any
	raw, _ := b64decode(parts[1])
	json.Unmarshal(raw, &claims)
	if got := fmtAny(claims["groups_direct"]); got != "[eng ops]" {
		t.Errorf("id_token groups_direct = %s", got)
	}
}

func fmtAny(v any) string { return fmt.Sprint(v) }

func b64decode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// sameJSON compares a body with the expected text as JSON values (Go
// escapes <, > and & where Ruby may not), or as text when either is not
// JSON.
func sameJSON(got []byte, want string) bool {
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return string(got) == want
	}
	return reflect.DeepEqual(a, b)
}
