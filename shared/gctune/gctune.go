// Package gctune sets the Go garbage collector for forgelink's processes. forgelink keeps
// about 2 MB live, so Go's default (GOGC=100, a 4 MB minimum goal) collects every couple
// of hundred requests: at the login start that was a tenth of the process's CPU, more than
// the AES-GCM seal and the authorize URL together (BENCHMARKS.md). A collection every
// ~16 MB allocated costs a quarter of that, and 16 MB is small next to the 128 MB the
// smallest function has. The memory limit keeps the larger goal from ever pushing a
// function out of its memory: near the limit the collector runs as often as it must.
package gctune

import (
	"runtime/debug"
	"strconv"
)

// Percent is the GOGC forgelink runs with when the operator sets none.
const Percent = 400

// Apply sets GOGC to Percent and, under Lambda, the memory limit to three quarters of the
// function's memory, each unless the operator set GOGC or GOMEMLIMIT (the runtime has
// read those already, and they win).
func Apply(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
	if getenv("GOMEMLIMIT") == "" {
		if mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); err == nil && mb > 0 {
			debug.SetMemoryLimit(mb << 20 * 3 / 4)
		}
	}
}
