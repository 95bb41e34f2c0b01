package web_test

// A small harness for the sign-in tests: the real service and web server over the
// in-memory store (wrapped in counting doubles), the real GitLab client (SSRF guard with
// the fake GitLab allow-listed) and the fake GitLab, all on loopback. It builds the
// application the way shared/app does, but with a settable clock and GitLab timeout and
// without depending on the admin API: orgs and integrations are created directly.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/inmem"
	"github.com/forgelink/forgelink/shared/service"
	"github.com/forgelink/forgelink/shared/statecookie"
	"github.com/forgelink/forgelink/shared/storetest"
)

const testCookieKey = "signin-test-cookie-key-0123456789abcdefghij"

type envOptions struct {
	// TLS serves the app over https (cookies get Secure and the __Host- prefix).
	TLS bool
	// GitLabTimeout bounds each call to GitLab; zero: the client's default (10 s).
	GitLabTimeout time.Duration
}

type signinEnv struct {
	URL       string
	Org       string
	GitLab    *fakegitlab.Server
	GitLabURL string
	// GitLab2 is a second GitLab server, for a second integration of one org (one
	// integration per GitLab URL and org).
	GitLab2    *fakegitlab.Server
	GitLab2URL string
	Clock      *storetest.Clock
	Mem        *inmem.Store
	Store      *countingStore
	Secrets    *countingSecrets
	App        *app.App
	Sealer     *statecookie.Sealer
	client     func() *http.Client // base client (TLS trust) without jar
}

func startEnv(t *testing.T, opts envOptions) *signinEnv {
	t.Helper()
	e := &signinEnv{Org: "acme", Clock: storetest.NewClock(time.Now())}

	startGitLab := func() (*fakegitlab.Server, string) {
		gl := fakegitlab.New(fakegitlab.Options{})
		u, err := gl.Start("127.0.0.1:0", false)
		if err != nil {
			t.Fatalf("start fake GitLab: %v", err)
		}
		t.Cleanup(func() { gl.Close() })
		return gl, u
	}
	e.GitLab, e.GitLabURL = startGitLab()
	e.GitLab2, e.GitLab2URL = startGitLab()

	e.Mem = inmem.New(e.Clock.Now)
	e.Store = &countingStore{Store: e.Mem, calls: map[string]int{}}
	e.Secrets = &countingSecrets{Secrets: e.Mem, calls: map[string]int{}}
	var err error
	e.Sealer, err = statecookie.New([]byte(testCookieKey))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	scheme := "http"
	if opts.TLS {
		scheme = "https"
	}
	e.URL = scheme + "://" + srv.Listener.Addr().String()
	e.App, err = app.New(app.Deps{
		Config: config.Config{
			BaseURL:      e.URL,
			SecretPrefix: "forgelink/test/",
			AllowHosts:   strings.TrimPrefix(e.GitLabURL, "http://") + "," + strings.TrimPrefix(e.GitLab2URL, "http://"),
		},
		Store:         e.Store,
		Secrets:       e.Secrets,
		CookieKey:     []byte(testCookieKey),
		Log:           slog.New(slog.DiscardHandler),
		Now:           e.Clock.Now,
		GitLabTimeout: opts.GitLabTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = e.App.Handler("")
	if opts.TLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	e.client = srv.Client

	e.createOrg(t, e.Org)
	return e
}

func (e *signinEnv) createOrg(t *testing.T, slug string) {
	t.Helper()
	if err := e.Mem.CreateOrg(context.Background(), forgelink.Org{Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:]}); err != nil {
		t.Fatalf("create org: %v", err)
	}
}

// integration creates an integration of org with the given status on the fake GitLab
// (on GitLab2 when the org already has one on GitLab); active and disabled ones get a
// GitLab application registered with their exact callback URL and a stored secret.
func (e *signinEnv) integration(t *testing.T, org, name string, status forgelink.Status) forgelink.Integration {
	t.Helper()
	ctx := context.Background()
	id := randomID()
	gl, glURL := e.GitLab, e.GitLabURL
	if ins, _ := e.Mem.ListIntegrations(ctx, org); len(ins) > 0 {
		gl, glURL = e.GitLab2, e.GitLab2URL
	}
	in := forgelink.Integration{
		Org: org, ID: id, Platform: forgelink.PlatformGitLab, Name: name,
		URL: glURL, Status: status,
	}
	if status != forgelink.StatusPending {
		app := gl.CreateApplication("forgelink "+name, service.CallbackURL(e.URL, org, id), []string{"api", "read_user"}, true, false)
		ref, err := e.Mem.PutSecret(ctx, "forgelink/test/"+org+"/"+id, app.Secret, map[string]string{"org": org})
		if err != nil {
			t.Fatal(err)
		}
		in.ClientID, in.SecretARN, in.SecretVersion = app.UID, ref.ARN, ref.Version
	}
	in, err := e.Mem.CreateIntegration(ctx, in)
	if err != nil {
		t.Fatalf("create integration: %v", err)
	}
	return in
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// browser returns a client with a cookie jar that stops at every redirect.
func (e *signinEnv) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// httptest's Client is one shared value: copy its transport only.
	return &http.Client{
		Transport:     e.client().Transport,
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type response struct {
	*http.Response
	Body string
}

func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", req.URL, err)
	}
	return response{Response: resp, Body: string(b)}
}

func (e *signinEnv) abs(u string) string {
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		return u
	}
	return e.URL + u
}

