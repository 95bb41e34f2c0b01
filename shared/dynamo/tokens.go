package dynamo

import (
	"context"
	"slices"

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
	return it.domain(), nil
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

// ListAdminTokens reads the org's token items (Query begins_with TOKEN#, which the sort
// key orders by hash) and returns them newest first.
func (st *Store) ListAdminTokens(ctx context.Context, org string) ([]forgelink.AdminToken, error) {
	items, err := st.query(ctx, orgPK(org), prefixToken, false, 0, nil)
	if err != nil {
		return nil, err
	}
	out := make([]forgelink.AdminToken, 0, len(items))
	for _, raw := range items {
		var it tokenItem
		if err := unmarshalItem(raw, &it); err != nil {
			return nil, forgelink.Wrap(forgelink.EINTERNAL, err, "Something went wrong on our side. Please try again.")
		}
		out = append(out, it.domain())
	}
	forgelink.SortAdminTokens(out)
	return out, nil
}

// DeleteAdminToken removes the token item and its pointer in one transaction, so a
// revoked token stops authenticating at once and never half exists. The token item must
// exist under org; the pointer must be absent or point at org, so another org's token with
// this hash is never touched.
func (st *Store) DeleteAdminToken(ctx context.Context, org, hash string) error {
	if org == "" || hash == "" {
		return errTokenNotFound
	}
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:           &st.table,
			Key:                 st.keyOf(orgPK(org), tokenSK(hash)),
			ConditionExpression: aws.String("attribute_exists(PK)"),
		}},
		{Delete: &types.Delete{
			TableName:                 &st.table,
			Key:                       st.keyOf(tokenPointerPK(hash), skMeta),
			ConditionExpression:       aws.String("attribute_not_exists(PK) OR org = :org"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":org": str(org)},
		}},
	}})
	if reasons := cancelReasons(err); reasons != nil && !unavailable(err) {
		switch {
		case transactionConflict(reasons):
			return forgelink.Wrap(forgelink.ECONFLICT, err, "the admin token was changed at the same time; try again")
		case slices.Contains(reasons, "ConditionalCheckFailed"), reasons[0] == "Unknown":
			return errTokenNotFound
		}
		return fail(err, "delete admin token")
	} else if err != nil {
		return fail(err, "delete admin token")
	}
	return nil
}
