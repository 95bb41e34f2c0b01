package security_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/storetest"
)

const stateCookie = "forgelink_state"

// TestOpenRedirectViaReturnTo signs in through login links whose return_to tries every
// known way out of the origin; the callback always lands on a same-origin path (the org
// home for anything unsafe), and the login's own redirect always goes to the GitLab.
func TestOpenRedirectViaReturnTo(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	in, _ := e.ActiveIntegration(t)
	home := "/orgs/" + e.Org
	evil := []string{
		"//evil.example", "https://evil.example", "http://evil.example/x", `/\evil.example`,
		"/%2F%2Fevil.example", "%2F%2Fevil.example", "/%5Cevil.example", `\/evil.example`,
		`\\evil.example`, "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
		"/\t/evil.example", "\t//evil.example", "/\n/evil.example", "/\r\n/evil.example", " //evil.example",
		"/%09/evil.example", "/%0a/evil.example", "/%0d%0aSet-Cookie:%20evil=1", "///evil.example",
		"https:/evil.example", "https:evil.example", "/%252F%252Fevil.example", "/%25252F%25252Fevil.example",
		"//evil.example/%2F..", "/.//evil.example", "/x/..//evil.example", "／／evil.example", "/\u3000/evil.example",
		"/\x00/evil.example", "evil.example", "?next=//evil.example", "#//evil.example",
		"/orgs/acme\r\nLocation: https://evil.example",
	}
	for _, payload := range evil {
		t.Run(url.PathEscape(payload), func(t *testing.T) {
			t.Parallel()
			c := e.Client(t)
			login := in.LoginURL + "?return_to=" + url.QueryEscape(payload)
			r := toCallback(t, e, c, login, "alice")
			r = callback(t, e, c, r)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("callback: %d %s", r.StatusCode, clip(r.Body))
			}
			loc := r.Header.Get("Location")
			sameOrigin(t, e, loc)
			if loc != home {
				t.Errorf("return_to %q: landed on %q, want the org home %q", payload, loc, home)
			}
			for name := range r.Header {
				if strings.EqualFold(name, "X-Evil") || strings.Contains(strings.Join(r.Header.Values("Set-Cookie"), ";"), "evil=") {
					t.Errorf("return_to %q injected a header: %v", payload, r.Header)
				}
			}
		})
	}
	// A same-origin path with a query survives unchanged.
	t.Run("benign", func(t *testing.T) {
		t.Parallel()
		c := e.Client(t)
		want := "/orgs/" + e.Org + "?tab=members&x=%2F"
		r := callback(t, e, c, toCallback(t, e, c, in.LoginURL+"?return_to="+url.QueryEscape(want), "alice"))
		if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("benign return_to: %d Location %q, want %q", r.StatusCode, loc, want)
		}
	})
}

// sameOrigin fails unless loc is an absolute path on the app (no scheme, no host, no
// protocol-relative or backslash trick, no control characters).
func sameOrigin(t testing.TB, e *apptest.Env, loc string) {
	t.Helper()
	if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t\r\n\x00 ") {
		t.Errorf("Location %q is not a plain same-origin path", loc)
		return
	}
	base, _ := url.Parse(e.URL)
	u, err := base.Parse(loc)
	if err != nil || u.Host != base.Host || u.Scheme != base.Scheme {
		t.Errorf("Location %q resolves off the origin (%v, %v)", loc, u, err)
	}
}

// TestStateReplay uses a callback URL again after it signed someone in: with the cookie
// gone (cleared at the callback) and with a copy of the cookie kept by an attacker. No
// second session either way.
func TestStateReplay(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	in, _ := e.ActiveIntegration(t)
	c := e.Client(t)
	r := toCallback(t, e, c, in.LoginURL, "alice")
	cbURL := r.Header.Get("Location")
	kept := cookieValue(t, e, c, stateCookie)
	if kept == "" {
		t.Fatal("no state cookie after starting a login")
	}
	done := callback(t, e, c, r)
	if done.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback: %d %s", done.StatusCode, clip(done.Body))
	}
	if cookieValue(t, e, c, stateCookie) != "" {
		t.Error("the state cookie was not cleared at the callback")
	}

	// Replay in the same browser: no state cookie any more.
	again := e.Get(t, c, cbURL)
	wantRefused(t, "replay without cookie", again, http.StatusBadRequest)

	// Replay from an attacker's browser that kept a copy of the state cookie: the code
	// was single-use at GitLab, so the exchange fails.
	attacker := e.Client(t)
	setCookie(e, attacker, stateCookie, kept)
	again = e.Get(t, attacker, cbURL)
	wantRefused(t, "replay with a copied cookie", again, http.StatusBadRequest)
	if r := whoami(t, e, attacker, e.Org); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the replaying browser is signed in: %d %s", r.StatusCode, r.Body)
	}
	// The code alone, with a fresh state cookie of the attacker's own login attempt.
	fresh := e.Client(t)
	e.StartLogin(t, fresh, in.LoginURL)
	again = e.Get(t, fresh, cbURL)
	wantRefused(t, "replay with another attempt's cookie", again, http.StatusBadRequest)
	if r := whoami(t, e, fresh, e.Org); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the replaying browser is signed in: %d", r.StatusCode)
	}
}

