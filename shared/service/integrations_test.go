package service

import (
	"context"
	"fmt"
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

// TestIntegrationURLEdit: a pending integration's URL may change (by create's rules, with
// a record of old and new in the audit trail); an active one's may not, and the message
// says how to move.
func TestIntegrationURLEdit(t *testing.T) {
	s, _, _, gl := newAdminTestService(t)
	ctx := context.Background()
	actor := Actor{Org: "acme", Name: "token:test"}
	base := "https://f.example"
	create := func(url string) forgelink.Integration {
		t.Helper()
		in, err := s.Integrations.CreateIntegration(ctx, actor, "acme", IntegrationInput{Platform: ptr("gitlab"), URL: ptr(url)}, base)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	in := create("https://gitlab.test:8443/typo")
	other := create("https://gitlab.test:8443/other")

	// A pasted page address on the new server: cut back, said so, and the name that
	// defaulted to the host follows it (same host here: unchanged).
	out, notes, err := s.Integrations.UpdateIntegrationNotes(ctx, actor, "acme", in.ID, IntegrationInput{URL: ptr("https://GitLab.test:8443/gitlab/-/user_settings/applications"), Version: in.Version}, base)
	if err != nil || out.URL != "https://gitlab.test:8443/gitlab" || out.Version != 2 || out.Status != forgelink.StatusPending {
		t.Fatalf("move: %+v %v", out, err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "forgelink uses the server's URL, https://gitlab.test:8443/gitlab") {
		t.Errorf("notes %q", notes)
	}
	recs, _ := s.Audit.ListAudit(ctx, "acme", in.ID, 0)
	if !slices.ContainsFunc(recs, func(r forgelink.AuditRecord) bool {
		return r.Action == forgelink.AuditIntegrationUpdated && r.Detail == "changed url (https://gitlab.test:8443/typo → https://gitlab.test:8443/gitlab)"
	}) {
		t.Errorf("no audit record of the move: %+v", recs)
	}

	// The same URL, however spelt, changes nothing and is no error.
	same, err := s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{URL: ptr("https://gitlab.test:8443/gitlab/")}, base)
	if err != nil || same.Version != out.Version {
		t.Errorf("same URL: %+v %v", same, err)
	}
	// Another integration's URL: the duplicate message on the field; invalid: the rule.
	_, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{URL: ptr(other.URL)}, base)
	if code(err) != forgelink.ECONFLICT || forgelink.ErrorFields(err)["url"] != DuplicateURLMessage {
		t.Errorf("duplicate: %v", err)
	}
	_, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{URL: ptr("https://127.0.0.1")}, base)
	if code(err) != forgelink.EINVALID || forgelink.ErrorFields(err)["url"] == "" {
		t.Errorf("loopback: %v", err)
	}

	// Credentials with a new URL in one request: checked against the new server, saved
	// there; the host-named integration takes the new host's name.
	gl.checked = nil
	out, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{
		URL: ptr("https://gitlab.test:8443/final"), ClientID: ptr("app-id"), ClientSecret: ptr("app-secret"),
	}, base)
	if err != nil || out.URL != "https://gitlab.test:8443/final" || out.Status != forgelink.StatusActive {
		t.Fatalf("move and save: %+v %v", out, err)
	}
	if len(gl.checked) != 1 || gl.checked[0] != "https://gitlab.test:8443/final" {
		t.Errorf("credentials checked at %v, want the new URL", gl.checked)
	}
	if _, err := s.Integrations.CreateIntegration(ctx, actor, "acme", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443/gitlab")}, base); err != nil {
		t.Errorf("the URL left behind is not free: %v", err)
	}

	// Active: the URL stays, the message says how to move; the current URL is fine.
	_, err = s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{URL: ptr("https://gitlab.test:8443/elsewhere")}, base)
	if code(err) != forgelink.EINVALID || forgelink.ErrorFields(err)["url"] != URLFixedMessage {
		t.Errorf("active: %v", err)
	}
	if _, err := s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{URL: ptr(out.URL), Name: ptr("Kept")}, base); err != nil {
		t.Errorf("active with its own URL: %v", err)
	}
}

// TestIntegrationURLEditName: a display name that defaulted to the host follows a new
// host; a name the admin chose stays.
func TestIntegrationURLEditName(t *testing.T) {
	s, _, _, _ := newAdminTestService(t)
	ctx := context.Background()
	actor := Actor{Org: "acme", Name: "token:test"}
	for i, tc := range []struct{ name, want string }{{"", "gitlab.test:8443"}, {"Ours", "Ours"}} {
		in, err := s.Integrations.CreateIntegration(ctx, actor, "acme", IntegrationInput{
			Platform: ptr("gitlab"), URL: ptr(fmt.Sprintf("https://8.8.8.%d", i+1)), Name: ptr(tc.name)}, "https://f.example")
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Integrations.UpdateIntegration(ctx, actor, "acme", in.ID, IntegrationInput{URL: ptr(fmt.Sprintf("https://gitlab.test:8443/%d", i))}, "https://f.example")
		if err != nil || out.Name != tc.want {
			t.Errorf("name %q after the move (%v), want %q", out.Name, err, tc.want)
		}
	}
}
