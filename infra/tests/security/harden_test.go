package security_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/logging"
	"github.com/forgelink/forgelink/shared/service"
	"github.com/forgelink/forgelink/shared/web"
)

// hstsHandler is the whole app (memory store) over cfg, served in-process: the base URL
// only decides what the app says, so no TLS listener is needed.
func hstsHandler(t *testing.T, cfg config.Config) http.Handler {
	t.Helper()
	cfg.Store, cfg.Table, cfg.SecretPrefix = "memory", "forgelink", "forgelink/hsts/"
	cfg.CookieKey = "securitytest-cookie-key-0123456789abcdefghij"
	d, err := local.Deps(context.Background(), cfg, logging.New(io.Discard, "error"), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Services.Orgs.EnsureOrg(context.Background(), "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	return a.Handler("")
}

// TestHSTS: every response carries Strict-Transport-Security for one year when the public
// base URL is https (configured, or derived from API Gateway's domain), includeSubDomains
// only when the operator opts in, and never over plain http (browsers ignore it there,
// and it would pin a local run's host to https).
func TestHSTS(t *testing.T) {
	t.Parallel()
	paths := []string{"/healthz", "/orgs/acme", "/orgs/acme/settings/integrations", "/api/v1/orgs/acme/integrations", "/nowhere", "/orgs/acme/login/nope"}
	cases := []struct {
		name   string
		cfg    config.Config
		domain string // API Gateway's domain of the request
		want   string
	}{
		{"https base URL", config.Config{BaseURL: "https://forgelink.example.com"}, "", "max-age=31536000"},
		{"API Gateway domain", config.Config{}, "abc123.execute-api.eu-west-1.amazonaws.com", "max-age=31536000"},
		{"includeSubDomains opted in", config.Config{BaseURL: "https://forgelink.example.com", HSTSIncludeSubdomains: true}, "", "max-age=31536000; includeSubDomains"},
		{"http base URL", config.Config{BaseURL: "http://127.0.0.1:3000"}, "", ""},
		{"plain local request", config.Config{}, "", ""},
	}
	for _, c := range cases {
		h := hstsHandler(t, c.cfg)
		for _, p := range paths {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				req := httptest.NewRequest(method, "http://127.0.0.1:3000"+p, strings.NewReader("x=1"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if c.domain != "" {
					req = req.WithContext(web.WithRequestInfo(req.Context(), web.RequestInfo{Domain: c.domain, RequestID: "req-hsts-0001"}))
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if got := rec.Header().Get("Strict-Transport-Security"); got != c.want {
					t.Errorf("%s: %s %s (%d): Strict-Transport-Security %q, want %q", c.name, method, p, rec.Code, got, c.want)
				}
			}
		}
	}
}

// closedPort returns a loopback host:port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// bannerServer answers every connection with a non-HTTP banner and closes it.
func bannerServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "SSH-2.0-OpenSSH_9.6 internal-db-7\r\n")
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// scanDetail are words that tell a port's state, a TLS problem's detail or an HTTP status:
// what turns a credential check into a scanner.
var scanDetail = []string{
	"refused", "reset", "timeout", "timed out", "eof", "x509", "tls:", "unknown authority",
	"handshake", "http 4", "http 5", "(http", "status", "dial", "lookup", "no such host",
	"openssh", "internal-db", "503", "500", "418",
}

// TestCredentialCheckIsNoScanner: whatever sits at an admin's GitLab URL (a closed port, a
// non-HTTP service, an HTTP server answering errors, a TLS server with an untrusted
// certificate), Save's message says only "no server answered" or "not a GitLab server"
// (or "certificate not trusted"), in JSON and on the page; the detail goes to the log
// under the request's id.
func TestCredentialCheckIsNoScanner(t *testing.T) {
	t.Parallel()
	g := newEvilGitLab(t)
	g.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Internal", "jenkins")
		http.Error(w, "<h1>503 Service Unavailable</h1> varnish", http.StatusServiceUnavailable)
	})
	teapot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "I'm a teapot", http.StatusTeapot)
	}))
	t.Cleanup(teapot.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(invalidGrant))
	t.Cleanup(tlsSrv.Close)
	closed, banner := closedPort(t), bannerServer(t)
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")
	e := startCustom(t, g.host(), strings.TrimPrefix(teapot.URL, "http://"), tlsHost, closed, banner)
	admin := e.AdminClient(t)
	for _, target := range []string{"http://" + closed, "http://" + banner, g.srv.URL, teapot.URL, tlsSrv.URL} {
		r := e.API(t, http.MethodPost, apiPath(e, ""), map[string]string{"platform": "gitlab", "url": target})
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("create %s: %d %s", target, r.StatusCode, r.Body)
		}
		var in storedIntegration
		json.Unmarshal([]byte(r.Body), &in)
		r = e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"client_id": "abc", "client_secret": "def-secret"})
		got := wantAPIError(t, r, http.StatusBadGateway)
		noScanDetail(t, target+" (JSON)", in.URL, got.Error.Message)
		for f, m := range got.Error.Fields {
			noScanDetail(t, target+" (JSON field "+f+")", in.URL, m)
		}
		logged := logLineOf(e, r.Header.Get("X-Request-Id"))
		if !strings.Contains(logged, "error") || len(logged) < len(got.Error.Message) {
			t.Errorf("%s: the detail is not in the log under request id %s: %q", target, r.Header.Get("X-Request-Id"), logged)
		}

		page := e.Get(t, admin, listPath(e.Org)+"/"+in.ID)
		tok := apptest.FormValue(page.Body, "csrf_token")
		r = e.PostForm(t, admin, listPath(e.Org)+"/"+in.ID, map[string]string{"csrf_token": tok, "client_id": "abc", "client_secret": "def-secret"})
		msgs := errorTexts(r.Body)
		if r.StatusCode != http.StatusBadGateway || len(msgs) == 0 {
			t.Errorf("%s: form save %d, %d error messages, want 502 with one", target, r.StatusCode, len(msgs))
		}
		for _, m := range msgs {
			noScanDetail(t, target+" (page)", in.URL, m)
		}
	}
}

