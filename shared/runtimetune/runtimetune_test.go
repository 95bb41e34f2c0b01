package runtimetune

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// restore puts the collector and the Ps back as the test binary had them.
func restore(t *testing.T) {
	gogc := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { debug.SetGCPercent(gogc); debug.SetMemoryLimit(limit); runtime.GOMAXPROCS(procs) })
}

func TestApplyUnderLambda(t *testing.T) {
	restore(t)
	runtime.GOMAXPROCS(2) // more than one P to go down from
	Apply(env(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}), true)
	if got := debug.SetGCPercent(100); got != Percent {
		t.Errorf("GOGC in effect %d, want %d", got, Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != 96<<20 {
		t.Errorf("memory limit in effect %d, want %d", got, 96<<20)
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS %d, want 1 for a process that serves one invocation at a time", got)
	}
}

// Lambda Managed Instances hand one process several invocations at once: it keeps its Ps.
func TestApplyUnderLambdaManyAtATime(t *testing.T) {
	restore(t)
	runtime.GOMAXPROCS(2) // more than one P to go down from
	Apply(env(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"}), false)
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS %d, want 2 (left alone)", got)
	}
}

func TestApplyLocally(t *testing.T) {
	restore(t)
	runtime.GOMAXPROCS(2) // more than one P to go down from
	Apply(env(nil), false)
	if got := debug.SetGCPercent(100); got != Percent {
		t.Errorf("GOGC in effect %d, want %d", got, Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit in effect %d, want none", got)
	}
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS %d, want 2: the local runner serves requests concurrently", got)
	}
}

// The operator's GOGC, GOMEMLIMIT and GOMAXPROCS win: the runtime read them at start, Apply
// leaves them.
func TestApplyLeavesOperatorSettings(t *testing.T) {
	restore(t)
	runtime.GOMAXPROCS(2) // more than one P to go down from
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(64 << 20)
	Apply(env(map[string]string{"GOGC": "50", "GOMEMLIMIT": "64MiB", "GOMAXPROCS": "2", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}), true)
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC in effect %d, want the operator's 50", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Errorf("memory limit in effect %d, want the operator's 64 MiB", got)
	}
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS %d, want the operator's 2", got)
	}
}
