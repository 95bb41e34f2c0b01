package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Open returns a fresh, empty store pair whose clock is clock.Now. Each subtest opens its
// own, so implementations may isolate by table name; secrets are isolated by the suite
// itself (unique name prefixes), so a shared Secrets Manager is fine.
type Open func(t *testing.T, clock *Clock) (forgelink.Store, forgelink.Secrets)

// Start is where every subtest's clock starts; nanoseconds prove times round-trip exactly.
var Start = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)

// Run runs the whole suite. Subtests run in parallel, which also shakes out shared state.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, env *env)
	}{
		{"Orgs", testOrgs},
		{"IntegrationLifecycle", testIntegrationLifecycle},
		{"IntegrationURLUniqueness", testURLUniqueness},
		{"IntegrationConcurrentCreateSameURL", testConcurrentCreateSameURL},
		{"IntegrationNoLostUpdate", testNoLostUpdate},
		{"IntegrationMove", testIntegrationMove},
		{"IntegrationMoveRefused", testIntegrationMoveRefused},
		{"IntegrationConcurrentMoveSameURL", testConcurrentMoveSameURL},
		{"Members", testMembers},
		{"MemberVersions", testMemberVersions},
		{"ListMembers", testListMembers},
		{"LiveSessions", testLiveSessions},
		{"Sessions", testSessions},
		{"AdminTokens", testAdminTokens},
		{"AdminTokenListAndDelete", testAdminTokenListAndDelete},
		{"AdminLinks", testAdminLinks},
		{"AdminLinkConcurrentConsume", testAdminLinkConcurrentConsume},
		{"Audit", testAudit},
		{"AdminRules", testAdminRules},
		{"IntegrationAccessFields", testIntegrationAccessFields},
		{"Secrets", testSecrets},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(Start)
			store, secrets := open(t, clock)
			tc.fn(t, &env{Store: store, Secrets: secrets, clock: clock, ctx: context.Background()})
		})
	}
}

type env struct {
	forgelink.Store
	forgelink.Secrets
	clock *Clock
	ctx   context.Context
}

