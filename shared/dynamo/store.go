// Package dynamo is the DynamoDB implementation of forgelink.Store: one table, keys as
// DESIGN.md ("Data") lays them out, every write guarded by a condition expression.
package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Store is safe for concurrent use; all coordination happens in DynamoDB.
type Store struct {
	db    *dynamodb.Client
	table string
	now   func() time.Time
}

var _ forgelink.Store = (*Store)(nil)

// New returns a store on table. now is consulted for timestamps and for every expiry
// check (DynamoDB's TTL deletes late); nil means time.Now.
func New(client *dynamodb.Client, table string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: client, table: table, now: now}
}

// Attribute values used by many expressions.
func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func (st *Store) keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": str(pk), "SK": str(sk)}
}

// put writes one item if cond holds. It returns the raw SDK error so callers can tell a
// failed condition from the rest.
func (st *Store) put(ctx context.Context, item attributed, cond string, values map[string]types.AttributeValue) error {
	av := marshalItem(item)
	_, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &st.table,
		Item:                      av,
		ConditionExpression:       &cond,
		ExpressionAttributeValues: values,
	})
	return err
}

// get reads one item with a strongly consistent read (versions and single-use items must
// not be judged on stale data) into out; found is false when the item is missing.
func (st *Store) get(ctx context.Context, pk, sk string, out attributed) (found bool, err error) {
	res, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &st.table,
		Key:            st.keyOf(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fail(err, "get "+pk)
	}
	if res.Item == nil {
		return false, nil
	}
	if err := unmarshalItem(res.Item, out); err != nil {
		return false, forgelink.Wrap(forgelink.EINTERNAL, err, "Something went wrong on our side. Please try again.")
	}
	return true, nil
}

// query returns every item of pk whose sort key starts with prefix, paginating, newest
// (highest sort key) first when backwards; it stops once limit items passed keep (limit
// <= 0: no limit). keep may be nil.
func (st *Store) query(ctx context.Context, pk, prefix string, backwards bool, limit int,
	keep func(map[string]types.AttributeValue) bool) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:              &st.table,
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :prefix)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pk), ":prefix": str(prefix),
		},
		ScanIndexForward: aws.Bool(!backwards),
		ConsistentRead:   aws.Bool(true),
	}
	if limit > 0 && keep == nil {
		in.Limit = aws.Int32(int32(min(limit, 1000))) // read no more than will be returned
	}
	var out []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(st.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fail(err, "query "+pk+" "+prefix)
		}
		for _, item := range page.Items {
			if keep != nil && !keep(item) {
				continue
			}
			out = append(out, item)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

func (st *Store) CreateOrg(ctx context.Context, org forgelink.Org) error {
	if org.Slug == "" {
		return forgelink.Invalid(map[string]string{"slug": "must not be empty"})
	}
	if org.CreatedAt.IsZero() {
		org.CreatedAt = st.now()
	}
	item := orgItem{key: key{orgPK(org.Slug), skMeta}, Type: "org", Slug: org.Slug, Name: org.Name, CreatedAt: utc(org.CreatedAt)}
	err := st.put(ctx, &item, "attribute_not_exists(PK)", nil)
	if isConditionFailed(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "an org with this slug already exists")
	} else if err != nil {
		return fail(err, "create org")
	}
	return nil
}

func (st *Store) GetOrg(ctx context.Context, slug string) (forgelink.Org, error) {
	var it orgItem
	found, err := st.get(ctx, orgPK(slug), skMeta, &it)
	if err != nil {
		return forgelink.Org{}, err
	} else if !found {
		return forgelink.Org{}, errOrgNotFound
	}
	return forgelink.Org{Slug: it.Slug, Name: it.Name, CreatedAt: it.CreatedAt}, nil
}