func (e *signinEnv) get(t *testing.T, c *http.Client, u string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.abs(u), nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func (e *signinEnv) post(t *testing.T, c *http.Client, u string, form url.Values) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.abs(u), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

// follow GETs the Location of r.
func (e *signinEnv) follow(t *testing.T, c *http.Client, r response) response {
	t.Helper()
	if r.StatusCode < 300 || r.StatusCode > 399 {
		t.Fatalf("%s: want a redirect, got %d: %s", r.Request.URL, r.StatusCode, snippet(r.Body))
	}
	loc, err := r.Request.URL.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatalf("bad Location %q", r.Header.Get("Location"))
	}
	return e.get(t, c, loc.String())
}

// atGitLab walks from the login link through GitLab's sign-in form as user, asserting
// each hop, and returns GitLab's answer to the authorize request: its consent page, or
// (for an application the user already approved) its redirect to the callback.
func (e *signinEnv) atGitLab(t *testing.T, c *http.Client, loginURL, user string) response {
	t.Helper()
	r := e.startLogin(t, c, loginURL)
	wantStatus(t, r, http.StatusFound)
	if loc := r.Header.Get("Location"); !strings.Contains(loc, "/oauth/authorize?") {
		t.Fatalf("login: Location %q, want GitLab's authorize URL", r.Header.Get("Location"))
	}
	r = e.follow(t, c, r) // GitLab: not signed in → sign-in form
	if r.StatusCode == http.StatusFound && strings.Contains(r.Header.Get("Location"), "/users/sign_in") {
		r = e.follow(t, c, r)
		wantStatus(t, r, http.StatusOK)
		r = e.post(t, c, glOf(r)+"/users/sign_in", url.Values{"user[login]": {user}, "user[password]": {"password"}})
		wantStatus(t, r, http.StatusFound)
		r = e.follow(t, c, r) // back to authorize
	}
	if !strings.Contains(r.Request.URL.Path, "/oauth/authorize") {
		t.Fatalf("want GitLab's authorize answer, got %s", r.Request.URL)
	}
	return r
}

// startLogin opens the login link's page and presses Sign in with GitLab, as a browser
// does; it returns the answer to that POST (302 to GitLab), or the page when the link
// shows no sign-in button (404, 409).
func (e *signinEnv) startLogin(t *testing.T, c *http.Client, loginURL string) response {
	t.Helper()
	page := e.get(t, c, loginURL)
	if page.StatusCode != http.StatusOK {
		return page
	}
	action, _, _ := strings.Cut(e.abs(loginURL), "?")
	return e.post(t, c, action, hiddenInputs(t, page.Body, "signin"))
}

// toConsent is atGitLab for a user who has not approved the application yet.
func (e *signinEnv) toConsent(t *testing.T, c *http.Client, loginURL, user string) response {
	t.Helper()
	r := e.atGitLab(t, c, loginURL, user)
	wantStatus(t, r, http.StatusOK)
	return r
}

// toCallback walks to GitLab's redirect back to the callback (pressing Authorize when
// GitLab asks) and returns it, not followed.
func (e *signinEnv) toCallback(t *testing.T, c *http.Client, loginURL, user string) response {
	t.Helper()
	r := e.atGitLab(t, c, loginURL, user)
	if r.StatusCode == http.StatusOK {
		r = e.decide(t, c, r, "authorize")
	}
	wantStatus(t, r, http.StatusFound)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, e.URL+"/") {
		t.Fatalf("GitLab redirected to %q, want the app's callback", loc)
	}
	return r
}