// wantCode fails unless err carries code ("" means no error).
func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := forgelink.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func same[T any](t *testing.T, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func testOrgs(t *testing.T, e *env) {
	org := forgelink.Org{Slug: "acme", Name: "Acme Inc.", CreatedAt: e.clock.Now()}
	wantCode(t, e.CreateOrg(e.ctx, org), "", "create org")
	got, err := e.GetOrg(e.ctx, "acme")
	wantCode(t, err, "", "get org")
	same(t, got, org, "org read back")
	wantCode(t, e.CreateOrg(e.ctx, forgelink.Org{Slug: "acme", Name: "Other"}), forgelink.ECONFLICT, "duplicate org")
	got, _ = e.GetOrg(e.ctx, "acme")
	same(t, got.Name, "Acme Inc.", "org name after refused duplicate")
	_, err = e.GetOrg(e.ctx, "nope")
	wantCode(t, err, forgelink.ENOTFOUND, "missing org")
}

func newIntegration(org, id, url string, at time.Time) forgelink.Integration {
	return forgelink.Integration{
		Org: org, ID: id, Platform: forgelink.PlatformGitLab, Name: "GitLab " + id, URL: url,
		Status: forgelink.StatusPending, CreatedAt: at, UpdatedAt: at,
	}
}

// testIntegrationLifecycle is one integration's life in order (create, read, list,
// update, stale and duplicate writes, delete); it is long because each step needs the
// state the steps before it left, and split it would hide that order.
func testIntegrationLifecycle(t *testing.T, e *env) {
	created, err := e.CreateIntegration(e.ctx, newIntegration("acme", "int1", "https://gitlab.example.com", e.clock.Now()))
	wantCode(t, err, "", "create")
	want := newIntegration("acme", "int1", "https://gitlab.example.com", e.clock.Now())
	want.Version = 1
	same(t, created, want, "created integration")
	got, err := e.GetIntegration(e.ctx, "acme", "int1")
	wantCode(t, err, "", "get")
	same(t, got, want, "integration read back")

	_, err = e.CreateIntegration(e.ctx, newIntegration("acme", "int1", "https://other.example.com", e.clock.Now()))
	wantCode(t, err, forgelink.ECONFLICT, "create with an existing id")
	_, err = e.GetIntegration(e.ctx, "acme", "missing")
	wantCode(t, err, forgelink.ENOTFOUND, "get missing")
	_, err = e.GetIntegration(e.ctx, "other-org", "int1")
	wantCode(t, err, forgelink.ENOTFOUND, "get through another org")

	_, err = e.CreateIntegration(e.ctx, newIntegration("acme", "int0", "https://gitlab.example.com/sub", e.clock.Now()))
	wantCode(t, err, "", "create second")
	list, err := e.ListIntegrations(e.ctx, "acme")
	wantCode(t, err, "", "list")
	if len(list) != 2 || list[0].ID != "int0" || list[1].ID != "int1" {
		t.Fatalf("list = %+v, want int0 and int1 ordered by id", list)
	}
	list, err = e.ListIntegrations(e.ctx, "other-org")
	wantCode(t, err, "", "list other org")
	same(t, len(list), 0, "integrations of another org")

	// Save credentials: the write names the version it read and gets the next one.
	e.clock.Advance(time.Minute)
	edit := got
	edit.ClientID, edit.SecretARN, edit.SecretVersion = "app-id", "arn:aws:secretsmanager:x:1:secret:s-abcdef", "v1"
	edit.SecretUpdatedAt, edit.Status, edit.CABundle = e.clock.Now(), forgelink.StatusActive, "-----BEGIN CERTIFICATE-----"
	edit.NotConfidential = true
	updated, err := e.UpdateIntegration(e.ctx, edit)
	wantCode(t, err, "", "update")
	want = edit
	want.Version, want.UpdatedAt = 2, e.clock.Now()
	same(t, updated, want, "updated integration")
	got, _ = e.GetIntegration(e.ctx, "acme", "int1")
	same(t, got, want, "updated integration read back")

	stale := edit // still Version 1
	stale.Name = "lost"
	_, err = e.UpdateIntegration(e.ctx, stale)
	wantCode(t, err, forgelink.ECONFLICT, "update with a stale version")
	moved := updated
	moved.URL = "https://elsewhere.example.com"
	_, err = e.UpdateIntegration(e.ctx, moved)
	wantCode(t, err, forgelink.EINVALID, "update that changes the URL")
	ghost := updated
	ghost.ID = "ghost"
	_, err = e.UpdateIntegration(e.ctx, ghost)
	wantCode(t, err, forgelink.ENOTFOUND, "update missing")
	got, _ = e.GetIntegration(e.ctx, "acme", "int1")
	same(t, got, want, "integration after refused updates")

	// The not-Confidential flag is cleared by an update, like any mutable field.
	confirmed := got
	confirmed.NotConfidential = false
	updated, err = e.UpdateIntegration(e.ctx, confirmed)
	wantCode(t, err, "", "update clearing not_confidential")
	want = confirmed
	want.Version, want.UpdatedAt = 3, e.clock.Now()
	same(t, updated, want, "integration confirmed Confidential")
	got, _ = e.GetIntegration(e.ctx, "acme", "int1")
	same(t, got, want, "integration confirmed Confidential read back")

	wantCode(t, e.DeleteIntegration(e.ctx, "acme", "int1", 2), forgelink.ECONFLICT, "delete with a stale version")
	wantCode(t, e.DeleteIntegration(e.ctx, "acme", "int1", 3), "", "delete")
	_, err = e.GetIntegration(e.ctx, "acme", "int1")
	wantCode(t, err, forgelink.ENOTFOUND, "get deleted")
	wantCode(t, e.DeleteIntegration(e.ctx, "acme", "int1", 3), forgelink.ENOTFOUND, "delete again")
	list, _ = e.ListIntegrations(e.ctx, "acme")
	if len(list) != 1 || list[0].ID != "int0" {
		t.Fatalf("list after delete = %+v, want int0 only", list)
	}
}

func testURLUniqueness(t *testing.T, e *env) {
	const url = "https://gitlab.example.com"
	now := e.clock.Now()
	_, err := e.CreateIntegration(e.ctx, newIntegration("acme", "a", url, now))
	wantCode(t, err, "", "create a")
	_, err = e.CreateIntegration(e.ctx, newIntegration("acme", "b", url, now))
	wantCode(t, err, forgelink.ECONFLICT, "same URL in the same org")
	if msg := forgelink.ErrorMessage(err); msg != "an integration for this GitLab URL already exists in this org" {
		t.Errorf("duplicate URL message = %q", msg)
	}
	if f := forgelink.ErrorFields(err); f["url"] == "" {
		t.Errorf("duplicate URL: fields %v, want a message on url", f)
	}
	_, err = e.GetIntegration(e.ctx, "acme", "b")
	wantCode(t, err, forgelink.ENOTFOUND, "refused integration must not exist")
	_, err = e.CreateIntegration(e.ctx, newIntegration("globex", "c", url, now))
	wantCode(t, err, "", "same URL in another org")
	_, err = e.CreateIntegration(e.ctx, newIntegration("acme", "d", url+"/prefix", now))
	wantCode(t, err, "", "URL with a path prefix is another server")

	wantCode(t, e.DeleteIntegration(e.ctx, "acme", "a", 1), "", "delete a")
	_, err = e.CreateIntegration(e.ctx, newIntegration("acme", "e", url, now))
	wantCode(t, err, "", "reuse the URL after delete")
}

func testConcurrentCreateSameURL(t *testing.T, e *env) {
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.CreateIntegration(e.ctx, newIntegration("acme", fmt.Sprintf("id%d", i), "https://gitlab.example.com", e.clock.Now()))
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch forgelink.ErrorCode(err) {
		case "":
			wins++
		case forgelink.ECONFLICT:
		default:
			t.Fatalf("concurrent create: %v", err)
		}
	}
	list, _ := e.ListIntegrations(e.ctx, "acme")
	if wins != 1 || len(list) != 1 {
		t.Fatalf("%d creates won and %d integrations exist, want exactly 1 of each", wins, len(list))
	}
}

