package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

func testAdminRules(t *testing.T, e *env) {
	alice := forgelink.AdminRule{Org: "acme", IntegrationID: "int1", Username: "alice", CreatedAt: e.clock.Now()}
	created, err := e.CreateAdminRule(e.ctx, alice)
	wantCode(t, err, "", "create username rule")
	want := alice
	want.ID = forgelink.AdminRuleID(alice)
	same(t, created, want, "created rule")
	got, err := e.GetAdminRule(e.ctx, "acme", want.ID)
	wantCode(t, err, "", "get rule")
	same(t, got, want, "rule read back")

	// The same rule twice, even spelled in other case, is a conflict; a given id is ignored.
	e.clock.Advance(time.Second)
	_, err = e.CreateAdminRule(e.ctx, forgelink.AdminRule{Org: "acme", ID: "x", IntegrationID: "int1", Username: "ALICE"})
	wantCode(t, err, forgelink.ECONFLICT, "same username rule twice")

	group := forgelink.AdminRule{Org: "acme", IntegrationID: "int1", Group: "eng/platform", MinAccessLevel: 30}
	g1, err := e.CreateAdminRule(e.ctx, group)
	wantCode(t, err, "", "create group rule")
	same(t, g1.CreatedAt, e.clock.Now(), "created_at defaults to now")
	_, err = e.CreateAdminRule(e.ctx, group)
	wantCode(t, err, forgelink.ECONFLICT, "same group rule twice")
	e.clock.Advance(time.Second)
	group.MinAccessLevel = 40
	g2, err := e.CreateAdminRule(e.ctx, group)
	wantCode(t, err, "", "same group at another level")
	other := forgelink.AdminRule{Org: "acme", IntegrationID: "int2", Username: "alice", CreatedAt: e.clock.Now()}
	_, err = e.CreateAdminRule(e.ctx, other)
	wantCode(t, err, "", "same username on another integration")
	_, err = e.CreateAdminRule(e.ctx, forgelink.AdminRule{Org: "globex", IntegrationID: "int1", Username: "alice"})
	wantCode(t, err, "", "same rule in another org")

	list, err := e.ListAdminRules(e.ctx, "acme")
	wantCode(t, err, "", "list")
	// Oldest first; g2 and the other integration's rule were made at the same instant,
	// so they come by id.
	last := []string{g2.ID, forgelink.AdminRuleID(other)}
	slices.Sort(last)
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	same(t, ids, []string{want.ID, g1.ID, last[0], last[1]}, "rule ids, oldest first")
	list, err = e.ListAdminRules(e.ctx, "nobody")
	wantCode(t, err, "", "list empty org")
	same(t, len(list), 0, "rules of an org without any")

	// Another org's id is not found, and deleting it leaves the rule alone.
	_, err = e.GetAdminRule(e.ctx, "other", want.ID)
	wantCode(t, err, forgelink.ENOTFOUND, "get through another org")
	wantCode(t, e.DeleteAdminRule(e.ctx, "other", want.ID), forgelink.ENOTFOUND, "delete through another org")
	wantCode(t, e.DeleteAdminRule(e.ctx, "acme", want.ID), "", "delete")
	wantCode(t, e.DeleteAdminRule(e.ctx, "acme", want.ID), forgelink.ENOTFOUND, "delete twice")
	_, err = e.GetAdminRule(e.ctx, "acme", want.ID)
	wantCode(t, err, forgelink.ENOTFOUND, "get deleted")
	_, err = e.GetAdminRule(e.ctx, "globex", want.ID)
	wantCode(t, err, "", "the other org's rule stays")
	_, err = e.CreateAdminRule(e.ctx, alice)
	wantCode(t, err, "", "create again after delete")
}

func testIntegrationAccessFields(t *testing.T, e *env) {
	in := newIntegration("acme", "int1", "https://gitlab.example.com", e.clock.Now())
	in.AllowedGroups = []forgelink.GroupRule{{Path: "eng", MinAccessLevel: 30}, {Path: "ops/sre", MinAccessLevel: 10}}
	created, err := e.CreateIntegration(e.ctx, in)
	wantCode(t, err, "", "create with allowed groups")
	same(t, created.AllowedGroups, in.AllowedGroups, "allowed groups created")
	in.AllowedGroups[0].Path = "changed by the caller"
	got, _ := e.GetIntegration(e.ctx, "acme", "int1")
	same(t, got.AllowedGroups[0].Path, "eng", "stored groups are the store's own copy")

	// Touch: the times move, version and updated_at do not.
	e.clock.Advance(time.Minute)
	verified := e.clock.Now()
	wantCode(t, e.TouchIntegration(e.ctx, "acme", "int1", verified, time.Time{}), "", "touch verified")
	e.clock.Advance(time.Minute)
	signedIn := e.clock.Now()
	wantCode(t, e.TouchIntegration(e.ctx, "acme", "int1", time.Time{}, signedIn), "", "touch sign-in")
	got, _ = e.GetIntegration(e.ctx, "acme", "int1")
	same(t, [2]time.Time{got.VerifiedAt, got.LastSignInAt}, [2]time.Time{verified, signedIn}, "touched times")
	same(t, [2]any{got.Version, got.UpdatedAt}, [2]any{created.Version, created.UpdatedAt}, "version and updated_at after touch")
	wantCode(t, e.TouchIntegration(e.ctx, "acme", "missing", verified, signedIn), forgelink.ENOTFOUND, "touch missing")
	wantCode(t, e.TouchIntegration(e.ctx, "other", "int1", verified, signedIn), forgelink.ENOTFOUND, "touch through another org")
	list, _ := e.ListIntegrations(e.ctx, "other")
	same(t, len(list), 0, "touch created nothing in another org")

	// An edit based on the read before the touches succeeds (no conflict), changes the
	// groups and leaves the touched times alone.
	edit := created
	edit.AllowedGroups = []forgelink.GroupRule{{Path: "eng/platform", MinAccessLevel: 40}}
	updated, err := e.UpdateIntegration(e.ctx, edit)
	wantCode(t, err, "", "update after touch")
	same(t, updated.AllowedGroups, edit.AllowedGroups, "updated groups")
	same(t, [2]time.Time{updated.VerifiedAt, updated.LastSignInAt}, [2]time.Time{verified, signedIn}, "times after update")
	got, _ = e.GetIntegration(e.ctx, "acme", "int1")
	same(t, got, updated, "read back after update")

	// Clearing the groups reads back as nil, as a new integration's do.
	edit = updated
	edit.AllowedGroups = []forgelink.GroupRule{}
	updated, err = e.UpdateIntegration(e.ctx, edit)
	wantCode(t, err, "", "clear groups")
	got, _ = e.GetIntegration(e.ctx, "acme", "int1")
	if got.AllowedGroups != nil || updated.AllowedGroups != nil {
		t.Fatalf("cleared groups read back as %#v / %#v, want nil", got.AllowedGroups, updated.AllowedGroups)
	}
}
