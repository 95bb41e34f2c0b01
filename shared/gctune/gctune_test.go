package gctune

import (
	"math"
	"runtime/debug"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// restore puts the collector back as the test binary had it.
func restore(t *testing.T) {
	gogc := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(gogc); debug.SetMemoryLimit(limit) })
}

func TestApplyUnderLambda(t *testing.T) {
	restore(t)
	gogc, limit := Apply(env(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}))
	if gogc != Percent || limit != 96<<20 {
		t.Fatalf("Apply = %d, %d; want %d, %d", gogc, limit, Percent, 96<<20)
	}
	if got := debug.SetGCPercent(100); got != Percent {
		t.Errorf("GOGC in effect %d, want %d", got, Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != 96<<20 {
		t.Errorf("memory limit in effect %d, want %d", got, 96<<20)
	}
}

func TestApplyLocally(t *testing.T) {
	restore(t)
	gogc, limit := Apply(env(nil))
	if gogc != Percent || limit != 0 {
		t.Fatalf("Apply = %d, %d; want %d, 0 (no Lambda memory size, no limit)", gogc, limit, Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit in effect %d, want none", got)
	}
}

// The operator's GOGC and GOMEMLIMIT win: the runtime read them at start, Apply leaves them.
func TestApplyLeavesOperatorSettings(t *testing.T) {
	restore(t)
	debug.SetGCPercent(50)
	gogc, limit := Apply(env(map[string]string{"GOGC": "50", "GOMEMLIMIT": "64MiB", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}))
	if gogc != 0 || limit != 0 {
		t.Fatalf("Apply = %d, %d; want 0, 0", gogc, limit)
	}
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC in effect %d, want the operator's 50", got)
	}
}
