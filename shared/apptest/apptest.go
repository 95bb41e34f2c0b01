// Package apptest starts the whole application for tests the way the local runner does:
// every function's handler on one loopback server, next to a fake GitLab, on the in-memory
// store or on DynamoDB + Secrets Manager in moto. Tests then talk HTTP to it, as users do.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/testkit/syncbuf"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/logging"
	"github.com/forgelink/forgelink/shared/mototest"
	"github.com/forgelink/forgelink/shared/service"
)

// Options select the stores and the clock.
type Options struct {
	// AWS runs on DynamoDB and Secrets Manager in moto (the package's TestMain must call
	// mototest.Main); otherwise the in-memory store.
	AWS bool
	// Now is the application's clock; nil: time.Now.
	Now func() time.Time
	// WrapStore and WrapSecrets wrap the real stores (counting, failure injection).
	WrapStore   func(forgelink.Store) forgelink.Store
	WrapSecrets func(forgelink.Secrets) forgelink.Secrets
	// AWSHTTPClient carries every AWS SDK call when AWS is set (counting, faults).
	AWSHTTPClient interface {
		Do(*http.Request) (*http.Response, error)
	}
	// GitLab options; RootToken and BaseURL are managed here.
	GitLab fakegitlab.Options
	// AdminWrites is the per-org admin write limit; zero: the product's default.
	AdminWrites service.WriteLimit
	// GitLabProbes is the per-org limit of calls to GitLab from admin actions; zero: the
	// product's default.
	GitLabProbes service.WriteLimit
	// Org is the org created at start; "" means "acme".
	Org string
	// SecondGitLab starts another fake GitLab (Env.GitLab2), allow-listed like the first:
	// a second server an admin may mistype, or move to.
	SecondGitLab bool
}

// Env is one running application.
type Env struct {
	URL        string // the app's base URL
	App        *app.App
	GitLab     *fakegitlab.Server
	GitLabURL  string
	GitLab2    *fakegitlab.Server // with Options.SecondGitLab
	GitLab2URL string
	Org        string
	AdminToken string
	Logs       *Logs
	Moto       *mototest.Server // nil on the memory store
	Table      string
	Prefix     string // secret name prefix

	deps    app.Deps                     // what App was built over (RotateCookieKey)
	handler atomic.Pointer[http.Handler] // what the server serves; swapped by RotateCookieKey
}

// Start runs the application until t ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	e := &Env{Org: opts.Org, Logs: &Logs{}}
	if e.Org == "" {
		e.Org = "acme"
	}

	e.GitLab, e.GitLabURL = startGitLab(t, opts.GitLab)
	allow := strings.TrimPrefix(e.GitLabURL, "http://")
	if opts.SecondGitLab {
		second := opts.GitLab
		second.BaseURL = "" // its own address
		e.GitLab2, e.GitLab2URL = startGitLab(t, second)
		allow += "," + strings.TrimPrefix(e.GitLab2URL, "http://")
	}

	// The listener comes first so that the base URL (callback URLs) is known to the app.
	srv := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + srv.Listener.Addr().String()
	d := e.buildDeps(t, ctx, srv.Listener.Addr().String(), allow, opts)
	a, err := app.New(d)
	if err != nil {
		t.Fatalf("build app: %v", err)
	}
	e.App, e.deps = a, d
	if _, err := a.Services.Orgs.EnsureOrg(ctx, e.Org, e.Org); err != nil {
		t.Fatalf("create org: %v", err)
	}
	if e.AdminToken, err = a.Services.Tokens.CreateAdminToken(ctx, e.Org, "apptest", ""); err != nil {
		t.Fatalf("create admin token: %v", err)
	}
	h := a.Handler("")
	e.handler.Store(&h)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.handler.Load()).ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return e
}

