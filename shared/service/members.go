package service

import (
	"context"
	"fmt"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Members are the people of an org's integrations (integrations function: the Members
// page and /api/v1/orgs/{org}/members): who signed in, with which role, and how many
// sessions they have; an admin can end all of a member's sessions.
type Members struct {
	*base
	writes *writeLimiter
}

// NewMembers returns the Members noun over d (it needs Store).
func NewMembers(d Deps) *Members {
	return &Members{base: newBase(d), writes: newWriteLimiter(d.AdminWrites, d.Now)}
}

// MemberInfo is a member with its count of active sessions.
type MemberInfo struct {
	forgelink.Member
	// ActiveSessions counts the member's sessions that exist and have not expired.
	ActiveSessions int
}

var errNoSuchMember = forgelink.Errorf(forgelink.ENOTFOUND, "There is no such member in this org.")

// List returns org's members, the most recent sign-in first, with their active sessions:
// one query for the members and one batch read (per 100) of their unexpired sessions,
// which leaves out sessions that were signed out.
func (s *Members) List(ctx context.Context, org string) ([]MemberInfo, error) {
	members, err := s.store.ListMembers(ctx, org)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var hashes []string
	for _, m := range members {
		for _, ms := range m.Sessions {
			if now.Before(ms.ExpiresAt) {
				hashes = append(hashes, ms.Hash)
			}
		}
	}
	live := map[string]bool{}
	if len(hashes) > 0 {
		found, err := s.store.LiveSessions(ctx, hashes)
		if err != nil {
			return nil, err
		}
		for _, h := range found {
			live[h] = true
		}
	}
	out := make([]MemberInfo, 0, len(members))
	for _, m := range members {
		info := MemberInfo{Member: m}
		for _, ms := range m.Sessions {
			if live[ms.Hash] && now.Before(ms.ExpiresAt) {
				info.ActiveSessions++
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// Get returns the member memberID of org; an unknown id, or another org's, is ENOTFOUND.
func (s *Members) Get(ctx context.Context, org, memberID string) (forgelink.Member, error) {
	integrationID, uid, ok := forgelink.ParseMemberID(memberID)
	if !ok {
		return forgelink.Member{}, errNoSuchMember
	}
	m, err := s.store.GetMember(ctx, org, integrationID, uid)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return forgelink.Member{}, forgelink.Wrap(forgelink.ENOTFOUND, err, "%s", errNoSuchMember.Message)
	}
	return m, err
}

// memberWriteAttempts bounds the retries of a member write that lost to a concurrent one.
const memberWriteAttempts = 3

// SignOutEverywhere ends every session of org's member memberID and clears its list, and
// audits it naming the member. The member may sign in again (unless a rule refuses them).
// It returns how many sessions it ended. A sign-in that races with it is ended too.
func (s *Members) SignOutEverywhere(ctx context.Context, actor Actor, org, memberID string) (int, error) {
	if err := s.authorize(actor, org); err != nil {
		return 0, err
	}
	m, err := s.Get(ctx, org, memberID)
	if err != nil {
		return 0, err
	}
	if err := s.writes.allow(org); err != nil {
		return 0, err
	}
	ended := 0
	for attempt := 1; ; attempt++ {
		n, err := s.endAll(ctx, m)
		ended += n
		if forgelink.ErrorCode(err) == forgelink.ECONFLICT && attempt < memberWriteAttempts {
			if m, err = s.Get(ctx, org, memberID); err != nil {
				return ended, err
			}
			continue
		} else if err != nil {
			// Sessions already ended stay ended; a retry finds them gone and clears the list.
			return ended, err
		}
		break
	}
	s.audit(ctx, actor, forgelink.AuditSignedOutEverywhere, m.IntegrationID, fmt.Sprintf(
		"Signed out everywhere: @%s (GitLab user id %d); %d %s ended", m.User.Username, m.User.ID, ended, plural(ended, "session", "sessions")))
	s.log.InfoContext(ctx, "member signed out everywhere", "org", org, "integration", m.IntegrationID, "gitlab_user_id", m.User.ID, "sessions", ended)
	return ended, nil
}

// endAll deletes the sessions m lists and then clears the list over m's version
// (ECONFLICT when a sign-in wrote meanwhile). It returns how many live sessions it ended.
func (s *Members) endAll(ctx context.Context, m forgelink.Member) (int, error) {
	hashes := make([]string, 0, len(m.Sessions))
	for _, ms := range m.Sessions {
		hashes = append(hashes, ms.Hash)
	}
	live := []string{}
	if len(hashes) > 0 {
		var err error
		if live, err = s.store.LiveSessions(ctx, hashes); err != nil {
			return 0, err
		}
	}
	for _, h := range live {
		if err := s.store.DeleteSession(ctx, h); err != nil && forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
			return 0, err
		}
	}
	if len(m.Sessions) == 0 {
		return len(live), nil
	}
	m.Sessions = nil
	return len(live), s.store.PutMember(ctx, m)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// withSession is the session list of a member after a sign-in that started sess and ended
// the browser's previous session (previousHash, "" for none): expired entries and the
// previous session dropped, sess first, at most forgelink.MaxMemberSessions. overflow are
// the live sessions beyond the bound, for the caller to end.
func withSession(list []forgelink.MemberSession, sess forgelink.Session, previousHash string, now time.Time) (kept, overflow []forgelink.MemberSession) {
	kept = []forgelink.MemberSession{{Hash: sess.Hash, ExpiresAt: sess.ExpiresAt}}
	for _, ms := range list {
		if ms.Hash == previousHash || ms.Hash == sess.Hash || !now.Before(ms.ExpiresAt) {
			continue
		}
		if len(kept) == forgelink.MaxMemberSessions {
			overflow = append(overflow, ms)
			continue
		}
		kept = append(kept, ms)
	}
	return kept, overflow
}

// recordMember upserts the member of a sign-in that starts sess, in one write: the user as
// GitLab tells it now, the role of this sign-in and sess added to its sessions. A write
// that loses to a concurrent sign-in of the same person reads again and retries. Sessions
// beyond the bound are ended (best effort: they are then no longer listed).
func (s *base) recordMember(ctx context.Context, sess forgelink.Session, previousHash string) error {
	for attempt := 1; ; attempt++ {
		m, err := s.store.GetMember(ctx, sess.Org, sess.IntegrationID, sess.User.ID)
		if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
			m, err = forgelink.Member{Org: sess.Org, IntegrationID: sess.IntegrationID, FirstSeenAt: sess.CreatedAt}, nil
		}
		if err != nil {
			return err
		}
		var overflow []forgelink.MemberSession
		m.User, m.Role, m.LastSeenAt = sess.User, sess.Role, sess.CreatedAt
		m.Sessions, overflow = withSession(m.Sessions, sess, previousHash, s.now())
		err = s.store.PutMember(ctx, m)
		if forgelink.ErrorCode(err) == forgelink.ECONFLICT && attempt < memberWriteAttempts {
			continue
		} else if err != nil {
			return err
		}
		for _, ms := range overflow {
			if err := s.store.DeleteSession(ctx, ms.Hash); err != nil {
				s.log.WarnContext(ctx, "could not end a member's oldest session", "org", sess.Org,
					"gitlab_user_id", sess.User.ID, "error", err.Error())
			}
		}
		return nil
	}
}
