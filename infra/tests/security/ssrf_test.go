package security_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/logging"
)

// ssrfURLs are GitLab URLs an admin could enter to make forgelink call into its own
// network: private, loopback in every inet_aton spelling, IPv6 and IPv4-in-IPv6 forms,
// link-local and the metadata service, unspecified, multicast, and localhost names.
var ssrfURLs = []string{
	"https://10.0.0.1", "https://192.168.1.1", "https://172.16.0.1", "https://100.64.0.1",
	"https://127.0.0.1", "https://127.1", "https://2130706433", "https://0x7f000001", "https://0177.0.0.1",
	"https://0x7f.1", "https://0177.1", "https://127.0.0.1:443", "https://127.000.000.001", "https://0x7F.0.0.1",
	"https://[::1]", "https://[0:0:0:0:0:0:0:1]", "https://[::ffff:127.0.0.1]", "https://[::ffff:7f00:1]",
	"https://[::127.0.0.1]", "https://[64:ff9b::7f00:1]", "https://[2002:7f00:1::]",
	"https://169.254.169.254", "https://169.254.169.254:80", "https://2852039166", "https://0xa9fea9fe",
	"https://[::ffff:169.254.169.254]", "https://[fd00:ec2::254]", "https://[fe80::1]", "https://[fe80::1%25eth0]",
	"https://0.0.0.0", "https://0", "https://[::]", "https://224.0.0.1", "https://[ff02::1]", "https://[fd00::1]",
	"https://localhost", "https://localhost.", "https://LOCALHOST", "https://LocalHost:8443", "https://foo.localhost",
	"https://localhost.localdomain", "http://169.254.169.254", "http://10.0.0.1",
	"https://gitlab.example.com@127.0.0.1", "https://127.0.0.1#@gitlab.example.com",
	"https://127.0.0.1\\@gitlab.example.com", "https://127.0.0.1%2f@gitlab.example.com",
	"file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://10.0.0.1", "//127.0.0.1",
}

// TestSSRFAtCreate: every address of ssrfURLs is a 422 with a message for fields.url, at
// create through the API and through the HTML form, and nothing is created.
func TestSSRFAtCreate(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	urls := append([]string(nil), ssrfURLs...)
	urls = append(urls, loopbackHostNames(t)...)
	for _, u := range urls {
		r := e.API(t, http.MethodPost, apiPath(e, ""), map[string]string{"platform": "gitlab", "url": u})
		got := wantAPIError(t, r, http.StatusUnprocessableEntity)
		if got.Error.Fields["url"] == "" {
			t.Errorf("%s: no fields.url in %s", u, r.Body)
		}
		// One-shot create with credentials: refused before GitLab is ever called.
		r = e.API(t, http.MethodPost, apiPath(e, ""), map[string]string{"platform": "gitlab", "url": u, "client_id": "abc", "client_secret": "def-secret"})
		if got := wantAPIError(t, r, http.StatusUnprocessableEntity); got.Error.Fields["url"] == "" {
			t.Errorf("%s with credentials: no fields.url in %s", u, r.Body)
		}
	}
	admin := e.AdminClient(t)
	tok := apptest.FormValue(e.Get(t, admin, listPath(e.Org)+"/new").Body, "csrf_token")
	for _, u := range []string{"https://169.254.169.254", "https://2130706433", "https://[::ffff:127.0.0.1]", "https://localhost."} {
		r := e.PostForm(t, admin, listPath(e.Org), map[string]string{"csrf_token": tok, "platform": "gitlab", "url": u})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="url-error"`) {
			t.Errorf("form create %s: %d, url error shown %t", u, r.StatusCode, strings.Contains(r.Body, `id="url-error"`))
		}
	}
	// A pending integration's URL may change, but never to an internal address: through
	// the API and through the setup page's Server URL form.
	in := e.PendingIntegration(t, "")
	for _, u := range urls {
		r := e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"url": u, "name": "x"})
		if got := wantAPIError(t, r, http.StatusUnprocessableEntity); got.Error.Fields["url"] == "" {
			t.Errorf("patch url %s: no fields.url in %s", u, r.Body)
		}
	}
	for _, u := range []string{"https://169.254.169.254", "https://2130706433", "https://[::ffff:127.0.0.1]", "https://localhost."} {
		r := e.PostForm(t, admin, listPath(e.Org)+"/"+in.ID+"/url", map[string]string{"csrf_token": tok, "url": u})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="url-error"`) {
			t.Errorf("Server URL form %s: %d, url error shown %t", u, r.StatusCode, strings.Contains(r.Body, `id="url-error"`))
		}
	}
	if got := integrations(t, e, e.Org, e.AdminToken); len(got) != 1 || got[0].URL != e.GitLabURL {
		t.Errorf("refused URLs left integrations behind: %+v", got)
	}
}

