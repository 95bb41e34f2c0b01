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
	Apply(env(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}))
	if got := debug.SetGCPercent(100); got != Percent {
		t.Errorf("GOGC in effect %d, want %d", got, Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != 96<<20 {
		t.Errorf("memory limit in effect %d, want %d", got, 96<<20)
	}
}

func TestApplyLocally(t *testing.T) {
	restore(t)
	Apply(env(nil))
	if got := debug.SetGCPercent(100); got != Percent {
		t.Errorf("GOGC in effect %d, want %d", got, Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit in effect %d, want none", got)
	}
}

// The operator's GOGC and GOMEMLIMIT win: the runtime read them at start, Apply leaves them.
func TestApplyLeavesOperatorSettings(t *testing.T) {
	restore(t)
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(64 << 20)
	Apply(env(map[string]string{"GOGC": "50", "GOMEMLIMIT": "64MiB", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}))
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC in effect %d, want the operator's 50", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 64<<20 {
		t.Errorf("memory limit in effect %d, want the operator's 64 MiB", got)
	}
}
