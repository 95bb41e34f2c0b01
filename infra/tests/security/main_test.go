// Package security_test attacks the running application over HTTP, the way an attacker
// meets it, and checks DESIGN.md's security rules: CSRF, open redirects, the OAuth state
// cookie, org isolation, SSRF, stored XSS, header injection, hostile bodies and secret
// leaks. fault_test.go injects failures into DynamoDB, Secrets Manager and GitLab, and
// fuzz_test.go fuzzes the admin API, the admin forms and Lambda events through the real
// handlers. Every outbound call goes to 127.0.0.1 (the app, the fake GitLab, moto).
package security_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/mototest"
)

// TestMain shares one moto server between the AWS variants of the package's tests.
func TestMain(m *testing.M) { mototest.Main(m) }

// variant is one store configuration the suites run on.
type variant struct {
	name string
	aws  bool
}

var variants = []variant{{"memory", false}, {"aws", true}}

// forEachStore runs fn as a parallel subtest on the in-memory store and on moto.
func forEachStore(t *testing.T, fn func(t *testing.T, aws bool)) {
	t.Helper()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			fn(t, v.aws)
		})
	}
}

// apiError is DESIGN.md's JSON error shape.
type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// internals are fragments that only Go errors, stack traces or SDK messages contain; no
// response a user sees may carry them.
var internals = []string{
	"goroutine ", "panic", ".go:", "runtime.", "runtime/debug", "stack",
	"operation error", "dynamodb", "secretsmanager", "DynamoDB_20120810", "dial tcp",
	"connection refused", "%!", "json: cannot unmarshal", "invalid character",
	"http: request body too large", "<nil>", "0x", "exceeded while awaiting",
}

// wantAPIError checks status and the {"error":{"code","message"}} shape of a JSON API
// error, and that it shows no Go or SDK internals. It returns the decoded error.
func wantAPIError(t testing.TB, r apptest.Response, status int) apiError {
	t.Helper()
	var e apiError
	if r.StatusCode != status {
		t.Errorf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, clip(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: error Content-Type %q, want application/json", r.Request.Method, r.Request.URL.Path, ct)
	}
	checkErrorShape(t, r.Request.Method+" "+r.Request.URL.Path, r.Body, &e)
	return e
}

func checkErrorShape(t testing.TB, what, body string, e *apiError) {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Errorf("%s: error body is not JSON: %v: %s", what, err, clip(body))
		return
	}
	if _, ok := raw["error"]; !ok || len(raw) != 1 {
		t.Errorf("%s: error body must be exactly {\"error\":{…}}: %s", what, clip(body))
	}
	if err := json.Unmarshal([]byte(body), e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("%s: error without code or message (%v): %s", what, err, clip(body))
	}
	noInternals(t, what, body)
}

// noInternals fails when text carries Go or SDK internals.
func noInternals(t testing.TB, what, text string) {
	t.Helper()
	lower := strings.ToLower(text)
	for _, frag := range internals {
		if frag == "0x" || frag == "stack" {
			continue // too common in HTML/CSS; checked on JSON bodies only via wantAPIError
		}
		if strings.Contains(lower, strings.ToLower(frag)) {
			t.Errorf("%s: response shows internals (%q): %s", what, frag, clip(text))
		}
	}
}

// noLeak fails when any of values shows up in r's body or any of its headers.
func noLeak(t testing.TB, what string, r apptest.Response, values ...string) {
	t.Helper()
	for _, v := range values {
		if len(v) < 6 {
			continue
		}
		if strings.Contains(r.Body, v) || strings.Contains(r.Body, url.QueryEscape(v)) {
			t.Errorf("%s: a secret (%.4s…) appears in the response body", what, v)
		}
		for name, vals := range r.Header {
			for _, hv := range vals {
				if strings.Contains(hv, v) || strings.Contains(hv, url.QueryEscape(v)) {
					t.Errorf("%s: a secret (%.4s…) appears in header %s", what, v, name)
				}
			}
		}
	}
}

// noLeakInLogs fails when any of values shows up in the application's log output.
func noLeakInLogs(t testing.TB, e *apptest.Env, values ...string) {
	t.Helper()
	logs := e.Logs.String()
	for _, v := range values {
		if len(v) >= 6 && (strings.Contains(logs, v) || strings.Contains(logs, url.QueryEscape(v))) {
			t.Errorf("a secret (%.4s…) appears in the logs", v)
		}
	}
}

func clip(s string) string {
	if len(s) > 1500 {
		return s[:1500] + "…"
	}
	return s
}

func apiPath(e *apptest.Env, rest string) string {
	return "/api/v1/orgs/" + e.Org + "/integrations" + rest
}

func listPath(org string) string { return "/orgs/" + org + "/settings/integrations" }

// rawAPI sends body as is, with contentType ("" sends none) and the bearer token.
func rawAPI(t testing.TB, e *apptest.Env, token, method, path, contentType string, body io.Reader, hdr ...string) apptest.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return apptest.Do(t, &http.Client{Timeout: 30 * time.Second}, req)
}

// integrations returns the org's integrations through the API (the check that a refused
// request changed nothing).
func integrations(t testing.TB, e *apptest.Env, org, token string) []storedIntegration {
	t.Helper()
	r := e.APIWithToken(t, token, http.MethodGet, "/api/v1/orgs/"+org+"/integrations", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("list integrations: %d %s", r.StatusCode, r.Body)
	}
	var out struct {
		Integrations []storedIntegration `json:"integrations"`
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatalf("list integrations: %v in %s", err, r.Body)
	}
	return out.Integrations
}

