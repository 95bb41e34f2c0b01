// Package runtimetune sets the Go runtime for forgelink's processes: the garbage collector
// for a small heap, and one P for a process that serves one request at a time.
//
// forgelink keeps about 2 MB live, so Go's default (GOGC=100, a 4 MB minimum goal) collects
// every couple of hundred requests: at the login start that was a tenth of the process's
// CPU, more than the AES-GCM seal and the authorize URL together (BENCHMARKS.md). A
// collection every ~16 MB allocated costs a quarter of that, and 16 MB is small next to the
// 128 MB the smallest function has. The memory limit keeps the larger goal from ever pushing
// a function out of its memory: near the limit the collector runs as often as it must.
//
// A Lambda sandbox shows the process two vCPUs whatever its memory, so Go starts two Ps,
// but the runtime hands the process one invocation at a time. The second P then only adds
// hand-offs between CPUs: goroutines of the Runtime API client, the SDK and net/http wake
// the idle P's thread and move work to it. Under the Runtime Interface Emulator one P cut
// the CPU per warm login start by about 30 % (BENCHMARKS.md, section 4b), and on a
// fractional vCPU (256 MB is about a seventh of one) CPU time is wall time.
package runtimetune

import (
	"runtime"
	"runtime/debug"
	"strconv"
)

// Percent is the GOGC forgelink runs with when the operator sets none.
const Percent = 400

// Apply sets GOGC to Percent and, under Lambda, the memory limit to three quarters of the
// function's memory; when oneAtATime (a Lambda function outside Managed Instances) it also
// sets one P. Each is left alone when the operator set GOGC, GOMEMLIMIT or GOMAXPROCS: the
// runtime has read those already, and they win.
func Apply(getenv func(string) string, oneAtATime bool) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
	if getenv("GOMEMLIMIT") == "" {
		if mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); err == nil && mb > 0 {
			debug.SetMemoryLimit(mb << 20 * 3 / 4)
		}
	}
	if oneAtATime && getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
