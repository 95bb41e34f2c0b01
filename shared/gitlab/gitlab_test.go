package gitlab

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/netguard"
)

const (
	appID       = "app-id-123"
	secret      = "gloas-SECRET-value-0123456789"
	goodCode    = "good-code-abc"
	accessToken = "glpat-access-token-xyz"
	redirectURL = "http://127.0.0.1:3000/orgs/acme/login/int1/callback"
)

// fakeGitLab answers like GitLab's /oauth/token and /api/v4/user; mode switches in a
// fault.
func fakeGitLab(t *testing.T, mode string, verifier string) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			t.Errorf("token request has a query: %q", r.URL.RawQuery)
		}
		if _, _, ok := r.BasicAuth(); ok {
			t.Error("token request has Basic auth; credentials belong in the body")
		}
		r.ParseForm()
		jsonErr := func(status int, code string) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "described"})
		}
		switch mode {
		case "500":
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		case "html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>Welcome to nginx</body></html>")
			return
		case "404":
			http.NotFound(w, r)
			return
		case "malformed":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token": "x", `)
			return
		case "echo":
			// A hostile server quoting our request back.
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, r.Form.Encode()+" "+r.PostForm.Get("client_secret"))
			return
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		case "echo-error":
			// A hostile server quoting the secret back as an OAuth error code.
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "error="+url.QueryEscape(r.PostForm.Get("client_secret")))
			return
		case "accept-anything":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"x","token_type":"Bearer"}`)
			return
		}
		if r.PostForm.Get("client_id") != appID || r.PostForm.Get("client_secret") != secret {
			jsonErr(http.StatusUnauthorized, "invalid_client")
			return
		}
		if r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != redirectURL ||
			r.PostForm.Get("code") != goodCode || r.PostForm.Get("code_verifier") != verifier {
			jsonErr(http.StatusBadRequest, "invalid_grant")
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		tok := map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 7200, "created_at": 1700000000, "scope": "read_user"}
		switch mode {
		case "lower-bearer":
			tok["token_type"] = "bearer"
		case "no-expires":
			delete(tok, "expires_in")
		case "mac":
			tok["token_type"] = "mac"
		case "echo-type":
			tok["token_type"] = r.PostForm.Get("client_secret")
		case "scopes-api":
			tok["scope"] = "read_user api"
		case "no-scope":
			delete(tok, "scope")
		case "scope-array":
			tok["scope"] = []string{"read_user"}
		case "scope-quote":
			tok["scope"] = `read_user "api"`
		case "scope-long":
			tok["scope"] = strings.Repeat("s", 2000)
		case "scope-many":
			tok["scope"] = strings.Repeat("s ", 100)
		case "huge-token":
			tok["access_token"] = strings.Repeat("t", 64<<10)
		}
		json.NewEncoder(w).Encode(tok)
	})
	mux.HandleFunc("GET /api/v4/user", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+accessToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"401 Unauthorized"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch mode {
		case "user-malformed":
			io.WriteString(w, `{"id": 1, "username": `)
		case "user-no-id":
			io.WriteString(w, `{"username": "alice"}`)
		case "user-html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<html>sign in</html>`)
		case "user-500":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			io.WriteString(w, `{"id": 42, "username": "alice", "name": "Alice", "email": "alice@example.com", "state": "active", "avatar_url": "https://x/a.png"}`)
		}
	})
	return mux
}

// start runs a fake GitLab on 127.0.0.1 and returns a Client allow-listing it and the
// integration pointing at it.
func start(t *testing.T, mode, verifier string) (*Client, forgelink.Integration) {
	t.Helper()
	srv := httptest.NewServer(fakeGitLab(t, mode, verifier))
	t.Cleanup(srv.Close)
	return clientFor(srv.URL), forgelink.Integration{URL: srv.URL, ClientID: appID}
}

func clientFor(base string) *Client {
	u, _ := url.Parse(base)
	return &Client{Policy: netguard.Policy{AllowHosts: []string{u.Host}}, Timeout: 2 * time.Second}
}

// assertClean fails when err leaks a secret, code or token.
func assertClean(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{secret, url.QueryEscape(secret), goodCode, accessToken} {
		if strings.Contains(err.Error(), s) || strings.Contains(forgelink.ErrorMessage(err), s) {
			t.Errorf("error leaks %q: %v", s, err)
		}
	}
}