// storedIntegration is the JSON API's full view.
type storedIntegration struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	URL             string `json:"url"`
	Status          string `json:"status"`
	ClientID        string `json:"client_id"`
	ClientSecretSet bool   `json:"client_secret_set"`
	Version         int64  `json:"version"`
	CallbackURL     string `json:"callback_url"`
	LoginURL        string `json:"login_url"`
}

// secretNames lists the env's client secrets (under its prefix) through the app's own
// secret store (memory or Secrets Manager).
func secretNames(t testing.TB, e *apptest.Env) []string {
	t.Helper()
	names, err := e.App.Secrets.ListSecrets(context.Background(), e.Prefix)
	if err != nil {
		t.Fatalf("list secrets: %v", err)
	}
	return names
}

// secondOrg creates org slug in e's app with an admin token.
func secondOrg(t testing.TB, e *apptest.Env, slug string) (token string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.App.Services.Orgs.EnsureOrg(ctx, slug, strings.ToUpper(slug[:1])+slug[1:]); err != nil {
		t.Fatalf("create org %s: %v", slug, err)
	}
	token, err := e.App.Services.Tokens.CreateAdminToken(ctx, slug, "securitytest", "")
	if err != nil {
		t.Fatalf("admin token of %s: %v", slug, err)
	}
	return token
}

// adminClientOf is an admin browser of org (any org of e's app).
func adminClientOf(t testing.TB, e *apptest.Env, org string) *http.Client {
	t.Helper()
	c := e.Client(t)
	r := e.RedeemSetupLink(t, c, org, e.SetupLink(t, org, "securitytest"))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sign-in to %s: %d %s", org, r.StatusCode, clip(r.Body))
	}
	return c
}

// activeIn creates an active integration for the fake GitLab in org through the API.
func activeIn(t testing.TB, e *apptest.Env, org, token, name string) (storedIntegration, apptest.Credentials) {
	t.Helper()
	r := e.APIWithToken(t, token, http.MethodPost, "/api/v1/orgs/"+org+"/integrations",
		map[string]string{"platform": "gitlab", "url": e.GitLabURL, "name": name})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create in %s: %d %s", org, r.StatusCode, r.Body)
	}
	var in storedIntegration
	_ = json.Unmarshal([]byte(r.Body), &in)
	app := e.GitLab.CreateApplication("forgelink "+org, in.CallbackURL, []string{"api", "read_user"}, true, false)
	creds := apptest.Credentials{ClientID: app.UID, Secret: app.Secret}
	r = e.APIWithToken(t, token, http.MethodPatch, "/api/v1/orgs/"+org+"/integrations/"+in.ID,
		map[string]string{"client_id": creds.ClientID, "client_secret": creds.Secret})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("save in %s: %d %s", org, r.StatusCode, r.Body)
	}
	_ = json.Unmarshal([]byte(r.Body), &in)
	return in, creds
}

// toCallback walks a sign-in from loginURL through the fake GitLab (sign-in form and
// consent as user) and returns GitLab's redirect to the app's callback, not followed.
// It follows redirects only to the app and the fake GitLab.
func toCallback(t testing.TB, e *apptest.Env, c *http.Client, loginURL, user string) apptest.Response {
	t.Helper()
	r := e.StartLogin(t, c, loginURL)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("login %s: %d %s", loginURL, r.StatusCode, clip(r.Body))
	}
	gl, _ := url.Parse(e.GitLabURL)
	for i := 0; i < 12; i++ {
		switch {
		case r.StatusCode >= 300 && r.StatusCode < 400:
			loc, err := r.Request.URL.Parse(r.Header.Get("Location"))
			if err != nil {
				t.Fatalf("bad Location %q", r.Header.Get("Location"))
			}
			if loc.Host != gl.Host {
				if strings.HasSuffix(loc.Path, "/callback") {
					return r
				}
				t.Fatalf("sign-in redirected off the fake GitLab to %s", loc)
			}
			r = e.Get(t, c, loc.String())
		case r.StatusCode == http.StatusOK && strings.Contains(r.Request.URL.Path, "/users/sign_in"):
			r = e.PostForm(t, c, e.GitLabURL+"/users/sign_in", map[string]string{"user[login]": user, "user[password]": "password"})
		case r.StatusCode == http.StatusOK && strings.Contains(r.Request.URL.Path, "/oauth/authorize"):
			r = e.PostForm(t, c, e.GitLabURL+"/oauth/authorize", apptest.HiddenInputs(r.Body, "authorize"))
		default:
			t.Fatalf("sign-in stopped at %s: %d %s", r.Request.URL, r.StatusCode, clip(r.Body))
		}
	}
	t.Fatal("sign-in did not reach the callback")
	return r
}

// callback GETs the callback URL GitLab redirected to (r from toCallback), not followed.
func callback(t testing.TB, e *apptest.Env, c *http.Client, r apptest.Response) apptest.Response {
	t.Helper()
	loc, err := r.Request.URL.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return e.Get(t, c, loc.String())
}

// whoami is the member session API's status for c in org.
func whoami(t testing.TB, e *apptest.Env, c *http.Client, org string) apptest.Response {
	t.Helper()
	return e.Get(t, c, "/api/v1/orgs/"+org+"/session")
}

// cookieValue returns the value of cookie name for the app in c's jar.
func cookieValue(t testing.TB, e *apptest.Env, c *http.Client, name string) string {
	t.Helper()
	u, _ := url.Parse(e.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie puts a cookie for the app into c's jar.
func setCookie(e *apptest.Env, c *http.Client, name, value string) {
	u, _ := url.Parse(e.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}
