package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

func adminLinkPK(hash string) string { return "ADMINLINK#" + hash }

// adminLinkItem is a one-time admin sign-in link, at ADMINLINK#{sha256 of the link}/META.
type adminLinkItem struct {
	key
	Type string `dynamodbav:"type"` // "adminlink"
	adminLinkAttrs
	TTL time.Time `dynamodbav:"expires_at,unixtime"` // ExpiresAt for DynamoDB's TTL and conditions
}

// adminLinkAttrs has the fields of forgelink.AdminLink.
type adminLinkAttrs struct {
	Hash      string    `dynamodbav:"hash"`
	Org       string    `dynamodbav:"org"`
	Label     string    `dynamodbav:"label,omitempty"`
	CreatedAt time.Time `dynamodbav:"created_at"`
	ExpiresAt time.Time `dynamodbav:"expires"`
}

func newAdminLinkItem(l forgelink.AdminLink) adminLinkItem {
	return adminLinkItem{key{adminLinkPK(l.Hash), skMeta}, "adminlink", adminLinkAttrs(l), l.ExpiresAt}
}

func (it adminLinkItem) domain() forgelink.AdminLink { return forgelink.AdminLink(it.adminLinkAttrs) }

func (st *Store) CreateAdminLink(ctx context.Context, l forgelink.AdminLink) error {
	if l.Hash == "" || l.Org == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "admin link hash and org must not be empty")
	}
	l = l.WithDefaults(st.now())
	err := st.put(ctx, newAdminLinkItem(l), notExpiredOrAbsent, map[string]types.AttributeValue{":now": num(st.now().Unix())})
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
func (st *Store) ConsumeAdminLink(ctx context.Context, org, hash string) (forgelink.AdminLink, error) {
	now := st.now()
	res, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &st.table,
		Key:                       st.keyOf(adminLinkPK(hash), skMeta),
		ConditionExpression:       aws.String("attribute_exists(PK) AND expires_at > :now AND org = :org"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix()), ":org": &types.AttributeValueMemberS{Value: org}},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		return forgelink.AdminLink{}, errLinkNotFound
	} else if err != nil {
		return forgelink.AdminLink{}, fail(err, "consume admin link")
	}
	it, err := unmarshal[adminLinkItem](res.Attributes)
	if err != nil {
		return forgelink.AdminLink{}, err
	}
	if !now.Before(it.ExpiresAt) {
		return forgelink.AdminLink{}, errLinkNotFound
	}
	return it.domain(), nil
}
