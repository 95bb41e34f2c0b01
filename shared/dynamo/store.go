// Package dynamo is the DynamoDB implementation of forgelink.Store: one table, keys as
// DESIGN.md ("Data") lays them out, every write guarded by a condition expression. Each
// noun has its file (orgs.go, integrations.go, members.go, sessions.go, tokens.go,
// adminlinks.go, audit.go) with its item struct and its Store methods; this file has what
// they share.
package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"strconv"
	"strings"
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

// Attribute values of expressions.
func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func (st *Store) keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": str(pk), "SK": str(sk)}
}

// notExpiredOrAbsent lets a create take the key of an item that has expired but that TTL
// has not yet removed, the same way reads already treat it as gone.
const notExpiredOrAbsent = "attribute_not_exists(PK) OR expires_at <= :now"

// put writes one item if cond holds. It returns the raw SDK error so callers can tell a
// failed condition from the rest.
func (st *Store) put(ctx context.Context, item any, cond string, values map[string]types.AttributeValue) error {
	av, err := marshal(item)
	if err != nil {
		return err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &st.table,
		Item:                      av,
		ConditionExpression:       &cond,
		ExpressionAttributeValues: values,
	})
	return err
}

// createAll writes items in one transaction, each only if its key is free. It returns the
// raw SDK error so callers can read the cancellation reasons, one per item in order.
func (st *Store) createAll(ctx context.Context, items ...any) error {
	tx := make([]types.TransactWriteItem, len(items))
	for i, item := range items {
		av, err := marshal(item)
		if err != nil {
			return err
		}
		tx[i].Put = &types.Put{TableName: &st.table, Item: av, ConditionExpression: aws.String("attribute_not_exists(PK)")}
	}
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
	return err
}

// get reads one item with a strongly consistent read (versions and single-use items must
// not be judged on stale data); found is false when the item is missing.
func get[T any](ctx context.Context, st *Store, pk, sk string) (it T, found bool, err error) {
	res, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &st.table,
		Key:            st.keyOf(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return it, false, fail(err, "get "+pk)
	}
	if res.Item == nil {
		return it, false, nil
	}
	it, err = unmarshal[T](res.Item)
	return it, err == nil, err
}

// query returns every item of pk whose sort key starts with prefix, paginating, newest
// (highest sort key) first when backwards; it stops once limit items passed keep (limit
// <= 0: no limit). keep may be nil.
func query[T any](ctx context.Context, st *Store, pk, prefix string, backwards bool, limit int,
	keep func(T) bool) ([]T, error) {
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
	var out []T
	p := dynamodb.NewQueryPaginator(st.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fail(err, "query "+pk+" "+prefix)
		}
		for _, raw := range page.Items {
			it, err := unmarshal[T](raw)
			if err != nil {
				return nil, err
			}
			if keep != nil && !keep(it) {
				continue
			}
			out = append(out, it)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// domainItem is an item type that converts to the domain value it stores.
type domainItem[D any] interface{ domain() D }

// getOne reads the item at pk/sk as its domain value, or notFound when there is none.
func getOne[T domainItem[D], D any](ctx context.Context, st *Store, pk, sk string, notFound error) (D, error) {
	var zero D
	it, found, err := get[T](ctx, st, pk, sk)
	if err != nil {
		return zero, err
	} else if !found {
		return zero, notFound
	}
	return it.domain(), nil
}

// listAll is query over all of pk's items under prefix, as domain values in sort-key order.
func listAll[T domainItem[D], D any](ctx context.Context, st *Store, pk, prefix string) ([]D, error) {
	items, err := query[T](ctx, st, pk, prefix, false, 0, nil)
	if err != nil {
		return nil, err
	}
	out := make([]D, 0, len(items))
	for _, it := range items {
		out = append(out, it.domain())
	}
	return out, nil
}

// update is a SET update expression whose values are attributes of an encoded item, so
// they are encoded by the item's struct tags and nowhere else. Names go through
// placeholders: many of ours (name, status, type, user, …) are reserved words.
type update struct {
	item    map[string]types.AttributeValue
	clauses []string
	cond    *string
	names   map[string]string
	values  map[string]types.AttributeValue
}

func newUpdate(item map[string]types.AttributeValue) *update {
	return &update{item: item, names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

// set sets each named attribute to its value in the item.
func (u *update) set(names ...string) *update {
	for _, name := range names {
		n, v := u.placeholders(name)
		u.clauses = append(u.clauses, n+" = "+v)
	}
	return u
}

// setIfAbsent sets the attribute only where the stored item has none.
func (u *update) setIfAbsent(name string) *update {
	n, v := u.placeholders(name)
	u.clauses = append(u.clauses, n+" = if_not_exists("+n+", "+v+")")
	return u
}

func (u *update) placeholders(name string) (string, string) {
	i := strconv.Itoa(len(u.clauses))
	u.names["#u"+i], u.values[":u"+i] = name, u.item[name]
	return "#u" + i, ":u" + i
}

// when makes the update conditional, cond using names and values of its own.
func (u *update) when(cond string, names map[string]string, values map[string]types.AttributeValue) *update {
	u.cond = &cond
	maps.Copy(u.names, names)
	maps.Copy(u.values, values)
	return u
}

// input returns the UpdateItem input for the item's key.
func (u *update) input(table string) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName:                 &table,
		Key:                       map[string]types.AttributeValue{"PK": u.item["PK"], "SK": u.item["SK"]},
		UpdateExpression:          aws.String("SET " + strings.Join(u.clauses, ", ")),
		ConditionExpression:       u.cond,
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: u.values,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
