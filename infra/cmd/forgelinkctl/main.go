// Command forgelinkctl is forgelink's operator CLI: it creates orgs, creates, lists and
// revokes admin API tokens, makes one-time admin sign-in links, and sweeps orphaned client
// secrets. It reads the same
// FORGELINK_* variables as the functions and the local runner, and works on the shared
// store only (FORGELINK_STORE=aws): the in-memory store lives inside one process, so
// anything created there would vanish when forgelinkctl exits.
//
//	forgelinkctl create-org SLUG [--name NAME]
//	forgelinkctl create-token ORG [--name NAME]
//	forgelinkctl list-tokens ORG
//	forgelinkctl revoke-token ORG ID-OR-TOKEN
//	forgelinkctl sign-in-link ORG [--for LABEL] [--base-url URL]
//	forgelinkctl sweep-secrets [--dry-run]
//	forgelinkctl rotate-cookie-key [--drop-previous] [--force]
//
// Each command has its own flags; `forgelinkctl COMMAND -h` lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/logging"
	"github.com/forgelink/forgelink/shared/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "forgelinkctl:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// command is one subcommand: its usage line, its positional arguments, and setup, which
// declares the command's own flags on fs and returns what runs it. A new flag is one line
// in setup.
type command struct {
	name, args, summary string
	nargs               int
	setup               func(fs *flag.FlagSet) action
	// secretsOnly commands work on the cookie-key secret alone: no table, any store.
	secretsOnly bool
}

// action runs a command once its flags are parsed, with its positional arguments.
type action func(ctx context.Context, e *ctl, pos []string) error

// ctl is what every action works with: the configuration, the services on the shared
// store, and the output streams (results on stdout, remarks on stderr).
type ctl struct {
	cfg            config.Config
	svc            service.All
	aws            aws.Config // secretsOnly commands
	stdout, stderr io.Writer
}

var commands = []command{
	{name: "create-org", args: "SLUG", nargs: 1, summary: "create an org (no-op when it exists)", setup: createOrg},
	{name: "create-token", args: "ORG", nargs: 1, summary: "create an admin API token; printed once, only its hash is stored", setup: createToken},
	{name: "list-tokens", args: "ORG", nargs: 1, summary: "list the org's admin API tokens: id, name, created (newest first)", setup: listTokens},
	{name: "revoke-token", args: "ORG ID-OR-TOKEN", nargs: 2, summary: "revoke an admin API token at once, by its id (8 or more of its\nhex characters) or by the token itself", setup: revokeToken},
	{name: "sign-in-link", args: "ORG", nargs: 1, summary: "print a one-time setup link that signs its holder in as admin (valid 10 minutes)", setup: signInLink},
	{name: "sweep-secrets", nargs: 0, summary: "delete client secrets whose integration no longer exists", setup: sweepSecrets},
	{name: "rotate-cookie-key", nargs: 0, secretsOnly: true, setup: rotateCookieKey,
		summary: "put a new random cookie key into FORGELINK_COOKIE_KEY_SECRET, the old one as previous;\n12 h later, --drop-previous ends the rotation (docs/operations.md)"},
}

const environment = `Environment: FORGELINK_STORE=aws (required), FORGELINK_TABLE, FORGELINK_SECRET_PREFIX,
FORGELINK_BASE_URL, FORGELINK_COOKIE_KEY_SECRET (rotate-cookie-key), and the AWS SDK's
standard variables (AWS_REGION, AWS_ENDPOINT_URL, ...).
`

// usage is the overview: every command with its arguments and flags.
func usage(w io.Writer) {
	fmt.Fprint(w, "usage: forgelinkctl COMMAND [ARGS] (forgelinkctl COMMAND -h for its flags)\n\nCommands:\n")
	for _, c := range commands {
		fs, _ := c.flags(io.Discard)
		line := c.line(fs)
		lines := strings.Split(c.summary, "\n")
		fmt.Fprintf(w, "  %-36s %s\n", line, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "  %-36s %s\n", "", l)
		}
	}
	fmt.Fprint(w, "\n"+environment)
}

// flags is the command's own flag set and the action that reads it; -h prints the
// command's usage line and flags.
func (c command) flags(stderr io.Writer) (*flag.FlagSet, action) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: forgelinkctl %s\n\n%s\n", c.line(fs), strings.ReplaceAll(c.summary, "\n", " "))
		if flagSummary(fs) != "" {
			fmt.Fprint(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
		fmt.Fprint(fs.Output(), "\n"+environment)
	}
	return fs, c.setup(fs)
}

