package service

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/inmem"
)

// TestRecordMemberBound: a member lists at most MaxMemberSessions sessions; the sign-in
// that would list more ends the oldest, so "Sign out everywhere" still reaches every live
// session. Expired entries and the browser's previous session are dropped.
func TestRecordMemberBound(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	store := inmem.New(clock)
	b := newBase(Deps{Store: store, Now: clock})
	user := forgelink.GitLabUser{ID: 2, Username: "alice"}
	start := func(i int) forgelink.Session {
		sess := forgelink.Session{Hash: fmt.Sprintf("h%02d", i), Kind: forgelink.SessionMember, Org: "acme", IntegrationID: "i1",
			User: user, Role: forgelink.RoleMember, CreatedAt: now, ExpiresAt: now.Add(forgelink.SessionTTL)}
		if err := b.recordMember(ctx, sess, ""); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
		return sess
	}
	for i := range forgelink.MaxMemberSessions + 1 {
		start(i)
	}
	m, _ := store.GetMember(ctx, "acme", "i1", 2)
	if len(m.Sessions) != forgelink.MaxMemberSessions || m.Sessions[0].Hash != "h20" || m.Sessions[len(m.Sessions)-1].Hash != "h01" {
		t.Fatalf("sessions after %d sign-ins: %+v", forgelink.MaxMemberSessions+1, m.Sessions)
	}
	if _, err := store.GetSession(ctx, "h00"); forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		t.Errorf("the session beyond the bound was not ended: %v", err)
	}

	// The previous session of the browser and expired ones leave the list.
	now = now.Add(forgelink.SessionTTL - 10*time.Minute) // h01…h11 expired
	sess := forgelink.Session{Hash: "new", Kind: forgelink.SessionMember, Org: "acme", IntegrationID: "i1", User: user,
		Role: forgelink.RoleAdmin, CreatedAt: now, ExpiresAt: now.Add(forgelink.SessionTTL)}
	if err := b.recordMember(ctx, sess, "h20"); err != nil {
		t.Fatal(err)
	}
	m, _ = store.GetMember(ctx, "acme", "i1", 2)
	if len(m.Sessions) != 9 || m.Sessions[0].Hash != "new" || m.Sessions[1].Hash != "h19" || m.Role != forgelink.RoleAdmin {
		t.Errorf("after a later sign-in: role %q, %+v", m.Role, m.Sessions)
	}
}

func TestMemberIDs(t *testing.T) {
	id := forgelink.MemberID("abc-def", 42)
	if integ, uid, ok := forgelink.ParseMemberID(id); !ok || integ != "abc-def" || uid != 42 {
		t.Errorf("ParseMemberID(%q) = %q, %d, %v", id, integ, uid, ok)
	}
	for _, bad := range []string{"", "-1", "abc", "abc-", "abc-0", "abc-01", "abc-1x", "abc-+1"} {
		if _, _, ok := forgelink.ParseMemberID(bad); ok {
			t.Errorf("ParseMemberID(%q) ok", bad)
		}
	}
}