func (st *Store) PutMember(ctx context.Context, m forgelink.Member) error {
	if m.LastSeenAt.IsZero() {
		m.LastSeenAt = st.now()
	}
	if m.FirstSeenAt.IsZero() {
		m.FirstSeenAt = m.LastSeenAt
	}
	u := toUserItem(m.User)
	user := &types.AttributeValueMemberM{Value: marshalItem(&u)}
	// An upsert that keeps first_seen_at: the key is the identity, everything else is the
	// latest word from GitLab.
	_, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table,
		Key:       st.keyOf(orgPK(m.Org), memberSK(m.IntegrationID, m.User.ID)),
		UpdateExpression: aws.String("SET #type = :type, org = :org, integration_id = :integ, #user = :user, " +
			"last_seen_at = :last, first_seen_at = if_not_exists(first_seen_at, :first)"),
		ExpressionAttributeNames: map[string]string{"#type": "type", "#user": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":type": str("member"), ":org": str(m.Org), ":integ": str(m.IntegrationID), ":user": user,
			":last":  str(utc(m.LastSeenAt).Format(time.RFC3339Nano)),
			":first": str(utc(m.FirstSeenAt).Format(time.RFC3339Nano)),
		},
	})
	if err != nil {
		return fail(err, "put member")
	}
	return nil
}

func (st *Store) GetMember(ctx context.Context, org, integrationID string, gitlabUserID int64) (forgelink.Member, error) {
	var it memberItem
	found, err := st.get(ctx, orgPK(org), memberSK(integrationID, gitlabUserID), &it)
	if err != nil {
		return forgelink.Member{}, err
	} else if !found {
		return forgelink.Member{}, errMemberNotFound
	}
	return forgelink.Member{Org: it.Org, IntegrationID: it.IntegrationID, User: it.User.domain(),
		FirstSeenAt: it.FirstSeenAt, LastSeenAt: it.LastSeenAt}, nil
}

// notExpiredOrAbsent lets a create take the key of an item that has expired but that TTL
// has not yet removed, the same way reads already treat it as gone.
const notExpiredOrAbsent = "attribute_not_exists(PK) OR expires_at <= :now"

func (st *Store) CreateSession(ctx context.Context, sess forgelink.Session) error {
	if sess.Hash == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "session hash must not be empty")
	}
	sess = sess.WithDefaults(st.now())
	item := sessionItem{
		key: key{sessionPK(sess.Hash), skMeta}, Type: "session", Hash: sess.Hash, Kind: string(sess.Kind),
		Org: sess.Org, IntegrationID: sess.IntegrationID, GitLabHost: sess.GitLabHost, User: toUserItem(sess.User),
		CreatedAt: utc(sess.CreatedAt), Expires: utc(sess.ExpiresAt), ExpiresAt: sess.ExpiresAt,
	}
	err := st.put(ctx, &item, notExpiredOrAbsent, map[string]types.AttributeValue{":now": num(st.now().Unix())})
	if isConditionFailed(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "session already exists")
	} else if err != nil {
		return fail(err, "create session")
	}
	return nil
}

func (st *Store) GetSession(ctx context.Context, hash string) (forgelink.Session, error) {
	var it sessionItem
	found, err := st.get(ctx, sessionPK(hash), skMeta, &it)
	if err != nil {
		return forgelink.Session{}, err
	} else if !found || !st.now().Before(it.Expires) {
		return forgelink.Session{}, errSessionNotFound
	}
	return forgelink.Session{
		Hash: it.Hash, Kind: forgelink.SessionKind(it.Kind), Org: it.Org, IntegrationID: it.IntegrationID,
		GitLabHost: it.GitLabHost, User: it.User.domain(), CreatedAt: it.CreatedAt, ExpiresAt: it.Expires,
	}, nil
}

// DeleteSession is idempotent: signing out twice is not an error.
func (st *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: st.keyOf(sessionPK(hash), skMeta)})
	if err != nil {
		return fail(err, "delete session")
	}
	return nil
}

