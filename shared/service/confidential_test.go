package service

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/inmem"
	"github.com/forgelink/forgelink/shared/netguard"
)

// newConfidentialTestService is newAdminTestService with a probe limit and a log to read.
// Its clock moves a second at every reading, so audit records come in order.
func newConfidentialTestService(t *testing.T, probes WriteLimit) (All, *stubGitLab, *bytes.Buffer) {
	t.Helper()
	clock := &adminClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	mem := inmem.New(clock.now)
	gl := &stubGitLab{clientID: "app-id", secret: "app-secret"}
	hosts, _ := netguard.ParseAllowHosts("gitlab.test:8443")
	logs := &bytes.Buffer{}
	now := func() time.Time { clock.add(time.Second); return clock.now() }
	s := NewAll(Deps{Store: mem, Secrets: mem, GitLab: gl, URLs: netguard.Policy{AllowHosts: hosts}, SecretPrefix: "forgelink/test/",
		Now: now, Log: slog.New(slog.NewJSONHandler(logs, nil)), GitLabProbes: probes})
	if _, err := s.Orgs.EnsureOrg(context.Background(), "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	return s, gl, logs
}

func lastAudit(t *testing.T, s All, id string) forgelink.AuditRecord {
	t.Helper()
	recs, err := s.Audit.ListAudit(context.Background(), "acme", id, 1)
	if err != nil || len(recs) == 0 {
		t.Fatalf("audit of %s: %v %v", id, recs, err)
	}
	return recs[0]
}

// TestSaveWarnsAboutPublicApplication: Save with the credentials of an application that
// is not Confidential still activates the integration; the integration carries the
// warning and the audit record says so. One probe token pays for both calls to GitLab.
func TestSaveWarnsAboutPublicApplication(t *testing.T) {
	s, gl, logs := newConfidentialTestService(t, WriteLimit{Burst: 1, PerMinute: 1})
	ctx, actor, base := context.Background(), Actor{Org: "acme", Name: "token:test"}, "https://f.example"
	in, err := s.Integrations.CreateIntegration(ctx, actor, "acme", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443")}, base)
	if err != nil {
		t.Fatal(err)
	}
	gl.public = true
	out, err := s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{ClientID: ptr("app-id"), ClientSecret: ptr("app-secret")}, base)
	if err != nil || out.Status != forgelink.StatusActive || !out.NotConfidential {
		t.Fatalf("save of a public application: %+v %v; want active and NotConfidential", out, err)
	}
	if gl.confCalls != 1 || gl.redirects[len(gl.redirects)-1] != CallbackURL(base, "acme", in.ID) {
		t.Errorf("IsConfidential calls %d, redirects %v", gl.confCalls, gl.redirects)
	}
	if w := Warnings(out); len(w) != 1 || w[0].Code != WarningNotConfidential || !strings.Contains(w[0].Message, "tick Confidential") {
		t.Errorf("warnings %+v", w)
	}
	if got, _ := s.Integrations.GetIntegration(ctx, "acme", in.ID); !got.NotConfidential {
		t.Errorf("the warning was not stored: %+v", got)
	}
	if a := lastAudit(t, s, in.ID); a.Action != forgelink.AuditIntegrationSaved || !strings.HasSuffix(a.Detail, "; application is not Confidential") {
		t.Errorf("audit %+v", a)
	}
	// The bucket had one token: the Save took it, the probe of Confidential took none.
	_, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{ClientID: ptr("app-id"), ClientSecret: ptr("app-secret")}, base)
	if code(err) != forgelink.ERATELIMITED {
		t.Errorf("second save with an empty probe bucket: %v, want ERATELIMITED", err)
	}
	// A rename while the bucket is empty: the re-check is skipped, the warning stays.
	out, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{Name: ptr("renamed")}, base)
	if err != nil || !out.NotConfidential || gl.confCalls != 1 {
		t.Errorf("rename without a probe token: %+v %v, %d calls", out, err, gl.confCalls)
	}
	if !strings.Contains(logs.String(), "Confidential re-check skipped") || strings.Contains(logs.String(), "app-secret") {
		t.Errorf("logs: %s", logs)
	}
	if w := Warnings(forgelink.Integration{}); w == nil || len(w) != 0 {
		t.Errorf("no warning should be an empty list, got %#v", w)
	}
}

