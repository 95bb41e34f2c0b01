package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

func sessionPK(hash string) string { return "SESSION#" + hash }

// sessionItem is a browser session, at SESSION#{sha256 of the session id}/META.
type sessionItem struct {
	key
	Type string `dynamodbav:"type"` // "session"
	sessionAttrs
	User userItem  `dynamodbav:"user"`                // stands in for sessionAttrs.User
	TTL  time.Time `dynamodbav:"expires_at,unixtime"` // ExpiresAt for DynamoDB's TTL and conditions
}

// sessionAttrs has the fields of forgelink.Session; the user is stored as a userItem.
type sessionAttrs struct {
	Hash          string                `dynamodbav:"hash"`
	Kind          forgelink.SessionKind `dynamodbav:"kind"`
	Org           string                `dynamodbav:"org"`
	IntegrationID string                `dynamodbav:"integration_id"`
	GitLabHost    string                `dynamodbav:"gitlab_host"`
	User          forgelink.GitLabUser  `dynamodbav:"-"`
	Role          string                `dynamodbav:"role,omitempty"`
	Principal     string                `dynamodbav:"principal,omitempty"`
	RuleID        string                `dynamodbav:"rule_id,omitempty"`
	CreatedAt     time.Time             `dynamodbav:"created_at"`
	ExpiresAt     time.Time             `dynamodbav:"expires"`
}

func newSessionItem(s forgelink.Session) sessionItem {
	return sessionItem{key{sessionPK(s.Hash), skMeta}, "session", sessionAttrs(s), userItem(s.User), s.ExpiresAt}
}

func (it sessionItem) domain() forgelink.Session {
	s := forgelink.Session(it.sessionAttrs)
	s.User = forgelink.GitLabUser(it.User)
	return s
}

func (st *Store) CreateSession(ctx context.Context, sess forgelink.Session) error {
	if sess.Hash == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "session hash must not be empty")
	}
	sess = sess.WithDefaults(st.now())
	err := st.put(ctx, newSessionItem(sess), notExpiredOrAbsent, map[string]types.AttributeValue{":now": num(st.now().Unix())})
	if isConditionFailed(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "session already exists")
	} else if err != nil {
		return fail(err, "create session")
	}
	return nil
}

func (st *Store) GetSession(ctx context.Context, hash string) (forgelink.Session, error) {
	it, found, err := get[sessionItem](ctx, st, sessionPK(hash), skMeta)
	if err != nil {
		return forgelink.Session{}, err
	} else if !found || !st.now().Before(it.ExpiresAt) {
		return forgelink.Session{}, errSessionNotFound
	}
	return it.domain(), nil
}

// DeleteSession is idempotent: signing out twice is not an error.
func (st *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: st.keyOf(sessionPK(hash), skMeta)})
	if err != nil {
		return fail(err, "delete session")
	}
	return nil
}