// loopbackHostNames returns names that this machine resolves only to loopback through
// /etc/hosts (its own host name usually), as https URLs; none when there are none.
func loopbackHostNames(t testing.TB) []string {
	var out []string
	names := []string{"ip6-localhost", "ip6-loopback"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	hosts, _ := os.ReadFile("/etc/hosts")
	for _, line := range strings.Split(string(hosts), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if a, err := netip.ParseAddr(f[0]); err != nil || !a.IsLoopback() {
			continue
		}
		for _, n := range f[1:] {
			if !strings.Contains(n, "localhost") && !strings.HasPrefix(n, "#") {
				names = append(names, n)
			}
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		// Only names /etc/hosts answers (no DNS traffic leaves the machine).
		if !inHostsFile(string(hosts), n) {
			continue
		}
		addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", n)
		if err != nil || len(addrs) == 0 {
			continue
		}
		all := true
		for _, a := range addrs {
			all = all && a.Unmap().IsLoopback()
		}
		if all {
			out = append(out, "https://"+n)
		}
	}
	if len(out) == 0 {
		t.Log("no host name resolves only to loopback here; the name case is covered by localhost forms")
	}
	return out
}

func inHostsFile(hosts, name string) bool {
	for _, line := range strings.Split(hosts, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for _, n := range f[1:] {
			if n == name {
				return true
			}
		}
	}
	return false
}

// evilGitLab is an allow-listed "GitLab" (a malicious or compromised server) whose
// behaviour a test switches, plus a trap server that is NOT allow-listed and counts every
// request that reaches it.
type evilGitLab struct {
	srv, trap *httptest.Server
	trapHits  atomic.Int64
	mu        sync.Mutex
	handler   http.HandlerFunc
}

func newEvilGitLab(t testing.TB) *evilGitLab {
	g := &evilGitLab{}
	g.trap = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.trapHits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"error":"invalid_grant","access_token":"trap","token_type":"bearer","id":1,"username":"trap","state":"active"}`)
	}))
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		h := g.handler
		g.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(g.srv.Close)
	t.Cleanup(g.trap.Close)
	return g
}

func (g *evilGitLab) set(h http.HandlerFunc) {
	g.mu.Lock()
	g.handler = h
	g.mu.Unlock()
}

func (g *evilGitLab) host() string { return strings.TrimPrefix(g.srv.URL, "http://") }

// invalidGrant is what a real GitLab answers the credential check with right credentials.
func invalidGrant(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid."}`)
}