// line is the command's usage line without the program name: "create-org SLUG [--name NAME]".
func (c command) line(fs *flag.FlagSet) string {
	return strings.Join(slices.DeleteFunc([]string{c.name, c.args, flagSummary(fs)}, func(s string) bool { return s == "" }), " ")
}

// flagSummary renders a flag set as "[--name NAME] [--dry-run]".
func flagSummary(fs *flag.FlagSet) string {
	var parts []string
	fs.VisitAll(func(f *flag.Flag) {
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			parts = append(parts, "[--"+f.Name+"]")
			return
		}
		name, _ := flag.UnquoteUsage(f)
		parts = append(parts, "[--"+f.Name+" "+strings.ToUpper(name)+"]")
	})
	return strings.Join(parts, " ")
}

// run is the whole program; tests call it with their own environment and writers.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, local.Options{})
}

// runWith is run with wiring options (tests point it at moto): it picks the command,
// parses that command's flags, opens the shared store and runs it.
func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, opts local.Options) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return fmt.Errorf("%w: no command", errUsage)
		}
		return nil
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		usage(stderr)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	c := commands[i]
	fs, act := c.flags(stderr)
	pos, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(pos) != c.nargs {
		fs.Usage()
		var notFlags []string
		for _, p := range pos {
			if strings.HasPrefix(p, "-") {
				notFlags = append(notFlags, p)
			}
		}
		if len(notFlags) > 0 {
			return fmt.Errorf("%w: %s takes %d argument(s), got %d (%s: not a flag of %s)", errUsage, c.name, c.nargs, len(pos), strings.Join(notFlags, ", "), c.name)
		}
		return fmt.Errorf("%w: %s takes %d argument(s), got %d", errUsage, c.name, c.nargs, len(pos))
	}
	opener := open
	if c.secretsOnly {
		opener = openSecrets
	}
	e, err := opener(ctx, getenv, stdout, stderr, opts)
	if err != nil {
		return err
	}
	return act(ctx, e, pos)
}

// open reads the configuration and wires the services on the shared store.
func open(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, opts local.Options) (*ctl, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	if cfg.Store != "aws" {
		return nil, errors.New("FORGELINK_STORE must be aws: forgelinkctl works on the shared DynamoDB table and Secrets Manager; " +
			"the in-memory store lives inside one process, so whatever forgelinkctl created there would vanish when it exits " +
			"(for `make run`, use the token and sign-in link the runner prints)")
	}
	level := getenv("FORGELINK_LOG_LEVEL")
	if level == "" {
		level = "warn"
	}
	d, err := local.Deps(ctx, cfg, logging.New(stderr, level), opts)
	if err != nil {
		return nil, err
	}
	a, err := app.New(d)
	if err != nil {
		return nil, err
	}
	return &ctl{cfg: cfg, svc: a.Services, stdout: stdout, stderr: stderr}, nil
}

