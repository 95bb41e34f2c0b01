package security_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/mototest"
)

// TestHostileBodies: oversized JSON and form bodies are 413, malformed JSON 400, a wrong
// content type 415, wrong JSON types 400/422; every API error has the error shape, no
// internals, and no request changes anything.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	in := e.PendingIntegration(t, "Keep")
	create, patch := apiPath(e, ""), apiPath(e, "/"+in.ID)
	big := `{"platform":"gitlab","url":"` + e.GitLabURL + `","name":"` + strings.Repeat("a", 65<<10) + `"}`

	type call struct {
		name, method, path, ct string
		body                   string
		chunked                bool
		want                   []int
	}
	calls := []call{
		{"big create", http.MethodPost, create, "application/json", big, false, []int{413}},
		{"big patch", http.MethodPatch, patch, "application/json", big, false, []int{413}},
		{"big chunked", http.MethodPost, create, "application/json", big, true, []int{413}},
		{"big whitespace", http.MethodPost, create, "application/json", strings.Repeat(" ", 65<<10) + "{}", false, []int{413}},
		{"malformed", http.MethodPost, create, "application/json", `{"platform":"gitlab",`, false, []int{400}},
		{"not json", http.MethodPatch, patch, "application/json", `name=x`, false, []int{400}},
		{"trailing data", http.MethodPost, create, "application/json", `{"platform":"gitlab"}{"x":1}`, false, []int{400}},
		{"empty body", http.MethodPost, create, "application/json", ``, false, []int{400}},
		{"invalid utf-8", http.MethodPost, create, "application/json", "{\"name\":\"\xff\xfe\"}", false, []int{400, 422}},
		{"deep nesting", http.MethodPost, create, "application/json", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), false, []int{400}},
		{"no content type", http.MethodPost, create, "", `{}`, false, []int{415}},
		{"text/plain", http.MethodPost, create, "text/plain", `{"platform":"gitlab"}`, false, []int{415}},
		{"form type", http.MethodPatch, patch, "application/x-www-form-urlencoded", `name=x`, false, []int{415}},
		{"json-ish type", http.MethodPost, create, "application/jsonx", `{}`, false, []int{415}},
		{"bad media type", http.MethodPost, create, "application/json; charset", `{}`, false, []int{415}},
		{"url number", http.MethodPost, create, "application/json", `{"platform":"gitlab","url":5}`, false, []int{400, 422}},
		{"platform array", http.MethodPost, create, "application/json", `{"platform":["gitlab"],"url":"x"}`, false, []int{400, 422}},
		{"name object", http.MethodPatch, patch, "application/json", `{"name":{}}`, false, []int{400, 422}},
		{"version string", http.MethodPatch, patch, "application/json", `{"name":"x","version":"3"}`, false, []int{400, 422}},
		{"version huge", http.MethodPatch, patch, "application/json", `{"name":"x","version":1e400}`, false, []int{400, 422}},
		{"version negative", http.MethodPatch, patch, "application/json", `{"name":"x","version":-1}`, false, []int{400, 409, 422}},
		{"client_id bool", http.MethodPatch, patch, "application/json", `{"client_id":true,"client_secret":"x"}`, false, []int{400, 422}},
		{"array body", http.MethodPost, create, "application/json", `[]`, false, []int{400, 422}},
		{"string body", http.MethodPost, create, "application/json", `"x"`, false, []int{400, 422}},
		{"null body", http.MethodPatch, patch, "application/json", `null`, false, []int{400, 422}},
		{"null fields", http.MethodPatch, patch, "application/json", `{"name":null,"client_id":null}`, false, []int{400, 422}},
		{"only secret", http.MethodPatch, patch, "application/json", `{"client_secret":"abcdefgh-secret"}`, false, []int{422}},
		{"bad If-Match", http.MethodPatch, patch, "application/json", `{"name":"x"}`, false, []int{400}},
		{"unknown route", http.MethodGet, "/api/v1/nope", "", ``, false, []int{404}},
		{"wrong method", http.MethodPut, create, "application/json", `{}`, false, []int{405}},
		{"unknown id", http.MethodPatch, apiPath(e, "/does-not-exist"), "application/json", `{"name":"x"}`, false, []int{404}},
		{"dot-dot id", http.MethodGet, apiPath(e, "/..%2F..%2Fbeta"), "", ``, false, []int{404}},
	}
	for _, c := range calls {
		var body io.Reader = strings.NewReader(c.body)
		if c.chunked {
			body = io.MultiReader(strings.NewReader(c.body)) // unknown length: chunked
		}
		var hdr []string
		if c.name == "bad If-Match" {
			hdr = []string{"If-Match", `"abc"`}
		}
		r := rawAPI(t, e, e.AdminToken, c.method, c.path, c.ct, body, hdr...)
		ok := false
		for _, w := range c.want {
			ok = ok || r.StatusCode == w
		}
		if !ok {
			t.Errorf("%s: status %d, want one of %v: %s", c.name, r.StatusCode, c.want, clip(r.Body))
		}
		wantAPIError(t, r, r.StatusCode)
		if c.name == "wrong method" && r.Header.Get("Allow") == "" {
			t.Errorf("405 without Allow")
		}
		if strings.Contains(r.Body, "abcdefgh-secret") {
			t.Errorf("%s: the secret is echoed", c.name)
		}
	}
	// The token-less and bad-token answers have the shape too.
	wantAPIError(t, rawAPI(t, e, "", http.MethodGet, create, "", nil), http.StatusUnauthorized)
	wantAPIError(t, rawAPI(t, e, "nope", http.MethodGet, create, "", nil), http.StatusUnauthorized)

	// Forms over 64 KiB (with the right session and CSRF token) are 413, also unframed.
	admin := e.AdminClient(t)
	tok := apptest.FormValue(e.Get(t, admin, listPath(e.Org)+"/new").Body, "csrf_token")
	bigForm := "csrf_token=" + url.QueryEscape(tok) + "&platform=gitlab&url=" + url.QueryEscape(e.GitLabURL+"/big") + "&name=" + strings.Repeat("a", 65<<10)
	for _, path := range []string{listPath(e.Org), listPath(e.Org) + "/" + in.ID, listPath(e.Org) + "/" + in.ID + "/delete",
		listPath(e.Org) + "/" + in.ID + "/url", "/orgs/" + e.Org + "/logout"} {
		for _, chunked := range []bool{false, true} {
			var body io.Reader = strings.NewReader(bigForm)
			if chunked {
				body = io.MultiReader(body)
			}
			req, _ := http.NewRequest(http.MethodPost, e.URL+path, body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if r := apptest.Do(t, admin, req); r.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("big form to %s (chunked %t): status %d, want 413", path, chunked, r.StatusCode)
			}
		}
	}
	// Malformed form encodings are a 400, never a 500.
	req, _ := http.NewRequest(http.MethodPost, e.URL+listPath(e.Org), strings.NewReader("csrf_token=%zz&url=%"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := apptest.Do(t, admin, req); r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusForbidden {
		t.Errorf("malformed form: %d", r.StatusCode)
	}

	got := integrations(t, e, e.Org, e.AdminToken)
	if len(got) != 1 || got[0].Name != "Keep" || got[0].Version != 1 {
		t.Errorf("hostile bodies changed something: %+v", got)
	}
}

// TestSecretNeverLeaks walks the whole admin and sign-in journey, wrong secrets included,
// and looks for the client secret (and the admin token, session ids) in every response
// body and header, in the logs, in every DynamoDB item and in every other secret.
func TestSecretNeverLeaks(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, aws bool) {
		e := apptest.Start(t, apptest.Options{AWS: aws})
		var seen []apptest.Response
		keep := func(r apptest.Response) apptest.Response { seen = append(seen, r); return r }

		in := e.PendingIntegration(t, "Leak check")
		app := e.GitLab.CreateApplication("forgelink", in.CallbackURL, []string{"api", "read_user"}, true, false)
		secret, wrong := app.Secret, "wrong-"+app.Secret[:20]+"-guess"
		keep(e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"client_id": app.UID, "client_secret": wrong}))
		keep(e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"client_id": app.UID, "client_secret": secret}))
		keep(e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"client_id": "bad id!", "client_secret": secret}))
		keep(e.API(t, http.MethodGet, apiPath(e, "/"+in.ID), nil))
		keep(e.API(t, http.MethodGet, apiPath(e, ""), nil))
		keep(e.API(t, http.MethodGet, apiPath(e, "/"+in.ID+"/audit"), nil))
		admin := e.AdminClient(t)
		keep(e.Get(t, admin, listPath(e.Org)))
		page := keep(e.Get(t, admin, listPath(e.Org)+"/"+in.ID))
		tok := apptest.FormValue(page.Body, "csrf_token")
		// A form Save with a wrong secret re-renders the page: without the secret.
		keep(e.PostForm(t, admin, listPath(e.Org)+"/"+in.ID, map[string]string{"csrf_token": tok, "client_id": app.UID, "client_secret": wrong, "version": "0"}))
		keep(e.PostForm(t, admin, listPath(e.Org)+"/"+in.ID, map[string]string{"csrf_token": tok, "client_id": "bad id!", "client_secret": secret, "version": "0"}))
		c := e.Client(t)
		r := toCallback(t, e, c, in.LoginURL, "alice")
		keep(r)
		keep(callback(t, e, c, r))
		keep(e.Get(t, c, "/orgs/"+e.Org))
		keep(whoami(t, e, c, e.Org))
		// A refused sign-in (blocked user) and a cancelled one.
		c2 := e.Client(t)
		keep(e.SignIn(t, c2, in.LoginURL, "mallory"))

		hidden := []string{secret, wrong, e.AdminToken}
		for _, ck := range append(c.Jar.Cookies(mustURL(e.URL)), admin.Jar.Cookies(mustURL(e.URL))...) {
			if strings.Contains(ck.Name, "session") || strings.Contains(ck.Name, "admin") {
				hidden = append(hidden, ck.Value)
			}
		}
		for i, r := range seen {
			noLeak(t, r.Request.Method+" "+r.Request.URL.Path+" #"+string(rune('0'+i%10)), r, secret, wrong)
			if strings.Contains(r.Header.Get("Location"), secret) {
				t.Errorf("secret in a Location header")
			}
		}
		noLeakInLogs(t, e, hidden...)
		// The sign-in code and the GitLab access token are not logged either.
		if code := mustURL(r.Header.Get("Location")).Query().Get("code"); code != "" {
			noLeakInLogs(t, e, code)
		}

		if !aws {
			return
		}
		ctx := context.Background()
		items, err := e.Moto.ScanTable(ctx, e.Table)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(items)
		for _, h := range hidden {
			if strings.Contains(string(raw), h) {
				t.Errorf("a secret (%.4s…) is stored in a DynamoDB item", h)
			}
		}
		if !strings.Contains(string(raw), "INTEGRATION#"+in.ID) {
			t.Fatalf("scan does not see the integration item; wrong table? %s", clip(string(raw)))
		}
		secrets, err := e.Moto.ListSecrets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		own := e.Prefix + e.Org + "/" + in.ID
		found := 0
		for _, s := range secrets {
			holds := strings.Contains(s.Value, secret) || strings.Contains(s.Value, wrong)
			switch {
			case s.Name == own:
				found++
				if s.Value != secret {
					t.Errorf("the integration's secret holds something else")
				}
				if s.Tags["org"] != e.Org || s.Tags["integration"] != in.ID {
					t.Errorf("secret tags: %v", s.Tags)
				}
			case holds:
				t.Errorf("secret %s also holds the client secret", s.Name)
			case strings.HasPrefix(s.Name, e.Prefix):
				t.Errorf("unexpected secret under the prefix: %s", s.Name)
			}
		}
		if found != 1 {
			t.Errorf("want exactly the integration's own secret %s, found %d", own, found)
		}
	})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		return &url.URL{}
	}
	return u
}

var _ = mototest.Region
