package storetest

import (
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

func testMembers(t *testing.T, e *env) {
	first := e.clock.Now()
	m := forgelink.Member{
		Org: "acme", IntegrationID: "int1",
		User:        forgelink.GitLabUser{ID: 42, Username: "alice", Name: "Alice", Email: "alice@example.com", AvatarURL: "https://a/x.png", State: "active"},
		Role:        forgelink.RoleAdmin,
		Sessions:    []forgelink.MemberSession{{Hash: "h1", ExpiresAt: first.Add(forgelink.SessionTTL)}},
		FirstSeenAt: first, LastSeenAt: first,
	}
	wantCode(t, e.PutMember(e.ctx, m), "", "put member")
	got, err := e.GetMember(e.ctx, "acme", "int1", 42)
	wantCode(t, err, "", "get member")
	want := m
	want.Version = 1
	same(t, got, want, "member read back")

	e.clock.Advance(time.Hour)
	again := got
	again.User.Username, again.User.Email, again.Role = "alice2", "new@example.com", forgelink.RoleMember
	again.Sessions = append([]forgelink.MemberSession{{Hash: "h2", ExpiresAt: e.clock.Now().Add(forgelink.SessionTTL)}}, again.Sessions...)
	again.FirstSeenAt, again.LastSeenAt = e.clock.Now(), e.clock.Now()
	wantCode(t, e.PutMember(e.ctx, again), "", "upsert member")
	got, _ = e.GetMember(e.ctx, "acme", "int1", 42)
	want = again
	want.FirstSeenAt, want.Version = first, 2
	same(t, got, want, "member after upsert keeps first seen")

	// Clearing the sessions reads back as none.
	cleared := got
	cleared.Sessions = nil
	wantCode(t, e.PutMember(e.ctx, cleared), "", "clear sessions")
	got, _ = e.GetMember(e.ctx, "acme", "int1", 42)
	if got.Sessions != nil || got.Version != 3 {
		t.Fatalf("after clearing: sessions %v, version %d", got.Sessions, got.Version)
	}

	_, err = e.GetMember(e.ctx, "acme", "int2", 42)
	wantCode(t, err, forgelink.ENOTFOUND, "same user through another integration")
	_, err = e.GetMember(e.ctx, "globex", "int1", 42)
	wantCode(t, err, forgelink.ENOTFOUND, "same user in another org")
}

// testMemberVersions: two writers that read the same version cannot both write, so two
// sign-ins of one person never lose each other's session.
func testMemberVersions(t *testing.T, e *env) {
	m := forgelink.Member{Org: "acme", IntegrationID: "int1", User: forgelink.GitLabUser{ID: 7, Username: "bob"}}
	wantCode(t, e.PutMember(e.ctx, m), "", "create member")
	wantCode(t, e.PutMember(e.ctx, m), forgelink.ECONFLICT, "create the member twice")
	read, _ := e.GetMember(e.ctx, "acme", "int1", 7)
	a, b := read, read
	a.Sessions = []forgelink.MemberSession{{Hash: "a", ExpiresAt: e.clock.Now().Add(time.Hour)}}
	b.Sessions = []forgelink.MemberSession{{Hash: "b", ExpiresAt: e.clock.Now().Add(time.Hour)}}
	wantCode(t, e.PutMember(e.ctx, a), "", "first writer")
	wantCode(t, e.PutMember(e.ctx, b), forgelink.ECONFLICT, "second writer over a stale version")
	got, _ := e.GetMember(e.ctx, "acme", "int1", 7)
	if len(got.Sessions) != 1 || got.Sessions[0].Hash != "a" || got.Version != 2 {
		t.Fatalf("after the race: %+v", got)
	}
	stale := got
	stale.Version = 5
	wantCode(t, e.PutMember(e.ctx, stale), forgelink.ECONFLICT, "a version from the future")
}

func testListMembers(t *testing.T, e *env) {
	list, err := e.ListMembers(e.ctx, "acme")
	wantCode(t, err, "", "list no members")
	if len(list) != 0 {
		t.Fatalf("members of an empty org: %+v", list)
	}
	put := func(org, integ string, uid int64, name string) forgelink.Member {
		m := forgelink.Member{Org: org, IntegrationID: integ, User: forgelink.GitLabUser{ID: uid, Username: name},
			Role: forgelink.RoleMember, FirstSeenAt: e.clock.Now(), LastSeenAt: e.clock.Now()}
		wantCode(t, e.PutMember(e.ctx, m), "", "put "+name)
		m.Version = 1
		e.clock.Advance(time.Minute)
		return m
	}
	carol := put("acme", "int2", 9, "carol")
	alice := put("acme", "int1", 10, "alice")
	bob := put("acme", "int1", 9, "bob")
	put("globex", "int1", 1, "mallory")
	list, err = e.ListMembers(e.ctx, "acme")
	wantCode(t, err, "", "list members")
	same(t, list, []forgelink.Member{bob, alice, carol}, "members, latest sign-in first")
}

func testLiveSessions(t *testing.T, e *env) {
	now := e.clock.Now()
	var hashes []string
	for i := range 105 { // more than one DynamoDB batch
		h := randomHex(32)
		hashes = append(hashes, h)
		if i%3 == 0 {
			continue // never stored
		}
		exp := now.Add(time.Hour)
		if i%3 == 2 {
			exp = now.Add(time.Minute)
		}
		wantCode(t, e.CreateSession(e.ctx, forgelink.Session{Hash: h, Kind: forgelink.SessionMember, Org: "acme",
			CreatedAt: now, ExpiresAt: exp}), "", "create session")
	}
	wantCode(t, e.DeleteSession(e.ctx, hashes[1]), "", "delete session")
	e.clock.Advance(2 * time.Minute)
	live, err := e.LiveSessions(e.ctx, append(hashes, hashes[4]))
	wantCode(t, err, "", "live sessions")
	var want []string
	for i, h := range hashes {
		if i%3 == 1 && i != 1 {
			want = append(want, h)
		}
	}
	want = append(want, hashes[4])
	same(t, live, want, "live sessions: stored, not deleted, not expired, in order")
	none, err := e.LiveSessions(e.ctx, nil)
	wantCode(t, err, "", "no hashes")
	if len(none) != 0 {
		t.Fatalf("live sessions of none: %v", none)
	}
}