// testNoLostUpdate runs read-modify-write loops concurrently; optimistic versions must
// make every successful write count.
func testNoLostUpdate(t *testing.T, e *env) {
	in := newIntegration("acme", "int1", "https://gitlab.example.com", e.clock.Now())
	in.Name = "0"
	_, err := e.CreateIntegration(e.ctx, in)
	wantCode(t, err, "", "create")
	const workers, increments = 4, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for done := 0; done < increments; {
				cur, err := e.GetIntegration(e.ctx, "acme", "int1")
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.Atoi(cur.Name)
				cur.Name = strconv.Itoa(n + 1)
				_, err = e.UpdateIntegration(e.ctx, cur)
				switch forgelink.ErrorCode(err) {
				case "":
					done++
				case forgelink.ECONFLICT: // lost the race; read again
				default:
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("read-modify-write: %v", err)
	}
	got, _ := e.GetIntegration(e.ctx, "acme", "int1")
	if got.Name != strconv.Itoa(workers*increments) || got.Version != 1+workers*increments {
		t.Fatalf("after %d successful updates: name %q version %d", workers*increments, got.Name, got.Version)
	}
}

func testSessions(t *testing.T, e *env) {
	now := e.clock.Now()
	sess := forgelink.Session{
		Hash: randomHex(32), Kind: forgelink.SessionMember, Org: "acme", IntegrationID: "int1",
		GitLabHost: "gitlab.example.com", User: forgelink.GitLabUser{ID: 7, Username: "bob", State: "active"},
		CreatedAt: now, ExpiresAt: now.Add(forgelink.SessionTTL),
	}
	wantCode(t, e.CreateSession(e.ctx, sess), "", "create session")
	got, err := e.GetSession(e.ctx, sess.Hash)
	wantCode(t, err, "", "get session")
	same(t, got, sess, "session read back")
	wantCode(t, e.CreateSession(e.ctx, sess), forgelink.ECONFLICT, "create a live session twice")

	e.clock.Set(sess.ExpiresAt.Add(-2 * time.Second))
	_, err = e.GetSession(e.ctx, sess.Hash)
	wantCode(t, err, "", "session just before expiry")
	e.clock.Set(sess.ExpiresAt)
	_, err = e.GetSession(e.ctx, sess.Hash)
	wantCode(t, err, forgelink.ENOTFOUND, "session at expiry (the item may still be stored)")
	// An expired item that TTL has not removed yet must not block the key.
	fresh := sess
	fresh.CreatedAt, fresh.ExpiresAt = e.clock.Now(), e.clock.Now().Add(time.Hour)
	wantCode(t, e.CreateSession(e.ctx, fresh), "", "create over an expired session")

	admin := forgelink.Session{Hash: randomHex(32), Kind: forgelink.SessionAdmin, Org: "acme", CreatedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(time.Hour)}
	wantCode(t, e.CreateSession(e.ctx, admin), "", "create admin session")
	got, _ = e.GetSession(e.ctx, admin.Hash)
	same(t, got, admin, "admin session read back")

	wantCode(t, e.DeleteSession(e.ctx, admin.Hash), "", "delete session")
	_, err = e.GetSession(e.ctx, admin.Hash)
	wantCode(t, err, forgelink.ENOTFOUND, "get deleted session")
	wantCode(t, e.DeleteSession(e.ctx, admin.Hash), "", "delete session twice")
	_, err = e.GetSession(e.ctx, fresh.Hash)
	wantCode(t, err, "", "other session survives")
}

func testAdminTokens(t *testing.T, e *env) {
	tok := forgelink.AdminToken{Hash: randomHex(32), Org: "acme", Name: "ci", CreatedAt: e.clock.Now()}
	wantCode(t, e.CreateAdminToken(e.ctx, tok), "", "create token")
	got, err := e.GetAdminToken(e.ctx, "acme", tok.Hash)
	wantCode(t, err, "", "get token")
	same(t, got, tok, "token read back")
	got, err = e.FindAdminToken(e.ctx, tok.Hash)
	wantCode(t, err, "", "find token")
	same(t, got, tok, "token found by hash")
	_, err = e.GetAdminToken(e.ctx, "globex", tok.Hash)
	wantCode(t, err, forgelink.ENOTFOUND, "token through another org")
	_, err = e.FindAdminToken(e.ctx, randomHex(32))
	wantCode(t, err, forgelink.ENOTFOUND, "find unknown token")
	dup := tok
	dup.Org = "globex"
	wantCode(t, e.CreateAdminToken(e.ctx, dup), forgelink.ECONFLICT, "same hash again, even in another org")
	got, _ = e.FindAdminToken(e.ctx, tok.Hash)
	same(t, got.Org, "acme", "token org after refused duplicate")
}

func testAdminTokenListAndDelete(t *testing.T, e *env) {
	list, err := e.ListAdminTokens(e.ctx, "acme")
	wantCode(t, err, "", "list without tokens")
	same(t, len(list), 0, "tokens of an org without any")

	older := forgelink.AdminToken{Hash: randomHex(32), Org: "acme", Name: "ci", CreatedAt: e.clock.Now()}
	newer := forgelink.AdminToken{Hash: randomHex(32), Org: "acme", Name: "deploy", CreatedAt: e.clock.Now().Add(time.Minute)}
	other := forgelink.AdminToken{Hash: randomHex(32), Org: "globex", Name: "theirs", CreatedAt: e.clock.Now()}
	for _, tok := range []forgelink.AdminToken{older, newer, other} {
		wantCode(t, e.CreateAdminToken(e.ctx, tok), "", "create token "+tok.Name)
	}
	// Other items of the org (its META, integrations, audit) are not tokens.
	wantCode(t, e.CreateOrg(e.ctx, forgelink.Org{Slug: "acme", Name: "Acme", CreatedAt: e.clock.Now()}), "", "create org")
	wantCode(t, e.PutAudit(e.ctx, forgelink.AuditRecord{Org: "acme", Action: "x"}), "", "put audit")
	list, err = e.ListAdminTokens(e.ctx, "acme")
	wantCode(t, err, "", "list tokens")
	same(t, list, []forgelink.AdminToken{newer, older}, "acme's tokens, newest first")

	wantCode(t, e.DeleteAdminToken(e.ctx, "acme", other.Hash), forgelink.ENOTFOUND, "delete another org's token")
	got, err := e.FindAdminToken(e.ctx, other.Hash)
	wantCode(t, err, "", "other org's token after refused delete")
	same(t, got, other, "other org's token untouched")
	wantCode(t, e.DeleteAdminToken(e.ctx, "acme", randomHex(32)), forgelink.ENOTFOUND, "delete unknown token")

	wantCode(t, e.DeleteAdminToken(e.ctx, "acme", older.Hash), "", "delete token")
	_, err = e.FindAdminToken(e.ctx, older.Hash)
	wantCode(t, err, forgelink.ENOTFOUND, "find deleted token")
	_, err = e.GetAdminToken(e.ctx, "acme", older.Hash)
	wantCode(t, err, forgelink.ENOTFOUND, "get deleted token")
	wantCode(t, e.DeleteAdminToken(e.ctx, "acme", older.Hash), forgelink.ENOTFOUND, "delete token twice")
	list, err = e.ListAdminTokens(e.ctx, "acme")
	wantCode(t, err, "", "list after delete")
	same(t, list, []forgelink.AdminToken{newer}, "acme's tokens after delete")
	list, err = e.ListAdminTokens(e.ctx, "globex")
	wantCode(t, err, "", "list other org")
	same(t, list, []forgelink.AdminToken{other}, "globex's tokens")

	// The hash is free again: the pointer went with the token.
	wantCode(t, e.CreateAdminToken(e.ctx, older), "", "create the deleted token again")
}

func testAdminLinks(t *testing.T, e *env) {
	now := e.clock.Now()
	link := forgelink.AdminLink{Hash: randomHex(32), Org: "acme", Label: "Jane Doe", CreatedAt: now, ExpiresAt: now.Add(forgelink.AdminLinkTTL)}
	wantCode(t, e.CreateAdminLink(e.ctx, link), "", "create link")
	wantCode(t, e.CreateAdminLink(e.ctx, link), forgelink.ECONFLICT, "create a live link twice")
	e.clock.Set(link.ExpiresAt.Add(-2 * time.Second))
	_, err := e.ConsumeAdminLink(e.ctx, "globex", link.Hash)
	wantCode(t, err, forgelink.ENOTFOUND, "consume in another org")
	got, err := e.ConsumeAdminLink(e.ctx, "acme", link.Hash)
	wantCode(t, err, "", "consume in its own org after a refusal elsewhere")
	same(t, got, link, "consumed link")
	_, err = e.ConsumeAdminLink(e.ctx, "acme", link.Hash)
	wantCode(t, err, forgelink.ENOTFOUND, "consume twice")
	_, err = e.ConsumeAdminLink(e.ctx, "acme", randomHex(32))
	wantCode(t, err, forgelink.ENOTFOUND, "consume unknown")

	now = e.clock.Now()
	old := forgelink.AdminLink{Hash: randomHex(32), Org: "acme", CreatedAt: now, ExpiresAt: now.Add(forgelink.AdminLinkTTL)}
	wantCode(t, e.CreateAdminLink(e.ctx, old), "", "create second link")
	e.clock.Set(old.ExpiresAt)
	_, err = e.ConsumeAdminLink(e.ctx, "acme", old.Hash)
	wantCode(t, err, forgelink.ENOTFOUND, "consume at expiry")
	e.clock.Advance(time.Hour)
	_, err = e.ConsumeAdminLink(e.ctx, "acme", old.Hash)
	wantCode(t, err, forgelink.ENOTFOUND, "consume long after expiry")
}

func testAdminLinkConcurrentConsume(t *testing.T, e *env) {
	now := e.clock.Now()
	link := forgelink.AdminLink{Hash: randomHex(32), Org: "acme", CreatedAt: now, ExpiresAt: now.Add(forgelink.AdminLinkTTL)}
	wantCode(t, e.CreateAdminLink(e.ctx, link), "", "create link")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = e.ConsumeAdminLink(e.ctx, "acme", link.Hash) })
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch forgelink.ErrorCode(err) {
		case "":
			wins++
		case forgelink.ENOTFOUND:
		default:
			t.Fatalf("concurrent consume: %v", err)
		}
	}
	same(t, wins, 1, "consumes that won")
}

