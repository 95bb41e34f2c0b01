package service

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/forgelink"
)

func ptr(s string) *string { return &s }

func TestIntegrationURLs(t *testing.T) {
	in := forgelink.Integration{Org: "acme", ID: "abc", URL: "https://example.com/gitlab"}
	for got, want := range map[string]string{
		CallbackURL("https://f.example/", "acme", "abc"): "https://f.example/orgs/acme/login/abc/callback",
		LoginURL("https://f.example", "acme", "abc"):     "https://f.example/orgs/acme/login/abc",
		SetupURL(in):             "https://example.com/gitlab/-/user_settings/applications",
		AdminSetupURL(in):        "https://example.com/gitlab/admin/applications/new",
		GroupSetupURL(in, "a/b"): "https://example.com/gitlab/groups/a/b/-/settings/applications",
		AdminSignInURL("https://f.example/", "acme", "tok"): "https://f.example/orgs/acme/admin/sign-in?token=tok",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestIntegrationLifecycle(t *testing.T) {
	s, mem, _, gl := newAdminTestService(t)
	ctx := context.Background()
	actor := Actor{Org: "acme", Name: "token:test"}
	base := "https://f.example"

	in, err := s.Integrations.CreateIntegration(ctx, actor, "acme", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://GitLab.test:8443/x/")}, base)
	if err != nil {
		t.Fatal(err)
	}
	if in.URL != "https://gitlab.test:8443/x" || in.Name != "gitlab.test:8443" || in.Status != forgelink.StatusPending {
		t.Errorf("created %+v", in)
	}
	if _, err := s.Integrations.CreateIntegration(ctx, actor, "acme", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443/x")}, base); code(err) != forgelink.ECONFLICT || forgelink.ErrorMessage(err) != DuplicateURLMessage {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := s.Integrations.CreateIntegration(ctx, actor, "nosuch", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443/y")}, base); code(err) != forgelink.EFORBIDDEN {
		t.Errorf("actor of another org: %v", err)
	}
	if _, err := s.Integrations.CreateIntegration(ctx, Actor{Org: "nosuch", Name: "operator"}, "nosuch", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443/y")}, base); code(err) != forgelink.ENOTFOUND {
		t.Errorf("missing org: %v", err)
	}

	// Wrong credentials: nothing stored. Right ones: secret tagged, item active.
	_, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{ClientID: ptr("app-id"), ClientSecret: ptr("wrong")}, base)
	if code(err) != forgelink.EINVALID || strings.Contains(err.Error(), "wrong") && forgelink.ErrorFields(err)["client_secret"] == "" {
		t.Errorf("wrong secret: %v", err)
	}
	if names, _ := mem.ListSecrets(ctx, ""); len(names) != 0 {
		t.Errorf("secrets after a failed check: %v", names)
	}
	out, err := s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{ClientID: ptr(" app-id "), ClientSecret: ptr("app-secret\n"), Version: in.Version}, base)
	if err != nil || out.Status != forgelink.StatusActive || out.ClientID != "app-id" || out.SecretARN == "" {
		t.Fatalf("save: %+v %v", out, err)
	}
	if gl.redirects[len(gl.redirects)-1] != CallbackURL(base, "acme", in.ID) {
		t.Errorf("checked with redirect %q", gl.redirects[len(gl.redirects)-1])
	}
	name := "forgelink/test/acme/" + in.ID
	tags := mem.SecretTags(name)
	if tags["org"] != "acme" || tags["integration"] != in.ID || tags["managed-by"] != "forgelink" {
		t.Errorf("tags %v", tags)
	}
	// GitLab unreachable: EUPSTREAM passes through, nothing changes.
	gl.err = forgelink.Errorf(forgelink.EUPSTREAM, "GitLab at https://gitlab.test:8443/x did not answer")
	if _, err := s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{ClientID: ptr("app-id"), ClientSecret: ptr("app-secret")}, base); code(err) != forgelink.EUPSTREAM {
		t.Errorf("unreachable: %v", err)
	}
	gl.err = nil
	// Stale version.
	if _, err := s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{Name: ptr("x"), Version: 1}, base); code(err) != forgelink.ECONFLICT {
		t.Errorf("stale: %v", err)
	}
	// Name back to default with "".
	out, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{Name: ptr("Ours")}, base)
	if err != nil || out.Name != "Ours" {
		t.Errorf("rename: %+v %v", out, err)
	}
	out, _ = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{Name: ptr("")}, base)
	if out.Name != "gitlab.test:8443" {
		t.Errorf("default name %q", out.Name)
	}
	if err := s.Integrations.DeleteIntegration(ctx, actor, "acme", in.ID); err != nil {
		t.Fatal(err)
	}
	if names, _ := mem.ListSecrets(ctx, ""); len(names) != 0 {
		t.Errorf("secrets after delete: %v", names)
	}
	recs, _ := s.Audit.ListAudit(ctx, "acme", in.ID, 0)
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
		if strings.Contains(r.Detail, "app-secret") {
			t.Errorf("secret in audit detail %q", r.Detail)
		}
	}
	// One fixed clock: records of one instant have no order, so compare as sets.
	slices.Sort(actions)
	want := "integration.created,integration.deleted,integration.saved,integration.updated,integration.updated"
	if got := strings.Join(actions, ","); got != want {
		t.Errorf("audit %s, want %s", got, want)
	}
}
