package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/netguard"
	"github.com/forgelink/forgelink/shared/statecookie"
)

// Go benchmarks. `make test` runs them with -benchtime=1x so they never rot; run them
// longer and with -cpuprofile to profile forgelink (it runs in this process here, unlike
// in TestBenchReport where it is the local runner's own process).

var concLevels = []int{1, 8, 32}

// reportRun turns a run into benchmark metrics: ns/op is wall time per operation across
// all workers; p50 and p99 are per-operation latencies.
func reportRun(b *testing.B, r result) {
	b.Helper()
	if r.Errors > 0 {
		b.Fatalf("%d errors; first: %v", r.Errors, r.FirstErr)
	}
	b.ReportMetric(r.Throughput(), "req/s")
	b.ReportMetric(float64(r.Pct(0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.Pct(0.99).Microseconds()), "p99-µs")
}

// BenchmarkLoginStart: login link → 302 to GitLab, forgelink vs oauth2-proxy vs a bare
// handler replaying forgelink's 302.
func BenchmarkLoginStart(b *testing.B) {
	gl, glURL := startGitLab(b)
	fl := startInProcess(b, gl, glURL)
	bare := startBare(b, captureLoginStart(b, fl.LoginURL))
	targets := []struct{ name, url, prefix string }{
		{"forgelink", fl.LoginURL, glURL + "/oauth/authorize?"},
		{"bare", bare + pathOf(fl.LoginURL), glURL + "/oauth/authorize?"},
	}
	if proxy := tryOAuth2Proxy(b, gl, glURL); proxy != "" {
		targets = append(targets, struct{ name, url, prefix string }{"oauth2-proxy", proxy + "/oauth2/start?rd=%2F", glURL + "/oauth/authorize?"})
	}
	for _, tg := range targets {
		for _, conc := range concLevels {
			b.Run(fmt.Sprintf("%s/c=%d", tg.name, conc), func(b *testing.B) {
				c := &http.Client{Transport: newTransport(conc), CheckRedirect: noRedirect, Timeout: 10 * time.Second}
				run(tg.name, conc, conc, 10*time.Second, func(ctx context.Context, _ int) error { // warm the connections
					return expectRedirect(ctx, c, tg.url, tg.prefix)
				})
				b.ResetTimer()
				r := run(tg.name, b.N, conc, 5*time.Minute, func(ctx context.Context, _ int) error {
					return expectRedirect(ctx, c, tg.url, tg.prefix)
				})
				reportRun(b, r)
			})
		}
	}
}

// BenchmarkSignIn: a whole sign-in with the fake GitLab's auto-approve, a new browser
// (cookie jar) each time.
func BenchmarkSignIn(b *testing.B) {
	gl, glURL := startGitLab(b)
	fl := startInProcess(b, gl, glURL)
	targets := []struct {
		name, url string
		check     func(*http.Response, string) error
	}{{"forgelink", fl.LoginURL, checkForgelinkHome}}
	if proxy := tryOAuth2Proxy(b, gl, glURL); proxy != "" {
		targets = append(targets, struct {
			name, url string
			check     func(*http.Response, string) error
		}{"oauth2-proxy", proxy + "/oauth2/start?rd=%2F", checkProxyUpstream})
	}
	for _, tg := range targets {
		for _, conc := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/c=%d", tg.name, conc), func(b *testing.B) {
				tr := newTransport(conc)
				b.ResetTimer()
				r := run(tg.name, b.N, conc, 5*time.Minute, func(ctx context.Context, _ int) error {
					return signIn(ctx, tr, tg.url, tg.check)
				})
				reportRun(b, r)
			})
		}
	}
}

// checkForgelinkHome accepts the org home page of a signed-in alice.
func checkForgelinkHome(resp *http.Response, body string) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("final %s: status %d: %s", resp.Request.URL, resp.StatusCode, tail(body, 300))
	}
	if resp.Request.URL.Path != "/orgs/"+org || !strings.Contains(body, "alice") {
		return fmt.Errorf("final %s: not alice's org home page: %s", resp.Request.URL, tail(body, 300))
	}
	return nil
}

// checkProxyUpstream accepts oauth2-proxy's upstream (static://200) at /.
func checkProxyUpstream(resp *http.Response, body string) error {
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		return fmt.Errorf("final %s: status %d: %s", resp.Request.URL, resp.StatusCode, tail(body, 300))
	}
	return nil
}

// tryOAuth2Proxy starts oauth2-proxy when its binary is there or can be built; without it
// (no network) the oauth2-proxy rows are left out instead of skipping the benchmark.
func tryOAuth2Proxy(b *testing.B, gl *fakegitlab.Server, glURL string) string {
	b.Helper()
	if !oauth2ProxyAvailable() {
		b.Log("oauth2-proxy unavailable: its rows are left out")
		return ""
	}
	return startOAuth2Proxy(b, gl, glURL)
}

// Hot paths, without the network.

// signInState is shaped like what a login start seals into its cookie.
type signInState struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Org      string `json:"o"`
	ID       string `json:"i"`
	ReturnTo string `json:"r,omitempty"`
}

func benchState() signInState {
	return signInState{
		State:    "Qm9vdHN0cmFwIHN0YXRlIGZvciB0aGUgYmVuY2htYXJr",
		Verifier: "dmVyaWZpZXItZm9yLXRoZS1iZW5jaG1hcmstMDEyMzQ1Njc4OWFiY2RlZg",
		Org:      org, ID: "01JDBENCHINTEGRATION00000", ReturnTo: "/orgs/acme/projects",
	}
}

func BenchmarkStateCookieSeal(b *testing.B) {
	s, err := statecookie.New([]byte(randomKey()))
	if err != nil {
		b.Fatal(err)
	}
	v, now := benchState(), time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(v, now, 10*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStateCookieOpen(b *testing.B) {
	s, err := statecookie.New([]byte(randomKey()))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	tok, err := s.Seal(benchState(), now, 10*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var v signInState
		if err := s.Open(tok, now, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// publicResolver answers every name with one public address, so URL validation is measured
// without DNS.
type publicResolver struct{}

func (publicResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

func BenchmarkValidateGitLabURL(b *testing.B) {
	p := netguard.Policy{Resolver: publicResolver{}}
	ctx := context.Background()
	for _, raw := range []string{"https://GitLab.Example.com/gitlab/", "https://0x7f.1/"} {
		b.Run(strings.NewReplacer("/", "_", ":", "").Replace(raw), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.ValidateGitLabURL(ctx, raw)
			}
		})
	}
}

// BenchmarkDispatch serves requests straight into the handler (no network): /healthz is
// the router and middleware alone, login is a whole login start.
func BenchmarkDispatch(b *testing.B) {
	gl, glURL := startGitLab(b)
	fl := startInProcess(b, gl, glURL)
	for _, tc := range []struct{ name, function, url string }{
		{"healthz", "", fl.URL + "/healthz"},
		{"login", "login", fl.LoginURL},
	} {
		h := fl.App.Handler(tc.function)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(startMethod(tc.url), tc.url, nil))
				if rec.Code != http.StatusOK && rec.Code != http.StatusFound {
					b.Fatalf("%s: status %d", tc.url, rec.Code)
				}
			}
		})
	}
}
