package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/logging"
	"github.com/forgelink/forgelink/shared/mototest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestUsageAndMemoryRefused(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{nil, {"nope"}, {"create-org"}, {"create-org", "a", "b"}, {"sweep-secrets", "x"}, {"create-org", "acme", "--bogus"}, {"list-tokens"}, {"revoke-token", "acme"}} {
		var out, errOut bytes.Buffer
		err := run(ctx, args, env(nil), &out, &errOut)
		if !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"create-org", "acme"}, env(nil), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "FORGELINK_STORE must be aws") {
		t.Errorf("memory store: %v", err)
	}
}

// TestHelpPerCommand: `forgelinkctl COMMAND -h` prints that command's usage line and only
// its own flags, and succeeds without touching any store.
func TestHelpPerCommand(t *testing.T) {
	flags := map[string][]string{
		"create-org": {"-name"}, "create-token": {"-name"}, "sign-in-link": {"-base-url"}, "sweep-secrets": {"-dry-run"},
	}
	all := []string{"-name", "-base-url", "-dry-run"}
	for _, c := range commands {
		for _, h := range []string{"-h", "--help"} {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), []string{c.name, h}, env(nil), &out, &errOut); err != nil {
				t.Errorf("%s %s: %v", c.name, h, err)
			}
			help := errOut.String()
			if !strings.HasPrefix(help, "usage: forgelinkctl "+c.name) {
				t.Errorf("%s %s: help starts %q", c.name, h, help)
			}
			for _, f := range all {
				if got, want := strings.Contains(help, "  "+f), slices.Contains(flags[c.name], f); got != want {
					t.Errorf("%s %s: flag %s listed %v, want %v:\n%s", c.name, h, f, got, want, help)
				}
			}
		}
	}
	// A flag of another command is a usage error.
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"list-tokens", "acme", "--dry-run"}, env(nil), &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("list-tokens --dry-run: %v, want a usage error", err)
	}
}

// TestArgumentsThatLookLikeFlags: an admin token may start with "-" (base64url); as an
// argument it is positional unless it names one of the command's flags, and "--" ends the
// flags.
func TestArgumentsThatLookLikeFlags(t *testing.T) {
	for _, c := range []struct {
		command string
		args    []string
		want    []string
	}{
		{"revoke-token", []string{"acme", "-MoavWSz1iiguOV1ip5PUT7o6WUKnrBdMKbPJSIQiTs"}, []string{"acme", "-MoavWSz1iiguOV1ip5PUT7o6WUKnrBdMKbPJSIQiTs"}},
		{"revoke-token", []string{"acme", "--", "-name"}, []string{"acme", "-name"}},
		{"create-org", []string{"--name", "-x", "acme"}, []string{"acme"}},
		{"create-org", []string{"acme", "--name=Acme"}, []string{"acme"}},
		{"sweep-secrets", []string{"--dry-run"}, nil},
	} {
		i := slices.IndexFunc(commands, func(x command) bool { return x.name == c.command })
		fs, _ := commands[i].flags(io.Discard)
		got, err := parseInterspersed(fs, c.args)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s %q: %q %v, want %q", c.command, c.args, got, err, c.want)
		}
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"sweep-secrets", "--dryrun"}, env(nil), &out, &errOut)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--dryrun: not a flag of sweep-secrets") {
		t.Errorf("sweep-secrets --dryrun: %v, want a usage error naming the flag", err)
	}
}

