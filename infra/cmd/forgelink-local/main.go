// Command local runs every forgelink function's handler on one port, next to the fake
// GitLab, on the embedded in-memory store by default (make run). FORGELINK_STORE=aws uses
// DynamoDB and Secrets Manager through the SDK's standard configuration instead.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/logging"
	"github.com/forgelink/forgelink/shared/runtimetune"
	"github.com/forgelink/forgelink/shared/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runtimetune.Apply(os.Getenv, false) // the functions' GOGC, not their one P: this server takes requests concurrently
	if err := run(ctx, os.LookupEnv, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "forgelink:", err)
		os.Exit(1)
	}
}

// Started tells tests where things listen once the runner is ready.
type Started struct {
	BaseURL   string
	GitLabURL string
	RootToken string
	// AdminToken and SignInLink are the first org's; Orgs has every org's.
	AdminToken string
	SignInLink string
	Orgs       []OrgAccess
	App        *app.App
	GitLab     *fakegitlab.Server
}

// OrgAccess is how to reach one org created at start.
type OrgAccess struct {
	Org        string
	AdminToken string
	SignInLink string
}

// run starts everything and blocks until ctx ends, then shuts down gracefully. ready, when
// set, receives what started (tests use it instead of parsing the banner).
func run(ctx context.Context, lookup func(string) (string, bool), stdout, stderr io.Writer, ready chan<- Started) error {
	getenv := func(k string) string { v, _ := lookup(k); return v }
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	cfg.Addr = orDefault(cfg.Addr, config.DefaultAddr)
	log := logging.New(stderr, cfg.LogLevel)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	// The base URL follows the real address unless the operator set it (a proxy in front).
	cfg.BaseURL = orDefault(cfg.BaseURL, "http://"+ln.Addr().String())

	var st Started
	gitlabAddr, set := lookup("FORGELINK_FAKE_GITLAB")
	if !set {
		gitlabAddr = "127.0.0.1:8929"
	}
	if gitlabAddr != "" {
		gl := fakegitlab.New(fakegitlab.Options{RootToken: getenv("FAKEGITLAB_ROOT_TOKEN")})
		base, err := gl.Start(gitlabAddr, false)
		if err != nil {
			return fmt.Errorf("start fake GitLab on %s: %w", gitlabAddr, err)
		}
		defer gl.Close()
		st.GitLab, st.GitLabURL, st.RootToken = gl, base, gl.RootToken()
		if _, set := lookup("FORGELINK_ALLOW_HOSTS"); !set {
			cfg.AllowHosts = strings.TrimPrefix(base, "http://")
		}
	}

	d, err := local.Deps(ctx, cfg, log, local.Options{})
	if err != nil {
		return err
	}
	a, err := app.New(d)
	if err != nil {
		return err
	}
	st.App = a

	if st.Orgs, err = createOrgs(ctx, a, cfg.BaseURL, getenv("FORGELINK_ORG"), getenv("FORGELINK_ADMIN_TOKEN")); err != nil {
		return err
	}
	st.AdminToken, st.SignInLink = st.Orgs[0].AdminToken, st.Orgs[0].SignInLink

	st.BaseURL = cfg.BaseURL
	printBanner(stdout, cfg, st)
	return serve(ctx, ln, newHTTPServer(a.Handler("")), stdout, func() {
		if ready != nil {
			ready <- st
		}
	})
}

// serve runs srv on ln until ctx ends, then shuts it down gracefully; started is called
// once it accepts connections.
func serve(ctx context.Context, ln net.Listener, srv *http.Server, stdout io.Writer, started func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	started()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(stdout, "forgelink stopped")
	return nil
}

// createOrgs creates the orgs of FORGELINK_ORG (comma-separated, default acme), each with
// an admin API token (FORGELINK_ADMIN_TOKEN, comma-separated in the same order; random
// where none is given) and a setup link.
func createOrgs(ctx context.Context, a *app.App, base, orgList, tokenList string) ([]OrgAccess, error) {
	orgs := splitList(orDefault(orgList, "acme"))
	tokens := splitList(tokenList)
	if len(tokens) > len(orgs) {
		return nil, fmt.Errorf("FORGELINK_ADMIN_TOKEN has %d tokens for %d orgs (FORGELINK_ORG)", len(tokens), len(orgs))
	}
	var out []OrgAccess
	for i, org := range orgs {
		if _, err := a.Services.Orgs.EnsureOrg(ctx, org, org); err != nil {
			return nil, fmt.Errorf("create org %q: %w", org, err)
		}
		token := ""
		if i < len(tokens) {
			token = tokens[i]
		}
		token, err := a.Services.Tokens.CreateAdminToken(ctx, org, "make run", token)
		if err != nil {
			return nil, fmt.Errorf("create the admin token of %q: %w", org, err)
		}
		link, err := a.Services.SetupLinks.CreateAdminLink(ctx, org, "make run")
		if err != nil {
			return nil, fmt.Errorf("create the setup link of %q: %w", org, err)
		}
		out = append(out, OrgAccess{Org: org, AdminToken: token, SignInLink: service.AdminSignInURL(base, org, link)})
	}
	return out, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func printBanner(w io.Writer, cfg config.Config, st Started) {
	fmt.Fprintf(w, "forgelink is running (store: %s)\n", cfg.Store)
	fmt.Fprintf(w, "  app:               %s  (health: %s/healthz)\n", st.BaseURL, st.BaseURL)
	if st.GitLabURL != "" {
		fmt.Fprintf(w, "  fake GitLab:       %s  (users alice, bob; password: password)\n", st.GitLabURL)
		fmt.Fprintf(w, "  GitLab root token: %s\n", st.RootToken)
	}
	for _, o := range st.Orgs {
		fmt.Fprintf(w, "  org:               %s  (%s/orgs/%s)\n", o.Org, st.BaseURL, o.Org)
		fmt.Fprintf(w, "    admin API token: %s\n", o.AdminToken)
		fmt.Fprintf(w, "    setup link:      %s\n", o.SignInLink)
		fmt.Fprintf(w, "                     (one-time, valid 10 minutes: open it, then Continue)\n")
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// newHTTPServer serves h with every timeout set: a client that trickles its headers or
// body, or never reads the answer, must not hold a connection for ever. Requests take at
// most the GitLab budget (10 s) plus the stores, so a minute to write is plenty; bodies
// are at most 64 KiB.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
}
