package fakegitlab

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

const testCallback = "http://127.0.0.1:1/callback"

// start runs a fake GitLab on a free loopback port for one test.
func start(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	s := New(opts)
	base, err := s.Start("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, base
}

// browser is a cookie-keeping client that stops at every redirect so each
// GitLab hop can be checked.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(b), Header: resp.Header}
}

func get(t *testing.T, c *http.Client, u string) page { return do(t, c, http.MethodGet, u, nil) }

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formFields collects the hidden inputs of the form with the given id.
func formFields(t *testing.T, body, id string) url.Values {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no form %q in:\n%s", id, body)
	}
	rest := body[i:]
	rest = rest[:strings.Index(rest, "</form>")]
	v := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(rest, -1) {
		v.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

func oauthConfig(base string, app Application, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: app.UID, ClientSecret: app.Secret, RedirectURL: app.RedirectURIs[0], Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: base + "/oauth/authorize", TokenURL: base + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
}

// authorize walks a browser through sign-in and consent and returns the
// final redirect to the client's callback.
func authorize(t *testing.T, c *http.Client, base, authURL, login string, approve bool) *url.URL {
	t.Helper()
	p := get(t, c, authURL)
	if p.Status == http.StatusFound && strings.HasSuffix(p.Location, "/users/sign_in") {
		form := get(t, c, p.Location)
		if form.Status != http.StatusOK || !strings.Contains(form.Body, `name="user[login]"`) {
			t.Fatalf("sign-in form: %d %s", form.Status, form.Body)
		}
		p = do(t, c, http.MethodPost, base+"/users/sign_in", url.Values{"user[login]": {login}, "user[password]": {"password"}})
		if p.Status != http.StatusFound || p.Location != authURL {
			t.Fatalf("sign-in should return to %s, got %d %q", authURL, p.Status, p.Location)
		}
		p = get(t, c, p.Location)
	}
	if p.Status == http.StatusOK {
		if !strings.Contains(p.Body, "to use your account?") {
			t.Fatalf("expected consent page, got:\n%s", p.Body)
		}
		id := "authorize"
		if !approve {
			id = "deny"
		}
		p = do(t, c, http.MethodPost, base+"/oauth/authorize", formFields(t, p.Body, id))
	}
	if p.Status != http.StatusFound {
		t.Fatalf("expected redirect to the client, got %d:\n%s", p.Status, p.Body)
	}
	u, err := url.Parse(p.Location)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// code runs the flow for cfg and returns the code and the PKCE verifier.
func code(t *testing.T, base string, cfg *oauth2.Config, login string, extra ...oauth2.AuthCodeOption) (string, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, extra...)
	u := authorize(t, browser(t), base, cfg.AuthCodeURL("st4te", opts...), login, true)
	if u.Query().Get("state") != "st4te" || u.Query().Get("code") == "" {
		t.Fatalf("callback without code/state: %s", u)
	}
	return u.Query().Get("code"), verifier
}

func retrieveErr(t *testing.T, err error) *oauth2.RetrieveError {
	t.Helper()
	re, ok := err.(*oauth2.RetrieveError)
	if !ok {
		t.Fatalf("want *oauth2.RetrieveError, got %T %v", err, err)
	}
	return re
}

func apiGet(t *testing.T, u, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}
