package bench

import (
	"encoding/json"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/forgelink/forgelink/infra/fakegitlab"
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

// warmRun is one configuration's warm invokes of the login function under the emulator.
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

// measureWarmInvokes runs the login function's bootstrap (from boots) under two emulators
// on moto, as template.yaml configures it, and sends each warmN login starts per
// repetition, interleaved: once as shipped (runtimetune gives it one P, as it serves one
// invocation at a time) and once with GOMAXPROCS set to Go's default here (one P per CPU).
func measureWarmInvokes(tb testing.TB, boots []bootstrap) []warmRun {
	tb.Helper()
	sam.RIEBinary(tb)
	var login string
	for _, b := range boots {
		if b.Name == "login" {
			login = b.Path
		}
	}
	env := apptest.Start(tb, apptest.Options{AWS: true, GitLab: fakegitlab.Options{AutoApprove: "alice"}})
	in, _ := env.ActiveIntegration(tb)
	ev := loginStartEvent(env.Org, in.ID)
	base := []string{
		"FORGELINK_STORE=aws",
		"FORGELINK_TABLE=" + env.Table,
		"FORGELINK_SECRET_PREFIX=" + env.Prefix,
		"FORGELINK_COOKIE_KEY=" + env.App.Config.CookieKey,
		"FORGELINK_LOG_LEVEL=info",
		"AWS_ENDPOINT_URL=" + env.Moto.URL,
		"AWS_REGION=" + mototest.Region,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", // template.yaml's LoginFunction
	}
	configs := []struct{ name, extra string }{
		{"as shipped (one P)", ""},
		{"GOMAXPROCS=" + strconv.Itoa(runtime.NumCPU()) + " (Go's default here)", "GOMAXPROCS=" + strconv.Itoa(runtime.NumCPU())},
	}
	ries := make([]*sam.RIE, len(configs))
	pids := make([]int, len(configs))
	out := make([]warmRun, len(configs))
	for i, c := range configs {
		e := slices.Clone(base)
		if c.extra != "" {
			e = append(e, c.extra)
		}
		ries[i] = sam.StartRIE(tb, login, e)
		invokeLoginStart(tb, ries[i], ev) // the cold start, and the integration into the cache
		pids[i] = ries[i].BootstrapPID()
		out[i].Name = c.name
	}
	for rep := range warmReps {
		for k := range configs {
			i := (k + rep) % len(configs) // rotate the order: drift hits both alike
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

// invokeLoginStart sends ev and fails unless the function answered the 302 to GitLab.
func invokeLoginStart(tb testing.TB, r *sam.RIE, ev []byte) {
	tb.Helper()
	resp, err := r.InvokeHTTP(ev)
	if err != nil || resp.StatusCode != 302 {
		tb.Fatalf("login start under the emulator: %v, status %d: %s\n%s", err, resp.StatusCode, resp.Body, tail(r.Logs(), 2000))
	}
}

// loginStartEvent is API Gateway's payload 2.0 event for the sign-in page's button: POST
// /orgs/{org}/login/{id} without a body, as the load runs send it.
func loginStartEvent(org, id string) []byte {
	path := "/orgs/" + org + "/login/" + id
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /orgs/{org}/login/{id}", RawPath: path,
		Headers:        map[string]string{"host": "abc123.execute-api.us-east-1.amazonaws.com", "content-length": "0"},
		PathParameters: map[string]string{"org": org, "id": id},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "abc123.execute-api.us-east-1.amazonaws.com", Stage: "$default",
			RequestID: "bench-warm-0001", APIID: "abc123",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
		},
	}
	b, _ := json.Marshal(ev)
	return b
}

// TestWarmInvokes is the warm-invoke comparison on its own (builds the bootstraps, starts
// moto and the emulator), with FORGELINK_BENCH=1 like TestColdStart.
func TestWarmInvokes(t *testing.T) {
	tier.Slow(t, "builds the bootstraps and runs the Lambda RIE on moto")
	if os.Getenv("FORGELINK_BENCH") != "1" {
		t.Skip("set FORGELINK_BENCH=1 to build and run the bootstraps")
	}
	for _, w := range measureWarmInvokes(t, buildBootstraps(t)) {
		t.Logf("%-36s p50 %s p99 %s, bootstrap CPU per invoke %s", w.Name, fmtDur(pct(w.Lat, 0.5)), fmtDur(pct(w.Lat, 0.99)), fmtDur(w.CPUPerInvoke()))
	}
}