// openSecrets reads the configuration and the AWS configuration only: rotating the
// cookie key needs neither the table nor FORGELINK_STORE.
func openSecrets(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, opts local.Options) (*ctl, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	e := &ctl{cfg: cfg, stdout: stdout, stderr: stderr}
	if opts.AWS != nil {
		e.aws = *opts.AWS
	} else if e.aws, err = app.LoadAWS(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func createOrg(fs *flag.FlagSet) action {
	name := fs.String("name", "", "display `NAME` (default: the slug)")
	return func(ctx context.Context, e *ctl, pos []string) error {
		org, err := e.svc.Orgs.EnsureOrg(ctx, pos[0], *name)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stdout, "org %s (%s) ready\n", org.Slug, org.Name)
		return nil
	}
}

func createToken(fs *flag.FlagSet) action {
	name := fs.String("name", "forgelinkctl", "the token's `NAME`, shown by list-tokens")
	return func(ctx context.Context, e *ctl, pos []string) error {
		token, err := e.svc.Tokens.CreateAdminToken(ctx, pos[0], *name, "")
		if err != nil {
			return describe(err)
		}
		fmt.Fprintln(e.stderr, "Admin API token (shown once; only its hash is stored):")
		fmt.Fprintln(e.stdout, token)
		return nil
	}
}

func listTokens(fs *flag.FlagSet) action {
	return func(ctx context.Context, e *ctl, pos []string) error {
		tokens, err := e.svc.Tokens.ListAdminTokens(ctx, pos[0])
		if err != nil {
			return describe(err)
		}
		for _, t := range tokens {
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(e.stderr, "%d admin token(s) in org %s\n", len(tokens), pos[0])
		return nil
	}
}

func revokeToken(fs *flag.FlagSet) action {
	return func(ctx context.Context, e *ctl, pos []string) error {
		if err := e.svc.Tokens.RevokeAdminToken(ctx, service.Operator(pos[0]), pos[0], pos[1]); err != nil {
			return describe(err)
		}
		fmt.Fprintln(e.stdout, "admin token revoked")
		return nil
	}
}

func signInLink(fs *flag.FlagSet) action {
	baseURL := fs.String("base-url", "", "the API's public base `URL` (default FORGELINK_BASE_URL)")
	label := fs.String("for", "", "whom the link is for, e.g. \"Jane Doe\": the `LABEL` its session and the audit trail show (default operator)")
	return func(ctx context.Context, e *ctl, pos []string) error {
		base := strings.TrimRight(*baseURL, "/")
		if base == "" {
			base = e.cfg.BaseURL
		}
		if base == "" {
			return errors.New("no base URL: set FORGELINK_BASE_URL or pass --base-url (the API's public URL)")
		}
		if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
			return fmt.Errorf("base URL %q: want an absolute http(s) URL", base)
		}
		plain, err := e.svc.SetupLinks.CreateAdminLink(ctx, pos[0], *label)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintln(e.stderr, "One-time setup link (valid 10 minutes; opening it shows a Continue button):")
		fmt.Fprintln(e.stdout, service.AdminSignInURL(base, pos[0], plain))
		return nil
	}
}

func sweepSecrets(fs *flag.FlagSet) action {
	dryRun := fs.Bool("dry-run", false, "only list what would be deleted")
	return func(ctx context.Context, e *ctl, _ []string) error {
		res, err := e.svc.Integrations.SweepSecrets(ctx, *dryRun)
		for _, r := range res {
			switch {
			case *dryRun:
				fmt.Fprintf(e.stdout, "orphan %s (dry run, kept)\n", r.Name)
			case r.Deleted:
				fmt.Fprintf(e.stdout, "deleted %s\n", r.Name)
			default:
				fmt.Fprintf(e.stdout, "failed %s: %v\n", r.Name, r.Err)
			}
		}
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(e.stderr, "%d orphaned secret(s) under %q\n", len(res), e.cfg.SecretPrefix)
		for _, r := range res {
			if r.Err != nil {
				return errors.New("some secrets could not be deleted")
			}
		}
		return nil
	}
}

// parseInterspersed parses flags anywhere among the positional arguments. An argument
// that starts with "-" but names none of the command's flags is positional: an admin
// token may start with "-" (base64url), and revoke-token takes one. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return append(pos, args[1:]...), nil
		}
		n := flagArgs(fs, a)
		if n == 0 {
			pos = append(pos, a)
			args = args[1:]
			continue
		}
		n = min(n, len(args))
		if err := fs.Parse(args[:n]); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	return pos, nil
}

// flagArgs is how many arguments the flag a takes up: 0 when a is not one of fs's
// flags (nor -h), 1 for a boolean flag, -h or "--flag=value", else 2.
func flagArgs(fs *flag.FlagSet, a string) int {
	name, ok := strings.CutPrefix(a, "-")
	if !ok || name == "" {
		return 0
	}
	name = strings.TrimPrefix(name, "-")
	name, _, hasValue := strings.Cut(name, "=")
	if name == "h" || name == "help" {
		return 1
	}
	f := fs.Lookup(name)
	if f == nil {
		return 0
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); hasValue || (ok && b.IsBoolFlag()) {
		return 1
	}
	return 2
}

// describe adds field messages to a service error.
func describe(err error) error {
	var parts []string
	for k, v := range forgelink.ErrorFields(err) {
		parts = append(parts, k+" "+v)
	}
	if len(parts) > 0 {
		return fmt.Errorf("%w (%s)", err, strings.Join(parts, "; "))
	}
	return err
}
