package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

func memberSK(integ string, uid int64) string {
	return "MEMBER#" + integ + "#" + strconv.FormatInt(uid, 10)
}

// memberItem is a member, at ORG#{org}/MEMBER#{integration id}#{GitLab user id}.
type memberItem struct {
	key
	Type string `dynamodbav:"type"` // "member"
	memberAttrs
	User userItem `dynamodbav:"user"` // stands in for memberAttrs.User
}

// memberAttrs has the fields of forgelink.Member; the user is stored as a userItem.
type memberAttrs struct {
	Org           string               `dynamodbav:"org"`
	IntegrationID string               `dynamodbav:"integration_id"`
	User          forgelink.GitLabUser `dynamodbav:"-"`
	FirstSeenAt   time.Time            `dynamodbav:"first_seen_at"`
	LastSeenAt    time.Time            `dynamodbav:"last_seen_at"`
}

func newMemberItem(m forgelink.Member) memberItem {
	return memberItem{key{orgPK(m.Org), memberSK(m.IntegrationID, m.User.ID)}, "member", memberAttrs(m), userItem(m.User)}
}

func (it memberItem) domain() forgelink.Member {
	m := forgelink.Member(it.memberAttrs)
	m.User = forgelink.GitLabUser(it.User)
	return m
}

// PutMember is an upsert that keeps first_seen_at: the key is the identity, everything
// else is the latest word from GitLab.
func (st *Store) PutMember(ctx context.Context, m forgelink.Member) error {
	if m.LastSeenAt.IsZero() {
		m.LastSeenAt = st.now()
	}
	if m.FirstSeenAt.IsZero() {
		m.FirstSeenAt = m.LastSeenAt
	}
	item, err := marshal(newMemberItem(m))
	if err != nil {
		return err
	}
	up := newUpdate(item).set("type", "org", "integration_id", "user", "last_seen_at").setIfAbsent("first_seen_at")
	if _, err := st.db.UpdateItem(ctx, up.input(st.table)); err != nil {
		return fail(err, "put member")
	}
	return nil
}

func (st *Store) GetMember(ctx context.Context, org, integrationID string, gitlabUserID int64) (forgelink.Member, error) {
	it, found, err := get[memberItem](ctx, st, orgPK(org), memberSK(integrationID, gitlabUserID))
	if err != nil {
		return forgelink.Member{}, err
	} else if !found {
		return forgelink.Member{}, errMemberNotFound
	}
	return it.domain(), nil
}
