package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

const prefixMember = "MEMBER#"

func memberSK(integ string, uid int64) string {
	return prefixMember + integ + "#" + strconv.FormatInt(uid, 10)
}

// memberItem is a member, at ORG#{org}/MEMBER#{integration id}#{GitLab user id}.
type memberItem struct {
	key
	Type string `dynamodbav:"type"` // "member"
	memberAttrs
	User userItem `dynamodbav:"user"` // stands in for memberAttrs.User
	// Sessions stands in for memberAttrs.Sessions: a list of maps, written even when
	// empty so that PutMember always has a value to set.
	Sessions []memberSessionItem `dynamodbav:"sessions"`
}

// memberSessionItem is a forgelink.MemberSession, an element of sessions.
type memberSessionItem struct {
	Hash      string    `dynamodbav:"hash"`
	ExpiresAt time.Time `dynamodbav:"expires"`
}

// memberAttrs has the fields of forgelink.Member; the user is stored as a userItem.
type memberAttrs struct {
	Org           string                    `dynamodbav:"org"`
	IntegrationID string                    `dynamodbav:"integration_id"`
	User          forgelink.GitLabUser      `dynamodbav:"-"`
	Role          string                    `dynamodbav:"role"`
	Sessions      []forgelink.MemberSession `dynamodbav:"-"`
	FirstSeenAt   time.Time                 `dynamodbav:"first_seen_at"`
	LastSeenAt    time.Time                 `dynamodbav:"last_seen_at"`
	Version       int64                     `dynamodbav:"version"`
}

func newMemberItem(m forgelink.Member) memberItem {
	sessions := make([]memberSessionItem, 0, len(m.Sessions))
	for _, s := range m.Sessions {
		sessions = append(sessions, memberSessionItem(s))
	}
	m.Sessions = nil // the item's list is the one that counts
	return memberItem{key{orgPK(m.Org), memberSK(m.IntegrationID, m.User.ID)}, "member", memberAttrs(m), userItem(m.User), sessions}
}

func (it memberItem) domain() forgelink.Member {
	m := forgelink.Member(it.memberAttrs)
	m.User = forgelink.GitLabUser(it.User)
	m.Sessions = nil
	for _, s := range it.Sessions {
		m.Sessions = append(m.Sessions, forgelink.MemberSession(s))
	}
	return m
}

// PutMember is an upsert over the version read: the key is the identity, first_seen_at is
// kept, everything else is the latest word. Items from before versions have none, which
// counts as 0.
func (st *Store) PutMember(ctx context.Context, m forgelink.Member) error {
	if m.LastSeenAt.IsZero() {
		m.LastSeenAt = st.now()
	}
	if m.FirstSeenAt.IsZero() {
		m.FirstSeenAt = m.LastSeenAt
	}
	expected := m.Version
	m.Version++
	item, err := marshal(newMemberItem(m))
	if err != nil {
		return err
	}
	cond, values := "attribute_not_exists(#version)", map[string]types.AttributeValue{}
	if expected != 0 {
		cond, values[":expected"] = "#version = :expected", num(expected)
	}
	up := newUpdate(item).set("type", "org", "integration_id", "user", "role", "sessions", "last_seen_at", "version").
		setIfAbsent("first_seen_at").when(cond, map[string]string{"#version": "version"}, values)
	_, err = st.db.UpdateItem(ctx, up.input(st.table))
	if isConditionFailed(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "the member changed meanwhile")
	} else if err != nil {
		return fail(err, "put member")
	}
	return nil
}

func (st *Store) GetMember(ctx context.Context, org, integrationID string, gitlabUserID int64) (forgelink.Member, error) {
	return getOne[memberItem](ctx, st, orgPK(org), memberSK(integrationID, gitlabUserID), errMemberNotFound)
}

// ListMembers is one query over the org's MEMBER# items.
func (st *Store) ListMembers(ctx context.Context, org string) ([]forgelink.Member, error) {
	out, err := listAll[memberItem](ctx, st, orgPK(org), prefixMember)
	if err != nil {
		return nil, err
	}
	forgelink.SortMembers(out)
	return out, nil
}

// batchGetMax is DynamoDB's limit of keys per BatchGetItem.
const batchGetMax = 100

// LiveSessions reads the session items of hashes (only their expiry), 100 per
// BatchGetItem, strongly consistent, retrying unprocessed keys.
func (st *Store) LiveSessions(ctx context.Context, hashes []string) ([]string, error) {
	live := map[string]bool{}
	for start := 0; start < len(hashes); start += batchGetMax {
		keys := make([]map[string]types.AttributeValue, 0, batchGetMax)
		seen := map[string]bool{}
		for _, h := range hashes[start:min(start+batchGetMax, len(hashes))] {
			if !seen[h] {
				seen[h] = true
				keys = append(keys, st.keyOf(sessionPK(h), skMeta))
			}
		}
		if err := st.liveBatch(ctx, keys, live); err != nil {
			return nil, err
		}
	}
	out := []string{}
	for _, h := range hashes {
		if live[h] {
			out = append(out, h)
		}
	}
	return out, nil
}

// sessionExpiry is what LiveSessions reads of a session item.
type sessionExpiry struct {
	Hash      string    `dynamodbav:"hash"`
	ExpiresAt time.Time `dynamodbav:"expires"`
}

func (st *Store) liveBatch(ctx context.Context, keys []map[string]types.AttributeValue, live map[string]bool) error {
	for attempt := 0; len(keys) > 0; attempt++ {
		if attempt == 5 {
			return forgelink.Errorf(forgelink.EUNAVAILABLE, "The database is busy. Please try again in a moment.")
		}
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 20 * time.Millisecond)
		}
		res, err := st.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			st.table: {Keys: keys, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#h, #e"),
				ExpressionAttributeNames: map[string]string{"#h": "hash", "#e": "expires"}},
		}})
		if err != nil {
			return fail(err, "read sessions")
		}
		for _, raw := range res.Responses[st.table] {
			it, err := unmarshal[sessionExpiry](raw)
			if err != nil {
				return err
			}
			if st.now().Before(it.ExpiresAt) {
				live[it.Hash] = true
			}
		}
		keys = res.UnprocessedKeys[st.table].Keys
	}
	return nil
}