func (st *Store) CreateAdminLink(ctx context.Context, l forgelink.AdminLink) error {
	if l.Hash == "" || l.Org == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "admin link hash and org must not be empty")
	}
	l = l.WithDefaults(st.now())
	item := adminLinkItem{
		key: key{adminLinkPK(l.Hash), skMeta}, Type: "adminlink", Hash: l.Hash, Org: l.Org,
		CreatedAt: utc(l.CreatedAt), Expires: utc(l.ExpiresAt), ExpiresAt: l.ExpiresAt,
	}
	err := st.put(ctx, &item, notExpiredOrAbsent, map[string]types.AttributeValue{":now": num(st.now().Unix())})
	if isConditionFailed(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "admin link already exists")
	} else if err != nil {
		return fail(err, "create admin link")
	}
	return nil
}

// ConsumeAdminLink is one conditional delete, so of two concurrent calls exactly one gets
// the old item back. expires_at has whole seconds, so the condition may refuse a link up
// to a second early, never late; the exact expiry is checked on the returned item.
func (st *Store) ConsumeAdminLink(ctx context.Context, hash string) (forgelink.AdminLink, error) {
	now := st.now()
	res, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &st.table,
		Key:                       st.keyOf(adminLinkPK(hash), skMeta),
		ConditionExpression:       aws.String("attribute_exists(PK) AND expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		return forgelink.AdminLink{}, errLinkNotFound
	} else if err != nil {
		return forgelink.AdminLink{}, fail(err, "consume admin link")
	}
	var it adminLinkItem
	if err := unmarshalItem(res.Attributes, &it); err != nil {
		return forgelink.AdminLink{}, forgelink.Wrap(forgelink.EINTERNAL, err, "Something went wrong on our side. Please try again.")
	}
	if !now.Before(it.Expires) {
		return forgelink.AdminLink{}, errLinkNotFound
	}
	return forgelink.AdminLink{Hash: it.Hash, Org: it.Org, CreatedAt: it.CreatedAt, ExpiresAt: it.Expires}, nil
}

func (st *Store) PutAudit(ctx context.Context, a forgelink.AuditRecord) error {
	if a.Org == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "audit record needs an org")
	}
	if a.Time.IsZero() {
		a.Time = st.now()
	}
	if a.ID == "" {
		a.ID = forgelink.NewAuditID(a.Time)
	}
	item := auditItem{
		key: key{orgPK(a.Org), auditSK(a.ID)}, Type: "audit", Org: a.Org, ID: a.ID, Time: utc(a.Time),
		Actor: a.Actor, Action: a.Action, IntegrationID: a.IntegrationID, Detail: a.Detail,
	}
	err := st.put(ctx, &item, "attribute_not_exists(PK)", nil)
	if isConditionFailed(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "audit record already exists")
	} else if err != nil {
		return fail(err, "put audit record")
	}
	return nil
}

// ListAudit returns newest first; limit <= 0 means no limit. The integration filter is
// applied here rather than as a FilterExpression so that limit counts matching records.
func (st *Store) ListAudit(ctx context.Context, org, integrationID string, limit int) ([]forgelink.AuditRecord, error) {
	var keep func(map[string]types.AttributeValue) bool
	if integrationID != "" {
		keep = func(item map[string]types.AttributeValue) bool {
			v, ok := item["integration_id"].(*types.AttributeValueMemberS)
			return ok && v.Value == integrationID
		}
	}
	items, err := st.query(ctx, orgPK(org), prefixAudit, true, limit, keep)
	if err != nil {
		return nil, err
	}
	out := make([]forgelink.AuditRecord, 0, len(items))
	for _, raw := range items {
		var it auditItem
		if err := unmarshalItem(raw, &it); err != nil {
			return nil, forgelink.Wrap(forgelink.EINTERNAL, err, "Something went wrong on our side. Please try again.")
		}
		out = append(out, forgelink.AuditRecord{Org: it.Org, ID: it.ID, Time: it.Time, Actor: it.Actor,
			Action: it.Action, IntegrationID: it.IntegrationID, Detail: it.Detail})
	}
	return out, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
