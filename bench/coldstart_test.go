package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/forgelink/forgelink/infra/sam"
)

// lambdaPackages are the bootstraps measured: forgelink's four functions and the
// hello-world Lambda they are compared with.
var lambdaPackages = []struct{ Name, Pkg string }{
	{"hello-world", "./bench/hello"},
	{"integrations", "./functions/integrations"},
	{"login", "./functions/login"},
	{"callback", "./functions/callback"},
	{"session", "./functions/session"},
}

// buildLambda builds pkg as a Lambda bootstrap for goarch exactly as sam build does for
// template.yaml (provided.al2023): GOOS=linux, CGO_ENABLED=0, -tags lambda.norpc,
// -trimpath -ldflags "-s -w". Every bootstrap here, hello-world included, is built by this
// one function, so they are built the same way.
func buildLambda(tb testing.TB, root, pkg, goarch, out string) (int64, error) {
	tb.Helper()
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build %s for %s: %v\n%s", pkg, goarch, err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// bootstrap is one built function.
type bootstrap struct {
	Name      string
	Path      string // host architecture, run under the emulator
	SizeHost  int64
	SizeARM64 int64
}

// buildBootstraps builds every bootstrap for the host and for arm64 (what SAM deploys),
// two at a time.
func buildBootstraps(tb testing.TB) []bootstrap {
	tb.Helper()
	root := moduleRoot(tb)
	dir := tb.TempDir()
	out := make([]bootstrap, len(lambdaPackages))
	errs := make([]error, 2*len(lambdaPackages))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, lp := range lambdaPackages {
		out[i] = bootstrap{Name: lp.Name, Path: filepath.Join(dir, runtime.GOARCH, lp.Name, "bootstrap")}
		for j, arch := range []string{runtime.GOARCH, "arm64"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				size, err := buildLambda(tb, root, lp.Pkg, arch, filepath.Join(dir, arch, lp.Name, "bootstrap"))
				errs[2*i+j] = err
				if j == 0 {
					out[i].SizeHost = size
				}
				if arch == "arm64" {
					out[i].SizeARM64 = size
				}
			}()
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
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

// healthEvent is an API Gateway HTTP API (payload 2.0) event for GET /healthz.
func healthEvent() []byte {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "GET /healthz", RawPath: "/healthz",
		Headers: map[string]string{"host": "abc123.execute-api.us-east-1.amazonaws.com"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "abc123.execute-api.us-east-1.amazonaws.com", Stage: "$default",
			RequestID: "bench-cold-start-0001", APIID: "abc123",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/healthz", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
		},
	}
	b, _ := json.Marshal(ev)
	return b
}

// measureColdStarts starts every bootstrap `rounds` times under the Lambda Runtime Interface
// Emulator (a new emulator, so a new process, each time; bootstraps interleaved so drift
// hits all alike) and reads the emulator's INIT REPORT. forgelink's functions run on the
// memory store with FORGELINK_COOKIE_KEY, so init is forgelink's own code only (under
// Lambda, reading the cookie key adds one Secrets Manager call: see the AWS calls table).
func measureColdStarts(tb testing.TB, boots []bootstrap, rounds int) []coldStart {
	tb.Helper()
	sam.RIEBinary(tb)
	ev := healthEvent()
	env := []string{
		"FORGELINK_STORE=memory",
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
			d, ok := r.InitDuration()
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

// TestColdStart measures cold starts and sizes on their own. It builds ten binaries (minutes
// on a cold build cache), so it runs only with FORGELINK_BENCH=1, like TestBenchReport.
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
