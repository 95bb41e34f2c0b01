package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/infra/fakegitlab/oauth2proxy"
	"github.com/forgelink/forgelink/infra/toolcache"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/logging"
)

const org = "acme"

// startGitLab runs a fake GitLab on loopback that signs alice in and approves at once.
func startGitLab(tb testing.TB) (*fakegitlab.Server, string) {
	tb.Helper()
	gl := fakegitlab.New(fakegitlab.Options{AutoApprove: "alice"})
	u, err := gl.Start("127.0.0.1:0", false)
	if err != nil {
		tb.Fatalf("start fake GitLab: %v", err)
	}
	tb.Cleanup(func() { gl.Close() })
	return gl, u
}

// moduleRoot is the directory of go.mod (tests run in bench/).
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		tb.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func randomKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// forgelinkTarget is a running forgelink with one active integration on the fake GitLab.
type forgelinkTarget struct {
	URL        string
	AdminToken string
	LoginURL   string // absolute
	PID        int    // the runner process; 0 when in-process
	App        *app.App
}

// activate walks the admin journey over the JSON API against base: a pending integration
// for glURL, an application on the fake GitLab with its callback URL, then Save.
func activate(tb testing.TB, base, token string, gl *fakegitlab.Server, glURL string) string {
	tb.Helper()
	call := func(method, path string, body any, want int) map[string]any {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			tb.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			tb.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
		return v
	}
	in := call(http.MethodPost, "/api/v1/orgs/"+org+"/integrations",
		map[string]string{"platform": "gitlab", "url": glURL, "name": "bench"}, http.StatusCreated)
	id, _ := in["id"].(string)
	callback, _ := in["callback_url"].(string)
	glApp := gl.CreateApplication("forgelink", callback, []string{"api", "read_user"}, true, false)
	in = call(http.MethodPatch, "/api/v1/orgs/"+org+"/integrations/"+id,
		map[string]string{"client_id": glApp.UID, "client_secret": glApp.Secret}, http.StatusOK)
	if in["status"] != "active" {
		tb.Fatalf("integration not active: %v", in)
	}
	login, _ := in["login_url"].(string)
	if strings.HasPrefix(login, "/") {
		login = base + login
	}
	if login == "" {
		login = base + "/orgs/" + org + "/login/" + id
	}
	return login
}

// startInProcess runs forgelink in this process the way the local runner wires it (memory
// store, info logs, here discarded), for Go benchmarks and CPU profiles.
func startInProcess(tb testing.TB, gl *fakegitlab.Server, glURL string) *forgelinkTarget {
	tb.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := config.Config{
		Addr: ln.Addr().String(), BaseURL: base, Store: "memory",
		Table: config.DefaultTable, SecretPrefix: config.DefaultSecretPrefix,
		AllowHosts: strings.TrimPrefix(glURL, "http://"), CookieKey: randomKey(), LogLevel: "info",
	}
	d, err := local.Deps(ctx, cfg, logging.New(io.Discard, "info"), local.Options{})
	if err != nil {
		tb.Fatalf("build app: %v", err)
	}
	a, err := app.New(d)
	if err != nil {
		tb.Fatalf("build app: %v", err)
	}
	if _, err := a.Services.Orgs.EnsureOrg(ctx, org, org); err != nil {
		tb.Fatalf("create org: %v", err)
	}
	token, err := a.Services.Tokens.CreateAdminToken(ctx, org, "bench", "")
	if err != nil {
		tb.Fatalf("admin token: %v", err)
	}
	srv := &http.Server{Handler: a.Handler(""), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return &forgelinkTarget{URL: base, AdminToken: token, App: a, LoginURL: activate(tb, base, token, gl, glURL)}
}

var (
	runnerOnce sync.Once
	runnerBin  string
	runnerErr  error
)

// runnerBinary builds the local runner (go build ./infra/cmd/forgelink-local) once per test binary.
func runnerBinary(tb testing.TB) string {
	tb.Helper()
	runnerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "forgelink-bench-")
		if err != nil {
			runnerErr = err
			return
		}
		runnerBin = filepath.Join(dir, "forgelink-local")
		cmd := exec.Command("go", "build", "-o", runnerBin, "./infra/cmd/forgelink-local")
		cmd.Dir = moduleRoot(tb)
		if out, err := cmd.CombinedOutput(); err != nil {
			runnerErr = fmt.Errorf("go build ./infra/cmd/forgelink-local: %v\n%s", err, out)
		}
	})
	if runnerErr != nil {
		tb.Fatal(runnerErr)
	}
	return runnerBin
}

var (
	bannerApp   = regexp.MustCompile(`app:\s+(http://\S+)`)
	bannerToken = regexp.MustCompile(`admin API token:\s+(\S+)`)
)

