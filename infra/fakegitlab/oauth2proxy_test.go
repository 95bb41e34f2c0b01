package fakegitlab_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/infra/fakegitlab/oauth2proxy"
)

// TestOAuth2ProxySignIn proves the fake against a real third-party GitLab
// client: oauth2-proxy's gitlab provider discovers the issuer, runs the
// code flow with PKCE, verifies the id_token against the JWKS and reads
// /oauth/userinfo.
func TestOAuth2ProxySignIn(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "http"
		if useTLS {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			gl := fakegitlab.New(fakegitlab.Options{})
			base, err := gl.Start("127.0.0.1:0", useTLS)
			if err != nil {
				t.Fatal(err)
			}
			defer gl.Close()
			opts := oauth2proxy.Options{IssuerURL: base, Addr: oauth2proxy.FreeAddr(t)}
			if useTLS {
				opts.CAFile = filepath.Join(t.TempDir(), "ca.pem")
				if err := os.WriteFile(opts.CAFile, gl.CACertPEM(), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			app := gl.CreateApplication("oauth2-proxy", "http://"+opts.Addr+"/oauth2/callback", []string{"openid", "email", "profile", "read_user"}, true, false)
			opts.ClientID, opts.ClientSecret = app.UID, app.Secret
			proxy := oauth2proxy.Start(t, opts)

			jar, _ := cookiejar.New(nil)
			c := gl.Client()
			c.Jar = jar
			step := func(method, u string, form url.Values) (*http.Response, string) {
				t.Helper()
				var body io.Reader
				if form != nil {
					body = strings.NewReader(form.Encode())
				}
				req, _ := http.NewRequest(method, u, body)
				if form != nil {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, u, err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}

			resp, _ := step("GET", proxy+"/oauth2/start?rd=/", nil)
			authURL := resp.Header.Get("Location")
			if !strings.HasPrefix(authURL, base+"/oauth/authorize?") || !strings.Contains(authURL, "code_challenge_method=S256") {
				t.Fatalf("start: %d %q", resp.StatusCode, authURL)
			}
			resp, _ = step("GET", authURL, nil)
			if resp.Header.Get("Location") != base+"/users/sign_in" {
				t.Fatalf("authorize without session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			resp, _ = step("POST", base+"/users/sign_in", url.Values{"user[login]": {"alice"}, "user[password]": {"password"}})
			resp, consent := step("GET", resp.Header.Get("Location"), nil)
			if resp.StatusCode != 200 || !strings.Contains(consent, "Authorize oauth2-proxy to use your account?") {
				t.Fatalf("consent: %d\n%s", resp.StatusCode, consent)
			}
			form := url.Values{}
			authForm := consent[strings.Index(consent, `id="authorize"`):]
			authForm = authForm[:strings.Index(authForm, "</form>")]
			for _, m := range regexp.MustCompile(`name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(authForm, -1) {
				form.Set(m[1], html.UnescapeString(m[2]))
			}
			resp, _ = step("POST", base+"/oauth/authorize", form)
			callback := resp.Header.Get("Location")
			if !strings.HasPrefix(callback, proxy+"/oauth2/callback?code=") {
				t.Fatalf("authorize: %d %q", resp.StatusCode, callback)
			}
			resp, body := step("GET", callback, nil)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("callback: %d\n%s", resp.StatusCode, body)
			}
			resp, body = step("GET", proxy+"/oauth2/userinfo", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, `"email":"alice@example.com"`) {
				t.Fatalf("userinfo: %d %s", resp.StatusCode, body)
			}
			if resp, _ = step("GET", proxy+"/", nil); resp.StatusCode != 200 {
				t.Fatalf("upstream: %d", resp.StatusCode)
			}
		})
	}
}
