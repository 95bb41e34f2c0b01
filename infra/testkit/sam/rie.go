package sam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/testkit/syncbuf"

	"github.com/aws/aws-lambda-go/events"

	"github.com/forgelink/forgelink/infra/testkit/tier"
	"github.com/forgelink/forgelink/infra/toolcache"
)

// RIEModule is the pinned AWS Lambda Runtime Interface Emulator, built from source into the
// cache folder; it stays out of forgelink's go.mod.
const RIEModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// RIEBinary returns the emulator's path, building it on first use (go install in a temporary
// folder with GOFLAGS=-mod=mod, so forgelink's go.mod is untouched). Under -short the test
// skips; a build failure skips it too, or fails it under CI=true.
func RIEBinary(tb testing.TB) string {
	tb.Helper()
	tier.Slow(tb, "runs the Lambda RIE")
	if runtime.GOOS != "linux" {
		tb.Skip(tier.SuitePrefix + "the Lambda Runtime Interface Emulator runs on Linux only")
	}
	return toolcache.Binary(tb, RIEModule, "aws-lambda-rie")
}

var (
	buildMu    sync.Mutex
	buildLocks = map[string]*sync.Mutex{} // per dir
	built      = map[string]bool{}        // dir + function
)

// BuildBootstrap builds functions/<function> as Lambda's bootstrap for this machine
// (GOOS=linux, host GOARCH, CGO_ENABLED=0, -tags lambda.norpc, stripped), as sam build does for
// arm64, into dir/<function>/bootstrap, and returns its path. A function already built into
// dir by this test binary (BuildBootstraps) is not built again.
func BuildBootstrap(tb testing.TB, function, dir string) string {
	tb.Helper()
	return BuildBootstraps(tb, dir, function)[function]
}

// BuildBootstraps builds several functions in one go build (shared compilation: much faster
// on a cold cache than one build each) and returns their bootstrap paths by function.
func BuildBootstraps(tb testing.TB, dir string, functions ...string) map[string]string {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	buildMu.Lock()
	l := buildLocks[dir]
	if l == nil {
		l = &sync.Mutex{}
		buildLocks[dir] = l
	}
	buildMu.Unlock()
	l.Lock()
	defer l.Unlock()

	paths := map[string]string{}
	var todo []string
	buildMu.Lock()
	for _, f := range functions {
		paths[f] = filepath.Join(dir, f, "bootstrap")
		if !built[dir+"\x00"+f] {
			todo = append(todo, f)
		}
	}
	buildMu.Unlock()
	if len(todo) == 0 {
		return paths
	}
	// go build -o <folder>/ writes one binary per main package, named after its folder.
	out := filepath.Join(dir, ".build")
	if err := os.MkdirAll(out, 0o755); err != nil {
		tb.Fatal(err)
	}
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out + string(filepath.Separator)}
	for _, f := range todo {
		args = append(args, "./functions/"+f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build bootstraps of %v: %v\n%s", todo, err, b)
	}
	for _, f := range todo {
		if err := os.MkdirAll(filepath.Dir(paths[f]), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Rename(filepath.Join(out, f), paths[f]); err != nil {
			tb.Fatal(err)
		}
		buildMu.Lock()
		built[dir+"\x00"+f] = true
		buildMu.Unlock()
	}
	return paths
}

// RIE is one running emulator with one function.
type RIE struct {
	// URL is the emulator's invoke URL (.../2015-03-31/functions/function/invocations).
	URL string
	// RuntimeAPI is the Runtime API address the bootstrap talks to.
	RuntimeAPI string

	cmd    *exec.Cmd
	logs   *syncbuf.Buffer
	done   chan struct{}
	client *http.Client
}

// StartRIE starts the emulator with bootstrapPath on free loopback ports: its own
// --runtime-api-address (the default 127.0.0.1:9001 would collide between emulators) and
// --runtime-interface-emulator-address. env is the function's whole environment besides
// what the emulator sets (AWS_LAMBDA_FUNCTION_NAME etc. may be overridden in env); nothing
// of the test process's environment but PATH leaks in (no AWS credentials). The emulator
// starts the bootstrap at the first Invoke, as Lambda does; it is stopped at cleanup.
func StartRIE(tb testing.TB, bootstrapPath string, env []string) *RIE {
	tb.Helper()
	bin := RIEBinary(tb)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := startRIE(bin, bootstrapPath, env)
		if err == nil {
			tb.Cleanup(func() {
				r.Stop()
				if tb.Failed() {
					tb.Logf("emulator log (%s):\n%s", filepath.Base(filepath.Dir(bootstrapPath)), r.Logs())
				}
			})
			return r
		}
		lastErr = err // most likely a port taken between picking and binding: try new ones
	}
	tb.Fatalf("start RIE: %v", lastErr)
	return nil
}

