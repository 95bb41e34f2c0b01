// Package tier puts tests into the two tiers `make test` reports on, with skip messages
// that infra/cmd/testsummary counts:
//
//   - Slow tests (they start moto, the Lambda RIE, Chromium or oauth2-proxy, or take
//     seconds otherwise) call Slow first: under `go test -short` they skip with
//     "<why> (-short)", so -short is the fast unit layer.
//   - Tests whose tool is missing call Missing: they skip with "SKIP-SUITE: <tool> not
//     found: <how to install>; CI=true makes this fail", and under CI=true they fail
//     instead, so CI never passes without running them.
//
// shared/mototest follows the same convention on its own (shared does not import infra).
package tier

import (
	"os"
	"testing"
)

// SuitePrefix starts every skip message that says a whole suite did not run for want of
// a tool; the summary of `make test` lists those reasons.
const SuitePrefix = "SKIP-SUITE: "

// ShortSuffix ends every skip message of a slow test under -short.
const ShortSuffix = " (-short)"

// Slow skips tb under -short; why says what makes it slow ("starts moto").
func Slow(tb testing.TB, why string) {
	tb.Helper()
	if testing.Short() {
		tb.Skip(why + ShortSuffix)
	}
}

// Missing reports that tool is not available: a failure under CI=true, else a skip whose
// message names the tool and how to install it. detail, when not empty, follows on the
// next lines (a build log, say).
func Missing(tb testing.TB, tool, install, detail string) {
	tb.Helper()
	msg := SuitePrefix + tool + " not found: " + install + "; CI=true makes this fail"
	if detail != "" {
		msg += "\n" + detail
	}
	if CI() {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// CI reports whether CI=true: then missing tools fail tests instead of skipping them.
func CI() bool { return os.Getenv("CI") == "true" }