// TestSaveRechecksConfidential: while the warning stands, a Save without new credentials
// asks GitLab again (no secret needed): ticking Confidential on GitLab and saving clears
// it; a GitLab that cannot tell leaves it; an integration without the warning never asks.
func TestSaveRechecksConfidential(t *testing.T) {
	s, gl, _ := newConfidentialTestService(t, WriteLimit{})
	ctx, actor, base := context.Background(), Actor{Org: "acme", Name: "token:test"}, "https://f.example"
	gl.public = true
	in, err := s.Integrations.CreateIntegration(ctx, actor, "acme", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443"),
		ClientID: ptr("app-id"), ClientSecret: ptr("app-secret")}, base)
	if err != nil || !in.NotConfidential {
		t.Fatalf("one-shot create of a public application: %+v %v", in, err)
	}
	if a := lastAudit(t, s, in.ID); !strings.HasSuffix(a.Detail, "; application is not Confidential") {
		t.Errorf("one-shot create's audit %+v", a)
	}

	// Still public: the warning stays and the rename is the only change.
	out, err := s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{Name: ptr("one")}, base)
	if err != nil || !out.NotConfidential || gl.confCalls != 2 {
		t.Errorf("rename of a still public application: %+v %v, %d calls", out, err, gl.confCalls)
	}
	// GitLab cannot tell: the warning stays.
	gl.public, gl.confErr = false, forgelink.Errorf(forgelink.EUPSTREAM, "GitLab at https://gitlab.test:8443 answered with a server error")
	out, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{Name: ptr("two")}, base)
	if err != nil || !out.NotConfidential {
		t.Errorf("rename when GitLab cannot tell: %+v %v", out, err)
	}
	// Confidential now: the same Save, with nothing else to change, clears it.
	gl.confErr = nil
	out, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{Name: ptr("two")}, base)
	if err != nil || out.NotConfidential || out.Version != in.Version+3 {
		t.Errorf("Save after ticking Confidential: %+v %v", out, err)
	}
	if a := lastAudit(t, s, in.ID); a.Action != forgelink.AuditIntegrationUpdated || a.Detail != "application is Confidential now" {
		t.Errorf("audit %+v", a)
	}
	calls := gl.confCalls
	if _, err := s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{Name: ptr("three")}, base); err != nil || gl.confCalls != calls {
		t.Errorf("rename of a Confidential application asked GitLab (%d calls) %v", gl.confCalls-calls, err)
	}
}

// TestSaveWhenConfidentialCannotBeTold: the probe failing never blocks a Save; there is
// no warning and the log says why, without the secret.
func TestSaveWhenConfidentialCannotBeTold(t *testing.T) {
	s, gl, logs := newConfidentialTestService(t, WriteLimit{})
	ctx, actor, base := context.Background(), Actor{Org: "acme", Name: "token:test"}, "https://f.example"
	gl.public, gl.confErr = true, forgelink.Errorf(forgelink.EUPSTREAM, "Could not reach GitLab at https://gitlab.test:8443: no server answered.")
	in, err := s.Integrations.CreateIntegration(ctx, actor, "acme", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443"),
		ClientID: ptr("app-id"), ClientSecret: ptr("app-secret")}, base)
	if err != nil || in.Status != forgelink.StatusActive || in.NotConfidential {
		t.Fatalf("create when GitLab cannot tell: %+v %v; want active without the warning", in, err)
	}
	line := logs.String()
	if !strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, "could not tell whether the GitLab application is Confidential") ||
		!strings.Contains(line, in.ID) || strings.Contains(line, "app-secret") {
		t.Errorf("log: %s", line)
	}
}