func TestPKCEVectorFromGitLabDocs(t *testing.T) {
	if got := Challenge("ks02i3jdikdo2k0dkfodf3m39rjfjsdk0wk349rj3jrhf"); got != "2i0WFA-0AerkjQm4X4oDEhqA17QIAKNjXpagHBXmO_U" {
		t.Errorf("Challenge = %q", got)
	}
	if v := Verifier(); len(v) < 43 || v == Verifier() {
		t.Errorf("Verifier %q too short or not random", v)
	}
}

func TestAuthCodeURL(t *testing.T) {
	c := &Client{}
	in := forgelink.Integration{URL: "https://example.com/gitlab", ClientID: appID}
	raw := c.AuthCodeURLScopes(in, redirectURL, "state-1", "ks02i3jdikdo2k0dkfodf3m39rjfjsdk0wk349rj3jrhf", nil)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != "https://example.com/gitlab/oauth/authorize" {
		t.Errorf("endpoint = %q", got)
	}
	q := u.Query()
	want := map[string]string{
		"client_id": appID, "redirect_uri": redirectURL, "response_type": "code", "scope": "read_user",
		"state": "state-1", "code_challenge": "2i0WFA-0AerkjQm4X4oDEhqA17QIAKNjXpagHBXmO_U", "code_challenge_method": "S256",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q) != len(want) {
		t.Errorf("unexpected parameters in %s", raw)
	}
}

func TestExchange(t *testing.T) {
	verifier := Verifier()
	tests := []struct {
		mode, code, secret string
		wantCode           string // "" = success
		msg                string
	}{
		{"", goodCode, secret, "", ""},
		{"lower-bearer", goodCode, secret, "", ""},
		{"no-expires", goodCode, secret, "", ""},
		{"", "wrong-code", secret, forgelink.EEXPIRED, "rejected the sign-in code"},
		{"", goodCode, "wrong-secret", forgelink.EUPSTREAM, "Application ID or Secret"},
		{"mac", goodCode, secret, forgelink.EUPSTREAM, "token type"},
		{"echo-type", goodCode, secret, forgelink.EUPSTREAM, "token type"},
		{"echo-error", goodCode, secret, forgelink.EUPSTREAM, "refused the request"},
		{"huge-token", goodCode, secret, forgelink.EUPSTREAM, "not a usable token"},
		{"500", goodCode, secret, forgelink.EUPSTREAM, "server error; try again"},
		{"html", goodCode, secret, forgelink.EUPSTREAM, "does not look like a GitLab server"},
		{"404", goodCode, secret, forgelink.EUPSTREAM, "does not look like a GitLab server"},
		{"malformed", goodCode, secret, forgelink.EUPSTREAM, "does not look like a GitLab server"},
		{"echo", goodCode, secret, forgelink.EUPSTREAM, "does not look like a GitLab server"},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.code+"/"+tt.secret, func(t *testing.T) {
			c, in := start(t, tt.mode, verifier)
			tok, _, err := c.ExchangeGranted(context.Background(), in, tt.secret, redirectURL, tt.code, verifier)
			assertClean(t, err)
			if tt.wantCode == "" {
				if err != nil || tok != accessToken {
					t.Fatalf("Exchange = %q, %v", tok, err)
				}
				return
			}
			if forgelink.ErrorCode(err) != tt.wantCode || !strings.Contains(forgelink.ErrorMessage(err), tt.msg) {
				t.Fatalf("Exchange error = %v, want %s containing %q", err, tt.wantCode, tt.msg)
			}
			if msg := forgelink.ErrorMessage(err); strings.Contains(msg, "does not look like") && (strings.Contains(msg, "HTTP") || strings.Contains(msg, "html")) {
				t.Errorf("message %q describes what answered", msg)
			}
			if tt.wantCode == forgelink.EUPSTREAM && tt.msg != "Application ID or Secret" && !strings.Contains(forgelink.ErrorMessage(err), in.URL) {
				t.Errorf("message %q does not name %s", forgelink.ErrorMessage(err), in.URL)
			}
		})
	}
}

func TestExchangeSlowServer(t *testing.T) {
	c, in := start(t, "slow", "v")
	c.Timeout = 200 * time.Millisecond
	begin := time.Now()
	_, _, err := c.ExchangeGranted(context.Background(), in, secret, redirectURL, goodCode, "v")
	if forgelink.ErrorCode(err) != forgelink.EUPSTREAM || !errors.Is(err, ErrUnreachable) || !strings.Contains(forgelink.ErrorMessage(err), "no server answered") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	assertClean(t, err)
}

