package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// CreateAdminToken writes the token under its org and a pointer under its hash in one
// transaction: bearer auth knows only the hash, and a token must never exist half-made.
func (st *Store) CreateAdminToken(ctx context.Context, t forgelink.AdminToken) error {
	if t.Hash == "" || t.Org == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "admin token hash and org must not be empty")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = st.now()
	}
	item := marshalItem(&tokenItem{key: key{orgPK(t.Org), tokenSK(t.Hash)}, Type: "token",
		Hash: t.Hash, Org: t.Org, Name: t.Name, CreatedAt: utc(t.CreatedAt)})
	pointer := marshalItem(&tokenPointerItem{key: key{tokenPointerPK(t.Hash), skMeta}, Type: "token-pointer", Org: t.Org})
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: &st.table, Item: pointer, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}})
	if cancelReasons(err) != nil && !unavailable(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "admin token already exists")
	} else if err != nil {
		return fail(err, "create admin token")
	}
	return nil
}

func (st *Store) GetAdminToken(ctx context.Context, org, hash string) (forgelink.AdminToken, error) {
	var it tokenItem
	found, err := st.get(ctx, orgPK(org), tokenSK(hash), &it)
	if err != nil {
		return forgelink.AdminToken{}, err
	} else if !found {
		return forgelink.AdminToken{}, errTokenNotFound
	}
	return forgelink.AdminToken{Hash: it.Hash, Org: it.Org, Name: it.Name, CreatedAt: it.CreatedAt}, nil
}

func (st *Store) FindAdminToken(ctx context.Context, hash string) (forgelink.AdminToken, error) {
	var p tokenPointerItem
	found, err := st.get(ctx, tokenPointerPK(hash), skMeta, &p)
	if err != nil {
		return forgelink.AdminToken{}, err
	} else if !found {
		return forgelink.AdminToken{}, errTokenNotFound
	}
	return st.GetAdminToken(ctx, p.Org, hash)
}
