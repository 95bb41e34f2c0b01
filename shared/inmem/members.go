package inmem

import (
	"context"
	"slices"

	"github.com/forgelink/forgelink/shared/forgelink"
)

var errMemberNotFound = forgelink.Errorf(forgelink.ENOTFOUND, "member not found")

// PutMember upserts over the version it names, keeping the first-seen time of an existing
// member as DynamoDB's if_not_exists does.
func (s *Store) PutMember(ctx context.Context, m forgelink.Member) error {
	now := utc(s.now())
	if m.LastSeenAt.IsZero() {
		m.LastSeenAt = now
	}
	if m.FirstSeenAt.IsZero() {
		m.FirstSeenAt = m.LastSeenAt
	}
	m = detachedMember(m)
	k := memberKey{m.Org, m.IntegrationID, m.User.ID}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.members[k]
	if old.Version != m.Version {
		return forgelink.Errorf(forgelink.ECONFLICT, "the member changed meanwhile")
	}
	if ok {
		m.FirstSeenAt = old.FirstSeenAt
	}
	m.Version++
	s.members[k] = m
	return nil
}

func (s *Store) GetMember(ctx context.Context, org, integrationID string, gitlabUserID int64) (forgelink.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[memberKey{org, integrationID, gitlabUserID}]
	if !ok {
		return forgelink.Member{}, errMemberNotFound
	}
	return detachedMember(m), nil
}

func (s *Store) ListMembers(ctx context.Context, org string) ([]forgelink.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []forgelink.Member{}
	for k, m := range s.members {
		if k.org == org {
			out = append(out, detachedMember(m))
		}
	}
	forgelink.SortMembers(out)
	return out, nil
}

func (s *Store) LiveSessions(ctx context.Context, hashes []string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for _, h := range hashes {
		if sess, ok := s.sessions[h]; ok && !s.expired(sess.ExpiresAt) {
			out = append(out, h)
		}
	}
	return out, nil
}

// detachedMember returns m with its own copy of the sessions and its times in UTC; an
// empty list is nil, as the DynamoDB store reads it back.
func detachedMember(m forgelink.Member) forgelink.Member {
	m.FirstSeenAt, m.LastSeenAt = utc(m.FirstSeenAt), utc(m.LastSeenAt)
	if len(m.Sessions) == 0 {
		m.Sessions = nil
		return m
	}
	m.Sessions = slices.Clone(m.Sessions)
	for i := range m.Sessions {
		m.Sessions[i].ExpiresAt = utc(m.Sessions[i].ExpiresAt)
	}
	return m
}