func TestUser(t *testing.T) {
	tests := []struct {
		mode, token string
		msg         string // "" = success
	}{
		{"", accessToken, ""},
		{"", "other-token", "did not accept the sign-in token"},
		{"user-malformed", accessToken, "not a GitLab user"},
		{"user-no-id", accessToken, "not a GitLab user"},
		{"user-html", accessToken, "not a GitLab user"},
		{"user-500", accessToken, "server error"},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.token, func(t *testing.T) {
			c, in := start(t, tt.mode, "")
			u, err := c.User(context.Background(), in, tt.token)
			assertClean(t, err)
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if u.ID != 42 || u.Username != "alice" || u.State != "active" || u.Email != "alice@example.com" {
					t.Errorf("User = %+v", u)
				}
				return
			}
			if forgelink.ErrorCode(err) != forgelink.EUPSTREAM || !strings.Contains(forgelink.ErrorMessage(err), tt.msg) {
				t.Fatalf("User error = %v, want EUPSTREAM containing %q", err, tt.msg)
			}
		})
	}
}

func TestCheckCredentials(t *testing.T) {
	tests := []struct {
		name, mode, id, secret string
		wantCode, msg          string // wantCode "" = credentials OK
	}{
		{"ok", "", appID, secret, "", ""},
		{"wrong secret", "", appID, "nope-nope", forgelink.EINVALID, ""},
		{"wrong id", "", "other", secret, forgelink.EINVALID, ""},
		{"empty", "", "", "", forgelink.EINVALID, ""},
		{"500", "500", appID, secret, forgelink.EUPSTREAM, "server error"},
		{"html", "html", appID, secret, forgelink.EUPSTREAM, "does not look like a GitLab server"},
		{"404", "404", appID, secret, forgelink.EUPSTREAM, "does not look like a GitLab server"},
		{"echo-error", "echo-error", appID, secret, forgelink.EUPSTREAM, "refused the credential check"},
		{"200", "accept-anything", appID, secret, forgelink.EUPSTREAM, "does not look like a GitLab server"},
		{"malformed", "malformed", appID, secret, forgelink.EUPSTREAM, "does not look like a GitLab server"},
		{"echo", "echo", appID, secret, forgelink.EUPSTREAM, "does not look like a GitLab server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, in := start(t, tt.mode, "")
			err := c.CheckCredentials(context.Background(), in, tt.id, tt.secret, redirectURL)
			assertClean(t, err)
			if code := forgelink.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("CheckCredentials = %v, want code %q", err, tt.wantCode)
			}
			if tt.wantCode == forgelink.EINVALID {
				f := forgelink.ErrorFields(err)
				if f["client_id"] == "" || f["client_secret"] == "" {
					t.Errorf("fields = %v, want client_id and client_secret", f)
				}
			}
			if tt.msg != "" && !strings.Contains(forgelink.ErrorMessage(err), tt.msg) {
				t.Errorf("message %q does not contain %q", forgelink.ErrorMessage(err), tt.msg)
			}
		})
	}
}

func TestCheckCredentialsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	l.Close() // nothing listens there now

	err = clientFor(base).CheckCredentials(context.Background(), forgelink.Integration{URL: base}, appID, secret, redirectURL)
	if forgelink.ErrorCode(err) != forgelink.EUPSTREAM || forgelink.ErrorMessage(err) != "Could not reach GitLab at "+base+": no server answered." {
		t.Fatalf("err = %v", err)
	}
	// Coarse for people, detailed for the logs.
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want ErrUnreachable with the cause in the chain", err)
	}
	assertClean(t, err)
}

func TestCheckCredentialsRefusedByGuard(t *testing.T) {
	_, in := start(t, "", "")
	c := &Client{Timeout: 2 * time.Second} // no allow-list: 127.0.0.1 is loopback
	err := c.CheckCredentials(context.Background(), in, appID, secret, redirectURL)
	if forgelink.ErrorCode(err) != forgelink.EUPSTREAM || !strings.Contains(forgelink.ErrorMessage(err), "is not allowed") || !errors.Is(err, ErrRefusedAddress) {
		t.Fatalf("err = %v", err)
	}
}

