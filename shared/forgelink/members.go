package forgelink

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxMemberSessions bounds the sessions a member item lists: a sign-in that would list
// more ends the oldest (DESIGN-NOTES.md, "People and access").
const MaxMemberSessions = 20

// Member is a person who signed in to an org through an integration. Keyed on the
// integration and GitLab's numeric user id, never on e-mail.
type Member struct {
	Org           string
	IntegrationID string
	User          GitLabUser
	// Role is the role of the member's most recent sign-in (RoleAdmin or RoleMember).
	Role string
	// Sessions are the member's sessions, newest first, at most MaxMemberSessions: kept on
	// the member so that they are counted and ended without a scan. Sessions ended by a
	// sign-out may still be listed until they expire; readers check them.
	Sessions    []MemberSession
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	// Version is the optimistic-locking counter of the member item (0: none stored yet):
	// PutMember writes only over the version it names, so two sign-ins of one person never
	// lose each other's session.
	Version int64
}

// MemberSession is one session of a member: its hash (the session's store key) and when
// it expires.
type MemberSession struct {
	Hash      string
	ExpiresAt time.Time
}

// ID is the member's opaque, URL-safe id: its integration id and GitLab user id.
func (m Member) ID() string { return MemberID(m.IntegrationID, m.User.ID) }

// MemberID makes the id of the member of integrationID with GitLab user id userID.
func MemberID(integrationID string, userID int64) string {
	return integrationID + "-" + strconv.FormatInt(userID, 10)
}

// ParseMemberID splits a member id into its integration id and GitLab user id; ok is
// false for anything MemberID cannot have made.
func ParseMemberID(id string) (integrationID string, userID int64, ok bool) {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 || len(id) > 128 {
		return "", 0, false
	}
	uid, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil || uid <= 0 || strconv.FormatInt(uid, 10) != id[i+1:] {
		return "", 0, false
	}
	return id[:i], uid, true
}

// SortMembers orders members as Store.ListMembers returns them: the most recent sign-in
// first, ties by integration id, then GitLab user id.
func SortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int {
		if c := b.LastSeenAt.Compare(a.LastSeenAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.IntegrationID, b.IntegrationID); c != 0 {
			return c
		}
		return cmpInt(a.User.ID, b.User.ID)
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MemberStore keeps members and tells live sessions; part of Store.
type MemberStore interface {
	// PutMember creates or updates a member (keyed on org, integration and GitLab user id)
	// if the stored Version equals m.Version (0: no member yet, or one stored before
	// members had versions), and stores it with Version+1: the user, Role, Sessions and
	// LastSeenAt as given, FirstSeenAt kept when the member exists. ECONFLICT otherwise.
	PutMember(ctx context.Context, m Member) error
	// GetMember returns ENOTFOUND when org has no such member.
	GetMember(ctx context.Context, org, integrationID string, gitlabUserID int64) (Member, error)
	// ListMembers returns the org's members (one query), sorted as SortMembers does.
	ListMembers(ctx context.Context, org string) ([]Member, error)
	// LiveSessions returns those of hashes that name stored, unexpired sessions, in the
	// order given (few requests: DynamoDB reads up to 100 per call).
	LiveSessions(ctx context.Context, hashes []string) ([]string, error)
}
