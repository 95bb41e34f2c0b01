package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab/oauth2proxy"
)

// Sizes of the report run: bounded in count and, per cell, in time.
const (
	loginStartN    = 3000 // requests per target, concurrency level and repetition
	loginStartReps = 3    // repetitions per cell, interleaved; the median throughput is kept
	onePReps       = 5    // repetitions of the one-P comparison at concurrency 1
	cellTimeout    = 15 * time.Second
	loadN          = 300 // sign-ins of the load run
	loadConc       = 16
	coldRounds     = 5
)

// The targets of the one-P comparison (section 1b), beside "forgelink" and "bare handler".
const (
	onePForgelink = "forgelink, GOMAXPROCS=1"
	onePBare      = "bare handler, GOMAXPROCS=1"
)

var signInLevels = []struct{ Conc, N int }{{1, 150}, {8, 400}}

// TestBenchReport runs every measurement, prints the tables and writes BENCHMARKS.md at
// the repository root. make bench runs it (FORGELINK_BENCH=1); plain go test skips it.
func TestBenchReport(t *testing.T) {
	if os.Getenv("FORGELINK_BENCH") != "1" {
		t.Skip("set FORGELINK_BENCH=1 (make bench) to run the benchmark report")
	}
	began := time.Now()
	rep := &report{Began: began}

	// Builds first, so that compiling never competes with a measurement.
	runnerBinary(t)
	boots := buildBootstraps(t)
	t.Logf("builds done in %s", time.Since(began).Round(time.Millisecond))

	gl, glURL := startGitLab(t)
	fl := startRunner(t, gl, glURL)
	bare, barePID := startBareP(t, captureLoginStart(t, fl.LoginURL))
	proxy := ""
	// Binary skips (or fails under CI) when oauth2-proxy cannot be built; in a sub-test
	// that leaves only its rows out.
	available := false
	t.Run("oauth2-proxy", func(t *testing.T) { oauth2proxy.Binary(t); available = true })
	if available {
		proxy = startOAuth2Proxy(t, gl, glURL)
	} else {
		rep.Notes = append(rep.Notes, "oauth2-proxy was unavailable (its binary could not be built): its rows are missing.")
	}

	// 1. Login start.
	starts := []loginTarget{
		{"forgelink", fl.LoginURL, fl.PID},
		{"bare handler", bare + pathOf(fl.LoginURL), barePID},
	}
	if proxy != "" {
		starts = append(starts, loginTarget{"oauth2-proxy", proxy + "/oauth2/start?rd=%2F", pidListening(proxy)})
	}
	authorize := glURL + "/oauth/authorize?"
	for _, conc := range concLevels {
		for _, r := range measureLoginStarts(starts, authorize, conc, loginStartReps) {
			t.Log("login start:", r)
			rep.LoginStart = append(rep.LoginStart, r)
		}
	}

	// 1b. Login start at concurrency 1 with one P each, beside the default: it shows how
	// much of the gap at concurrency 1 is the Go scheduler handing work between CPUs.
	fl1 := startRunner(t, gl, glURL, "GOMAXPROCS=1")
	bare1, bare1PID := startBareP(t, captureLoginStart(t, fl1.LoginURL), "GOMAXPROCS=1")
	oneP := []loginTarget{
		starts[0], starts[1],
		{onePForgelink, fl1.LoginURL, fl1.PID},
		{onePBare, bare1 + pathOf(fl1.LoginURL), bare1PID},
	}
	for _, r := range measureLoginStarts(oneP, authorize, 1, onePReps) {
		t.Log("login start, one P:", r)
		rep.OneP = append(rep.OneP, r)
	}

	// 2. Full sign-in.
	type flow struct {
		name, url string
		pid       int
		check     func(*http.Response, string) error
	}
	signIns := []flow{{"forgelink", fl.LoginURL, fl.PID, checkForgelinkHome}}
	if proxy != "" {
		signIns = append(signIns, flow{"oauth2-proxy", proxy + "/oauth2/start?rd=%2F", pidListening(proxy), checkProxyUpstream})
	}
	for _, lv := range signInLevels {
		for _, si := range signIns {
			tr := newTransport(lv.Conc)
			op := func(ctx context.Context, _ int) error { return signIn(ctx, tr, si.url, si.check) }
			run(si.name, 2*lv.Conc, lv.Conc, cellTimeout, op)
			r := measured(si.pid, func() result { return run(si.name, lv.N, lv.Conc, 2*cellTimeout, op) })
			tr.CloseIdleConnections()
			t.Log("sign-in:", r)
			rep.SignIn = append(rep.SignIn, r)
		}
	}

	// 5. Load run on the runner, its RSS sampled.
	rep.Load = loadRun(t, fl)
	t.Log("load run:", rep.Load.Result, "rss high-water", rep.Load.HWM)

	// 3. AWS calls per sign-in.
	t.Run("aws-calls", func(t *testing.T) {
		aws := measureAWSCalls(t)
		rep.AWS = &aws
	})

	// 4. Cold start.
	rep.Boots = boots
	rep.Cold = measureColdStarts(t, boots, coldRounds)
	rep.Warm = measureWarmInvokes(t, boots)
	rep.InitTrace = map[string]initTrace{}
	for _, bs := range boots {
		if tr, err := measureInitTrace(bs); err == nil {
			rep.InitTrace[bs.Name] = tr
		} else {
			t.Log("inittrace:", err)
		}
	}

	// Profile of forgelink (in-process) over login starts and sign-ins.
	rep.Profile = profileForgelink(t)

	rep.Elapsed = time.Since(began)
	md := rep.markdown(t)
	fmt.Println(rep.console())
	path := filepath.Join(moduleRoot(t), "BENCHMARKS.md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s in %s", path, rep.Elapsed.Round(time.Second))
	for _, r := range append(append([]result{}, rep.LoginStart...), rep.SignIn...) {
		if r.Errors > 0 {
			t.Errorf("%s c=%d: %d errors, first: %v", r.Target, r.Conc, r.Errors, r.FirstErr)
		}
	}
	if rep.Load.Result.Errors > 0 || rep.Load.Result.Done < loadN {
		t.Errorf("load run: %d errors of %d/%d, first: %v", rep.Load.Result.Errors, rep.Load.Result.Done, loadN, rep.Load.Result.FirstErr)
	}
}

