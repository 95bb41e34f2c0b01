package dynamo

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

const prefixToken = "TOKEN#"

func tokenSK(hash string) string        { return prefixToken + hash }
func tokenPointerPK(hash string) string { return prefixToken + hash }

// tokenItem is an admin API token, at ORG#{org}/TOKEN#{sha256 of the token}.
type tokenItem struct {
	key
	Type string `dynamodbav:"type"` // "token"
	tokenAttrs
}

// tokenAttrs has the fields of forgelink.AdminToken.
type tokenAttrs struct {
	Hash      string    `dynamodbav:"hash"`
	Org       string    `dynamodbav:"org"`
	Name      string    `dynamodbav:"name"`
	CreatedAt time.Time `dynamodbav:"created_at"`
}

func newTokenItem(t forgelink.AdminToken) tokenItem {
	return tokenItem{key{orgPK(t.Org), tokenSK(t.Hash)}, "token", tokenAttrs(t)}
}

func (it tokenItem) domain() forgelink.AdminToken { return forgelink.AdminToken(it.tokenAttrs) }

// tokenPointerItem, at TOKEN#{sha256 of the token}/META, lets bearer auth find a token's
// org from the hash alone.
type tokenPointerItem struct {
	key
	Type string `dynamodbav:"type"` // "token-pointer"
	Org  string `dynamodbav:"org"`
}

// CreateAdminToken writes the token under its org and a pointer under its hash in one
// transaction: bearer auth knows only the hash, and a token must never exist half-made.
func (st *Store) CreateAdminToken(ctx context.Context, t forgelink.AdminToken) error {
	if t.Hash == "" || t.Org == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "admin token hash and org must not be empty")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = st.now()
	}
	pointer := tokenPointerItem{key{tokenPointerPK(t.Hash), skMeta}, "token-pointer", t.Org}
	err := st.createAll(ctx, newTokenItem(t), pointer)
	if cancelReasons(err) != nil && !unavailable(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "admin token already exists")
	} else if err != nil {
		return fail(err, "create admin token")
	}
	return nil
}

func (st *Store) GetAdminToken(ctx context.Context, org, hash string) (forgelink.AdminToken, error) {
	return getOne[tokenItem](ctx, st, orgPK(org), tokenSK(hash), errTokenNotFound)
}

func (st *Store) FindAdminToken(ctx context.Context, hash string) (forgelink.AdminToken, error) {
	p, found, err := get[tokenPointerItem](ctx, st, tokenPointerPK(hash), skMeta)
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
	out, err := listAll[tokenItem](ctx, st, orgPK(org), prefixToken)
	if err != nil {
		return nil, err
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
