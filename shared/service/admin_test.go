package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/inmem"
	"github.com/forgelink/forgelink/shared/netguard"
)

// adminClock is a settable clock for tests.
type adminClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *adminClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *adminClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// stubGitLab accepts one client id / secret pair; err, when set, is returned instead.
// Its application is Confidential unless public is set; confErr, when set, is what
// IsConfidential returns instead of an answer.
type stubGitLab struct {
	GitLab
	clientID, secret string
	err              error
	redirects        []string
	checked          []string // the URLs of the servers asked
	public           bool
	confErr          error
	confCalls        int
}

func (g *stubGitLab) IsConfidential(ctx context.Context, _ forgelink.Integration, clientID, redirectURL string) (bool, error) {
	g.confCalls++
	g.redirects = append(g.redirects, redirectURL)
	if g.confErr != nil {
		return false, g.confErr
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return !g.public || clientID != g.clientID, nil
}

func (g *stubGitLab) CheckCredentials(_ context.Context, in forgelink.Integration, clientID, secret, redirectURL string) error {
	g.redirects = append(g.redirects, redirectURL)
	g.checked = append(g.checked, in.URL)
	if g.err != nil {
		return g.err
	}
	if clientID != g.clientID || secret != g.secret {
		const msg = "Application ID or Secret is wrong"
		return forgelink.Invalid(map[string]string{"client_id": msg, "client_secret": msg})
	}
	return nil
}

func newAdminTestService(t *testing.T) (All, *inmem.Store, *adminClock, *stubGitLab) {
	t.Helper()
	clock := &adminClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	mem := inmem.New(clock.now)
	gl := &stubGitLab{clientID: "app-id", secret: "app-secret"}
	hosts, _ := netguard.ParseAllowHosts("gitlab.test:8443")
	s := NewAll(Deps{Store: mem, Secrets: mem, GitLab: gl, URLs: netguard.Policy{AllowHosts: hosts}, SecretPrefix: "forgelink/test/", Now: clock.now, Log: slog.New(slog.DiscardHandler)})
	if _, err := s.Orgs.EnsureOrg(context.Background(), "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	return s, mem, clock, gl
}

func code(err error) string { return forgelink.ErrorCode(err) }

func TestEnsureOrgSlugs(t *testing.T) {
	s, _, _, _ := newAdminTestService(t)
	ctx := context.Background()
	for _, slug := range []string{"ab", "acme-2", strings.Repeat("a", 40), "0x"} {
		if _, err := s.Orgs.EnsureOrg(ctx, slug, ""); err != nil {
			t.Errorf("%q refused: %v", slug, err)
		}
	}
	for _, slug := range []string{"", "a", strings.Repeat("a", 41), "-ab", "ab-", "Acme", "a_b", "a b", "a/b", "ä1"} {
		if _, err := s.Orgs.EnsureOrg(ctx, slug, ""); code(err) != forgelink.EINVALID {
			t.Errorf("%q: %v, want EINVALID", slug, err)
		}
	}
	org, err := s.Orgs.EnsureOrg(ctx, "acme", "Other name")
	if err != nil || org.Name != "Acme" {
		t.Errorf("EnsureOrg of an existing org: %+v %v", org, err)
	}
}

func TestAdminTokens(t *testing.T) {
	s, mem, _, _ := newAdminTestService(t)
	ctx := context.Background()
	if _, err := s.Orgs.EnsureOrg(ctx, "beta", ""); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Tokens.CreateAdminToken(ctx, "acme", "ci", "")
	if err != nil || len(tok) < 40 {
		t.Fatalf("token %q %v", tok, err)
	}
	if _, err := mem.FindAdminToken(ctx, tok); err == nil {
		t.Error("the plain token is a store key")
	}
	actor, err := s.Tokens.AuthenticateToken(ctx, "acme", tok)
	if err != nil || actor.Org != "acme" || actor.Name != "api_token:ci" || strings.Contains(actor.Name, tok) {
		t.Errorf("actor %+v %v", actor, err)
	}
	if _, err := s.Tokens.AuthenticateToken(ctx, "beta", tok); code(err) != forgelink.EFORBIDDEN {
		t.Errorf("other org: %v", err)
	}
	for _, bad := range []string{"", "nope", tok + "x"} {
		if _, err := s.Tokens.AuthenticateToken(ctx, "acme", bad); code(err) != forgelink.EUNAUTHORIZED {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := s.Tokens.CreateAdminToken(ctx, "acme", "", "short"); code(err) != forgelink.EINVALID {
		t.Errorf("short token: %v", err)
	}
	fixed := "fixed-token-0123456789abcdef"
	for range 2 { // a restart with FORGELINK_ADMIN_TOKEN over a persistent store
		if got, err := s.Tokens.CreateAdminToken(ctx, "acme", "", fixed); err != nil || got != fixed {
			t.Errorf("fixed token: %q %v", got, err)
		}
	}
	if _, err := s.Tokens.CreateAdminToken(ctx, "beta", "", fixed); code(err) != forgelink.ECONFLICT {
		t.Errorf("fixed token of another org: %v", err)
	}
	if _, err := s.Tokens.CreateAdminToken(ctx, "nosuch", "", ""); code(err) != forgelink.ENOTFOUND {
		t.Errorf("missing org: %v", err)
	}
}

func TestAdminLinksAndSessions(t *testing.T) {
	s, mem, clock, _ := newAdminTestService(t)
	ctx := context.Background()
	if _, err := s.Orgs.EnsureOrg(ctx, "beta", ""); err != nil {
		t.Fatal(err)
	}
	link, err := s.SetupLinks.CreateAdminLink(ctx, "acme", "Jane Doe")
	if err != nil {
		t.Fatal(err)
	}
	// Another org's page does not use the link up.
	if _, err := s.SetupLinks.RedeemAdminLink(ctx, "beta", link); code(err) != forgelink.EEXPIRED {
		t.Errorf("link redeemed in another org: %v", err)
	}
	sid, err := s.SetupLinks.RedeemAdminLink(ctx, "acme", link)
	if err != nil {
		t.Fatalf("link refused in its own org after a refusal elsewhere: %v", err)
	}
	if _, err := s.SetupLinks.RedeemAdminLink(ctx, "acme", link); code(err) != forgelink.EEXPIRED {
		t.Errorf("second use: %v", err)
	}
	if _, err := mem.GetSession(ctx, sid); err == nil {
		t.Error("the plain session id is a store key")
	}
	actor, sess, err := s.Sessions.AdminSession(ctx, "acme", sid)
	if err != nil || actor.Name != "setup_link:Jane Doe" || sess.Role != forgelink.RoleAdmin || sess.Principal != "Jane Doe" {
		t.Errorf("session: %+v %+v %v", actor, sess, err)
	}
	if _, _, err := s.Sessions.AdminSession(ctx, "beta", sid); code(err) != forgelink.EUNAUTHORIZED {
		t.Errorf("other org: %v", err)
	}
	if _, _, err := s.Sessions.AdminSession(ctx, "acme", ""); code(err) != forgelink.EUNAUTHORIZED {
		t.Errorf("no session: %v", err)
	}
	recs, _ := s.Audit.ListAudit(ctx, "acme", "", 0)
	if len(recs) != 1 || recs[0].Action != forgelink.AuditAdminSignIn || recs[0].Actor != "setup_link:Jane Doe" {
		t.Errorf("audit %+v", recs)
	}

	// Expiry: links after 10 minutes, sessions after 12 hours.
	late, _ := s.SetupLinks.CreateAdminLink(ctx, "acme", "")
	clock.add(forgelink.AdminLinkTTL)
	if _, err := s.SetupLinks.RedeemAdminLink(ctx, "acme", late); code(err) != forgelink.EEXPIRED {
		t.Errorf("expired link: %v", err)
	}
	clock.add(forgelink.SessionTTL)
	if _, _, err := s.Sessions.AdminSession(ctx, "acme", sid); code(err) != forgelink.EUNAUTHORIZED {
		t.Errorf("expired session: %v", err)
	}

	// A member session is signed in, but no admin.
	member, hash := newToken()
	now := clock.now()
	if err := mem.CreateSession(ctx, forgelink.Session{Hash: hash, Kind: forgelink.SessionMember, Org: "acme", Role: forgelink.RoleMember, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Sessions.AdminSession(ctx, "acme", member); code(err) != forgelink.EUNAUTHORIZED && code(err) != forgelink.EFORBIDDEN {
		t.Errorf("member session: %v", err)
	}

	// Signing out ends the session, once; signing out again is fine.
	link, _ = s.SetupLinks.CreateAdminLink(ctx, "acme", "")
	sid, _ = s.SetupLinks.RedeemAdminLink(ctx, "acme", link)
	if err := s.Sessions.SignOut(ctx, "acme", sid); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Sessions.AdminSession(ctx, "acme", sid); code(err) != forgelink.EUNAUTHORIZED {
		t.Errorf("ended session: %v", err)
	}
	if err := s.Sessions.SignOut(ctx, "acme", sid); err != nil {
		t.Errorf("signing out twice: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	clock := &adminClock{t: time.Unix(0, 0)}
	l := newWriteLimiter(WriteLimit{Burst: 2, PerMinute: 30}, clock.now) // 30/min = one every 2 s
	for range 2 {
		if err := l.allow("acme"); err != nil {
			t.Fatal(err)
		}
	}
	err := l.allow("acme")
	var fe *forgelink.Error
	if !errors.As(err, &fe) || fe.Code != forgelink.ERATELIMITED || fe.RetryAfter != 2 {
		t.Fatalf("third write: %v", err)
	}
	if err := l.allow("beta"); err != nil {
		t.Errorf("orgs share a bucket: %v", err)
	}
	clock.add(2 * time.Second)
	if err := l.allow("acme"); err != nil {
		t.Errorf("after refill: %v", err)
	}
	if err := newWriteLimiter(WriteLimit{Burst: 1, Off: true}, clock.now).allow("x"); err != nil {
		t.Errorf("disabled limiter: %v", err)
	}
}

func TestListAndRevokeAdminTokens(t *testing.T) {
	s, mem, clock, _ := newAdminTestService(t)
	ctx := context.Background()
	if _, err := s.Orgs.EnsureOrg(ctx, "beta", ""); err != nil {
		t.Fatal(err)
	}
	ci, _ := s.Tokens.CreateAdminToken(ctx, "acme", "ci", "")
	clock.add(time.Minute)
	deploy, _ := s.Tokens.CreateAdminToken(ctx, "acme", "deploy", "")
	theirs, _ := s.Tokens.CreateAdminToken(ctx, "beta", "theirs", "")

	list, err := s.Tokens.ListAdminTokens(ctx, "acme")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if list[0].Name != "deploy" || list[1].Name != "ci" || !list[0].CreatedAt.After(list[1].CreatedAt) {
		t.Errorf("want newest first: %+v", list)
	}
	ciID := hashToken(ci)[:TokenIDLength]
	if list[1].ID != ciID || list[0].ID != hashToken(deploy)[:TokenIDLength] {
		t.Errorf("ids: %+v", list)
	}
	if _, err := s.Tokens.ListAdminTokens(ctx, "nosuch"); code(err) != forgelink.ENOTFOUND {
		t.Errorf("list of a missing org: %v", err)
	}

	op := Operator("acme")
	if err := s.Tokens.RevokeAdminToken(ctx, Operator("beta"), "acme", ciID); code(err) != forgelink.EFORBIDDEN {
		t.Errorf("actor of another org: %v", err)
	}
	if err := s.Tokens.RevokeAdminToken(ctx, op, "acme", hashToken(theirs)[:TokenIDLength]); code(err) != forgelink.ENOTFOUND {
		t.Errorf("id of another org's token: %v", err)
	}
	if err := s.Tokens.RevokeAdminToken(ctx, op, "acme", theirs); code(err) != forgelink.ENOTFOUND {
		t.Errorf("another org's token: %v", err)
	}
	for _, bad := range []string{"", "abc", "0123456"} {
		if err := s.Tokens.RevokeAdminToken(ctx, op, "acme", bad); code(err) != forgelink.EINVALID {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, unknown := range []string{"ffffffffffff", "not-a-token-we-know-of-at-all"} {
		if err := s.Tokens.RevokeAdminToken(ctx, op, "acme", unknown); code(err) != forgelink.ENOTFOUND {
			t.Errorf("%q: %v", unknown, err)
		}
	}

	// By id (8 characters, upper case is fine): the token stops working at once.
	if err := s.Tokens.RevokeAdminToken(ctx, op, "acme", strings.ToUpper(ciID[:8])); err != nil {
		t.Fatalf("revoke by id: %v", err)
	}
	if _, err := s.Tokens.AuthenticateToken(ctx, "acme", ci); code(err) != forgelink.EUNAUTHORIZED {
		t.Errorf("revoked token still authenticates: %v", err)
	}
	if err := s.Tokens.RevokeAdminToken(ctx, op, "acme", ciID); code(err) != forgelink.ENOTFOUND {
		t.Errorf("revoke twice: %v", err)
	}
	// By the token itself.
	if err := s.Tokens.RevokeAdminToken(ctx, op, "acme", deploy); err != nil {
		t.Fatalf("revoke by token: %v", err)
	}
	if _, err := s.Tokens.AuthenticateToken(ctx, "acme", deploy); code(err) != forgelink.EUNAUTHORIZED {
		t.Errorf("revoked token still authenticates: %v", err)
	}
	if _, err := s.Tokens.AuthenticateToken(ctx, "beta", theirs); err != nil {
		t.Errorf("another org's token was touched: %v", err)
	}
	if list, err := s.Tokens.ListAdminTokens(ctx, "acme"); err != nil || len(list) != 0 {
		t.Errorf("list after revoking: %+v %v", list, err)
	}

	recs, _ := mem.ListAudit(ctx, "acme", "", 0)
	var revoked []forgelink.AuditRecord
	for _, r := range recs {
		if r.Action == forgelink.AuditTokenRevoked {
			revoked = append(revoked, r)
		}
	}
	if len(revoked) != 2 {
		t.Fatalf("audit: %+v", recs)
	}
	for _, r := range revoked {
		if r.Actor != "operator:forgelinkctl" || strings.Contains(r.Detail, ci) || strings.Contains(r.Detail, deploy) {
			t.Errorf("audit record %+v", r)
		}
	}
	if details := revoked[0].Detail + revoked[1].Detail; !strings.Contains(details, ciID) || !strings.Contains(details, hashToken(deploy)[:TokenIDLength]) {
		t.Errorf("audit details %q lack the ids", details)
	}

	// An id prefix that matches two tokens is refused, a longer one picks one.
	for _, h := range []string{"abcdef01" + strings.Repeat("0", 56), "abcdef01" + strings.Repeat("1", 56)} {
		if err := mem.CreateAdminToken(ctx, forgelink.AdminToken{Hash: h, Org: "acme", Name: "twin"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Tokens.RevokeAdminToken(ctx, op, "acme", "abcdef01"); code(err) != forgelink.EINVALID {
		t.Errorf("ambiguous id: %v", err)
	}
	if err := s.Tokens.RevokeAdminToken(ctx, op, "acme", "abcdef011"); err != nil {
		t.Errorf("longer id: %v", err)
	}
	if list, _ := s.Tokens.ListAdminTokens(ctx, "acme"); len(list) != 1 || list[0].ID != "abcdef010000" {
		t.Errorf("after revoking one twin: %+v", list)
	}
}