// startCustom runs the app like apptest.Start (memory store) but with extra host:port
// pairs in FORGELINK_ALLOW_HOSTS, next to its own fake GitLab.
func startCustom(t testing.TB, extraAllow ...string) *apptest.Env {
	t.Helper()
	ctx := context.Background()
	gl := fakegitlab.New(fakegitlab.Options{})
	glURL, err := gl.Start("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gl.Close() })
	srv := httptest.NewUnstartedServer(nil)
	e := &apptest.Env{
		URL: "http://" + srv.Listener.Addr().String(), GitLab: gl, GitLabURL: glURL,
		Org: "acme", Logs: &apptest.Logs{}, Prefix: "forgelink/securitytest/",
	}
	cfg := config.Config{
		Addr: srv.Listener.Addr().String(), BaseURL: e.URL, Store: "memory", Table: "forgelink",
		SecretPrefix: e.Prefix, AllowHosts: strings.Join(append([]string{strings.TrimPrefix(glURL, "http://")}, extraAllow...), ","),
		CookieKey: "securitytest-cookie-key-0123456789abcdefghij", LogLevel: "debug",
	}
	d, err := local.Deps(ctx, cfg, logging.New(e.Logs, "debug"), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(d)
	if err != nil {
		t.Fatal(err)
	}
	e.App = a
	if _, err := a.Services.Orgs.EnsureOrg(ctx, e.Org, "Acme"); err != nil {
		t.Fatal(err)
	}
	if e.AdminToken, err = a.Services.Tokens.CreateAdminToken(ctx, e.Org, "securitytest", ""); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.Handler("")
	srv.Start()
	t.Cleanup(srv.Close)
	return e
}

// TestSSRFRedirectsAreNotFollowed: an allow-listed GitLab whose token endpoint (at Save)
// or user endpoint (at sign-in) redirects to the metadata service or to a loopback port
// that is not allow-listed: the app answers 502 naming the GitLab, never follows, and
// stores nothing.
func TestSSRFRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	g := newEvilGitLab(t)
	e := startCustom(t, g.host())
	targets := []string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		g.trap.URL + "/oauth/token",
		"http://[::ffff:169.254.169.254]/",
	}
	r := e.API(t, http.MethodPost, apiPath(e, ""), map[string]string{"platform": "gitlab", "url": g.srv.URL})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create with the allow-listed evil GitLab: %d %s", r.StatusCode, r.Body)
	}
	var in storedIntegration
	json.Unmarshal([]byte(r.Body), &in)

	for _, target := range targets {
		for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			g.set(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, code) })
			r := e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"client_id": "app-id", "client_secret": "evil-secret-value"})
			got := wantAPIError(t, r, http.StatusBadGateway)
			if !strings.Contains(got.Error.Message, g.host()) {
				t.Errorf("502 message does not name the GitLab %s: %q", g.host(), got.Error.Message)
			}
		}
	}
	if n := g.trapHits.Load(); n != 0 {
		t.Fatalf("the app followed a redirect to a non-allow-listed loopback port (%d requests)", n)
	}
	if got := integrations(t, e, e.Org, e.AdminToken); len(got) != 1 || got[0].Status != "pending" || got[0].ClientSecretSet {
		t.Errorf("a failed Save stored something: %+v", got)
	}
	if names := secretNames(t, e); len(names) != 0 {
		t.Errorf("a failed Save left secrets: %v", names)
	}

	// Now a GitLab that passes the credential check, then at sign-in hands out a token and
	// redirects /api/v4/user to the trap and the metadata address.
	g.set(invalidGrant)
	r = e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]string{"client_id": "app-id", "client_secret": "evil-secret-value"})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("save: %d %s", r.StatusCode, r.Body)
	}
	for _, target := range targets {
		g.set(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/oauth/token":
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"access_token":"evil-access-token","token_type":"bearer","expires_in":7200}`)
			default:
				http.Redirect(w, r, target, http.StatusFound)
			}
		})
		c := e.Client(t)
		start := e.StartLogin(t, c, in.LoginURL)
		loc, err := start.Request.URL.Parse(start.Header.Get("Location"))
		if err != nil || start.StatusCode != http.StatusFound {
			t.Fatalf("login: %d %q", start.StatusCode, start.Header.Get("Location"))
		}
		cb := e.Get(t, c, in.CallbackURL+"?code=evil-code&state="+loc.Query().Get("state"))
		if cb.StatusCode != http.StatusBadGateway || !strings.Contains(cb.Body, g.host()) {
			t.Errorf("sign-in through a redirecting GitLab: %d (want 502 naming %s) %s", cb.StatusCode, g.host(), clip(cb.Body))
		}
		if w := whoami(t, e, c, e.Org); w.StatusCode != http.StatusUnauthorized {
			t.Errorf("signed in through a redirect: %d", w.StatusCode)
		}
	}
	if n := g.trapHits.Load(); n != 0 {
		t.Fatalf("the app followed a redirect at sign-in (%d requests)", n)
	}
	noLeakInLogs(t, e, "evil-secret-value", "evil-access-token", "evil-code", e.AdminToken)
}