func TestTLSWithPrivateCA(t *testing.T) {
	srv := httptest.NewUnstartedServer(fakeGitLab(t, "", ""))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := clientFor(srv.URL)
	in := forgelink.Integration{URL: srv.URL, ClientID: appID}

	err := c.CheckCredentials(context.Background(), in, appID, secret, redirectURL)
	if forgelink.ErrorCode(err) != forgelink.EUPSTREAM || !strings.Contains(forgelink.ErrorMessage(err), "is not trusted") ||
		!strings.Contains(forgelink.ErrorMessage(err), "add its CA bundle") || !errors.Is(err, ErrCertificate) {
		t.Fatalf("without CA bundle: %v", err)
	}
	assertClean(t, err)

	in.CABundle = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	if err := c.CheckCredentials(context.Background(), in, appID, secret, redirectURL); err != nil {
		t.Fatalf("with CA bundle: %v", err)
	}
}

func TestTLSToPlainServer(t *testing.T) {
	srv := httptest.NewServer(fakeGitLab(t, "", ""))
	t.Cleanup(srv.Close)
	base := strings.Replace(srv.URL, "http://", "https://", 1)
	err := clientFor(base).CheckCredentials(context.Background(), forgelink.Integration{URL: base}, appID, secret, redirectURL)
	if forgelink.ErrorCode(err) != forgelink.EUPSTREAM || !strings.Contains(forgelink.ErrorMessage(err), "does not look like a GitLab server") || !errors.Is(err, ErrNotGitLab) {
		t.Fatalf("err = %v", err)
	}
}