// buildDeps names the table and the secret prefix after the test and builds the application's
// dependencies: the memory store, or moto's DynamoDB and Secrets Manager with opts.AWS,
// wrapped as opts asks.
func (e *Env) buildDeps(t testing.TB, ctx context.Context, addr, allow string, opts Options) app.Deps {
	t.Helper()
	suffix := strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	if len(suffix) > 60 {
		suffix = suffix[len(suffix)-60:]
	}
	e.Table = "forgelink-" + strings.Trim(suffix, "-_")
	e.Prefix = "forgelink/test/" + fmt.Sprint(time.Now().UnixNano()) + "/"
	cfg := config.Config{
		Addr:         addr,
		BaseURL:      e.URL,
		Store:        "memory",
		Table:        e.Table,
		SecretPrefix: e.Prefix,
		AllowHosts:   allow,
		CookieKey:    "apptest-cookie-key-0123456789abcdefghijklmnop",
		LogLevel:     "debug",
	}
	lo := local.Options{Now: opts.Now}
	if opts.AWS {
		e.Moto = mototest.Shared(t)
		awsCfg := e.Moto.Config(t)
		if opts.AWSHTTPClient != nil {
			awsCfg.HTTPClient = opts.AWSHTTPClient
		}
		cfg.Store = "aws"
		lo.AWS = &awsCfg
	}
	d, err := local.Deps(ctx, cfg, logging.New(e.Logs, "debug"), lo)
	if err != nil {
		t.Fatalf("build app: %v", err)
	}
	d.AdminWrites, d.GitLabProbes = opts.AdminWrites, opts.GitLabProbes
	if opts.WrapStore != nil {
		d.Store = opts.WrapStore(d.Store)
	}
	if opts.WrapSecrets != nil {
		d.Secrets = opts.WrapSecrets(d.Secrets)
	}
	return d
}

// startGitLab runs a fake GitLab on a free loopback port until t ends.
func startGitLab(t testing.TB, opts fakegitlab.Options) (*fakegitlab.Server, string) {
	t.Helper()
	gl := fakegitlab.New(opts)
	u, err := gl.Start("127.0.0.1:0", false)
	if err != nil {
		t.Fatalf("start fake GitLab: %v", err)
	}
	t.Cleanup(func() { gl.Close() })
	return gl, u
}

// RotateCookieKey rebuilds the application over the same stores with key as the cookie
// key and the current one as the previous key, as a deployment does after `forgelinkctl
// rotate-cookie-key`, and serves it from then on.
func (e *Env) RotateCookieKey(t testing.TB, key string) {
	t.Helper()
	d := e.deps
	d.PreviousCookieKey, d.CookieKey = d.CookieKey, []byte(key)
	a, err := app.New(d)
	if err != nil {
		t.Fatalf("rotate cookie key: %v", err)
	}
	e.App, e.deps = a, d
	h := a.Handler("")
	e.handler.Store(&h)
}

// Client returns a browser-like client: a cookie jar, and redirects NOT followed, so that
// tests assert every hop (use Follow to walk them).
func (e *Env) Client(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Response is a read response.
type Response struct {
	*http.Response
	Body string
}

// Do sends req with c and reads the whole body.
func Do(t testing.TB, c *http.Client, req *http.Request) Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", req.Method, req.URL, err)
	}
	return Response{Response: resp, Body: string(b)}
}

// Get fetches url (absolute, or a path on the app) with c.
func (e *Env) Get(t testing.TB, c *http.Client, url string) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.abs(url), nil)
	if err != nil {
		t.Fatal(err)
	}
	return Do(t, c, req)
}

// PostForm posts form values to url with c.
func (e *Env) PostForm(t testing.TB, c *http.Client, url string, form map[string]string) Response {
	t.Helper()
	vals := make([]string, 0, len(form))
	for k, v := range form {
		vals = append(vals, queryEscape(k)+"="+queryEscape(v))
	}
	req, err := http.NewRequest(http.MethodPost, e.abs(url), strings.NewReader(strings.Join(vals, "&")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return Do(t, c, req)
}

// Follow walks redirects from r with c (cookies kept) until a non-redirect answer.
func (e *Env) Follow(t testing.TB, c *http.Client, r Response) Response {
	t.Helper()
	for i := 0; i < 20 && r.StatusCode >= 300 && r.StatusCode < 400; i++ {
		loc, err := r.Request.URL.Parse(r.Header.Get("Location"))
		if err != nil {
			t.Fatalf("bad Location %q: %v", r.Header.Get("Location"), err)
		}
		r = e.Get(t, c, loc.String())
	}
	return r
}

// API calls the JSON API with the org's admin token; body nil sends no body.
func (e *Env) API(t testing.TB, method, path string, body any) Response {
	t.Helper()
	return e.APIWithToken(t, e.AdminToken, method, path, body)
}

// APIWithToken is API with another bearer token ("" sends none).
func (e *Env) APIWithToken(t testing.TB, token, method, path string, body any) Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.abs(path), rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return Do(t, http.DefaultClient, req)
}

// Integration is the JSON API's view of an integration.
type Integration struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	URL         string `json:"url"`
	Name        string `json:"name"`
	CallbackURL string `json:"callback_url"`
	LoginURL    string `json:"login_url"`
	SetupURL    string `json:"setup_url"`
}

// Credentials are a GitLab application's id and secret.
type Credentials struct{ ClientID, Secret string }