// decide presses Authorize or Deny on the consent page and returns GitLab's redirect
// to the callback (not followed).
func (e *signinEnv) decide(t *testing.T, c *http.Client, consent response, formID string) response {
	t.Helper()
	r := e.post(t, c, glOf(consent)+"/oauth/authorize", hiddenInputs(t, consent.Body, formID))
	wantStatus(t, r, http.StatusFound)
	return r
}

// signIn walks the whole sign-in as user and returns the callback's answer.
func (e *signinEnv) signIn(t *testing.T, c *http.Client, loginURL, user string) response {
	t.Helper()
	return e.follow(t, c, e.toCallback(t, c, loginURL, user))
}

// glOf is the base URL of the GitLab server that answered r.
func glOf(r response) string { return r.Request.URL.Scheme + "://" + r.Request.URL.Host }

var (
	formTag  = regexp.MustCompile(`(?s)<form.*?</form>`)
	inputTag = regexp.MustCompile(`<input[^>]*>`)
	attr     = regexp.MustCompile(`\b(name|value|type)="([^"]*)"`)
)

// hiddenInputs returns the hidden inputs of the form with id formID.
func hiddenInputs(t *testing.T, page, formID string) url.Values {
	t.Helper()
	for _, form := range formTag.FindAllString(page, -1) {
		if !strings.Contains(form[:strings.Index(form, ">")+1], `id="`+formID+`"`) {
			continue
		}
		out := url.Values{}
		for _, tag := range inputTag.FindAllString(form, -1) {
			a := map[string]string{}
			for _, m := range attr.FindAllStringSubmatch(tag, -1) {
				a[m[1]] = html.UnescapeString(m[2])
			}
			if a["type"] == "hidden" && a["name"] != "" {
				out.Set(a["name"], a["value"])
			}
		}
		return out
	}
	t.Fatalf("no form %q in page:\n%s", formID, snippet(page))
	return nil
}

func inputValue(page, name string) string {
	for _, tag := range inputTag.FindAllString(page, -1) {
		a := map[string]string{}
		for _, m := range attr.FindAllStringSubmatch(tag, -1) {
			a[m[1]] = html.UnescapeString(m[2])
		}
		if a["name"] == name {
			return a["value"]
		}
	}
	return ""
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", r.Request.Method, r.Request.URL, r.StatusCode, status, snippet(r.Body))
	}
}

func wantBody(t *testing.T, r response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.Body, p) {
			t.Errorf("%s: body lacks %q:\n%s", r.Request.URL, p, snippet(r.Body))
		}
	}
}

