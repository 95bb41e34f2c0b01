package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/testkit/sam"
)

// lambdaPackages are the bootstraps measured: the hello-world Lambda, the SDK hello-world
// (hello-world plus the AWS clients every function builds) and forgelink's four functions.
// The first two must stay first: the report divides by them.
var lambdaPackages = []struct{ Name, Pkg string }{
	{"hello-world", "./bench/hello"},
	{"sdk-hello-world", "./bench/hellosdk"},
	{"integrations", "./functions/integrations"},
	{"login", "./functions/login"},
	{"callback", "./functions/callback"},
	{"session", "./functions/session"},
}

// buildLambdas builds pkgs as Lambda bootstraps for goarch into dir/<package name>, exactly
// as sam build does for template.yaml (provided.al2023): GOOS=linux, CGO_ENABLED=0, -tags
// lambda.norpc, -trimpath -ldflags "-s -w". Every bootstrap here, hello-world included, is
// built by this one function, so they are built the same way. One `go build` per
// architecture: the go command links the packages in parallel and compiles each shared
// dependency once, which keeps a cold build cache inside make bench's 5 minutes (one
// `go build` per binary did not).
func buildLambdas(root, goarch, dir string, pkgs []string) error {
	args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build for %s: %v\n%s", goarch, err, b)
	}
	return nil
}

// bootstrap is one built function.
type bootstrap struct {
	Name      string
	Path      string // host architecture, run under the emulator
	SizeHost  int64
	SizeARM64 int64
}

// buildBootstraps builds every bootstrap for the host and for arm64 (what SAM deploys),
// the two architectures in parallel. The host's land in <tmp>/<arch>/<name>/bootstrap:
// the emulator names the function after the directory.
func buildBootstraps(tb testing.TB) []bootstrap {
	tb.Helper()
	root := moduleRoot(tb)
	dir := tb.TempDir()
	var pkgs []string
	for _, lp := range lambdaPackages {
		pkgs = append(pkgs, lp.Pkg)
	}
	arches := []string{runtime.GOARCH}
	if runtime.GOARCH != "arm64" {
		arches = append(arches, "arm64")
	}
	errs := make([]error, len(arches))
	var wg sync.WaitGroup
	for i, arch := range arches {
		wg.Go(func() { errs[i] = buildLambdas(root, arch, filepath.Join(dir, arch, ".out"), pkgs) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	out := make([]bootstrap, len(lambdaPackages))
	for i, lp := range lambdaPackages {
		out[i] = bootstrap{Name: lp.Name}
		for _, arch := range arches {
			path := filepath.Join(dir, arch, lp.Name, "bootstrap")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.Rename(filepath.Join(dir, arch, ".out", filepath.Base(lp.Pkg)), path); err != nil {
				tb.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				tb.Fatal(err)
			}
			if arch == runtime.GOARCH {
				out[i].Path, out[i].SizeHost = path, fi.Size()
			}
			if arch == "arm64" {
				out[i].SizeARM64 = fi.Size()
			}
		}
	}
	return out
}

// coldStart is the measured init of one bootstrap.
type coldStart struct {
	Name       string
	Inits      []time.Duration // INIT REPORT durations, sorted
	FirstCalls []time.Duration // wall time of the first invoke (spawn + init + request), sorted
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[len(ds)/2]
}

// eventFile is events/<name>, the checked-in API Gateway event that TestRIE and
// TestEventsThroughLambdaHandlers invoke too.
func eventFile(tb testing.TB, name string) []byte {
	tb.Helper()
	dir, err := sam.EventsDir()
	if err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// measureColdStarts starts every bootstrap `rounds` times under the Lambda Runtime Interface
// Emulator (a new emulator, so a new process, each time; bootstraps interleaved so drift
// hits all alike) and reads the emulator's INIT REPORT. Every bootstrap runs as
// template.yaml configures the functions (FORGELINK_STORE=aws, the SDK's standard
// variables) with FORGELINK_COOKIE_KEY instead of the cookie-key secret, so no AWS call is
// in the init (under Lambda, reading the cookie key adds one Secrets Manager call: see the
// AWS calls table).
func measureColdStarts(tb testing.TB, boots []bootstrap, rounds int) []coldStart {
	tb.Helper()
	sam.RIEBinary(tb)
	ev := eventFile(tb, "healthz.json")
	env := []string{
		"FORGELINK_STORE=aws",
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=bench",
		"AWS_SECRET_ACCESS_KEY=bench",
		"FORGELINK_COOKIE_KEY=" + randomKey(),
		"FORGELINK_LOG_LEVEL=info",
		"FORGELINK_TABLE=forgelink",
		"FORGELINK_SECRET_PREFIX=forgelink/bench/",
	}
	out := make([]coldStart, len(boots))
	for round := range rounds {
		for i, bs := range boots {
			out[i].Name = bs.Name
			r := sam.StartRIE(tb, bs.Path, env)
			t0 := time.Now()
			if _, err := r.Invoke(ev); err != nil {
				tb.Fatalf("%s (round %d): %v", bs.Name, round, err)
			}
			first := time.Since(t0)
			// The emulator may log INIT REPORT a moment after the invoke's answer.
			d, ok := r.InitDuration()
			for deadline := time.Now().Add(2 * time.Second); !ok && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
				d, ok = r.InitDuration()
			}
			if !ok {
				tb.Fatalf("%s: no INIT REPORT in the emulator log:\n%s", bs.Name, tail(r.Logs(), 2000))
			}
			r.Stop()
			out[i].Inits = append(out[i].Inits, d)
			out[i].FirstCalls = append(out[i].FirstCalls, first)
		}
	}
	for i := range out {
		slices.Sort(out[i].Inits)
		slices.Sort(out[i].FirstCalls)
	}
	return out
}

// TestColdStart measures cold starts and sizes on their own. It builds ten binaries (two
// go builds, a minute or two on a cold build cache), so it runs only with FORGELINK_BENCH=1,
// like TestBenchReport.
func TestColdStart(t *testing.T) {
	if os.Getenv("FORGELINK_BENCH") != "1" {
		t.Skip("set FORGELINK_BENCH=1 to build and time the bootstraps")
	}
	boots := buildBootstraps(t)
	cs := measureColdStarts(t, boots, 3)
	for i, c := range cs {
		t.Logf("%-12s init median %s (min %s) first call %s, %d bytes (arm64 %d)", c.Name,
			fmtDur(median(c.Inits)), fmtDur(c.Inits[0]), fmtDur(median(c.FirstCalls)), boots[i].SizeHost, boots[i].SizeARM64)
	}
}