func testAudit(t *testing.T, e *env) {
	var all []forgelink.AuditRecord
	for i := range 5 {
		e.clock.Advance(time.Second)
		a := forgelink.AuditRecord{
			Org: "acme", Time: e.clock.Now(), Actor: "token:abcdef12", Action: forgelink.AuditIntegrationUpdated,
			IntegrationID: []string{"int1", "int2"}[i%2], Detail: fmt.Sprintf("change %d", i),
		}
		wantCode(t, e.PutAudit(e.ctx, a), "", "put audit")
		all = append([]forgelink.AuditRecord{a}, all...) // newest first
	}
	wantCode(t, e.PutAudit(e.ctx, forgelink.AuditRecord{Org: "globex", Time: e.clock.Now(), Action: forgelink.AuditSignIn}), "", "put other org")

	check := func(got []forgelink.AuditRecord, want []forgelink.AuditRecord, what string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d: %+v", what, len(got), len(want), got)
		}
		for i := range got {
			if got[i].ID == "" {
				t.Fatalf("%s: record %d has no id", what, i)
			}
			w := want[i]
			w.ID = got[i].ID
			same(t, got[i], w, fmt.Sprintf("%s: record %d", what, i))
		}
	}
	got, err := e.ListAudit(e.ctx, "acme", "", 0)
	wantCode(t, err, "", "list audit")
	check(got, all, "all records, newest first")
	got, _ = e.ListAudit(e.ctx, "acme", "", 2)
	check(got, all[:2], "limit 2")
	got, _ = e.ListAudit(e.ctx, "acme", "int1", 0)
	check(got, []forgelink.AuditRecord{all[0], all[2], all[4]}, "filtered by integration")
	got, _ = e.ListAudit(e.ctx, "acme", "int2", 1)
	check(got, all[1:2], "filtered with limit")
	got, _ = e.ListAudit(e.ctx, "initech", "", 0)
	check(got, nil, "org without records")

	// Records of the same instant get distinct ids and are both kept.
	at := e.clock.Now().Add(time.Minute)
	for range 2 {
		wantCode(t, e.PutAudit(e.ctx, forgelink.AuditRecord{Org: "same", Time: at, Action: forgelink.AuditSignIn}), "", "put same instant")
	}
	got, _ = e.ListAudit(e.ctx, "same", "", 0)
	if len(got) != 2 || got[0].ID == got[1].ID {
		t.Fatalf("records of one instant: %+v", got)
	}
}