// loginTarget is a server that answers login starts, and its process.
type loginTarget struct {
	name, url string
	pid       int
}

// measureLoginStarts runs loginStartN login starts at conc against every target, reps
// times with the order rotated (drift hits every target alike), and returns each target's
// median run.
func measureLoginStarts(targets []loginTarget, authorize string, conc, reps int) []result {
	runs := map[string][]result{}
	for rep := range reps {
		for i := range targets {
			tg := targets[(i+rep)%len(targets)]
			c := &http.Client{Transport: newTransport(conc), CheckRedirect: noRedirect, Timeout: 10 * time.Second}
			op := func(ctx context.Context, _ int) error { return expectRedirect(ctx, c, tg.url, authorize) }
			run(tg.name, 4*conc, conc, cellTimeout, op) // warm-up: connections, caches
			runs[tg.name] = append(runs[tg.name], measured(tg.pid, func() result { return run(tg.name, loginStartN, conc, cellTimeout, op) }))
			c.CloseIdleConnections()
		}
	}
	out := make([]result, 0, len(targets))
	for _, tg := range targets {
		out = append(out, medianRun(runs[tg.name]))
	}
	return out
}

// measured is do's result with the CPU time and context switches that process pid spent
// during it.
func measured(pid int, do func() result) result {
	cpu0, okC0 := procCPU(pid)
	sw0, okS0 := procSwitches(pid)
	r := do()
	if cpu1, ok := procCPU(pid); okC0 && ok {
		r.ServerCPU = cpu1 - cpu0
	}
	if sw1, ok := procSwitches(pid); okS0 && ok {
		r.ServerSwitches = sw1 - sw0
	}
	return r
}

