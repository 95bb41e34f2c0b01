// Package mototest runs moto's server (a local AWS stand-in) for tests of the DynamoDB and
// Secrets Manager code, and gives them SDK configs and raw views of what moto holds.
//
// Typical use: one server per test binary, started lazily and stopped after all tests.
//
//	func TestMain(m *testing.M) { mototest.Main(m) }
//
//	func TestX(t *testing.T) {
//		srv := mototest.Shared(t)          // skips (or fails in CI) when moto is missing
//		cfg := srv.Config(t)                // aws.Config pointing at moto
//		db := dynamodb.NewFromConfig(cfg)
//		...
//	}
//
// Start(t) gives a test its own server instead, stopped by t.Cleanup.
package mototest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Region is the region every config of this package uses.
const Region = "us-east-1"

// Server is one running moto server.
type Server struct {
	URL     string // where clients go: a proxy that serializes requests to moto
	MotoURL string // moto itself, http://127.0.0.1:PORT

	proxy *http.Server
	log   *tail

	cmd      *exec.Cmd
	stopOnce sync.Once
	stop     chan struct{} // closed by Stop; releases the goroutine that owns the process
	done     chan struct{} // closed when the process has been reaped
}

// Start runs a dedicated moto server for tb and stops it when tb ends. When moto is not
// installed the test is skipped, or fails when CI=true: CI must never silently skip the
// AWS leg of the conformance suite.
func Start(tb testing.TB) *Server {
	tb.Helper()
	skipShort(tb)
	s, err := start()
	if err != nil {
		missing(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

var (
	sharedMu   sync.Mutex
	sharedSrv  *Server
	sharedErr  error
	mainCalled bool
)

// Shared returns the test binary's one moto server, starting it on first use. The package
// under test must call Main from its TestMain so the server is stopped at the end.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	skipShort(tb)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if !mainCalled {
		tb.Fatal("mototest.Shared needs `func TestMain(m *testing.M) { mototest.Main(m) }` in this package")
	}
	if sharedSrv == nil && sharedErr == nil {
		sharedSrv, sharedErr = start()
	}
	if sharedErr != nil {
		missing(tb, sharedErr)
	}
	return sharedSrv
}

// Main runs the tests and then stops the shared server, if any test started it.
func Main(m *testing.M) {
	sharedMu.Lock()
	mainCalled = true
	sharedMu.Unlock()
	code := m.Run()
	sharedMu.Lock()
	if sharedSrv != nil {
		sharedSrv.Stop()
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// errNotInstalled tells "moto is not there" (skip locally) from "moto failed" (always fail).
var errNotInstalled = errors.New("moto is not installed: neither moto_server on PATH nor python3 with the moto package (pip install 'moto[server]')")

// Skip messages follow infra/testkit/tier's convention (shared does not import infra):
// "… (-short)" for the slow tier, "SKIP-SUITE: …" for a missing tool, which `make test`'s
// summary lists.

// skipShort skips tb under go test -short: every test that starts moto is a slow test.
func skipShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts moto (-short)")
	}
}

func missing(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, errNotInstalled) && os.Getenv("CI") != "true" {
		tb.Skip("SKIP-SUITE: moto_server not found: pip install 'moto[server]'; CI=true makes this fail")
	}
	tb.Fatal("mototest:", err)
}

// command finds moto's server: the moto_server script, else the module through python3.
func command() ([]string, error) {
	if p, err := exec.LookPath("moto_server"); err == nil {
		return []string{p}, nil
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, errNotInstalled
	}
	if exec.Command(py, "-c", "import moto.server").Run() != nil {
		return nil, errNotInstalled
	}
	return []string{py, "-m", "moto.server"}, nil
}

func start() (*Server, error) {
	argv, err := command()
	if err != nil {
		return nil, err
	}
	// The free port is found by binding and releasing it, so another process may grab it
	// before moto does; a few attempts make that race harmless.
	for attempt := 0; ; attempt++ {
		s, err := startOn(argv)
		if err == nil || attempt == 2 {
			return s, err
		}
	}
}

func startOn(argv []string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL:  "http://127.0.0.1:" + strconv.Itoa(port),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	args := append(argv[1:len(argv):len(argv)], "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	s.cmd = exec.Command(argv[0], args...)
	// moto logs every request; keep only the tail, to explain a failed start.
	s.log = &tail{max: 4096}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = sysProcAttr()
	started := make(chan error, 1)
	go s.own(started)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start moto (%s): %w", argv[0], err)
	}
	if err := s.waitReady(30 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.serialize(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// serialize puts a reverse proxy in front of moto that lets one request through at a time
// and points URL at it. moto serves requests on parallel threads without locking items, so
// two conditional writes can both pass their checks; DynamoDB guarantees they cannot, and
// the conformance suite tests exactly that.
func (s *Server) serialize() error {
	target, err := url.Parse(s.URL)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the moto proxy: %w", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var one sync.Mutex
	s.proxy = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			one.Lock()
			defer one.Unlock()
			proxy.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.proxy.Serve(l) }()
	s.MotoURL, s.URL = s.URL, "http://"+l.Addr().String()
	return nil
}

// own starts the process on a goroutine locked to its OS thread that lives until Stop, so
// Pdeathsig only fires when the whole test process goes away.
func (s *Server) own(started chan<- error) {
	runtime.LockOSThread()
	if err := s.cmd.Start(); err != nil {
		started <- err
		close(s.done)
		return
	}
	started <- nil
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }()
	select {
	case <-s.stop:
		killGroup(s.cmd.Process)
		<-exited
	case <-exited:
	}
	close(s.done)
	// Leaving the thread locked makes the runtime retire it with this goroutine.
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("moto exited before answering on %s; its output ends with:\n%s", s.URL, s.log)
		default:
		}
		if resp, err := client.Get(s.URL + "/moto-api/data.json"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("moto did not answer on %s within %s", s.URL, timeout)
}

// Stop kills moto's process group and waits for it; calling it again does nothing.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.proxy != nil {
			_ = s.proxy.Close()
		}
		close(s.stop)
	})
	<-s.done
}

// Reset clears everything moto holds. It affects every test using the server, so tests
// that run in parallel should isolate by unique table and secret names instead.
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: status %s", resp.Status)
	}
	return nil
}

// AWSConfig builds a config the standard SDK way, pointing every service at moto with
// static test credentials. It sets options instead of process environment variables, so
// parallel tests cannot disturb each other. Service-specific variables such as
// AWS_ENDPOINT_URL_DYNAMODB in the environment would still win, as the SDK defines.
func (s *Server) AWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithBaseEndpoint(s.URL),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "testing", SecretAccessKey: "testing", Source: "mototest"}, nil
		})),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config for moto: %w", err)
	}
	return cfg, nil
}

// Config is AWSConfig for tests: it fails tb on error.
func (s *Server) Config(tb testing.TB) aws.Config {
	tb.Helper()
	cfg, err := s.AWSConfig(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