// TestAgainstMoto runs every command on DynamoDB and Secrets Manager in moto.
func TestAgainstMoto(t *testing.T) {
	srv := mototest.Start(t)
	awsCfg := srv.Config(t)
	ctx := context.Background()
	vars := map[string]string{
		"FORGELINK_STORE":         "aws",
		"FORGELINK_TABLE":         "forgelinkctl-test",
		"FORGELINK_SECRET_PREFIX": "forgelink/ctltest/",
		"FORGELINK_BASE_URL":      "https://forgelink.example.com",
	}
	opts := local.Options{AWS: &awsCfg}
	ctl := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := runWith(ctx, args, env(vars), &out, &errOut, opts)
		return out.String(), errOut.String(), err
	}

	if out, _, err := ctl("create-org", "--name", "Acme Corp", "acme"); err != nil || !strings.Contains(out, "org acme (Acme Corp) ready") {
		t.Fatalf("create-org: %q %v", out, err)
	}
	if _, _, err := ctl("create-org", "acme"); err != nil {
		t.Errorf("create-org again: %v", err)
	}
	if _, _, err := ctl("create-org", "Bad_Slug"); err == nil || !strings.Contains(err.Error(), "slug") {
		t.Errorf("bad slug: %v", err)
	}
	out, _, err := ctl("create-token", "acme", "--name", "ci")
	token := strings.TrimSpace(out)
	if err != nil || len(token) < 40 {
		t.Fatalf("create-token: %q %v", out, err)
	}
	if _, _, err := ctl("create-token", "nosuchorg"); err == nil {
		t.Error("create-token for a missing org succeeded")
	}
	out, _, err = ctl("sign-in-link", "acme")
	if err != nil || !strings.HasPrefix(out, "https://forgelink.example.com/orgs/acme/admin/sign-in?token=") {
		t.Fatalf("sign-in-link: %q %v", out, err)
	}

	// The token and the link work against the same store.
	d, err := local.Deps(ctx, config.Config{Store: "aws", Table: vars["FORGELINK_TABLE"], SecretPrefix: vars["FORGELINK_SECRET_PREFIX"]}, logging.New(&bytes.Buffer{}, "error"), opts)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(d)
	if err != nil {
		t.Fatal(err)
	}
	if actor, err := a.Services.Tokens.AuthenticateToken(ctx, "acme", token); err != nil || actor.Org != "acme" {
		t.Errorf("token does not authenticate: %v", err)
	}
	link := strings.TrimSpace(out[strings.Index(out, "token=")+len("token="):])
	if _, err := a.Services.SetupLinks.RedeemAdminLink(ctx, "acme", link); err != nil {
		t.Errorf("link does not redeem: %v", err)
	}

	// list-tokens shows ids, never tokens; revoke-token by id or token stops them at once.
	out, _, err = ctl("create-token", "acme", "--name", "deploy")
	deploy := strings.TrimSpace(out)
	if err != nil {
		t.Fatalf("create-token: %v", err)
	}
	out, _, err = ctl("list-tokens", "acme")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 || strings.Contains(out, token) || strings.Contains(out, deploy) {
		t.Fatalf("list-tokens: %q %v", out, err)
	}
	ids := map[string]string{} // name → id
	for _, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 3 || len(f[0]) != 12 || !strings.HasPrefix(f[2], "20") {
			t.Fatalf("list-tokens line %q", line)
		}
		ids[f[1]] = f[0]
	}
	if ids["ci"] == "" || ids["deploy"] == "" {
		t.Fatalf("list-tokens names: %q", out)
	}
	if _, _, err := ctl("list-tokens", "nosuchorg"); err == nil {
		t.Error("list-tokens for a missing org succeeded")
	}
	if out, _, err := ctl("revoke-token", "acme", ids["ci"]); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke-token by id: %q %v", out, err)
	}
	if _, err := a.Services.Tokens.AuthenticateToken(ctx, "acme", token); forgelink.ErrorCode(err) != forgelink.EUNAUTHORIZED {
		t.Errorf("revoked token still authenticates: %v", err)
	}
	if _, _, err := ctl("revoke-token", "acme", ids["ci"]); forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		t.Errorf("revoke-token twice: %v", err)
	}
	if _, _, err := ctl("revoke-token", "acme", "abc"); forgelink.ErrorCode(err) != forgelink.EINVALID {
		t.Errorf("revoke-token with a short id: %v", err)
	}
	if _, _, err := ctl("revoke-token", "acme", deploy); err != nil {
		t.Fatalf("revoke-token by token: %v", err)
	}
	if _, err := a.Services.Tokens.AuthenticateToken(ctx, "acme", deploy); forgelink.ErrorCode(err) != forgelink.EUNAUTHORIZED {
		t.Errorf("revoked token still authenticates: %v", err)
	}
	if out, _, err := ctl("list-tokens", "acme"); err != nil || out != "" {
		t.Errorf("list-tokens after revoking: %q %v", out, err)
	}
	recs, _ := a.Store.ListAudit(ctx, "acme", "", 0)
	var revoked int
	for _, r := range recs {
		if r.Action == forgelink.AuditTokenRevoked {
			revoked++
			if r.Actor != "operator:forgelinkctl" || strings.Contains(r.Detail, token) || strings.Contains(r.Detail, deploy) {
				t.Errorf("audit record %+v", r)
			}
		}
	}
	if revoked != 2 {
		t.Errorf("%d revocations audited, want 2: %+v", revoked, recs)
	}

	// sweep-secrets: an orphan goes, a secret whose integration exists stays.
	if _, err := a.Secrets.PutSecret(ctx, "forgelink/ctltest/acme/orphan", "x", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Secrets.PutSecret(ctx, "other/prefix/acme/orphan", "x", nil); err != nil {
		t.Fatal(err)
	}
	out, _, err = ctl("sweep-secrets", "--dry-run")
	if err != nil || !strings.Contains(out, "orphan forgelink/ctltest/acme/orphan (dry run, kept)") {
		t.Errorf("dry run: %q %v", out, err)
	}
	out, _, err = ctl("sweep-secrets")
	if err != nil || !strings.Contains(out, "deleted forgelink/ctltest/acme/orphan") {
		t.Errorf("sweep: %q %v", out, err)
	}
	names, _ := a.Secrets.ListSecrets(ctx, "")
	if len(names) != 1 || names[0] != "other/prefix/acme/orphan" {
		t.Errorf("secrets after sweep: %v", names)
	}
}

// TestRotateCookieKey: rotate-cookie-key writes a new key with the old one as previous,
// refuses a second rotation before the first ends, and --drop-previous ends it; the
// functions' reader (app.CookieKey) sees each step.
func TestRotateCookieKey(t *testing.T) {
	srv := mototest.Start(t)
	awsCfg := srv.Config(t)
	ctx := context.Background()
	const name = "forgelink/ctltest/cookie-key"
	original := strings.Repeat("0123456789abcdef", 4)
	sm := secretsmanager.NewFromConfig(awsCfg)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"key":"` + original + `"}`)}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"FORGELINK_COOKIE_KEY_SECRET": name}
	opts := local.Options{AWS: &awsCfg}
	ctl := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := runWith(ctx, args, env(vars), &out, &errOut, opts)
		return out.String() + errOut.String(), err
	}
	keys := func() app.CookieKeys {
		k, err := app.CookieKey(ctx, config.Config{CookieKeySecret: name}, awsCfg)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}

	if out, err := ctl("rotate-cookie-key"); err != nil {
		t.Fatalf("rotate: %v %s", err, out)
	}
	k := keys()
	if string(k.Previous) != original || len(k.Current) != 64 || string(k.Current) == original {
		t.Fatalf("after rotation: current %d chars, previous %q", len(k.Current), k.Previous)
	}
	if out, err := ctl("rotate-cookie-key"); err == nil || !strings.Contains(err.Error(), "--drop-previous") {
		t.Errorf("second rotation during the first: %v %s", err, out)
	}
	if out, err := ctl("rotate-cookie-key", "--drop-previous"); err != nil {
		t.Fatalf("drop previous: %v %s", err, out)
	}
	if k2 := keys(); string(k2.Current) != string(k.Current) || k2.Previous != nil {
		t.Errorf("after --drop-previous: previous %q, current kept %t", k2.Previous, string(k2.Current) == string(k.Current))
	}
	if _, err := ctl("rotate-cookie-key", "--drop-previous"); err == nil {
		t.Error("--drop-previous without a rotation succeeded")
	}
	vars["FORGELINK_COOKIE_KEY_SECRET"] = ""
	if _, err := ctl("rotate-cookie-key"); err == nil || !strings.Contains(err.Error(), "FORGELINK_COOKIE_KEY_SECRET") {
		t.Errorf("without a secret name: %v", err)
	}
}