// medianRun picks the repetition with the median throughput.
func medianRun(rs []result) result {
	s := append([]result(nil), rs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j].Throughput() < s[i].Throughput() {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// loadResult is the bounded load run.
type loadResult struct {
	Result        result
	RSSBefore     int64 // bytes, after start-up and one sign-in
	RSSPeak       int64 // highest sampled VmRSS during the run
	HWM           int64 // VmHWM at the end: the kernel's high-water mark of the process
	SamplePeriod  time.Duration
	SamplesTaken  int
	RunnerProcess string
}

// loadRun signs in loadN times at loadConc against the runner process and samples its RSS.
func loadRun(t *testing.T, fl *forgelinkTarget) loadResult {
	t.Helper()
	tr := newTransport(loadConc)
	defer tr.CloseIdleConnections()
	op := func(ctx context.Context, _ int) error { return signIn(ctx, tr, fl.LoginURL, checkForgelinkHome) }
	lr := loadResult{SamplePeriod: 5 * time.Millisecond, RunnerProcess: "go build ./infra/cmd/forgelink-local, FORGELINK_STORE=memory"}
	lr.RSSBefore, _ = procStatus(fl.PID, "VmRSS")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(lr.SamplePeriod)
		defer tick.Stop()
		for {
			if v, err := procStatus(fl.PID, "VmRSS"); err == nil {
				lr.RSSPeak = max(lr.RSSPeak, v)
				lr.SamplesTaken++
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	lr.Result = run("forgelink", loadN, loadConc, 60*time.Second, op)
	close(stop)
	wg.Wait()
	lr.HWM, _ = procStatus(fl.PID, "VmHWM")
	return lr
}

// procStatus reads a kB field of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == field {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n * 1024, err
		}
	}
	return 0, fmt.Errorf("%s: no %s", field, field)
}

// profileForgelink runs forgelink in this process under the CPU profiler: login starts at
// concurrency 8, then sign-ins at concurrency 8, and returns `go tool pprof -top` of each.
func profileForgelink(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	gl, glURL := startGitLab(t)
	fl := startInProcess(t, gl, glURL)
	dir := filepath.Join(os.TempDir(), "forgelink-bench")
	os.MkdirAll(dir, 0o755)
	for _, p := range []struct {
		name string
		n    int
		op   func(tr *http.Transport) func(context.Context, int) error
	}{
		{"login-start", 20000, func(tr *http.Transport) func(context.Context, int) error {
			c := &http.Client{Transport: tr, CheckRedirect: noRedirect}
			return func(ctx context.Context, _ int) error { return expectRedirect(ctx, c, fl.LoginURL, glURL) }
		}},
		{"sign-in", 1500, func(tr *http.Transport) func(context.Context, int) error {
			return func(ctx context.Context, _ int) error { return signIn(ctx, tr, fl.LoginURL, checkForgelinkHome) }
		}},
	} {
		file := filepath.Join(dir, p.name+".cpu.pprof")
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		tr := newTransport(8)
		op := p.op(tr)
		run(p.name, 16, 8, cellTimeout, op)
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			out[p.name] = "(profiler busy: " + err.Error() + ")"
			continue
		}
		r := run(p.name, p.n, 8, cellTimeout, op)
		pprof.StopCPUProfile()
		f.Close()
		tr.CloseIdleConnections()
		// Cumulative, focused on stacks through forgelink's code: the test process also
		// holds the client and the fake GitLab.
		top, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=30",
			"-focus=github.com/forgelink/forgelink/shared/", file).CombinedOutput()
		if err != nil {
			top = []byte("go tool pprof: " + err.Error())
		}
		out[p.name] = fmt.Sprintf("profile: %s (%d operations, %d errors)\n%s", file, r.Done, r.Errors, trimPprof(string(top)))
	}
	return out
}

// trimPprof drops pprof's header lines that name the binary and the time.
func trimPprof(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Time:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}

func goVersion() string { return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH }
