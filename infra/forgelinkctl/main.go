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
//	forgelinkctl sign-in-link ORG [--base-url URL]
//	forgelinkctl sweep-secrets [--dry-run]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

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

const usage = `usage: forgelinkctl COMMAND [ARGS]

Commands:
  create-org SLUG [--name NAME]        create an org (no-op when it exists)
  create-token ORG [--name NAME]       create an admin API token; printed once, only its hash is stored
  list-tokens ORG                      list the org's admin API tokens: id, name, created (newest first)
  revoke-token ORG ID-OR-TOKEN         revoke an admin API token at once, by its id (8 or more of its
                                       hex characters) or by the token itself
  sign-in-link ORG [--base-url URL]    print a one-time admin sign-in link (valid 10 minutes)
  sweep-secrets [--dry-run]            delete client secrets whose integration no longer exists

Environment: FORGELINK_STORE=aws (required), FORGELINK_TABLE, FORGELINK_SECRET_PREFIX,
FORGELINK_BASE_URL, and the AWS SDK's standard variables (AWS_REGION, AWS_ENDPOINT_URL, ...).
`

// run is the whole program; tests call it with their own environment and writers.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, local.Options{})
}

// runWith is run with wiring options (tests point it at moto).
func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, opts local.Options) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return fmt.Errorf("%w: no command", errUsage)
		}
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "display name")
	baseURL := fs.String("base-url", "", "public base URL (default FORGELINK_BASE_URL)")
	dryRun := fs.Bool("dry-run", false, "only list what would be deleted")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	want := map[string]int{"create-org": 1, "create-token": 1, "list-tokens": 1, "revoke-token": 2, "sign-in-link": 1, "sweep-secrets": 0}
	n, known := want[cmd]
	if !known {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	if len(pos) != n {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: %s takes %d argument(s), got %d", errUsage, cmd, n, len(pos))
	}

	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	if cfg.Store != "aws" {
		return errors.New("FORGELINK_STORE must be aws: forgelinkctl works on the shared DynamoDB table and Secrets Manager; " +
			"the in-memory store lives inside one process, so whatever forgelinkctl created there would vanish when it exits " +
			"(for `make run`, use the token and sign-in link the runner prints)")
	}
	level := getenv("FORGELINK_LOG_LEVEL")
	if level == "" {
		level = "warn"
	}
	d, err := local.Deps(ctx, cfg, logging.New(stderr, level), opts)
	if err != nil {
		return err
	}
	a, err := app.New(d)
	if err != nil {
		return err
	}
	svc := a.Services

	switch cmd {
	case "create-org":
		org, err := svc.Orgs.EnsureOrg(ctx, pos[0], *name)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "org %s (%s) ready\n", org.Slug, org.Name)
	case "create-token":
		tokenName := *name
		if tokenName == "" {
			tokenName = "forgelinkctl"
		}
		token, err := svc.Tokens.CreateAdminToken(ctx, pos[0], tokenName, "")
		if err != nil {
			return describe(err)
		}
		fmt.Fprintln(stderr, "Admin API token (shown once; only its hash is stored):")
		fmt.Fprintln(stdout, token)
	case "list-tokens":
		tokens, err := svc.Tokens.ListAdminTokens(ctx, pos[0])
		if err != nil {
			return describe(err)
		}
		for _, t := range tokens {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(stderr, "%d admin token(s) in org %s\n", len(tokens), pos[0])
	case "revoke-token":
		if err := svc.Tokens.RevokeAdminToken(ctx, service.Operator(pos[0]), pos[0], pos[1]); err != nil {
			return describe(err)
		}
		fmt.Fprintln(stdout, "admin token revoked")
	case "sign-in-link":
		base := strings.TrimRight(*baseURL, "/")
		if base == "" {
			base = cfg.BaseURL
		}
		if base == "" {
			return errors.New("no base URL: set FORGELINK_BASE_URL or pass --base-url (the API's public URL)")
		}
		if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
			return fmt.Errorf("base URL %q: want an absolute http(s) URL", base)
		}
		plain, err := svc.SetupLinks.CreateAdminLink(ctx, pos[0], "")
		if err != nil {
			return describe(err)
		}
		fmt.Fprintln(stderr, "One-time admin sign-in link (valid 10 minutes):")
		fmt.Fprintln(stdout, service.AdminSignInURL(base, pos[0], plain))
	case "sweep-secrets":
		res, err := svc.Integrations.SweepSecrets(ctx, *dryRun)
		for _, r := range res {
			switch {
			case *dryRun:
				fmt.Fprintf(stdout, "orphan %s (dry run, kept)\n", r.Name)
			case r.Deleted:
				fmt.Fprintf(stdout, "deleted %s\n", r.Name)
			default:
				fmt.Fprintf(stdout, "failed %s: %v\n", r.Name, r.Err)
			}
		}
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stderr, "%d orphaned secret(s) under %q\n", len(res), cfg.SecretPrefix)
		for _, r := range res {
			if r.Err != nil {
				return errors.New("some secrets could not be deleted")
			}
		}
	}
	return nil
}

// parseInterspersed parses flags anywhere among the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
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
