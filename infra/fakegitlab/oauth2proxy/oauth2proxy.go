// Package oauth2proxy builds and runs a real oauth2-proxy, a third-party
// OAuth client, against a (fake) GitLab in tests and benchmarks. The binary
// is built once with go install into a cache folder and reused.
package oauth2proxy

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/testkit/syncbuf"
	"github.com/forgelink/forgelink/infra/testkit/tier"
	"github.com/forgelink/forgelink/infra/toolcache"
)

// Module is the pinned oauth2-proxy release.
const Module = "github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6"

// Binary returns the path of the oauth2-proxy binary, building it on first use (about
// 40 s) into the shared tool cache. Under -short the test skips; when the build fails, it
// is skipped too, unless CI is "true", where a missing proof is a failure.
func Binary(tb testing.TB) string {
	tb.Helper()
	tier.Slow(tb, "runs oauth2-proxy")
	return toolcache.Binary(tb, Module, "oauth2-proxy")
}

// Options for Start.
type Options struct {
	IssuerURL    string // the (fake) GitLab base URL
	ClientID     string
	ClientSecret string
	// Provider defaults to "gitlab".
	Provider string
	// CAFile is a PEM bundle to trust for the provider (fake GitLab in TLS mode).
	CAFile string
	// Addr is host:port to listen on; empty picks a free loopback port. The
	// redirect URL is http://Addr/oauth2/callback, so register that.
	Addr string
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for callers that must register the callback URL before Start.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Start runs oauth2-proxy in front of static://200 and returns its base URL
// once /ping answers. It is stopped when the test ends.
func Start(tb testing.TB, opts Options) string {
	tb.Helper()
	bin := Binary(tb)
	if opts.Addr == "" {
		opts.Addr = FreeAddr(tb)
	}
	if opts.Provider == "" {
		opts.Provider = "gitlab"
	}
	base := "http://" + opts.Addr
	secret := make([]byte, 16)
	rand.Read(secret)
	args := []string{
		"--provider=" + opts.Provider,
		"--oidc-issuer-url=" + opts.IssuerURL,
		"--client-id=" + opts.ClientID,
		"--client-secret=" + opts.ClientSecret,
		"--redirect-url=" + base + "/oauth2/callback",
		"--upstream=static://200",
		"--email-domain=*",
		"--cookie-secret=" + hex.EncodeToString(secret), // 32 bytes
		"--cookie-secure=false",
		"--http-address=" + opts.Addr,
		"--code-challenge-method=S256",
		"--skip-provider-button=true",
		"--request-logging=false",
	}
	if opts.CAFile != "" {
		args = append(args, "--provider-ca-file="+opts.CAFile)
	}
	args = append(args, opts.ExtraArgs...)

	var logs syncbuf.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting oauth2-proxy: %v", err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if tb.Failed() {
			tb.Logf("oauth2-proxy output:\n%s", logs.String())
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("oauth2-proxy did not become ready: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
