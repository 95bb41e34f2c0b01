package security_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/forgelink"
)

var (
	nonceInCSP  = regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]{16,})'`)
	scriptTag   = regexp.MustCompile(`<script[^>]*>`)
	scriptNonce = regexp.MustCompile(`<script nonce="([^"]+)">`)
)

// TestStoredXSS: names with markup are refused at the API; names that are only dangerous
// in attributes are stored and rendered escaped; and names written straight into the store
// (a bug elsewhere, an old row) are still escaped on every page that shows them. Every
// page has a nonce CSP, and its only script carries that nonce. A GitLab profile with
// markup (a malicious GitLab) is escaped on the home page as well.
func TestStoredXSS(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{GitLab: fakegitlab.Options{ExtraUsers: []fakegitlab.User{{
		Username: "eve", Name: `<script>alert("name")</script>`, Email: `eve"><img src=x onerror=alert(1)>@example.com`,
	}}}})
	ctx := context.Background()
	payloads := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`}
	for _, p := range payloads {
		r := e.API(t, http.MethodPost, apiPath(e, ""), map[string]string{"platform": "gitlab", "url": e.GitLabURL, "name": p})
		if got := wantAPIError(t, r, http.StatusUnprocessableEntity); got.Error.Fields["name"] == "" {
			t.Errorf("name %q: no fields.name: %s", p, r.Body)
		}
	}
	// Attribute-context payloads are valid names; they must come back escaped.
	in, _ := e.ActiveIntegration(t)
	attr := `" autofocus onfocus="alert(1)`
	r := e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"name": attr})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("rename: %d %s", r.StatusCode, r.Body)
	}
	// Rows written past the service, as defence in depth for the templates.
	for i, p := range payloads {
		status := forgelink.StatusActive
		if i == 1 {
			status = forgelink.StatusPending
		}
		_, err := e.App.Store.CreateIntegration(ctx, forgelink.Integration{
			Org: e.Org, ID: fmt.Sprintf("xss%d", i), Platform: forgelink.PlatformGitLab, Name: p,
			URL: fmt.Sprintf("https://gitlab%d.example.com/%s", i, `"><script>alert(2)</script>`), Status: status,
			ClientID: `"><script>alert(3)</script>`, CreatedAt: time.Now(), UpdatedAt: time.Now(),
		})
		if err != nil {
			t.Fatalf("store row: %v", err)
		}
	}
	admin := e.AdminClient(t)
	pages := map[string]apptest.Response{
		"list":          e.Get(t, admin, listPath(e.Org)),
		"list notice":   e.Get(t, admin, listPath(e.Org)+"?saved="+in.ID),
		"edit":          e.Get(t, admin, listPath(e.Org)+"/"+in.ID),
		"setup xss0":    e.Get(t, admin, listPath(e.Org)+"/xss0"),
		"setup xss1":    e.Get(t, admin, listPath(e.Org)+"/xss1"),
		"home":          e.Get(t, e.Client(t), "/orgs/"+e.Org),
		"pending login": e.Get(t, e.Client(t), "/orgs/"+e.Org+"/login/xss1"),
	}
	member := e.Client(t)
	pages["home as eve"] = e.SignIn(t, member, in.LoginURL, "eve")
	if !strings.Contains(pages["home as eve"].Body, "Signed in as") {
		t.Fatalf("eve's sign-in: %d %s", pages["home as eve"].StatusCode, clip(pages["home as eve"].Body))
	}
	for name, r := range pages {
		for _, bad := range []string{`<script>alert`, `<img src=x`, `onfocus="alert`, `" autofocus`} {
			if strings.Contains(r.Body, bad) {
				t.Errorf("%s page: unescaped %q in:\n%s", name, bad, clip(r.Body))
			}
		}
		checkCSP(t, name, r)
	}
	if !strings.Contains(pages["list"].Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the list page does not show the stored name escaped:\n%s", clip(pages["list"].Body))
	}
	if !strings.Contains(pages["home as eve"].Body, "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;") {
		t.Errorf("the home page does not show the GitLab name escaped")
	}
	// The JSON API escapes markup too (a JSON body opened as HTML by mistake).
	r = e.API(t, http.MethodGet, apiPath(e, ""), nil)
	if strings.Contains(r.Body, "<script>") || !strings.Contains(r.Body, `\u003cscript\u003e`) {
		t.Errorf("JSON API does not escape markup: %s", clip(r.Body))
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("JSON API without X-Content-Type-Options: nosniff")
	}
}

// checkCSP checks that an HTML page has a nonce-based CSP, a fresh nonce, and no script
// element without it.
func checkCSP(t testing.TB, name string, r apptest.Response) {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	m := nonceInCSP.FindStringSubmatch(csp)
	if m == nil {
		t.Errorf("%s: no nonce CSP: %q", name, csp)
		return
	}
	for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP lacks %q: %s", name, d, csp)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows unsafe scripts: %s", name, csp)
	}
	tags := scriptTag.FindAllString(r.Body, -1)
	for _, tag := range tags {
		n := scriptNonce.FindStringSubmatch(tag)
		if n == nil || n[1] != m[1] {
			t.Errorf("%s: script element without the page's nonce: %s", name, tag)
		}
	}
	if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: missing X-Frame-Options/X-Content-Type-Options", name)
	}
}