// PendingIntegration creates a pending integration for the fake GitLab through the API.
func (e *Env) PendingIntegration(t testing.TB, name string) Integration {
	t.Helper()
	r := e.API(t, http.MethodPost, "/api/v1/orgs/"+e.Org+"/integrations",
		map[string]string{"platform": "gitlab", "url": e.GitLabURL, "name": name})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create integration: %d %s", r.StatusCode, r.Body)
	}
	var in Integration
	if err := json.Unmarshal([]byte(r.Body), &in); err != nil {
		t.Fatalf("create integration: %v in %s", err, r.Body)
	}
	return in
}

// ActiveIntegration walks the admin journey through the API: a pending integration, a
// GitLab application with its callback URL, then Save with the application's credentials.
func (e *Env) ActiveIntegration(t testing.TB) (Integration, Credentials) {
	t.Helper()
	in := e.PendingIntegration(t, "")
	app := e.GitLab.CreateApplication("forgelink", in.CallbackURL, []string{"api", "read_user"}, true, false)
	creds := Credentials{ClientID: app.UID, Secret: app.Secret}
	r := e.API(t, http.MethodPatch, "/api/v1/orgs/"+e.Org+"/integrations/"+in.ID,
		map[string]string{"client_id": creds.ClientID, "client_secret": creds.Secret})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("save integration: %d %s", r.StatusCode, r.Body)
	}
	if err := json.Unmarshal([]byte(r.Body), &in); err != nil || in.Status != "active" {
		t.Fatalf("save integration: %v, status %q in %s", err, in.Status, r.Body)
	}
	return in, creds
}

// AdminClient returns a browser client signed in as the org's admin through a one-time
// setup link: its page, then Continue.
func (e *Env) AdminClient(t testing.TB) *http.Client {
	t.Helper()
	c := e.Client(t)
	r := e.RedeemSetupLink(t, c, e.Org, e.SetupLink(t, e.Org, "apptest"))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d %s", r.StatusCode, r.Body)
	}
	return c
}

// SetupLink makes a setup link of org for label, as forgelinkctl sign-in-link does, and
// returns its path with the token.
func (e *Env) SetupLink(t testing.TB, org, label string) string {
	t.Helper()
	token, err := e.App.Services.SetupLinks.CreateAdminLink(context.Background(), org, label)
	if err != nil {
		t.Fatalf("create setup link: %v", err)
	}
	return "/orgs/" + org + "/admin/sign-in?token=" + token
}

// RedeemSetupLink opens a setup link's page and presses Continue; it returns the answer
// to the POST (303 to the integrations list when the link works).
func (e *Env) RedeemSetupLink(t testing.TB, c *http.Client, org, link string) Response {
	t.Helper()
	page := e.Get(t, c, link)
	if page.StatusCode != http.StatusOK {
		return page
	}
	return e.PostForm(t, c, "/orgs/"+org+"/admin/sign-in", HiddenInputs(page.Body, "setup-link"))
}

// StartLogin opens a login link's page and presses Sign in with GitLab; it returns the
// answer to the POST (302 to GitLab), or the page when it is not the sign-in page.
func (e *Env) StartLogin(t testing.TB, c *http.Client, loginURL string) Response {
	t.Helper()
	page := e.Get(t, c, loginURL)
	if page.StatusCode != http.StatusOK {
		return page
	}
	action, _, _ := strings.Cut(loginURL, "?")
	return e.PostForm(t, c, action, HiddenInputs(page.Body, "signin"))
}

// SignIn walks a member's sign-in as user (password "password") from the login link and
// returns the final response (the org home page, or where the flow stopped).
func (e *Env) SignIn(t testing.TB, c *http.Client, loginURL, user string) Response {
	t.Helper()
	r := e.StartLogin(t, c, loginURL) // 302 to GitLab authorize
	r = e.Follow(t, c, r)             // GitLab sign-in form
	if strings.Contains(r.Request.URL.Path, "/users/sign_in") {
		r = e.PostForm(t, c, e.GitLabURL+"/users/sign_in", map[string]string{"user[login]": user, "user[password]": "password"})
		r = e.Follow(t, c, r) // consent page
	}
	if strings.Contains(r.Request.URL.Path, "/oauth/authorize") && r.StatusCode == http.StatusOK {
		form := HiddenInputs(r.Body, "authorize")
		r = e.PostForm(t, c, e.GitLabURL+"/oauth/authorize", form)
	}
	return e.Follow(t, c, r)
}

func (e *Env) abs(url string) string {
	if strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://") {
		return url
	}
	return e.URL + url
}

// Logs collects every log line the application writes.
type Logs = syncbuf.Buffer
