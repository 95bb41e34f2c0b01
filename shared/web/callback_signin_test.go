package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// TestCallbackCookieOrder: a successful callback sets the session cookie before it
// deletes the state cookie. curl 7.x keeps a cookie whose deletion is followed by another
// Set-Cookie in the same response, so the other order left curl-based clients replaying a
// spent state cookie.
func TestCallbackCookieOrder(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	c := e.browser(t)
	r := e.signIn(t, c, service.LoginURL(e.URL, e.Org, in.ID), "alice")
	wantStatus(t, r, http.StatusSeeOther)

	var names []string
	for _, line := range r.Header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(line, "=")
		names = append(names, name)
	}
	if got, want := strings.Join(names, ","), sessionCookie+","+stateCookie; got != want {
		t.Fatalf("Set-Cookie order %q, want %q (session first, state deletion last)", got, want)
	}
	if sc := setCookie(r, stateCookie); sc == nil || sc.MaxAge >= 0 {
		t.Errorf("state cookie not cleared: %v", sc)
	}
	for _, ck := range c.Jar.Cookies(mustURL(e.URL)) {
		if ck.Name == stateCookie {
			t.Errorf("state cookie still in the jar after the callback")
		}
	}
}

// TestLogoutWithoutForm: DESIGN.md wants 403 for a missing CSRF token. A logout POST
// without a url-encoded form (curl -X POST, a JSON or multipart body) used to answer 415;
// it is 403 now and changes nothing. Only the page's own url-encoded form signs out.
func TestLogoutWithoutForm(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	c := e.browser(t)
	home := e.follow(t, c, e.signIn(t, c, service.LoginURL(e.URL, e.Org, in.ID), "alice"))
	csrf := inputValue(home.Body, "csrf_token")
	if csrf == "" {
		t.Fatal("no CSRF token on the signed-in home page")
	}
	logout := e.abs("/orgs/" + e.Org + "/logout")
	post := func(contentType string, body []byte) response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, logout, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return do(t, c, req)
	}

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf_token", csrf)
	mw.Close()
	for _, tc := range []struct{ name, contentType, body string }{
		{"no body", "", ""},
		{"JSON body", "application/json", `{"csrf_token":"` + csrf + `"}`},
		{"text body", "text/plain", "csrf_token=" + csrf},
		{"multipart with the right token", mw.FormDataContentType(), buf.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.contentType, []byte(tc.body))
			wantStatus(t, r, http.StatusForbidden)
			if setCookie(r, sessionCookie) != nil {
				t.Errorf("a refused logout touched the session cookie")
			}
			wantStatus(t, e.get(t, c, "/api/v1/orgs/"+e.Org+"/session"), http.StatusOK)
		})
	}

	r := post("application/x-www-form-urlencoded", []byte("csrf_token="+csrf))
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/orgs/"+e.Org {
		t.Errorf("logout Location %q", r.Header.Get("Location"))
	}
	wantStatus(t, e.get(t, c, "/api/v1/orgs/"+e.Org+"/session"), http.StatusUnauthorized)
}

// TestHomeSignedInText: the signed-in home says "Signed in as @alice (host)" as one run
// of text, so it can be found as is in the page source (it used to be split by <strong>).
func TestHomeSignedInText(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	c := e.browser(t)
	home := e.follow(t, c, e.signIn(t, c, service.LoginURL(e.URL, e.Org, in.ID), "alice"))
	wantStatus(t, home, http.StatusOK)
	wantBody(t, home, "Signed in as @alice ("+strings.TrimPrefix(e.GitLabURL, "http://")+")",
		`<img class="avatar"`, `name="csrf_token"`, "Sign out")
}
