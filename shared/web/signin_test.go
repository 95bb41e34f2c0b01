package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/gitlab"
	"github.com/forgelink/forgelink/shared/service"
)

const (
	stateCookie   = "forgelink_state"
	sessionCookie = "forgelink_session_acme"
)

// TestSignInJourney walks the whole member sign-in as a browser would, asserting every
// hop: login link → GitLab sign-in form as alice → consent Authorize → callback → org home
// "Signed in as @alice" → whoami JSON → sign out with the page's CSRF token.
func TestSignInJourney(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "Example GitLab", forgelink.StatusActive)
	c := e.browser(t)
	loginURL := service.LoginURL(e.URL, e.Org, in.ID)

	// Before: the org home offers the sign-in button.
	home := e.get(t, c, "/orgs/"+e.Org)
	wantStatus(t, home, http.StatusOK)
	wantBody(t, home, "Sign in with Example GitLab", `href="`+loginURL+`"`)

	consent := e.toConsent(t, c, loginURL, "alice")
	toCallback := e.decide(t, c, consent, "authorize")
	cb, _ := url.Parse(toCallback.Header.Get("Location"))
	if got, want := cb.Scheme+"://"+cb.Host+cb.Path, service.CallbackURL(e.URL, e.Org, in.ID); got != want {
		t.Fatalf("GitLab redirected to %s, want the exact callback URL %s", got, want)
	}
	r := e.follow(t, c, toCallback)
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/orgs/"+e.Org {
		t.Fatalf("callback Location %q, want /orgs/%s", loc, e.Org)
	}
	if sc := setCookie(r, stateCookie); sc == nil || sc.MaxAge >= 0 {
		t.Errorf("callback must clear the state cookie, got %v", sc)
	}
	sc := setCookie(r, sessionCookie)
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure on http", sc)
	}
	if sc.MaxAge != int((12 * time.Hour).Seconds()) {
		t.Errorf("session cookie Max-Age %d, want 12 h", sc.MaxAge)
	}

	home = e.follow(t, c, r)
	wantStatus(t, home, http.StatusOK)
	host := strings.TrimPrefix(e.GitLabURL, "http://")
	wantBody(t, home, "Signed in as @alice ("+host+")", `alt="Avatar of @alice"`, "Alice Liddell", "Sign out")
	if strings.Contains(home.Body, "Sign in with") {
		t.Errorf("signed-in home still offers sign-in buttons")
	}

	// whoami
	who := e.get(t, c, "/api/v1/orgs/"+e.Org+"/session")
	wantStatus(t, who, http.StatusOK)
	var w struct {
		Org  string `json:"org"`
		User struct {
			ID        int64  `json:"id"`
			Username  string `json:"username"`
			Name      string `json:"name"`
			Email     string `json:"email"`
			AvatarURL string `json:"avatar_url"`
		} `json:"user"`
		IntegrationID string `json:"integration_id"`
		GitLabHost    string `json:"gitlab_host"`
		ExpiresAt     string `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(who.Body), &w); err != nil {
		t.Fatalf("whoami: %v in %s", err, who.Body)
	}
	if w.Org != e.Org || w.User.ID != 2 || w.User.Username != "alice" || w.User.Name != "Alice Liddell" ||
		w.User.Email != "alice@example.com" || w.User.AvatarURL == "" || w.IntegrationID != in.ID || w.GitLabHost != host {
		t.Errorf("whoami = %+v", w)
	}
	exp, err := time.Parse(time.RFC3339, w.ExpiresAt)
	if err != nil || exp.Sub(e.Clock.Now()) > 12*time.Hour || exp.Sub(e.Clock.Now()) < 12*time.Hour-time.Minute {
		t.Errorf("expires_at %q, want 12 h from now", w.ExpiresAt)
	}
	for _, key := range []string{"access_token", "token", "state"} {
		if strings.Contains(who.Body, `"`+key+`"`) {
			t.Errorf("whoami exposes %q: %s", key, who.Body)
		}
	}

	// The member is keyed on the integration and GitLab's numeric id; only the session's
	// hash is stored.
	ctx := context.Background()
	if m, err := e.Mem.GetMember(ctx, e.Org, in.ID, 2); err != nil || m.User.Username != "alice" {
		t.Errorf("member: %+v, %v", m, err)
	}
	sid := cookieValue(t, c, e.URL, sessionCookie)
	if _, err := e.Mem.GetSession(ctx, sid); err == nil {
		t.Errorf("the plain session id is a store key; only its hash may be")
	}

	// Sign out: a wrong CSRF token changes nothing.
	r = e.post(t, c, "/orgs/"+e.Org+"/logout", url.Values{"csrf_token": {"forged"}})
	wantStatus(t, r, http.StatusForbidden)
	wantStatus(t, e.get(t, c, "/api/v1/orgs/"+e.Org+"/session"), http.StatusOK)
	r = e.post(t, c, "/orgs/"+e.Org+"/logout", url.Values{})
	wantStatus(t, r, http.StatusForbidden)

	e.Clock.Advance(time.Second) // audit records sort by time
	r = e.post(t, c, "/orgs/"+e.Org+"/logout", url.Values{"csrf_token": {inputValue(home.Body, "csrf_token")}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/orgs/"+e.Org {
		t.Errorf("logout Location %q", r.Header.Get("Location"))
	}
	if sc := setCookie(r, sessionCookie); sc == nil || sc.MaxAge >= 0 {
		t.Errorf("logout must clear the session cookie, got %v", sc)
	}
	who = e.get(t, c, "/api/v1/orgs/"+e.Org+"/session")
	wantStatus(t, who, http.StatusUnauthorized)
	if !strings.Contains(who.Body, `"code":"unauthorized"`) {
		t.Errorf("whoami after logout: %s", who.Body)
	}
	// The old session id is dead even if replayed.
	old := e.browser(t)
	old.Jar.SetCookies(mustURL(e.URL), []*http.Cookie{{Name: sessionCookie, Value: sid, Path: "/"}})
	wantStatus(t, e.get(t, old, "/api/v1/orgs/"+e.Org+"/session"), http.StatusUnauthorized)

	recs, _ := e.Mem.ListAudit(ctx, e.Org, in.ID, 10)
	var actions []string
	for _, a := range recs {
		actions = append(actions, a.Action+" "+a.Actor)
	}
	if strings.Join(actions, ",") != "member.signed_out gitlab_user:"+in.ID+"/alice,member.signed_in gitlab_user:"+in.ID+"/alice" {
		t.Errorf("audit = %q", actions)
	}
}

// TestAuthorizeURL checks the authorize request: client_id, the exact redirect_uri,
// response_type=code, scope=read_user, state and PKCE S256 — the challenge being the
// S256 of the verifier sealed in the state cookie.
func TestAuthorizeURL(t *testing.T) {
	// RFC 7636 appendix B style vector.
	if got := gitlab.Challenge("ks02i3jdikdo2k0dkfodf3m39rjfjsdk0wk349rj3jrhf"); got != "2i0WFA-0AerkjQm4X4oDEhqA17QIAKNjXpagHBXmO_U" {
		t.Fatalf("S256 challenge = %q", got)
	}

	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	c := e.browser(t)
	r := e.startLogin(t, c, service.LoginURL(e.URL, e.Org, in.ID))
	wantStatus(t, r, http.StatusFound)
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host+u.Path != e.GitLabURL+"/oauth/authorize" {
		t.Errorf("authorize endpoint %s", u)
	}
	q := u.Query()
	want := map[string]string{
		"client_id":             in.ClientID,
		"redirect_uri":          service.CallbackURL(e.URL, e.Org, in.ID),
		"response_type":         "code",
		"scope":                 "read_user",
		"code_challenge_method": "S256",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("state")) < 43 {
		t.Errorf("state %q: want 256 random bits", q.Get("state"))
	}
	if strings.Contains(u.RawQuery, "client_secret") || strings.Contains(u.RawQuery, in.SecretARN) {
		t.Errorf("authorize URL carries a secret: %s", u.RawQuery)
	}

	sc := setCookie(r, stateCookie)
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure || sc.MaxAge != 600 {
		t.Fatalf("state cookie %+v: want HttpOnly, SameSite=Lax, Path=/, Max-Age 600", sc)
	}
	var st service.LoginState
	if err := e.Sealer.Open(sc.Value, e.Clock.Now(), &st); err != nil {
		t.Fatalf("open state cookie: %v", err)
	}
	if st.State != q.Get("state") || st.Org != e.Org || st.IntegrationID != in.ID || st.ReturnTo != "/orgs/"+e.Org {
		t.Errorf("sealed state %+v does not match the request", st)
	}
	if got := gitlab.Challenge(st.Verifier); got != q.Get("code_challenge") {
		t.Errorf("code_challenge %q is not S256(verifier) %q", q.Get("code_challenge"), got)
	}
	if strings.Contains(sc.Value, st.Verifier) || strings.Contains(sc.Value, st.State) {
		t.Errorf("the state cookie shows its content")
	}

	// A second start draws a new state and verifier.
	r2 := e.startLogin(t, c, service.LoginURL(e.URL, e.Org, in.ID))
	u2, _ := url.Parse(r2.Header.Get("Location"))
	if u2.Query().Get("state") == q.Get("state") || u2.Query().Get("code_challenge") == q.Get("code_challenge") {
		t.Errorf("state or challenge reused across sign-ins")
	}
}

// TestLoginStartReadsOnlyAndWarmCallbackSkipsSecrets counts store and Secrets Manager calls.
func TestLoginStartReadsOnlyAndWarmCallbackSkipsSecrets(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	loginURL := service.LoginURL(e.URL, e.Org, in.ID)
	e.Store.snapshot()
	e.Secrets.total()

	// Cold start (the page, then its button): the integration and the org's admin rules
	// (which decide the scopes), read once each; no write, no secret.
	r := e.startLogin(t, e.browser(t), loginURL)
	wantStatus(t, r, http.StatusFound)
	reads, writes, calls := e.Store.snapshot()
	if writes != 0 || reads > 2 {
		t.Errorf("cold login start: %d reads, %d writes (%v); want ≤ 2 reads, no write", reads, writes, calls)
	}
	// Warm start: served from the cache.
	r = e.startLogin(t, e.browser(t), loginURL)
	wantStatus(t, r, http.StatusFound)
	if reads, writes, calls := e.Store.snapshot(); writes != 0 || reads > 0 {
		t.Errorf("warm login start: %d reads, %d writes (%v)", reads, writes, calls)
	}
	if n := e.Secrets.total(); n != 0 {
		t.Errorf("login start called the secret store %d times", n)
	}

	// First sign-in fetches the secret once; a warm second one not at all.
	wantStatus(t, e.signIn(t, e.browser(t), loginURL, "alice"), http.StatusSeeOther)
	if n := e.Secrets.total(); n != 1 {
		t.Errorf("cold callback: %d secret store calls, want 1", n)
	}
	wantStatus(t, e.signIn(t, e.browser(t), loginURL, "bob"), http.StatusSeeOther)
	if n := e.Secrets.total(); n != 0 {
		t.Errorf("warm callback: %d secret store calls, want 0", n)
	}

	// A replaced secret (new version on the item) is fetched fresh, and works.
	ctx := context.Background()
	app := e.GitLab.CreateApplication("rotated", service.CallbackURL(e.URL, e.Org, in.ID), []string{"api", "read_user"}, true, false)
	ref, err := e.Mem.PutSecret(ctx, "forgelink/test/"+e.Org+"/"+in.ID, app.Secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := e.Mem.GetIntegration(ctx, e.Org, in.ID)
	cur.ClientID, cur.SecretARN, cur.SecretVersion = app.UID, ref.ARN, ref.Version
	if _, err := e.Mem.UpdateIntegration(ctx, cur); err != nil {
		t.Fatal(err)
	}
	// Within the integration cache's 30 s the login start may still name the old client;
	// move past it so the authorize request uses the new one.
	e.Clock.Advance(31 * time.Second)
	e.Secrets.total()
	wantStatus(t, e.signIn(t, e.browser(t), loginURL, "alice"), http.StatusSeeOther)
	if n := e.Secrets.total(); n != 1 {
		t.Errorf("callback after a secret replacement: %d secret store calls, want 1 (new version)", n)
	}
}

// TestStateFailures: every broken state ends on the same 400 page with a start-again
// link, the state cookie cleared, nobody signed in.
func TestStateFailures(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	other := e.integration(t, e.Org, "Second", forgelink.StatusActive)
	e.createOrg(t, "globex")
	foreign := e.integration(t, "globex", "Globex GL", forgelink.StatusActive)
	loginURL := service.LoginURL(e.URL, e.Org, in.ID)

	// toCallback returns a browser at GitLab's redirect to the callback, not followed.
	toCallback := func(t *testing.T) (*http.Client, *url.URL) {
		c := e.browser(t)
		r := e.toCallback(t, c, loginURL, "alice")
		u, err := url.Parse(r.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return c, u
	}
	expiredPage := func(t *testing.T, r response, startAgain string) {
		t.Helper()
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, "Your sign-in attempt expired or was not started here", `href="`+startAgain+`"`, "Start again")
		if sc := setCookie(r, stateCookie); sc == nil || sc.MaxAge >= 0 {
			t.Errorf("state cookie not cleared: %v", sc)
		}
		if sc := setCookie(r, sessionCookie); sc != nil {
			t.Errorf("a failed callback set a session cookie")
		}
	}
	path := func(in forgelink.Integration) string { return "/orgs/" + in.Org + "/login/" + in.ID }

	t.Run("replay", func(t *testing.T) {
		c, u := toCallback(t)
		wantStatus(t, e.get(t, c, u.String()), http.StatusSeeOther)
		// The same callback again: the state cookie is gone (single use).
		expiredPage(t, e.get(t, c, u.String()), path(in))
	})
	t.Run("replay with the old state cookie", func(t *testing.T) {
		c, u := toCallback(t)
		sealed := cookieValue(t, c, e.URL, stateCookie)
		wantStatus(t, e.get(t, c, u.String()), http.StatusSeeOther)
		c.Jar.SetCookies(mustURL(e.URL), []*http.Cookie{{Name: stateCookie, Value: sealed, Path: "/"}})
		r := e.get(t, c, u.String())
		// The code is single-use at GitLab: refused, never a second session.
		if r.StatusCode != http.StatusBadRequest || setCookie(r, sessionCookie) != nil {
			t.Fatalf("replayed code: %d, session cookie %v", r.StatusCode, setCookie(r, sessionCookie))
		}
		wantBody(t, r, "Sign-in did not complete")
	})
	t.Run("missing cookie", func(t *testing.T) {
		_, u := toCallback(t)
		expiredPage(t, e.get(t, e.browser(t), u.String()), path(in))
	})
	t.Run("tampered cookie", func(t *testing.T) {
		c, u := toCallback(t)
		sealed := []byte(cookieValue(t, c, e.URL, stateCookie))
		i := len(sealed) / 2
		if sealed[i] == 'A' {
			sealed[i] = 'B'
		} else {
			sealed[i] = 'A'
		}
		c.Jar.SetCookies(mustURL(e.URL), []*http.Cookie{{Name: stateCookie, Value: string(sealed), Path: "/"}})
		expiredPage(t, e.get(t, c, u.String()), path(in))
	})
	t.Run("state parameter mismatch", func(t *testing.T) {
		c, u := toCallback(t)
		q := u.Query()
		q.Set("state", strings.Repeat("A", len(q.Get("state"))))
		u.RawQuery = q.Encode()
		expiredPage(t, e.get(t, c, u.String()), path(in))
	})
	t.Run("expired after 10 minutes", func(t *testing.T) {
		c, u := toCallback(t)
		e.Clock.Advance(10*time.Minute + time.Second)
		expiredPage(t, e.get(t, c, u.String()), path(in))
	})
	t.Run("mix-up: another integration of the org", func(t *testing.T) {
		c, u := toCallback(t)
		mixed := mustURL(service.CallbackURL(e.URL, e.Org, other.ID))
		mixed.RawQuery = u.RawQuery
		expiredPage(t, e.get(t, c, mixed.String()), path(other))
		// The cookie is gone as well: the real callback fails now too (single use).
		expiredPage(t, e.get(t, c, u.String()), path(in))
	})
	t.Run("mix-up: another org", func(t *testing.T) {
		c, u := toCallback(t)
		mixed := mustURL(service.CallbackURL(e.URL, "globex", foreign.ID))
		mixed.RawQuery = u.RawQuery
		expiredPage(t, e.get(t, c, mixed.String()), path(foreign))
	})
	t.Run("code rejected by GitLab", func(t *testing.T) {
		c, u := toCallback(t)
		q := u.Query()
		q.Set("code", "not-a-real-code")
		u.RawQuery = q.Encode()
		r := e.get(t, c, u.String())
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, "Sign-in did not complete", "GitLab rejected the sign-in code", `href="`+path(in)+`"`)
	})
	t.Run("no code", func(t *testing.T) {
		c, u := toCallback(t)
		q := u.Query()
		q.Del("code")
		u.RawQuery = q.Encode()
		wantStatus(t, e.get(t, c, u.String()), http.StatusBadRequest)
	})

	// Nobody got signed in by any of the failures above (only the replay's first, good
	// callback and the two codes redeemed once).
	recs, _ := e.Mem.ListAudit(context.Background(), e.Org, "", 100)
	n := 0
	for _, a := range recs {
		if a.Action == forgelink.AuditSignIn {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d sign-ins audited, want 2 (the two good callbacks)", n)
	}
}

// TestReturnTo: only same-origin paths survive; every open-redirect attempt lands on the
// org home.
func TestReturnTo(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	home := "/orgs/" + e.Org
	cases := []struct{ name, raw, want string }{
		{"protocol-relative", "//evil.example", home},
		{"absolute URL", "https://evil.example/", home},
		{"backslash", `/\evil.example`, home},
		{"encoded slashes", "/%2F%2Fevil.example", home},
		{"encoded protocol-relative", "%2F%2Fevil.example", home},
		{"encoded backslash", "/%5Cevil.example", home},
		{"javascript", "javascript:alert(1)", home},
		{"tab trick", "/\t/evil.example", home},
		{"same-origin path", "/orgs/" + e.Org + "?tab=members", "/orgs/" + e.Org + "?tab=members"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.browser(t)
			loginURL := service.LoginURL(e.URL, e.Org, in.ID) + "?return_to=" + url.QueryEscape(tc.raw)
			r := e.signIn(t, c, loginURL, "alice")
			wantStatus(t, r, http.StatusSeeOther)
			if got := r.Header.Get("Location"); got != tc.want {
				t.Errorf("return_to %q: Location %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

// TestGitLabRefusals: Deny at GitLab, a blocked GitLab user, an error redirect.
func TestGitLabRefusals(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	loginURL := service.LoginURL(e.URL, e.Org, in.ID)
	loginPath := "/orgs/" + e.Org + "/login/" + in.ID

	t.Run("deny", func(t *testing.T) {
		c := e.browser(t)
		// bob has not approved the application yet, so GitLab asks.
		toCallback := e.decide(t, c, e.toConsent(t, c, loginURL, "bob"), "deny")
		if !strings.Contains(toCallback.Header.Get("Location"), "error=access_denied") {
			t.Fatalf("GitLab's deny redirect: %s", toCallback.Header.Get("Location"))
		}
		r := e.follow(t, c, toCallback)
		wantStatus(t, r, http.StatusForbidden)
		wantBody(t, r, "Sign-in cancelled", "Try again", `href="`+loginPath+`"`)
		if sc := setCookie(r, stateCookie); sc == nil || sc.MaxAge >= 0 {
			t.Errorf("state cookie not cleared")
		}
		wantStatus(t, e.get(t, c, "/api/v1/orgs/"+e.Org+"/session"), http.StatusUnauthorized)
	})
	t.Run("blocked user", func(t *testing.T) {
		c := e.browser(t)
		r := e.signIn(t, c, loginURL, "mallory")
		wantStatus(t, r, http.StatusForbidden)
		wantBody(t, r, "Your GitLab account is not active")
		if setCookie(r, sessionCookie) != nil {
			t.Errorf("a blocked user got a session cookie")
		}
		if _, err := e.Mem.GetMember(context.Background(), e.Org, in.ID, 4); err == nil {
			t.Errorf("a blocked user became a member")
		}
	})
	t.Run("other OAuth errors", func(t *testing.T) {
		for code, status := range map[string]int{
			"server_error":            http.StatusBadGateway,
			"temporarily_unavailable": http.StatusBadGateway,
			"invalid_scope":           http.StatusBadRequest,
			"<script>":                http.StatusBadRequest,
		} {
			r := e.get(t, e.browser(t), loginPath+"/callback?error="+url.QueryEscape(code)+"&error_description=%3Cb%3Ehi")
			wantStatus(t, r, status)
			if strings.Contains(r.Body, "<script>") || strings.Contains(r.Body, "<b>hi") {
				t.Errorf("error page reflects GitLab's parameters: %s", snippet(r.Body))
			}
		}
	})
}

// TestGitLabFaults: GitLab down, slow, failing or malformed at the callback is a 502 page
// naming the GitLab server, never a 500.
func TestGitLabFaults(t *testing.T) {
	e := startEnv(t, envOptions{GitLabTimeout: 500 * time.Millisecond})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	loginURL := service.LoginURL(e.URL, e.Org, in.ID)
	host := strings.TrimPrefix(e.GitLabURL, "http://")
	faults := []struct {
		name  string
		fault fakegitlab.Fault
	}{
		{"token endpoint down", fakegitlab.Fault{Down: true, PathPrefix: "/oauth/token"}},
		{"token endpoint slow", fakegitlab.Fault{Slow: 3 * time.Second, PathPrefix: "/oauth/token"}},
		{"token endpoint 500", fakegitlab.Fault{Error500: true, PathPrefix: "/oauth/token"}},
		{"token endpoint malformed", fakegitlab.Fault{Malformed: true, PathPrefix: "/oauth/token"}},
		{"user API down", fakegitlab.Fault{Down: true, PathPrefix: "/api/v4/user"}},
		{"user API slow", fakegitlab.Fault{Slow: 3 * time.Second, PathPrefix: "/api/v4/user"}},
		{"user API 500", fakegitlab.Fault{Error500: true, PathPrefix: "/api/v4/user"}},
		{"user API malformed", fakegitlab.Fault{Malformed: true, PathPrefix: "/api/v4/user"}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			c := e.browser(t)
			toCallback := e.toCallback(t, c, loginURL, "alice")
			e.GitLab.SetFault(f.fault)
			defer e.GitLab.SetFault(fakegitlab.Fault{})
			start := time.Now()
			r := e.follow(t, c, toCallback)
			wantStatus(t, r, http.StatusBadGateway)
			wantBody(t, r, host, "Try again")
			if took := time.Since(start); took > 2500*time.Millisecond {
				t.Errorf("took %v: the GitLab timeout was not applied", took)
			}
			if setCookie(r, sessionCookie) != nil {
				t.Errorf("session cookie set on a failed sign-in")
			}
			if sc := setCookie(r, stateCookie); sc == nil || sc.MaxAge >= 0 {
				t.Errorf("state cookie not cleared")
			}
		})
	}
}

// TestSecureCookies: with an https base URL both cookies are Secure and __Host- prefixed,
// and the whole sign-in works.
func TestSecureCookies(t *testing.T) {
	e := startEnv(t, envOptions{TLS: true})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	c := e.browser(t)
	loginURL := service.LoginURL(e.URL, e.Org, in.ID)

	r := e.startLogin(t, c, loginURL)
	sc := setCookie(r, "__Host-"+stateCookie)
	if sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Domain != "" {
		t.Fatalf("state cookie %+v: want __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", sc)
	}
	if setCookie(r, stateCookie) != nil {
		t.Errorf("unprefixed state cookie on https")
	}

	r = e.signIn(t, c, loginURL, "alice")
	wantStatus(t, r, http.StatusSeeOther)
	sc = setCookie(r, "__Host-"+sessionCookie)
	if sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Domain != "" {
		t.Fatalf("session cookie %+v: want __Host-, Secure, HttpOnly, SameSite=Lax, Path=/", sc)
	}
	home := e.follow(t, c, r)
	wantStatus(t, home, http.StatusOK)
	wantBody(t, home, "Signed in as @alice (")
}

// TestSessionRotation: signing in again ends the session the browser had.
func TestSessionRotation(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	c := e.browser(t)
	loginURL := service.LoginURL(e.URL, e.Org, in.ID)
	wantStatus(t, e.signIn(t, c, loginURL, "alice"), http.StatusSeeOther)
	first := cookieValue(t, c, e.URL, sessionCookie)
	wantStatus(t, e.signIn(t, c, loginURL, "alice"), http.StatusSeeOther)
	second := cookieValue(t, c, e.URL, sessionCookie)
	if first == second {
		t.Fatal("session id not rotated")
	}
	old := e.browser(t)
	old.Jar.SetCookies(mustURL(e.URL), []*http.Cookie{{Name: sessionCookie, Value: first, Path: "/"}})
	wantStatus(t, e.get(t, old, "/api/v1/orgs/"+e.Org+"/session"), http.StatusUnauthorized)
	wantStatus(t, e.get(t, c, "/api/v1/orgs/"+e.Org+"/session"), http.StatusOK)
}

func mustURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

// cookieValue returns the value of the jar's cookie name for base.
func cookieValue(t *testing.T, c *http.Client, base, name string) string {
	t.Helper()
	for _, ck := range c.Jar.Cookies(mustURL(base)) {
		if ck.Name == name {
			return ck.Value
		}
	}
	t.Fatalf("no cookie %q in the jar", name)
	return ""
}
