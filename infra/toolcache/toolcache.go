// Package toolcache builds the test-only tools (the Lambda Runtime Interface Emulator,
// oauth2-proxy) from source with `go install` into one cache folder, outside forgelink's
// go.mod, and hands tests their paths.
package toolcache

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/testkit/tier"
)

// Dir is where the tools live: $FORGELINK_CACHE/bin, else <user cache dir>/forgelink/bin
// (the Makefile's default, ~/.cache/forgelink/bin, which `make tools` fills).
func Dir() (string, error) {
	if d := os.Getenv("FORGELINK_CACHE"); d != "" {
		return filepath.Join(d, "bin"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "forgelink", "bin"), nil
}

var mu sync.Mutex

// Binary returns the path of the command name that `go install module@version` builds,
// building it on first use. When that fails the test is skipped with a SKIP-SUITE reason
// (tier.Missing), except under CI=true, where a missing proof is a failure.
func Binary(tb testing.TB, module, name string) string {
	tb.Helper()
	path, err := install(module, name)
	if err != nil {
		tier.Missing(tb, name, "make tools builds it (go install "+module+"; needs the Go module proxy)", err.Error())
	}
	return path
}

func install(module, name string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Build into a private folder and rename, so concurrent test binaries never see a
	// half-written file; run outside the repository with -mod=mod so our go.mod is never
	// touched.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", module)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v\n%s", module, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, name), bin); err != nil {
		return "", err
	}
	return bin, nil
}