func startRIE(bin, bootstrapPath string, env []string) (*RIE, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	runtimeAPI := "127.0.0.1:" + strconv.Itoa(ports[0])
	invokeAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	name := filepath.Base(filepath.Dir(bootstrapPath))
	cmd := exec.Command(bin,
		"--runtime-api-address", runtimeAPI,
		"--runtime-interface-emulator-address", invokeAddr,
		"--log-level", "info",
		bootstrapPath)
	cmd.Dir = filepath.Dir(bootstrapPath)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=15",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
	}, env...)
	logs := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &RIE{
		URL:        "http://" + invokeAddr + "/2015-03-31/functions/function/invocations",
		RuntimeAPI: runtimeAPI,
		cmd:        cmd,
		logs:       logs,
		done:       make(chan struct{}),
		client:     &http.Client{Timeout: 60 * time.Second},
	}
	go func() { cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-r.done:
			return nil, fmt.Errorf("emulator exited at start: %s", logs.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", invokeAddr, 200*time.Millisecond); err == nil {
			c.Close()
			return r, nil
		}
		if time.Now().After(deadline) {
			r.Stop()
			return nil, fmt.Errorf("emulator not listening on %s after 10 s: %s", invokeAddr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Invoke sends event to the function and returns the raw response payload. A non-200
// answer of the emulator (init failure, crash, timeout) is an error with the emulator's log.
func (r *RIE) Invoke(event []byte) ([]byte, error) {
	resp, err := r.client.Post(r.URL, "application/json", bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("invoke: %w\n%s", err, r.Logs())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: emulator answered %s: %s\n%s", resp.Status, body, r.Logs())
	}
	// Function errors come back as 200 with {"errorMessage": ..., "errorType": ...}.
	var fnErr struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(body, &fnErr) == nil && fnErr.ErrorType != "" {
		return body, fmt.Errorf("invoke: function error %s: %s", fnErr.ErrorType, fnErr.ErrorMessage)
	}
	return body, nil
}

// InvokeHTTP invokes an API Gateway HTTP API (payload 2.0) event and decodes the response.
func (r *RIE) InvokeHTTP(event []byte) (events.APIGatewayV2HTTPResponse, error) {
	var out events.APIGatewayV2HTTPResponse
	body, err := r.Invoke(event)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return out, fmt.Errorf("response is not a payload 2.0 response: %v: %s", err, body)
	}
	return out, nil
}

var (
	initReportRE   = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	initDurationRE = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)
)

// BootstrapPID is the process id of the bootstrap the emulator runs (its child), 0 before
// the first Invoke or once it exited. Benchmarks read its CPU time from /proc.
func (r *RIE) BootstrapPID() int {
	parent := strconv.Itoa(r.cmd.Process.Pid)
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the process exited meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 > len(s) {
			continue
		}
		// After "(comm)" come the state and then the parent's pid.
		if f := strings.Fields(s[i+2:]); len(f) > 1 && f[1] == parent {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			return pid
		}
	}
	return 0
}

// InitDuration returns the cold start the emulator measured (its log's
// "INIT REPORT(durationMs: …)", else the REPORT line's "Init Duration"); false before the
// first Invoke.
func (r *RIE) InitDuration() (time.Duration, bool) {
	return ParseInitDuration(r.Logs())
}

// ParseInitDuration reads the init duration from an emulator log.
func ParseInitDuration(log string) (time.Duration, bool) {
	m := initReportRE.FindStringSubmatch(log)
	if m == nil {
		m = initDurationRE.FindStringSubmatch(log)
	}
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// Logs returns what the emulator and the function printed so far.
func (r *RIE) Logs() string { return r.logs.String() }

// Stop ends the emulator (and with it the bootstrap) and waits for it.
func (r *RIE) Stop() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(3 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1 (free when asked: the caller
// retries when one is taken before it binds).
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