func testSecrets(t *testing.T, e *env) {
	prefix := "storetest/" + randomHex(6) + "/"
	name := prefix + "acme/int1"
	tags := map[string]string{"forgelink:org": "acme", "forgelink:integration": "int1"}
	t.Cleanup(func() {
		names, _ := e.ListSecrets(context.Background(), prefix)
		for _, n := range names {
			_ = e.DeleteSecret(context.Background(), n)
		}
	})

	ref1, err := e.PutSecret(e.ctx, name, "first-secret-value", tags)
	wantCode(t, err, "", "put secret")
	if ref1.ARN == "" || ref1.Version == "" {
		t.Fatalf("put secret returned %+v, want an ARN and a version", ref1)
	}
	v, err := e.GetSecret(e.ctx, ref1)
	wantCode(t, err, "", "get secret")
	same(t, v, "first-secret-value", "secret value")

	ref2, err := e.PutSecret(e.ctx, name, "second-secret-value", tags)
	wantCode(t, err, "", "put new version")
	if ref2.ARN != ref1.ARN || ref2.Version == ref1.Version || ref2.Version == "" {
		t.Fatalf("new version %+v after %+v: want same ARN, new version", ref2, ref1)
	}
	v, _ = e.GetSecret(e.ctx, forgelink.SecretRef{ARN: ref1.ARN})
	same(t, v, "second-secret-value", "current value")
	v, err = e.GetSecret(e.ctx, ref1)
	wantCode(t, err, "", "get previous version")
	same(t, v, "first-secret-value", "previous version by id")
	v, _ = e.GetSecret(e.ctx, ref2)
	same(t, v, "second-secret-value", "new version by id")
	_, err = e.GetSecret(e.ctx, forgelink.SecretRef{ARN: ref1.ARN, Version: "00000000-0000-4000-8000-000000000000"})
	wantCode(t, err, forgelink.ENOTFOUND, "unknown version")

	other := prefix + "acme/int2"
	_, err = e.PutSecret(e.ctx, other, "other-value", nil)
	wantCode(t, err, "", "put second secret")
	_, err = e.PutSecret(e.ctx, prefix+"acmex/int3", "x-value", nil)
	wantCode(t, err, "", "put secret of a look-alike org")
	names, err := e.ListSecrets(e.ctx, prefix+"acme/")
	wantCode(t, err, "", "list secrets")
	same(t, names, []string{name, other}, "secrets with the prefix")

	wantCode(t, e.DeleteSecret(e.ctx, ref1.ARN), "", "delete by ARN")
	_, err = e.GetSecret(e.ctx, ref1)
	wantCode(t, err, forgelink.ENOTFOUND, "get deleted secret")
	_, err = e.GetSecret(e.ctx, forgelink.SecretRef{ARN: ref1.ARN})
	wantCode(t, err, forgelink.ENOTFOUND, "get current of deleted secret")
	wantCode(t, e.DeleteSecret(e.ctx, other), "", "delete by name")
	wantCode(t, e.DeleteSecret(e.ctx, other), "", "delete missing")
	wantCode(t, e.DeleteSecret(e.ctx, prefix+"never/existed"), "", "delete never existed")
	names, _ = e.ListSecrets(e.ctx, prefix)
	same(t, names, []string{prefix + "acmex/int3"}, "secrets left")
	names, _ = e.ListSecrets(e.ctx, prefix+"nothing/")
	same(t, len(names), 0, "list with an unused prefix")
}
