package browser_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
)

// TestHarnessCatchesProblems proves the checks bite: a CSP violation, a console error, an
// uncaught exception and pages with accessibility faults are all reported.
func TestHarnessCatchesProblems(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /csp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-abc'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><head><title>csp</title><link rel="icon" href="data:,"></head><body><h1>CSP</h1>
<script>document.title = "inline ran";</script></body></html>`))
	})
	mux.HandleFunc("GET /errors", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><head><title>errors</title><link rel="icon" href="data:,"></head><body><h1>Errors</h1>
<script>console.error("something broke"); setTimeout(function () { null.x; }, 0);</script></body></html>`))
	})
	mux.HandleFunc("GET /a11y", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html><head><title>a11y</title><link rel="icon" href="data:,"></head><body><h1>One</h1><h1>Two</h1>
<input type="text" name="nolabel"><label for="ok">OK</label><input id="ok" name="ok"><input aria-label="Search" name="q">
<input type="hidden" name="h"><img src="data:,"><button></button><button>Fine</button><a href="/x"></a></body></html>`))
	})
	mux.HandleFunc("GET /forbidden", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<!doctype html><html lang="en"><head><title>no</title><link rel="icon" href="data:,"></head><body><h1>No</h1></body></html>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	b := NewBrowser(t)
	p := b.NewPage("probe", false)

	navigate := func(path string) {
		t.Helper()
		c, cancel := p.ctx()
		defer cancel()
		if _, err := runNavigate(c, srv.URL+path); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
	}

	navigate("/csp")
	if title := p.Eval(`document.title`); title != "csp" {
		t.Errorf("inline script without nonce ran (title %q); the test page is wrong", title)
	}
	errs := waitErrors(p, 2)
	if !containsAny(errs, "Content Security Policy", "CSP violation") {
		t.Errorf("CSP violation not reported; got %q", errs)
	}
	t.Logf("a CSP violation reads: %q", errs)

	navigate("/errors")
	errs = waitErrors(p, 2)
	if !containsAny(errs, "something broke") || !containsAny(errs, "null") {
		t.Errorf("console.error and the exception not both reported; got %q", errs)
	}

	navigate("/a11y")
	problems := p.A11yProblems()
	for _, want := range []string{"no lang", "2 <h1>", `input[name="nolabel"]`, "img", "button has no text", "link to /x"} {
		if !containsAny(problems, want) {
			t.Errorf("a11y check missed %q; got %q", want, problems)
		}
	}
	for _, bad := range []string{`"ok"`, `"q"`, `"h"`} {
		if containsAny(problems, bad) {
			t.Errorf("a11y check flags a labelled or hidden input %s: %q", bad, problems)
		}
	}

	navigate("/forbidden")
	if errs := waitErrors(p, 1); !containsAny(errs, "403") {
		t.Errorf("a 403 document is not reported without AllowHTTPError; got %q", errs)
	}
	p.AllowHTTPError(403)
	navigate("/forbidden")
	if st := p.Status(); st != 403 {
		t.Errorf("status of /forbidden = %d, want 403", st)
	}
	if errs := p.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("AllowHTTPError(403) still reports %q", errs)
	}
}

// TestHarnessFakeGitLab walks the fake GitLab's pages that the journeys use: sign-in and
// the admin-area application form, whose result page shows the application ID and secret.
func TestHarnessFakeGitLab(t *testing.T) {
	t.Parallel()
	gl := fakegitlab.New(fakegitlab.Options{})
	base, err := gl.Start("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gl.Close() })

	b := NewBrowser(t)
	p := b.NewPage("gitlab", false)
	p.Open("GitLab admin applications (sign-in first)", base+"/admin/applications/new")
	if !strings.HasSuffix(p.Location(), "/users/sign_in") {
		t.Fatalf("anonymous admin page went to %s, want the sign-in page", p.Location())
	}
	createGitLabApp(t, p, "root", "forgelink test", "http://127.0.0.1:1/orgs/acme/login/x/callback", true)
}

func containsAny(list []string, subs ...string) bool {
	for _, s := range list {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
	}
	return false
}
