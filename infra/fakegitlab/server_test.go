package fakegitlab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTLSWithGeneratedCA(t *testing.T) {
	s := New(Options{})
	base, err := s.Start("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("base %q", base)
	}
	if _, err := http.Get(base + "/-/health"); err == nil {
		t.Fatal("default trust store should not accept the fake CA")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, u := range []string{base, strings.Replace(base, "127.0.0.1", "localhost", 1)} {
		resp, err := c.Get(u + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if d["issuer"] != base {
			t.Fatalf("issuer %v via %s", d["issuer"], u)
		}
	}
	if resp, err := s.Client().Get(base + "/-/health"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("Client(): %v", err)
	}
}

func TestApplicationsAPI(t *testing.T) {
	s, base := start(t, Options{RootToken: "root-token"})
	call := func(method, path, token, ctype, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("PRIVATE-TOKEN", token)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	form := url.Values{"name": {"forgelink"}, "redirect_uri": {testCallback + "\nhttp://127.0.0.1:1/b"}, "scopes": {"api read_user"}}.Encode()
	st, body := call("POST", "/api/v4/applications", "root-token", "application/x-www-form-urlencoded", form)
	var created map[string]any
	json.Unmarshal([]byte(body), &created)
	if st != 201 || created["application_name"] != "forgelink" || created["confidential"] != true ||
		created["callback_url"] != testCallback+"\nhttp://127.0.0.1:1/b" || created["secret"] == "" || created["application_id"] == "" || created["id"] == nil {
		t.Fatalf("create: %d %s", st, body)
	}
	st, body = call("POST", "/api/v4/applications", "root-token", "application/json",
		`{"name":"public","redirect_uri":"`+testCallback+`","scopes":"read_user,openid","confidential":false}`)
	if st != 201 || !strings.Contains(body, `"confidential":false`) {
		t.Fatalf("json create: %d %s", st, body)
	}
	apps := s.Applications()
	if len(apps) != 2 || apps[0].UID != created["application_id"] || len(apps[0].RedirectURIs) != 2 || strings.Join(apps[1].Scopes, " ") != "read_user openid" {
		t.Fatalf("stored: %+v", apps)
	}

	if st, body := call("POST", "/api/v4/applications", "root-token", "application/x-www-form-urlencoded", "name=x"); st != 400 ||
		!strings.Contains(body, "redirect_uri is missing") || !strings.Contains(body, "scopes is missing") {
		t.Fatalf("missing fields: %d %s", st, body)
	}
	if st, body := call("POST", "/api/v4/applications", "root-token", "application/x-www-form-urlencoded", "name=x&redirect_uri=not-a-uri&scopes=api"); st != 400 || !strings.Contains(body, "absolute URI") {
		t.Fatalf("bad redirect: %d %s", st, body)
	}
	if st, _ := call("POST", "/api/v4/applications", "", "application/x-www-form-urlencoded", form); st != 401 {
		t.Fatalf("no token: %d", st)
	}
	alice := s.CreatePersonalAccessToken("alice")
	if st, body := call("POST", "/api/v4/applications", alice, "application/x-www-form-urlencoded", form); st != 403 || !strings.Contains(body, "403 Forbidden") {
		t.Fatalf("non-admin: %d %s", st, body)
	}
	if st, body := call("GET", "/api/v4/applications", "root-token", "", ""); st != 200 || strings.Contains(body, "secret") || !strings.Contains(body, "forgelink") {
		t.Fatalf("list: %d %s", st, body)
	}
	if st, _ := call("DELETE", "/api/v4/applications/1", "root-token", "", ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _ := call("DELETE", "/api/v4/applications/1", "root-token", "", ""); st != 404 {
		t.Fatalf("delete again: %d", st)
	}
	if st, u := apiGet(t, base+"/api/v4/user", "root-token"); st != 200 || u["is_admin"] != true {
		t.Fatalf("root PAT as bearer: %d %v", st, u)
	}
}

func TestApplicationPages(t *testing.T) {
	s, base := start(t, Options{})
	c := browser(t)
	p := get(t, c, base+"/-/user_settings/applications")
	if p.Status != 302 || p.Location != base+"/users/sign_in" {
		t.Fatalf("anonymous: %d %q", p.Status, p.Location)
	}
	p = do(t, c, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {"alice"}, "user[password]": {"password"}})
	if p.Location != base+"/-/user_settings/applications" {
		t.Fatalf("sign-in should return to the applications page: %q", p.Location)
	}
	p = get(t, c, p.Location)
	checkHTML(t, p)
	for _, want := range []string{`name="doorkeeper_application[name]"`, `<textarea name="doorkeeper_application[redirect_uri]"`,
		`value="read_user"`, `id="doorkeeper_application_confidential" value="1" checked`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("form lacks %s", want)
		}
	}
	if strings.Contains(p.Body, "doorkeeper_application[trusted]") {
		t.Error("Trusted is for admins only")
	}

	// Validation errors re-render the form.
	p = do(t, c, http.MethodPost, base+"/-/user_settings/applications", url.Values{"doorkeeper_application[name]": {""}})
	if p.Status != 200 || !strings.Contains(p.Body, "Name can&#39;t be blank") || !strings.Contains(p.Body, "Redirect URI can&#39;t be blank") {
		t.Fatalf("validation: %d\n%s", p.Status, p.Body)
	}

	form := url.Values{
		"doorkeeper_application[name]":         {"forgelink"},
		"doorkeeper_application[redirect_uri]": {testCallback},
		"doorkeeper_application[confidential]": {"0", "1"},
		"doorkeeper_application[scopes][]":     {"api", "read_user"},
	}
	p = do(t, c, http.MethodPost, base+"/-/user_settings/applications", form)
	if p.Status != 302 || !strings.HasPrefix(p.Location, base+"/-/user_settings/applications/") {
		t.Fatalf("create: %d %q", p.Status, p.Location)
	}
	show := p.Location
	p = get(t, c, show)
	checkHTML(t, p)
	app := s.Applications()[0]
	if app.OwnerID != 2 || !app.Confidential || app.Trusted {
		t.Fatalf("app: %+v", app)
	}
	for _, want := range []string{`id="application_id" data-testid="application-id">` + app.UID + `<`,
		`id="secret" data-testid="secret">` + app.Secret + `<`, testCallback} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("show page lacks %s", want)
		}
	}
	if p := get(t, c, show); strings.Contains(p.Body, app.Secret) {
		t.Error("the secret is shown only once")
	}

	// Admin area: 404 for alice, Trusted for root.
	if p := get(t, c, base+"/admin/applications/new"); p.Status != 404 {
		t.Fatalf("admin page for alice: %d", p.Status)
	}
	root := browser(t)
	if p := get(t, root, base+"/admin/applications/new"); p.Location != base+"/users/sign_in" {
		t.Fatalf("admin anonymous: %q", p.Location)
	}
	do(t, root, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {"root"}, "user[password]": {"password"}})
	p = get(t, root, base+"/admin/applications/new")
	checkHTML(t, p)
	if !strings.Contains(p.Body, `id="doorkeeper_application_trusted"`) {
		t.Fatal("admin form lacks Trusted")
	}
	form.Set("doorkeeper_application[trusted]", "1")
	p = do(t, root, http.MethodPost, base+"/admin/applications", form)
	if p.Status != 302 || !strings.HasPrefix(p.Location, base+"/admin/applications/") {
		t.Fatalf("admin create: %d %q", p.Status, p.Location)
	}
	if a := s.Applications()[1]; !a.Trusted || a.OwnerID != 0 {
		t.Fatalf("admin app: %+v", a)
	}

	// Confidential unticked: Rails sends the hidden "0" alone, and the application is
	// public; the pages say so.
	form.Del("doorkeeper_application[trusted]")
	form["doorkeeper_application[confidential]"] = []string{"0"}
	p = do(t, c, http.MethodPost, base+"/-/user_settings/applications", form)
	if a := s.Applications()[2]; p.Status != 302 || a.Confidential {
		t.Fatalf("create without Confidential: %d, app %+v", p.Status, a)
	}
	if p = get(t, c, p.Location); !strings.Contains(p.Body, `<output id="confidential">N</output>`) {
		t.Errorf("show page of a public application lacks Confidential N:\n%s", p.Body)
	}
}

