package service

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

func TestAdminRules(t *testing.T) {
	s, mem, clock, _ := newAdminTestService(t)
	ctx := context.Background()
	acme, beta := Actor{Org: "acme", Name: "token:acme"}, Actor{Org: "beta", Name: "token:beta"}
	if _, err := s.Orgs.EnsureOrg(ctx, "beta", ""); err != nil {
		t.Fatal(err)
	}
	in, err := s.Integrations.CreateIntegration(ctx, acme, "acme", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443")}, "https://f.test")
	if err != nil {
		t.Fatal(err)
	}
	betaIn, err := s.Integrations.CreateIntegration(ctx, beta, "beta", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443")}, "https://f.test")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		input  AdminRuleInput
		fields string // sorted field names of the 422
	}{
		{"neither", AdminRuleInput{IntegrationID: &in.ID}, "group username"},
		{"both", AdminRuleInput{IntegrationID: &in.ID, Username: ptr("alice"), Group: ptr("eng"), MinAccessLevel: level(30)}, "group username"},
		{"blank counts as absent", AdminRuleInput{IntegrationID: &in.ID, Username: ptr(" "), Group: ptr("")}, "group username"},
		{"no integration", AdminRuleInput{Username: ptr("alice")}, "integration_id"},
		{"unknown integration", AdminRuleInput{IntegrationID: ptr("nope"), Username: ptr("alice")}, "integration_id"},
		{"another org's integration", AdminRuleInput{IntegrationID: &betaIn.ID, Username: ptr("alice")}, "integration_id"},
		{"bad username", AdminRuleInput{IntegrationID: &in.ID, Username: ptr("al ice")}, "username"},
		{"username starting with -", AdminRuleInput{IntegrationID: &in.ID, Username: ptr("-x")}, "username"},
		{"level with a username", AdminRuleInput{IntegrationID: &in.ID, Username: ptr("alice"), MinAccessLevel: level(30)}, "min_access_level"},
		{"group without level", AdminRuleInput{IntegrationID: &in.ID, Group: ptr("eng")}, "min_access_level"},
		{"group with odd level", AdminRuleInput{IntegrationID: &in.ID, Group: ptr("eng"), MinAccessLevel: level(35)}, "min_access_level"},
		{"bad group path", AdminRuleInput{IntegrationID: &in.ID, Group: ptr("eng//x"), MinAccessLevel: level(30)}, "group"},
		{"group path with ..", AdminRuleInput{IntegrationID: &in.ID, Group: ptr("eng/.."), MinAccessLevel: level(30)}, "group"},
	} {
		_, err := s.AdminRules.CreateAdminRule(ctx, acme, "acme", tc.input)
		var names []string
		for k := range forgelink.ErrorFields(err) {
			names = append(names, k)
		}
		slices.Sort(names)
		if code(err) != forgelink.EINVALID || strings.Join(names, " ") != tc.fields {
			t.Errorf("%s: %v (fields %v), want EINVALID on %s", tc.name, err, names, tc.fields)
		}
	}

	u, err := s.AdminRules.CreateAdminRule(ctx, acme, "acme", AdminRuleInput{IntegrationID: &in.ID, Username: ptr("@alice")})
	if err != nil || u.Username != "alice" || u.Org != "acme" || u.ID == "" || u.CreatedAt.IsZero() {
		t.Fatalf("username rule %+v %v", u, err)
	}
	clock.add(time.Second)
	g, err := s.AdminRules.CreateAdminRule(ctx, acme, "acme", AdminRuleInput{IntegrationID: &in.ID, Group: ptr(" /eng/platform/ "), MinAccessLevel: level(30)})
	if err != nil || g.Group != "eng/platform" || g.MinAccessLevel != 30 {
		t.Fatalf("group rule %+v %v", g, err)
	}
	for _, dup := range []AdminRuleInput{
		{IntegrationID: &in.ID, Username: ptr("Alice")},
		{IntegrationID: &in.ID, Group: ptr("ENG/platform"), MinAccessLevel: level(30)},
	} {
		if _, err := s.AdminRules.CreateAdminRule(ctx, acme, "acme", dup); code(err) != forgelink.ECONFLICT {
			t.Errorf("duplicate %+v: %v, want ECONFLICT", dup, err)
		}
	}
	if _, err := s.AdminRules.CreateAdminRule(ctx, beta, "acme", AdminRuleInput{IntegrationID: &in.ID, Username: ptr("bob")}); code(err) != forgelink.EFORBIDDEN {
		t.Errorf("another org's actor: %v", err)
	}
	list, err := s.AdminRules.ListAdminRules(ctx, "acme")
	if err != nil || len(list) != 2 || list[0].ID != u.ID || list[1].ID != g.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	if list, _ := s.AdminRules.ListAdminRules(ctx, "beta"); list == nil || len(list) != 0 {
		t.Errorf("beta's list %#v, want empty and not nil", list)
	}

	// Delete: another org's id is not found; audit names the rule in words.
	if err := s.AdminRules.DeleteAdminRule(ctx, beta, "beta", u.ID); code(err) != forgelink.ENOTFOUND {
		t.Errorf("delete through another org: %v", err)
	}
	if err := s.AdminRules.DeleteAdminRule(ctx, acme, "acme", u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AdminRules.DeleteAdminRule(ctx, acme, "acme", u.ID); code(err) != forgelink.ENOTFOUND {
		t.Errorf("delete twice: %v", err)
	}
	recs, _ := mem.ListAudit(ctx, "acme", "", 10)
	if !hasAudit(recs, forgelink.AuditAdminRuleRemoved, "Admin rule removed: GitLab user @alice") ||
		!hasAudit(recs, forgelink.AuditAdminRuleAdded, "Admin rule added: Group eng/platform · Developer or above on gitlab.test:8443") {
		t.Errorf("audit %+v", recs)
	}

	// Deleting the integration takes its rules along.
	if err := s.Integrations.DeleteIntegration(ctx, acme, "acme", in.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.AdminRules.ListAdminRules(ctx, "acme"); len(list) != 0 {
		t.Errorf("rules after deleting their integration: %+v", list)
	}
}

func TestAllowedGroups(t *testing.T) {
	s, mem, _, _ := newAdminTestService(t)
	ctx := context.Background()
	acme := Actor{Org: "acme", Name: "token:acme"}
	in, err := s.Integrations.CreateIntegration(ctx, acme, "acme", IntegrationInput{Platform: ptr("gitlab"), URL: ptr("https://gitlab.test:8443"),
		AllowedGroups: &[]forgelink.GroupRule{{Path: "eng", MinAccessLevel: 10}}}, "https://f.test")
	if err != nil || len(in.AllowedGroups) != 1 {
		t.Fatalf("create with allowed groups: %+v %v", in, err)
	}
	many := make([]forgelink.GroupRule, MaxAllowedGroups+1)
	for i := range many {
		many[i] = forgelink.GroupRule{Path: "g" + string(rune('a'+i)), MinAccessLevel: 10}
	}
	for name, gs := range map[string][]forgelink.GroupRule{
		"too many":    many,
		"bad path":    {{Path: "eng platform", MinAccessLevel: 10}},
		"empty path":  {{Path: "", MinAccessLevel: 10}},
		"bad level":   {{Path: "eng", MinAccessLevel: 0}},
		"duplicate":   {{Path: "eng", MinAccessLevel: 10}, {Path: "ENG/", MinAccessLevel: 30}},
		"level of 60": {{Path: "eng", MinAccessLevel: 60}},
	} {
		_, err := s.Integrations.UpdateIntegration(ctx, acme, "acme", in.ID, IntegrationInput{AllowedGroups: &gs}, "https://f.test")
		if code(err) != forgelink.EINVALID || forgelink.ErrorFields(err)["allowed_groups"] == "" {
			t.Errorf("%s: %v, want EINVALID on allowed_groups", name, err)
		}
	}
	gs := []forgelink.GroupRule{{Path: " eng/platform ", MinAccessLevel: 30}, {Path: "ops", MinAccessLevel: 50}}
	out, err := s.Integrations.UpdateIntegration(ctx, acme, "acme", in.ID, IntegrationInput{AllowedGroups: &gs}, "https://f.test")
	if err != nil || len(out.AllowedGroups) != 2 || out.AllowedGroups[0].Path != "eng/platform" || out.Version != 2 {
		t.Fatalf("allowed groups alone: %+v %v", out, err)
	}
	same, err := s.Integrations.UpdateIntegration(ctx, acme, "acme", in.ID, IntegrationInput{AllowedGroups: &gs}, "https://f.test")
	if err != nil || same.Version != 2 {
		t.Errorf("unchanged groups wrote: %+v %v", same, err)
	}
	none := []forgelink.GroupRule{}
	out, err = s.Integrations.UpdateIntegration(ctx, acme, "acme", in.ID, IntegrationInput{AllowedGroups: &none}, "https://f.test")
	if err != nil || out.AllowedGroups != nil {
		t.Errorf("clear: %+v %v", out, err)
	}
	recs, _ := mem.ListAudit(ctx, "acme", in.ID, 10)
	if !hasAudit(recs, forgelink.AuditIntegrationUpdated, "changed who may sign in (everyone on the GitLab server)") ||
		!hasAudit(recs, forgelink.AuditIntegrationUpdated, "changed who may sign in (members of eng/platform · Developer or above, ops · Owner or above)") {
		t.Errorf("audit %+v", recs)
	}
}

func level(v int) *int { return &v }

func hasAudit(recs []forgelink.AuditRecord, action, detail string) bool {
	return slices.ContainsFunc(recs, func(r forgelink.AuditRecord) bool { return r.Action == action && r.Detail == detail })
}