// TestCSPNonceIsFresh: two renders of one page carry different nonces.
func TestCSPNonceIsFresh(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	a := e.Get(t, e.Client(t), "/orgs/"+e.Org).Header.Get("Content-Security-Policy")
	b := e.Get(t, e.Client(t), "/orgs/"+e.Org).Header.Get("Content-Security-Policy")
	if a == "" || a == b {
		t.Errorf("CSP nonce is missing or reused: %q / %q", a, b)
	}
}

// TestHeaderInjection sends CR/LF (raw and percent-encoded) in a name, in return_to, in
// the path, in the bearer token and in X-Request-Id: no response ever carries an injected
// header, and nothing is a 500.
func TestHeaderInjection(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	in, _ := e.ActiveIntegration(t)

	// CR/LF in a name: refused with a field error.
	for _, name := range []string{"x\r\nX-Evil: 1", "x\nSet-Cookie: evil=1", "x\u2028y", "x\x00y"} {
		r := e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"name": name})
		wantAPIError(t, r, http.StatusUnprocessableEntity)
		noInjected(t, "name "+fmt.Sprintf("%q", name), r.Header)
	}

	// Percent-encoded CR/LF in return_to and in path segments (a browser sends these).
	login := strings.TrimPrefix(in.LoginURL, e.URL)
	for _, path := range []string{
		login + "?return_to=/x%0d%0aX-Evil:%201",
		login + "?return_to=%0d%0aSet-Cookie:%20evil=1",
		"/orgs/" + e.Org + "%0d%0aX-Evil:%201/login/" + in.ID,
		"/orgs/" + e.Org + "/login/" + in.ID + "%0d%0aX-Evil:%201",
		"/orgs/" + e.Org + "/login/" + in.ID + "/callback?state=x%0d%0aX-Evil:%201&code=y",
		"/orgs/" + e.Org + "/login/" + in.ID + "/callback?error=x%0d%0aX-Evil:%201",
		"/orgs/" + e.Org + "%0d%0aX-Evil:%201",
		"/api/v1/orgs/" + e.Org + "%0d%0aX-Evil:%201/integrations",
	} {
		r := e.Get(t, e.Client(t), path)
		if r.StatusCode >= 500 {
			t.Errorf("%s: status %d", path, r.StatusCode)
		}
		noInjected(t, path, r.Header)
		sameOriginIfRedirect(t, e, r)
	}

	// Raw bytes on the wire: the Go client refuses to send them, so write the request.
	host := strings.TrimPrefix(e.URL, "http://")
	raw := []string{
		"GET " + apiPath(e, "") + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + e.AdminToken + "\rX-Evil: 1\r\nConnection: close\r\n\r\n",
		"GET " + apiPath(e, "") + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer abc%0d%0aX-Evil:%201\r\nConnection: close\r\n\r\n",
		"GET " + apiPath(e, "") + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer a\x00b\r\nConnection: close\r\n\r\n",
		"GET " + apiPath(e, "") + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + e.AdminToken + "\r\n X-Evil: 1\r\nConnection: close\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nX-Request-Id: abcdefgh%0d%0aX-Evil:%201\r\nConnection: close\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nX-Request-Id: abcdefgh\rX-Evil: 1\r\nConnection: close\r\n\r\n",
		"GET /orgs/" + e.Org + "/login/" + in.ID + "?return_to=/x\r\nX-Evil: 1 HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n",
	}
	for _, req := range raw {
		status, hdr := rawRequest(t, host, req)
		if status >= 500 || status == 0 {
			t.Errorf("raw request %q: status %d", req, status)
		}
		if status == http.StatusOK && strings.Contains(req, "Bearer") {
			t.Errorf("raw request %q: a mangled bearer token was accepted", req)
		}
		noInjected(t, fmt.Sprintf("%q", req), hdr)
		if id := hdr.Get("X-Request-Id"); strings.ContainsAny(id, "%\r\n:") {
			t.Errorf("X-Request-Id echoes hostile input: %q", id)
		}
	}
	// A token with the real one as a prefix is not the real one.
	r := rawAPI(t, e, e.AdminToken+"x", http.MethodGet, apiPath(e, ""), "", nil)
	wantAPIError(t, r, http.StatusUnauthorized)
}

func noInjected(t testing.TB, what string, h http.Header) {
	t.Helper()
	if h.Get("X-Evil") != "" {
		t.Errorf("%s: injected header X-Evil", what)
	}
	for _, c := range h.Values("Set-Cookie") {
		if strings.Contains(c, "evil") {
			t.Errorf("%s: injected cookie %q", what, c)
		}
	}
	for name, vals := range h {
		for _, v := range vals {
			if strings.ContainsAny(v, "\r\n") {
				t.Errorf("%s: header %s carries CR/LF: %q", what, name, v)
			}
		}
	}
}

func sameOriginIfRedirect(t testing.TB, e *apptest.Env, r apptest.Response) {
	t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" || strings.HasPrefix(loc, e.GitLabURL+"/") {
		return
	}
	sameOrigin(t, e, loc)
}

// rawRequest writes req on a new connection and reads the status and headers.
func rawRequest(t testing.TB, host, req string) (int, http.Header) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, http.Header{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if bytes.Contains(body, []byte("goroutine ")) {
		t.Errorf("raw request: stack trace in body")
	}
	return resp.StatusCode, resp.Header
}