var (
	inputRe = regexp.MustCompile(`<(input|textarea|select)\b[^>]*>`)
	idRe    = regexp.MustCompile(`\bid="([^"]+)"`)
)

// checkHTML asserts what a headless browser test needs: HTML5, a title, an
// h1, a label for every visible input, and nothing loaded from elsewhere.
func checkHTML(t *testing.T, p page) {
	t.Helper()
	if p.Status != 200 {
		t.Fatalf("status %d", p.Status)
	}
	for _, want := range []string{"<!DOCTYPE html>", `<html lang="en">`, "<title>", "<h1>"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, in := range inputRe.FindAllString(p.Body, -1) {
		if strings.Contains(in, `type="hidden"`) {
			continue
		}
		m := idRe.FindStringSubmatch(in)
		if m == nil || !strings.Contains(p.Body, `<label for="`+m[1]+`"`) && !strings.Contains(p.Body, `<label class="inline" for="`+m[1]+`"`) {
			t.Errorf("input without a label: %s", in)
		}
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(p.Body) {
		t.Error("page loads an external resource")
	}
}

func TestPagesAndRoutes(t *testing.T) {
	s, base := start(t, Options{})
	app := s.CreateApplication("Consent App", testCallback, []string{"read_user"}, true, false)
	c := browser(t)
	checkHTML(t, get(t, c, base+"/users/sign_in"))
	checkHTML(t, get(t, c, base+"/"))
	if p := get(t, c, base+"/-/health"); p.Status != 200 {
		t.Fatalf("health %d", p.Status)
	}
	do(t, c, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {"bob"}, "user[password]": {"password"}})
	p := get(t, c, oauthConfig(base, app, "read_user").AuthCodeURL("s"))
	checkHTML(t, p)
	if !strings.Contains(p.Body, "<h1>Authorize Consent App to use your account?</h1>") {
		t.Fatalf("consent heading:\n%s", p.Body)
	}
	if p := get(t, c, base+"/nope"); p.Status != 404 || !strings.Contains(p.Body, "<title>") {
		t.Fatalf("404 page: %d", p.Status)
	}
	if p := get(t, c, base+"/api/v4/nope"); p.Status != 404 || !strings.Contains(p.Body, `"404 Not Found"`) {
		t.Fatalf("404 api: %d %s", p.Status, p.Body)
	}
}

func TestBlockedUserIsVisible(t *testing.T) {
	s, base := start(t, Options{ExtraUsers: []User{{Username: "carol"}}})
	if st, u := apiGet(t, base+"/api/v4/user", s.CreatePersonalAccessToken("mallory", "read_user")); st != 200 || u["state"] != "blocked" {
		t.Fatalf("mallory: %d %v", st, u)
	}
	if st, u := apiGet(t, base+"/api/v4/user", s.CreatePersonalAccessToken("carol")); st != 200 || u["id"] != float64(5) || u["email"] != "carol@example.com" {
		t.Fatalf("carol: %d %v", st, u)
	}
	s.SetUserState("bob", "deactivated")
	if _, u := apiGet(t, base+"/api/v4/user", s.CreatePersonalAccessToken("bob")); u["state"] != "deactivated" {
		t.Fatalf("bob: %v", u)
	}
}

func TestFaults(t *testing.T) {
	s, base := start(t, Options{RootToken: "root-token"})
	tok := s.CreatePersonalAccessToken("alice")

	t.Run("slow", func(t *testing.T) {
		s.SetFault(Fault{Slow: 300 * time.Millisecond})
		defer s.SetFault(Fault{})
		began := time.Now()
		if st, _ := apiGet(t, base+"/api/v4/user", tok); st != 200 || time.Since(began) < 300*time.Millisecond {
			t.Fatalf("slow: %d after %v", st, time.Since(began))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/-/health", nil)
		if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("client timeout: %v", err)
		}
	})
	t.Run("down", func(t *testing.T) {
		s.SetFault(Fault{Down: true})
		defer s.SetFault(Fault{})
		if resp, err := http.Get(base + "/.well-known/openid-configuration"); err == nil {
			resp.Body.Close()
			t.Fatalf("down server answered %d", resp.StatusCode)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		s.SetFault(Fault{Malformed: true})
		defer s.SetFault(Fault{})
		p := get(t, http.DefaultClient, base+"/.well-known/openid-configuration")
		if p.Status != 200 || json.Valid([]byte(p.Body)) || p.Body == "" {
			t.Fatalf("malformed: %d %q", p.Status, p.Body)
		}
		resp, _ := http.PostForm(base+"/oauth/token", url.Values{"grant_type": {"x"}})
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || json.Valid(b) {
			t.Fatalf("malformed token error: %d %q", resp.StatusCode, b)
		}
		if p := get(t, http.DefaultClient, base+"/users/sign_in"); p.Status != 200 || !strings.Contains(p.Body, "</html>") {
			t.Fatal("HTML pages are left intact")
		}
	})
	t.Run("error500 with prefix", func(t *testing.T) {
		s.SetFault(Fault{Error500: true, PathPrefix: "/api/"})
		defer s.SetFault(Fault{})
		if st, m := apiGet(t, base+"/api/v4/user", tok); st != 500 || m["message"] != "500 Internal Server Error" {
			t.Fatalf("api: %d %v", st, m)
		}
		if st, _ := apiGet(t, base+"/.well-known/openid-configuration", ""); st != 200 {
			t.Fatalf("outside the prefix: %d", st)
		}
	})
	t.Run("over http", func(t *testing.T) {
		post := func(token, body string) int {
			req, _ := http.NewRequest(http.MethodPost, base+"/-/fake/fault", strings.NewReader(body))
			req.Header.Set("PRIVATE-TOKEN", token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if st := post("wrong", `{"down":true}`); st != 401 {
			t.Fatalf("without root token: %d", st)
		}
		if st := post("root-token", `{"slow":"forever"}`); st != 400 {
			t.Fatalf("bad duration: %d", st)
		}
		if st := post("root-token", `{"down":true,"slow":"10ms","path_prefix":"/oauth/"}`); st != 200 {
			t.Fatalf("set: %d", st)
		}
		if f := s.CurrentFault(); !f.Down || f.Slow != 10*time.Millisecond || f.PathPrefix != "/oauth/" {
			t.Fatalf("fault %+v", f)
		}
		if _, err := http.PostForm(base+"/oauth/token", url.Values{}); err == nil {
			t.Fatal("token endpoint should be down")
		}
		if st, _ := apiGet(t, base+"/api/v4/version", tok); st != 200 {
			t.Fatal("outside the prefix stays up")
		}
		req, _ := http.NewRequest(http.MethodDelete, base+"/-/fake/fault", nil)
		req.Header.Set("Authorization", "Bearer root-token")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Fatalf("heal: %v", err)
		}
		if s.CurrentFault() != (Fault{}) {
			t.Fatal("not healed")
		}
	})
}

func TestFaultEndpointIgnoresContentType(t *testing.T) {
	s, base := start(t, Options{RootToken: "root-token"})
	// curl -d sends JSON labelled as a form; the body must still be read.
	req, _ := http.NewRequest(http.MethodPost, base+"/-/fake/fault", strings.NewReader(`{"malformed":true}`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("PRIVATE-TOKEN", "root-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !s.CurrentFault().Malformed {
		t.Fatalf("%d %+v", resp.StatusCode, s.CurrentFault())
	}
}

func TestHandlerInHTTPTest(t *testing.T) {
	// Without Start the issuer comes from Options.BaseURL, not the Host header.
	s := New(Options{BaseURL: "http://gitlab.test/"})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if st, d := apiGet(t, ts.URL+"/.well-known/openid-configuration", ""); st != 200 || d["issuer"] != "http://gitlab.test" {
		t.Fatalf("%d %v", st, d)
	}
}

// TestServerTimeouts: the fake GitLab bounds every phase of a connection (slowloris),
// and still lets Fault.Slow delays of a minute finish.
func TestServerTimeouts(t *testing.T) {
	s := NewHTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.IdleTimeout <= 0 || s.WriteTimeout <= time.Minute {
		t.Errorf("timeouts: header %v, read %v, write %v, idle %v", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
	}
}