// errorRE finds the error summary and the field errors of a form page.
var errorRE = regexp.MustCompile(`(?s)<div class="error-summary"[^>]*>.*?</div>|<p class="field-error"[^>]*>.*?</p>`)

func errorTexts(page string) []string { return errorRE.FindAllString(page, -1) }

// noScanDetail fails when msg, with the admin's own URL taken out, carries scan detail.
func noScanDetail(t *testing.T, what, ownURL, msg string) {
	t.Helper()
	lower := strings.ToLower(strings.ReplaceAll(msg, ownURL, "<url>"))
	if u, err := url.Parse(ownURL); err == nil {
		lower = strings.ReplaceAll(lower, strings.ToLower(u.Host), "<host>")
	}
	for _, w := range scanDetail {
		if strings.Contains(lower, w) {
			t.Errorf("%s: the message tells %q: %s", what, w, clip(msg))
		}
	}
}

// logLineOf returns the log lines of request id.
func logLineOf(e *apptest.Env, id string) string {
	var out []string
	for _, l := range strings.Split(e.Logs.String(), "\n") {
		if id != "" && strings.Contains(l, `"request_id":"`+id+`"`) && strings.Contains(l, `"error"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestGitLabProbesAreRateLimitedPerOrg: credential checks (each one a call to whatever
// server the admin named) have their own per-org bucket: past it, 429 with Retry-After
// and GitLab is not called; other orgs keep theirs; edits that call nobody still pass.
func TestGitLabProbesAreRateLimitedPerOrg(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{
		AdminWrites:  service.WriteLimit{Off: true},
		GitLabProbes: service.WriteLimit{Burst: 3, PerMinute: 1},
	})
	in := e.PendingIntegration(t, "")
	wrong := map[string]string{"client_id": "abc", "client_secret": "wrong-secret"}
	for i := 0; i < 3; i++ {
		r := e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), wrong)
		wantAPIError(t, r, http.StatusUnprocessableEntity)
	}
	r := e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), wrong)
	if got := wantAPIError(t, r, http.StatusTooManyRequests); got.Error.Code != forgelink.ERATELIMITED || r.Header.Get("Retry-After") == "" {
		t.Errorf("4th credential check: %s, Retry-After %q", r.Body, r.Header.Get("Retry-After"))
	}
	// The one-shot create checks credentials too.
	r = e.API(t, http.MethodPost, apiPath(e, ""), map[string]string{"platform": "gitlab", "url": e.GitLabURL + "/x", "client_id": "abc", "client_secret": "wrong-secret"})
	wantAPIError(t, r, http.StatusTooManyRequests)
	// A rename calls no GitLab and is not limited by probes.
	if r := e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"name": "renamed"}); r.StatusCode != http.StatusOK {
		t.Errorf("rename after the probe limit: %d %s", r.StatusCode, r.Body)
	}
	other := secondOrg(t, e, "beta")
	r = e.APIWithToken(t, other, http.MethodPost, "/api/v1/orgs/beta/integrations", map[string]string{"platform": "gitlab", "url": e.GitLabURL})
	var in2 storedIntegration
	json.Unmarshal([]byte(r.Body), &in2)
	r = e.APIWithToken(t, other, http.MethodPatch, "/api/v1/orgs/beta/integrations/"+in2.ID, wrong)
	wantAPIError(t, r, http.StatusUnprocessableEntity)
}

// TestCookieKeyRotation: after the cookie key is rotated (new key, old one as previous),
// an admin's open form still posts (CSRF token of the old key), a pending sign-in started
// under the old key finishes, and new cookies are sealed with the new key only.
func TestCookieKeyRotation(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{GitLab: fakegitlab.Options{AutoApprove: "alice"}})
	in, _ := e.ActiveIntegration(t)
	admin := e.AdminClient(t)
	tok := apptest.FormValue(e.Get(t, admin, listPath(e.Org)+"/new").Body, "csrf_token")
	member := e.Client(t)
	toGitLab := e.StartLogin(t, member, in.LoginURL)
	if toGitLab.StatusCode != http.StatusFound {
		t.Fatalf("login start: %d", toGitLab.StatusCode)
	}

	e.RotateCookieKey(t, "rotated-cookie-key-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123")

	r := e.PostForm(t, admin, listPath(e.Org), map[string]string{"csrf_token": tok, "platform": "gitlab", "url": e.GitLabURL + "/after-rotation"})
	if r.StatusCode != http.StatusSeeOther {
		t.Errorf("form with a CSRF token of the previous key: %d", r.StatusCode)
	}
	back := e.Follow(t, member, toGitLab) // GitLab auto-approves → redirect to the callback
	home := e.Follow(t, member, back)
	if home.StatusCode != http.StatusOK || !strings.Contains(home.Body, "Signed in as @alice") {
		t.Errorf("sign-in started before the rotation: %d %s", home.StatusCode, clip(home.Body))
	}

	// Two rotations later the first key is gone.
	e.RotateCookieKey(t, "third-cookie-key-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")
	r = e.PostForm(t, admin, listPath(e.Org), map[string]string{"csrf_token": tok, "platform": "gitlab", "url": e.GitLabURL + "/after-two"})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("CSRF token two keys old: %d, want 403", r.StatusCode)
	}
}

// TestUnknownOrgIsNotEchoed: the org of the path never comes back in error text (a
// reflected-content vector, and it confirms what was probed).
func TestUnknownOrgIsNotEchoed(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	const probe = "zz-probe-org-4711"
	secondOrg(t, e, "beta")
	c := e.Client(t)
	for _, p := range []string{"/orgs/" + probe, "/orgs/" + probe + "/login/abc", "/api/v1/orgs/" + probe + "/session"} {
		if r := e.Get(t, c, p); strings.Contains(r.Body, probe) {
			t.Errorf("GET %s (%d) echoes the org: %s", p, r.StatusCode, clip(r.Body))
		}
	}
	for _, org := range []string{probe, "beta"} {
		r := e.API(t, http.MethodGet, "/api/v1/orgs/"+org+"/integrations", nil)
		if r.StatusCode < 400 || strings.Contains(r.Body, org) {
			t.Errorf("API on org %s with acme's token (%d) echoes it: %s", org, r.StatusCode, r.Body)
		}
	}
	if _, err := e.App.Services.Tokens.CreateAdminToken(context.Background(), probe, "x", ""); err == nil || strings.Contains(forgelink.ErrorMessage(err), probe) {
		t.Errorf("token for an unknown org: %v", err)
	}
}

// TestStrictJSONKeys: keys match exactly (a "Name" is not "name") and a key given twice is
// 400: two parsers of one body (a proxy, a WAF, forgelink) must not see two meanings.
func TestStrictJSONKeys(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	in := e.PendingIntegration(t, "original")
	patch := apiPath(e, "/"+in.ID)
	cases := []struct {
		name, body string
		status     int
	}{
		{"duplicate key", `{"name":"first","name":"second"}`, 400},
		{"duplicate key nested", `{"allowed_groups":[{"path":"eng","path":"ops","min_access_level":10}]}`, 400},
		{"duplicate differing in case", `{"NAME":"second","Name":"third"}`, 422},
		{"key in another case", `{"Name":"renamed"}`, 422},
		{"url in another case", `{"platform":"gitlab","URL":"https://gitlab.example.com"}`, 422},
	}
	for _, c := range cases {
		method, path := http.MethodPatch, patch
		if strings.Contains(c.body, "platform") {
			method, path = http.MethodPost, apiPath(e, "")
		}
		r := rawAPI(t, e, e.AdminToken, method, path, "application/json", strings.NewReader(c.body))
		wantAPIError(t, r, c.status)
	}
	if got := integrations(t, e, e.Org, e.AdminToken); len(got) != 1 || got[0].Name != "original" {
		t.Errorf("refused bodies changed something: %+v", got)
	}
}

// TestAdminTokensNeedEntropy: an operator-chosen admin token must not be guessable by
// construction (24 times the same character, a short repeated pattern).
func TestAdminTokensNeedEntropy(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	for _, tok := range []string{strings.Repeat("a", 24), strings.Repeat("ab", 16), strings.Repeat("abc1", 8), "aaaaaaaaaaaaaaaaaaaaaaab"} {
		if _, err := e.App.Services.Tokens.CreateAdminToken(ctx, e.Org, "weak", tok); forgelink.ErrorCode(err) != forgelink.EINVALID {
			t.Errorf("weak token %q accepted (%v)", tok, err)
		}
	}
	if _, err := e.App.Services.Tokens.CreateAdminToken(ctx, e.Org, "ok", "local-dev-token-0123456789"); err != nil {
		t.Errorf("a reasonable token refused: %v", err)
	}
}

// TestAvatarsOnlyFromTheGitLab: the org home shows the avatar only from the integration's
// own GitLab host, and the page's CSP allows images from 'self' and that origin only.
func TestAvatarsOnlyFromTheGitLab(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{GitLab: fakegitlab.Options{AutoApprove: "alice"}})
	in, _ := e.ActiveIntegration(t)
	c := e.Client(t)
	home := e.SignIn(t, c, in.LoginURL, "alice")
	if !strings.Contains(home.Body, `src="`+e.GitLabURL+`/uploads/`) {
		t.Errorf("the GitLab's own avatar is not shown: %s", clip(home.Body))
	}
	csp := home.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' data: "+e.GitLabURL+";") || strings.Contains(csp, "img-src *") {
		t.Errorf("CSP img-src: %s", csp)
	}
	anon := e.Get(t, e.Client(t), "/orgs/"+e.Org)
	if csp := anon.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:;") {
		t.Errorf("CSP img-src without an avatar: %s", csp)
	}
}