func snippet(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

// setCookie returns the Set-Cookie of r named name (nil when none).
func setCookie(r response, name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// countingStore counts calls per method and reads/writes.
type countingStore struct {
	forgelink.Store
	mu    sync.Mutex
	calls map[string]int
}

var storeWrites = map[string]bool{
	"CreateOrg": true, "CreateIntegration": true, "UpdateIntegration": true, "DeleteIntegration": true,
	"PutMember": true, "CreateSession": true, "DeleteSession": true, "CreateAdminToken": true,
	"CreateAdminLink": true, "ConsumeAdminLink": true, "PutAudit": true,
}

func (s *countingStore) count(name string) {
	s.mu.Lock()
	s.calls[name]++
	s.mu.Unlock()
}

// snapshot returns the calls so far and resets the counters.
func (s *countingStore) snapshot() (reads, writes int, calls map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls = s.calls
	s.calls = map[string]int{}
	for name, n := range calls {
		if storeWrites[name] {
			writes += n
		} else {
			reads += n
		}
	}
	return reads, writes, calls
}

func (s *countingStore) CreateOrg(ctx context.Context, o forgelink.Org) error {
	s.count("CreateOrg")
	return s.Store.CreateOrg(ctx, o)
}
func (s *countingStore) GetOrg(ctx context.Context, slug string) (forgelink.Org, error) {
	s.count("GetOrg")
	return s.Store.GetOrg(ctx, slug)
}
func (s *countingStore) CreateIntegration(ctx context.Context, in forgelink.Integration) (forgelink.Integration, error) {
	s.count("CreateIntegration")
	return s.Store.CreateIntegration(ctx, in)
}
func (s *countingStore) GetIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	s.count("GetIntegration")
	return s.Store.GetIntegration(ctx, org, id)
}
func (s *countingStore) ListIntegrations(ctx context.Context, org string) ([]forgelink.Integration, error) {
	s.count("ListIntegrations")
	return s.Store.ListIntegrations(ctx, org)
}
func (s *countingStore) UpdateIntegration(ctx context.Context, in forgelink.Integration) (forgelink.Integration, error) {
	s.count("UpdateIntegration")
	return s.Store.UpdateIntegration(ctx, in)
}
func (s *countingStore) DeleteIntegration(ctx context.Context, org, id string, v int64) error {
	s.count("DeleteIntegration")
	return s.Store.DeleteIntegration(ctx, org, id, v)
}
func (s *countingStore) PutMember(ctx context.Context, m forgelink.Member) error {
	s.count("PutMember")
	return s.Store.PutMember(ctx, m)
}
func (s *countingStore) GetMember(ctx context.Context, org, id string, uid int64) (forgelink.Member, error) {
	s.count("GetMember")
	return s.Store.GetMember(ctx, org, id, uid)
}
func (s *countingStore) CreateSession(ctx context.Context, sess forgelink.Session) error {
	s.count("CreateSession")
	return s.Store.CreateSession(ctx, sess)
}
func (s *countingStore) GetSession(ctx context.Context, hash string) (forgelink.Session, error) {
	s.count("GetSession")
	return s.Store.GetSession(ctx, hash)
}
func (s *countingStore) DeleteSession(ctx context.Context, hash string) error {
	s.count("DeleteSession")
	return s.Store.DeleteSession(ctx, hash)
}
func (s *countingStore) CreateAdminToken(ctx context.Context, tok forgelink.AdminToken) error {
	s.count("CreateAdminToken")
	return s.Store.CreateAdminToken(ctx, tok)
}
func (s *countingStore) GetAdminToken(ctx context.Context, org, hash string) (forgelink.AdminToken, error) {
	s.count("GetAdminToken")
	return s.Store.GetAdminToken(ctx, org, hash)
}
func (s *countingStore) FindAdminToken(ctx context.Context, hash string) (forgelink.AdminToken, error) {
	s.count("FindAdminToken")
	return s.Store.FindAdminToken(ctx, hash)
}
func (s *countingStore) CreateAdminLink(ctx context.Context, l forgelink.AdminLink) error {
	s.count("CreateAdminLink")
	return s.Store.CreateAdminLink(ctx, l)
}
func (s *countingStore) ConsumeAdminLink(ctx context.Context, org, hash string) (forgelink.AdminLink, error) {
	s.count("ConsumeAdminLink")
	return s.Store.ConsumeAdminLink(ctx, org, hash)
}
func (s *countingStore) PutAudit(ctx context.Context, a forgelink.AuditRecord) error {
	s.count("PutAudit")
	return s.Store.PutAudit(ctx, a)
}
func (s *countingStore) ListAudit(ctx context.Context, org, id string, limit int) ([]forgelink.AuditRecord, error) {
	s.count("ListAudit")
	return s.Store.ListAudit(ctx, org, id, limit)
}

// countingSecrets counts every call to the secret store.
type countingSecrets struct {
	forgelink.Secrets
	mu    sync.Mutex
	calls map[string]int
}

func (s *countingSecrets) count(name string) {
	s.mu.Lock()
	s.calls[name]++
	s.mu.Unlock()
}

// total returns the number of calls so far and resets the counter.
func (s *countingSecrets) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.calls {
		n += v
	}
	s.calls = map[string]int{}
	return n
}

func (s *countingSecrets) PutSecret(ctx context.Context, name, value string, tags map[string]string) (forgelink.SecretRef, error) {
	s.count("PutSecret")
	return s.Secrets.PutSecret(ctx, name, value, tags)
}
func (s *countingSecrets) GetSecret(ctx context.Context, ref forgelink.SecretRef) (string, error) {
	s.count("GetSecret")
	return s.Secrets.GetSecret(ctx, ref)
}
func (s *countingSecrets) DeleteSecret(ctx context.Context, arn string) error {
	s.count("DeleteSecret")
	return s.Secrets.DeleteSecret(ctx, arn)
}
func (s *countingSecrets) ListSecrets(ctx context.Context, prefix string) ([]string, error) {
	s.count("ListSecrets")
	return s.Secrets.ListSecrets(ctx, prefix)
}