// FuzzDecodeUser checks that whatever GitLab answers, decodeUser never panics and never
// returns a user without an id or username, or with a field over its bound.
func FuzzDecodeUser(f *testing.F) {
	f.Add([]byte(`{"id": 42, "username": "alice", "state": "active"}`))
	f.Add([]byte(`{"id": "42"}`))
	f.Add([]byte(`<html></html>`))
	f.Add([]byte(`{"id": -1, "username": "x"}`))
	f.Add([]byte(`{"id": 1, "username": "a b", "name": "\u00e9\u00e9"}`))
	f.Add([]byte(`{"id": 1, "username": "a", "avatar_url": "javascript:x", "state": "<b>"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := decodeUser(body)
		if err != nil {
			if u != (forgelink.GitLabUser{}) {
				t.Fatalf("decodeUser(%q) = %+v with error %v", body, u, err)
			}
			return
		}
		if u.ID <= 0 || !ValidUsername(u.Username) {
			t.Fatalf("decodeUser(%q) = %+v without error", body, u)
		}
		if utf8.RuneCountInString(u.Name) > MaxNameLength || !utf8.ValidString(u.Name) ||
			len(u.Email) > MaxEmailLength || len(u.State) > MaxStateLength || len(u.AvatarURL) > MaxAvatarURLLength {
			t.Fatalf("decodeUser(%q) = %+v: a field over its bound", body, u)
		}
		if u.AvatarURL != "" && !strings.HasPrefix(u.AvatarURL, "https://") && !strings.HasPrefix(u.AvatarURL, "http://") {
			t.Fatalf("decodeUser(%q) kept avatar_url %q", body, u.AvatarURL)
		}
	})
}

// TestAuthCodeURLScopes: sign-in asks for read_user alone, or read_user and api when a
// rule of the integration needs group memberships; edge cases follow oauth2's behaviour.
func TestAuthCodeURLScopes(t *testing.T) {
	c := &Client{}
	verifier := "ks02i3jdikdo2k0dkfodf3m39rjfjsdk0wk349rj3jrhf"
	for _, tc := range []struct {
		name      string
		url       string
		redirect  string
		scopes    []string
		wantScope string
	}{
		{"default", "https://example.com/gitlab", redirectURL, nil, "read_user"},
		{"read_user alone", "https://example.com/gitlab", redirectURL, SignInScopes(false), "read_user"},
		{"with groups", "https://example.com/gitlab", redirectURL, SignInScopes(true), "read_user api"},
		{"explicit", "https://gitlab.example.com:8443", "https://app.example/orgs/a b/callback?x=1", []string{"read_user", "openid"}, "read_user openid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := forgelink.Integration{URL: tc.url, ClientID: "id with spaces&=?"}
			raw := c.AuthCodeURLScopes(in, tc.redirect, "st+/=", verifier, tc.scopes)
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != tc.url+"/oauth/authorize" {
				t.Errorf("endpoint = %q", got)
			}
			q := u.Query()
			want := url.Values{
				"response_type": {"code"}, "client_id": {in.ClientID}, "redirect_uri": {tc.redirect},
				"scope": {tc.wantScope}, "state": {"st+/="},
				"code_challenge": {"2i0WFA-0AerkjQm4X4oDEhqA17QIAKNjXpagHBXmO_U"}, "code_challenge_method": {"S256"},
			}
			if q.Encode() != want.Encode() {
				t.Errorf("parameters\n got %s\nwant %s", q.Encode(), want.Encode())
			}
		})
	}
	if got := c.AuthCodeURLScopes(forgelink.Integration{URL: "https://g.example", ClientID: "x"}, redirectURL, "s", verifier, nil); !strings.Contains(got, "scope=read_user&") {
		t.Errorf("AuthCodeURL does not ask for read_user alone: %s", got)
	}
}

// TestAuthCodeURLIsOAuth2s pins AuthCodeURL to golang.org/x/oauth2's AuthCodeURL with
// S256ChallengeOption: same bytes, so the library, not a copy of it, decides escaping,
// order and what happens with an empty redirect URL or a query in the endpoint.
func TestAuthCodeURLIsOAuth2s(t *testing.T) {
	c := &Client{}
	for _, tc := range []struct{ url, redirect string }{
		{"https://example.com/gitlab", redirectURL},
		{"https://example.com/gitlab?tenant=1", ""},
	} {
		in := forgelink.Integration{URL: tc.url, ClientID: appID}
		verifier := Verifier()
		cfg := oauth2.Config{ClientID: appID, RedirectURL: tc.redirect, Scopes: []string{"read_user", "api"},
			Endpoint: oauth2.Endpoint{AuthURL: tc.url + "/oauth/authorize"}}
		want := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))
		if got := c.AuthCodeURLScopes(in, tc.redirect, "s", verifier, SignInScopes(true)); got != want {
			t.Errorf("AuthCodeURLScopes\n got %s\nwant %s", got, want)
		}
	}
}

// TestExchangeToken: the granted scopes travel with the token (Test sign-in shows them);
// GitLab's lower-case "bearer" and a missing expires_in are fine; a scope field GitLab
// would never send is refused.
func TestExchangeToken(t *testing.T) {
	verifier := Verifier()
	tests := []struct {
		mode       string
		wantScopes []string
		wantErr    bool
	}{
		{"", []string{"read_user"}, false},
		{"scopes-api", []string{"read_user", "api"}, false},
		{"no-scope", nil, false},
		{"lower-bearer", []string{"read_user"}, false},
		{"no-expires", []string{"read_user"}, false},
		{"scope-array", nil, true},
		{"scope-quote", nil, true},
		{"scope-long", nil, true},
		{"scope-many", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			c, in := start(t, tt.mode, verifier)
			tok, err := c.ExchangeToken(context.Background(), in, secret, redirectURL, goodCode, verifier)
			assertClean(t, err)
			if tt.wantErr {
				if !errors.Is(err, ErrUnexpectedAnswer) || forgelink.ErrorCode(err) != forgelink.EUPSTREAM {
					t.Fatalf("ExchangeToken = %v, %v; want ErrUnexpectedAnswer", tok, err)
				}
				return
			}
			if err != nil || tok.AccessToken != accessToken || !slices.Equal(tok.Scopes, tt.wantScopes) {
				t.Fatalf("ExchangeToken = %+v, %v; want scopes %q", tok.Scopes, err, tt.wantScopes)
			}
			if tt.mode == "no-expires" != tok.Expiry.IsZero() {
				t.Errorf("Expiry = %v", tok.Expiry)
			}
			if tok.HasScope("api") != slices.Contains(tt.wantScopes, "api") {
				t.Errorf("HasScope(api) = %v", tok.HasScope("api"))
			}
			for _, s := range []string{tok.String(), fmt.Sprintf("%v %+v %#v", tok, tok, tok)} {
				if strings.Contains(s, accessToken) {
					t.Errorf("Token prints its access token: %s", s)
				}
			}
		})
	}
}

// BenchmarkAuthCodeURL tracks the cost of building the authorize URL with oauth2 (about
// 2 µs; see AuthCodeURLScopes for why that is fine).
func BenchmarkAuthCodeURL(b *testing.B) {
	c := &Client{}
	in := forgelink.Integration{URL: "https://gitlab.example.com", ClientID: appID}
	verifier := Verifier()
	for b.Loop() {
		c.AuthCodeURLScopes(in, redirectURL, "state-abcdefghijklmnopqrstuvwxyz0123456789", verifier, SignInScopes(true))
	}
}