// wantRefused checks a refused callback: the status, a page (never a redirect into the
// org, never a 500), and no session cookie set.
func wantRefused(t testing.TB, what string, r apptest.Response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s: status %d, want %d; %s", what, r.StatusCode, status, clip(r.Body))
	}
	for _, ck := range r.Cookies() {
		if strings.Contains(ck.Name, "session") && ck.Value != "" {
			t.Errorf("%s: a session cookie was set", what)
		}
	}
	noInternals(t, what, r.Body)
}

// TestStateTamper flips, cuts and extends the sealed state cookie between the login and
// the callback: every change is refused with the "expired or not started here" page.
func TestStateTamper(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	in, _ := e.ActiveIntegration(t)
	edits := map[string]func(string) string{
		"flip first":  func(s string) string { return flip(s, 0) },
		"flip middle": func(s string) string { return flip(s, len(s)/2) },
		"flip last":   func(s string) string { return flip(s, len(s)-1) },
		"truncate":    func(s string) string { return s[:len(s)-4] },
		"append":      func(s string) string { return s + "AAAA" },
		"empty":       func(string) string { return "" },
		"garbage":     func(string) string { return "not-a-sealed-value" },
		"huge":        func(s string) string { return strings.Repeat(s, 3) },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := e.Client(t)
			r := toCallback(t, e, c, in.LoginURL, "alice")
			setCookie(e, c, stateCookie, edit(cookieValue(t, e, c, stateCookie)))
			got := callback(t, e, c, r)
			wantRefused(t, name, got, http.StatusBadRequest)
			if !strings.Contains(got.Body, "expired or was not started here") {
				t.Errorf("%s: not the expired-state page: %s", name, clip(got.Body))
			}
			if r := whoami(t, e, c, e.Org); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: signed in with a tampered cookie", name)
			}
		})
	}
}

// flip changes the base64url character at i into another valid one.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestStateExpiry finishes a sign-in more than 10 minutes after it started (the app's
// clock is advanced): refused, whatever the browser still sends.
func TestStateExpiry(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(time.Now())
	e := apptest.Start(t, apptest.Options{Now: clock.Now})
	in, _ := e.ActiveIntegration(t)
	c := e.Client(t)
	r := toCallback(t, e, c, in.LoginURL, "alice")
	clock.Advance(10*time.Minute + 2*time.Second)
	got := callback(t, e, c, r)
	wantRefused(t, "expired state", got, http.StatusBadRequest)
	if r := whoami(t, e, c, e.Org); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("signed in with an expired state cookie: %d", r.StatusCode)
	}
	// Just inside the window it works (the refusal above was the expiry).
	c2 := e.Client(t)
	r = toCallback(t, e, c2, in.LoginURL, "alice")
	clock.Advance(9 * time.Minute)
	if got := callback(t, e, c2, r); got.StatusCode != http.StatusSeeOther {
		t.Errorf("callback 9 minutes after the start: %d %s", got.StatusCode, clip(got.Body))
	}
}

// TestStateMixUp presents the state cookie and state of a login through integration A
// at integration B's callback (and B's code at A's callback): refused, nobody signed in.
// A is in org acme, B in org beta, both on the same GitLab server.
func TestStateMixUp(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	a, _ := e.ActiveIntegration(t)
	betaToken := secondOrg(t, e, "beta")
	b, _ := activeIn(t, e, "beta", betaToken, "Beta GitLab")

	victim := e.Client(t)
	toA := toCallback(t, e, victim, a.LoginURL, "alice") // cookie and state of A
	attacker := e.Client(t)
	toB := toCallback(t, e, attacker, b.LoginURL, "bob") // B's code and state

	aCookie := cookieValue(t, e, victim, stateCookie)
	aq, _ := url.Parse(toA.Header.Get("Location"))
	bq, _ := url.Parse(toB.Header.Get("Location"))
	cases := map[string]string{
		// A's cookie and state, arriving at B's callback with B's code.
		"A state at B": b.CallbackURL + "?" + url.Values{"code": {bq.Query().Get("code")}, "state": {aq.Query().Get("state")}}.Encode(),
		// A's cookie and state at A's callback, but B's code (a code injected from B).
		"B code at A": a.CallbackURL + "?" + url.Values{"code": {bq.Query().Get("code")}, "state": {aq.Query().Get("state")}}.Encode(),
		// A's cookie with B's state and code at B's callback.
		"B callback with A cookie": toB.Header.Get("Location"),
	}
	for name, u := range cases {
		setCookie(e, victim, stateCookie, aCookie) // each case with A's cookie in place
		got := e.Get(t, victim, u)
		wantRefused(t, name, got, http.StatusBadRequest)
	}
	for _, org := range []string{"acme", "beta"} {
		if r := whoami(t, e, victim, org); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the victim's browser is signed in to %s after a mix-up: %d", org, r.StatusCode)
		}
	}
}