// startRunner runs forgelink's local runner as its own process (memory store, info logs to
// a file, no embedded fake GitLab), points an integration at gl and returns it.
// extraEnv is appended last, so it overrides (e.g. FORGELINK_LOG_LEVEL=warn for a probe).
func startRunner(tb testing.TB, gl *fakegitlab.Server, glURL string, extraEnv ...string) *forgelinkTarget {
	tb.Helper()
	bin := runnerBinary(tb)
	logFile, err := os.Create(filepath.Join(tb.TempDir(), "runner.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"FORGELINK_ADDR=127.0.0.1:0",
		"FORGELINK_BASE_URL=",
		"FORGELINK_STORE=memory",
		"FORGELINK_FAKE_GITLAB=",
		"FORGELINK_ALLOW_HOSTS="+strings.TrimPrefix(glURL, "http://"),
		"FORGELINK_COOKIE_KEY="+randomKey(),
		"FORGELINK_LOG_LEVEL=info",
		"FORGELINK_ORG="+org,
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start runner: %v", err)
	}
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if tb.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			tb.Logf("runner log (tail):\n%s", tail(string(b), 4000))
		}
	})
	t := &forgelinkTarget{PID: cmd.Process.Pid}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for t.URL == "" || t.AdminToken == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				b, _ := os.ReadFile(logFile.Name())
				tb.Fatalf("runner exited before its banner:\n%s", tail(string(b), 4000))
			}
			if m := bannerApp.FindStringSubmatch(line); m != nil {
				t.URL = m[1]
			}
			if m := bannerToken.FindStringSubmatch(line); m != nil {
				t.AdminToken = m[1]
			}
		case <-deadline:
			tb.Fatal("runner printed no banner within 30s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	t.LoginURL = activate(tb, t.URL, t.AdminToken, gl, glURL)
	return t
}

// startOAuth2Proxy runs oauth2-proxy (GitLab provider, OIDC issuer = the fake GitLab) with
// its own application on gl, in front of static://200.
func startOAuth2Proxy(tb testing.TB, gl *fakegitlab.Server, glURL string) string {
	tb.Helper()
	oauth2proxy.Binary(tb) // skip early, before registering an application
	addr := oauth2proxy.FreeAddr(tb)
	a := gl.CreateApplication("oauth2-proxy", "http://"+addr+"/oauth2/callback",
		[]string{"openid", "profile", "email", "read_user"}, true, false)
	return oauth2proxy.Start(tb, oauth2proxy.Options{IssuerURL: glURL, ClientID: a.UID, ClientSecret: a.Secret, Addr: addr})
}

// bareSpec is the response the bare handler replays: status, headers and body of a real
// forgelink login start.
type bareSpec struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   string      `json:"body"`
}

const bareEnv = "FORGELINK_BENCH_BARE_SERVER"

// captureLoginStart fetches one login start from forgelink and returns it as a bareSpec
// (Date and Content-Length are left to net/http, as forgelink does).
func captureLoginStart(tb testing.TB, loginURL string) bareSpec {
	tb.Helper()
	c := &http.Client{CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	resp, body, err := send(context.Background(), c, startMethod(loginURL), loginURL)
	if err != nil {
		tb.Fatalf("capture login start: %v", err)
	}
	if resp.StatusCode != http.StatusFound {
		tb.Fatalf("capture login start: status %d: %s", resp.StatusCode, tail(body, 300))
	}
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	return bareSpec{Status: resp.StatusCode, Header: h, Body: body}
}

// startBare runs the bare handler in a child process (this test binary, see TestMain), so
// that, like forgelink's runner and oauth2-proxy, it does not share the client's process.
func startBare(tb testing.TB, spec bareSpec) string {
	tb.Helper()
	u, _ := startBareP(tb, spec)
	return u
}

// startBareP is startBare that also returns the child's pid; extraEnv is appended to the
// child's environment (e.g. GOMAXPROCS=1).
func startBareP(tb testing.TB, spec bareSpec, extraEnv ...string) (string, int) {
	tb.Helper()
	b, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), bareEnv+"="+string(b)), extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdin, err := cmd.StdinPipe() // closing it stops the child
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		tb.Fatalf("bare server did not start: %q %v", line, err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}

// serveBare is the child process of startBare: it writes the same 302 for every request.
func serveBare(specJSON string) {
	var spec bareSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(2)
	}
	body := []byte(spec.Body)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wh := w.Header()
		for k, v := range spec.Header {
			wh[k] = v
		}
		w.WriteHeader(spec.Status)
		w.Write(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(2)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	go (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin or goes away
	os.Exit(0)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// oauth2ProxyAvailable reports whether the pinned oauth2-proxy binary is cached (the
// sign-in tests and TestBenchReport build it; the Go benchmarks do not wait 40 s for it).
func oauth2ProxyAvailable() bool {
	dir, err := toolcache.Dir()
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "oauth2-proxy"))
	return err == nil
}
