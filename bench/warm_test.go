package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/forgelink/forgelink/infra/testkit/sam"
	"github.com/forgelink/forgelink/infra/testkit/tier"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/mototest"
)

// Sizes of the warm-invoke comparison: bounded in count.
const (
	warmN    = 300 // login starts per configuration and repetition
	warmReps = 5   // interleaved repetitions
)

// warmRun is one bootstrap's warm invokes under the emulator.
type warmRun struct {
	Name string
	Lat  []time.Duration // one per invoke, sorted
	CPU  time.Duration   // the bootstrap's user+system CPU over all invokes
}

// CPUPerInvoke is the bootstrap's CPU time per invoke.
func (w warmRun) CPUPerInvoke() time.Duration {
	if len(w.Lat) == 0 {
		return 0
	}
	return w.CPU / time.Duration(len(w.Lat))
}

// Throughput is invokes per second, one after the other: a sandbox's whole capacity, since
// Lambda hands it one invocation at a time.
func (w warmRun) Throughput() float64 {
	var sum time.Duration
	for _, d := range w.Lat {
		sum += d
	}
	if sum <= 0 {
		return 0
	}
	return float64(len(w.Lat)) / sum.Seconds()
}

// Names of the warm runs, which the report compares.
const (
	warmShipped     = "login function, as shipped (one P)"
	warmBare        = "bare Lambda handler (Go's default)"
	warmBareOneP    = "bare Lambda handler, GOMAXPROCS=1"
	bareResponseEnv = "FORGELINK_BENCH_BARE_RESPONSE"
)

// warmDefaultPsName names the login function's run with Go's default Ps on this machine.
func warmDefaultPsName() string {
	return fmt.Sprintf("login function, GOMAXPROCS=%d (Go's default here)", runtime.NumCPU())
}

// measureWarmInvokes runs login starts through the Lambda runtime, one invoke at a time as
// Lambda hands them to a sandbox: the login function's bootstrap (from boots) under the
// emulator on moto, as template.yaml configures it, once as shipped (runtimetune gives it
// one P) and once with GOMAXPROCS at Go's default here; and bench/barelambda, which
// answers forgelink's captured 302 and does nothing else, with Go's default and with one P.
// Each gets warmN login starts (events/login-start.json) per repetition, warmReps
// repetitions, interleaved.
func measureWarmInvokes(tb testing.TB, boots []bootstrap) []warmRun {
	tb.Helper()
	sam.RIEBinary(tb)
	var login string
	for _, b := range boots {
		if b.Name == "login" {
			login = b.Path
		}
	}
	bareDir := tb.TempDir()
	if err := buildLambdas(moduleRoot(tb), runtime.GOARCH, bareDir, []string{"./bench/barelambda"}); err != nil {
		tb.Fatal(err)
	}
	bare := filepath.Join(bareDir, "barelambda")

	// The store events/login-start.json refers to, on moto.
	env := apptest.Start(tb, apptest.Options{AWS: true})
	if err := sam.SeedEvents(context.Background(), env.App); err != nil {
		tb.Fatal(err)
	}
	ev := eventFile(tb, "login-start.json")
	fnEnv := []string{
		"FORGELINK_STORE=aws",
		"FORGELINK_TABLE=" + env.Table,
		"FORGELINK_SECRET_PREFIX=" + env.Prefix,
		"FORGELINK_COOKIE_KEY=" + sam.EventCookieKey,
		"FORGELINK_LOG_LEVEL=info",
		"AWS_ENDPOINT_URL=" + env.Moto.URL,
		"AWS_REGION=" + mototest.Region,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", // template.yaml's LoginFunction
	}
	procs := "GOMAXPROCS=" + strconv.Itoa(runtime.NumCPU())
	shipped := sam.StartRIE(tb, login, fnEnv)
	captured := invokeLoginStart(tb, shipped, ev) // the cold start, and the integration into the cache
	bareEnv := []string{bareResponseEnv + "=" + string(captured)}
	ries := []*sam.RIE{
		shipped,
		sam.StartRIE(tb, login, append(slices.Clone(fnEnv), procs)),
		sam.StartRIE(tb, bare, bareEnv),
		sam.StartRIE(tb, bare, append(slices.Clone(bareEnv), "GOMAXPROCS=1")),
	}
	out := []warmRun{{Name: warmShipped}, {Name: warmDefaultPsName()}, {Name: warmBare}, {Name: warmBareOneP}}
	pids := make([]int, len(ries))
	for i, r := range ries {
		invokeLoginStart(tb, r, ev)
		pids[i] = r.BootstrapPID()
	}
	for rep := range warmReps {
		for k := range ries {
			i := (k + rep) % len(ries) // rotate the order: drift hits all alike
			for range 20 {
				invokeLoginStart(tb, ries[i], ev)
			}
			cpu0, ok0 := procCPU(pids[i])
			for range warmN {
				t0 := time.Now()
				invokeLoginStart(tb, ries[i], ev)
				out[i].Lat = append(out[i].Lat, time.Since(t0))
			}
			if cpu1, ok1 := procCPU(pids[i]); ok0 && ok1 {
				out[i].CPU += cpu1 - cpu0
			}
		}
	}
	for i := range out {
		slices.Sort(out[i].Lat)
	}
	return out
}

// invokeLoginStart sends ev and fails unless the function answered the 302 to GitLab; it
// returns the response as the function sent it (payload 2.0 JSON).
func invokeLoginStart(tb testing.TB, r *sam.RIE, ev []byte) []byte {
	tb.Helper()
	raw, err := r.Invoke(ev)
	var resp events.APIGatewayV2HTTPResponse
	if err == nil {
		err = json.Unmarshal(raw, &resp)
	}
	if err != nil || resp.StatusCode != 302 || !strings.Contains(resp.Headers["Location"], "/oauth/authorize?") {
		tb.Fatalf("login start under the emulator: %v, status %d: %s\n%s", err, resp.StatusCode, raw, tail(r.Logs(), 2000))
	}
	return raw
}

// TestWarmInvokes is the warm-invoke comparison on its own (builds the bootstraps, starts
// moto and the emulator), with FORGELINK_BENCH=1 like TestColdStart.
func TestWarmInvokes(t *testing.T) {
	tier.Slow(t, "builds the bootstraps and runs the Lambda RIE on moto")
	if os.Getenv("FORGELINK_BENCH") != "1" {
		t.Skip("set FORGELINK_BENCH=1 to build and run the bootstraps")
	}
	for _, w := range measureWarmInvokes(t, buildBootstraps(t)) {
		t.Logf("%-48s %5.0f/s p50 %s p99 %s, bootstrap CPU per invoke %s", w.Name, w.Throughput(), fmtDur(pct(w.Lat, 0.5)), fmtDur(pct(w.Lat, 0.99)), fmtDur(w.CPUPerInvoke()))
	}
}
