package bench

import (
	"strings"
	"testing"
	"time"
)

// synthetic is a result of n operations over elapsed, each taking lat, with cpu and sw per
// operation on the server.
func synthetic(target string, conc, n int, elapsed, lat, cpu time.Duration, sw int64) result {
	l := make([]time.Duration, n)
	for i := range l {
		l[i] = lat
	}
	return result{Target: target, Conc: conc, Planned: n, Done: n, Elapsed: elapsed, Lat: l,
		ServerCPU: cpu * time.Duration(n), ServerSwitches: sw * int64(n)}
}

// TestReportRendersMeasurements renders a report from made-up measurements (make bench is
// the only other caller of the renderer, so without this it could rot unseen) and checks
// the ratios and targets it derives from them.
func TestReportRendersMeasurements(t *testing.T) {
	warm := func(name string, lat, cpu time.Duration) warmRun {
		w := warmRun{Name: name, CPU: cpu * 10}
		for range 10 {
			w.Lat = append(w.Lat, lat)
		}
		return w
	}
	r := &report{Began: time.Now(), Elapsed: time.Minute}
	for _, c := range concLevels {
		r.LoginStart = append(r.LoginStart,
			synthetic("forgelink", c, 101, time.Second, time.Millisecond, 100*time.Microsecond, 5),
			synthetic("bare handler", c, 125, time.Second, time.Millisecond, 60*time.Microsecond, 4)) // forgelink: 0.81×
	}
	r.OneP = []result{
		synthetic("forgelink", 1, 100, time.Second, time.Millisecond, 100*time.Microsecond, 6),
		synthetic("bare handler", 1, 125, time.Second, time.Millisecond, 60*time.Microsecond, 5),
		synthetic("forgelink, GOMAXPROCS=1", 1, 150, time.Second, time.Millisecond, 80*time.Microsecond, 3),
		synthetic("bare handler, GOMAXPROCS=1", 1, 200, time.Second, time.Millisecond, 50*time.Microsecond, 3),
	}
	r.Warm = []warmRun{
		warm(warmShipped, 2*time.Millisecond, 500*time.Microsecond),
		warm(warmDefaultPsName(), 2500*time.Microsecond, 700*time.Microsecond),
		warm(warmBare, 2*time.Millisecond, 450*time.Microsecond),
		warm(warmBareOneP, 1600*time.Microsecond, 300*time.Microsecond),
	}
	md := r.markdown(t)
	for _, want := range []string{
		"| login start throughput vs bare handler | ≥ 0.8× at every concurrency | 0.81× (lowest, at c=1) | **met** |",
		"### 1b. Login start at concurrency 1, with one P",
		"| forgelink, GOMAXPROCS=1 | 150 | 1.00ms | 1.00ms | 80µs | 3.00 | 0.75× | 1.20× |",
		"### 4b. Login start through the Lambda runtime, one invoke at a time",
		"| " + warmShipped + " | 10 | 500 | 2.00ms | 2.00ms | 500µs | 1.00× | 0.80× |",
		"used 1.40× the CPU per invoke it uses as shipped",
		"costs 200µs of CPU per invoke",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "Missed targets") {
		t.Errorf("every target is met, yet the report explains misses:\n%s", md)
	}
	if c := r.console(); !strings.Contains(c, warmShipped) {
		t.Errorf("console summary lacks the warm invokes:\n%s", c)
	}

	// One concurrency level under 0.8×: missed, and explained with this run's numbers.
	r.LoginStart[0] = synthetic("forgelink", 1, 70, time.Second, time.Millisecond, 140*time.Microsecond, 6)
	md = r.markdown(t)
	for _, want := range []string{
		"| login start throughput vs bare handler | ≥ 0.8× at every concurrency | 0.56× (lowest, at c=1) | **missed** |",
		"at concurrency 1 it costs 80µs",
		"reached 0.75× its throughput",
		"served 1.00× the invokes per second of a bare Lambda handler with Go's defaults, and 0.80× one given the same single P",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report with a miss lacks %q", want)
		}
	}
}
