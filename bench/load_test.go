package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// newTransport is the one client transport of a measurement: keep-alive, as many idle
// connections per host as there are workers, no compression, no proxy.
func newTransport(conc int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        4 * conc,
		MaxIdleConnsPerHost: conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// noRedirect makes a client that returns every 3xx to the caller.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// result is one measured run: a fixed number of operations at a fixed concurrency.
type result struct {
	Target   string
	Conc     int
	Planned  int
	Done     int // operations that finished (errors included)
	Errors   int
	FirstErr error
	Elapsed  time.Duration
	Lat      []time.Duration // sorted, successful and failed operations
	// ServerCPU is the CPU time the server process used during the run (0: not measured).
	ServerCPU time.Duration
	// ServerSwitches is the number of context switches of the server's threads during
	// the run (0: not measured).
	ServerSwitches int64
}

// SwitchesPerOp is the server's context switches per operation, 0 when not measured.
func (r result) SwitchesPerOp() float64 {
	if r.ServerSwitches <= 0 || r.Done == 0 {
		return 0
	}
	return float64(r.ServerSwitches) / float64(r.Done)
}

// CPUPerOp is the server's CPU time per operation, 0 when not measured.
func (r result) CPUPerOp() time.Duration {
	if r.ServerCPU <= 0 || r.Done == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Done)
}

// Throughput is operations per second over the run's wall time.
func (r result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Done) / r.Elapsed.Seconds()
}

// Pct is the nearest-rank percentile q (0..1) of the latencies.
func (r result) Pct(q float64) time.Duration { return pct(r.Lat, q) }

// pct is the nearest-rank percentile q (0..1) of sorted latencies.
func pct(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	i := int(q*float64(len(lat))+0.5) - 1
	return lat[max(0, min(i, len(lat)-1))]
}

func (r result) String() string {
	s := fmt.Sprintf("%s c=%d n=%d/%d err=%d %.0f/s p50=%s p99=%s", r.Target, r.Conc, r.Done, r.Planned,
		r.Errors, r.Throughput(), fmtDur(r.Pct(0.5)), fmtDur(r.Pct(0.99)))
	if r.FirstErr != nil {
		s += " first error: " + r.FirstErr.Error()
	}
	return s
}

// run performs n operations with conc workers, stopping early (and saying so through
// Done < Planned) when maxDur has passed. op gets the worker's index.
func run(target string, n, conc int, maxDur time.Duration, op func(ctx context.Context, worker int) error) result {
	ctx, cancel := context.WithTimeout(context.Background(), maxDur)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, n)
		errs     int
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n/conc+1)
			var lerrs int
			var lfirst error
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				t0 := time.Now()
				err := op(ctx, w)
				local = append(local, time.Since(t0))
				if err != nil {
					lerrs++
					if lfirst == nil {
						lfirst = err
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += lerrs
			if firstErr == nil {
				firstErr = lfirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return result{Target: target, Conc: conc, Planned: n, Done: len(lat), Errors: errs, FirstErr: firstErr, Elapsed: elapsed, Lat: lat}
}

// get sends one GET with c and drains the body; it returns the response with its body read.
func get(ctx context.Context, c *http.Client, u string) (*http.Response, string, error) {
	return send(ctx, c, http.MethodGet, u)
}

// startMethod is the method of a login start at u: forgelink's starts with its sign-in
// page's button, a POST to the login link (and so does the bare handler that replays it);
// oauth2-proxy's /oauth2/start is a GET.
func startMethod(u string) string {
	if p := pathOf(u); strings.Contains(p, "/login/") && !strings.HasSuffix(p, "/callback") {
		return http.MethodPost
	}
	return http.MethodGet
}

// send sends one request without a body with c and drains the answer's body.
func send(ctx context.Context, c *http.Client, method, u string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

// expectRedirect is one login-start request: a 302 whose Location starts with prefix.
func expectRedirect(ctx context.Context, c *http.Client, u, prefix string) error {
	resp, _, err := send(ctx, c, startMethod(u), u)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusFound {
		return fmt.Errorf("GET %s: status %d, want 302", u, resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, prefix) {
		return fmt.Errorf("GET %s: Location %q, want prefix %q", u, loc, prefix)
	}
	return nil
}

// signIn walks one browser sign-in from start: a fresh cookie jar (a new browser), every
// redirect followed by hand on the shared transport, until a non-redirect answer. check
// judges the final response.
func signIn(ctx context.Context, tr http.RoundTripper, start string, check func(*http.Response, string) error) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: tr, Jar: jar, CheckRedirect: noRedirect, Timeout: 30 * time.Second}
	u, method := start, startMethod(start)
	for hop := 0; hop < 10; hop++ {
		resp, body, err := send(ctx, c, method, u)
		method = http.MethodGet // redirects are followed with GET
		if err != nil {
			return err
		}
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			return check(resp, body)
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return fmt.Errorf("hop %d: bad Location: %v", hop, err)
		}
		u = loc.String()
	}
	return fmt.Errorf("sign-in from %s: too many redirects", start)
}

// pathOf returns the path of an absolute URL, "" when it does not parse.
func pathOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Path
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}
