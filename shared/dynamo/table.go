package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// EnsureTable creates the table when it is missing (the local runner and tests; deployed
// stacks get it from template.yaml), waits until it is active, and turns TTL on for
// expires_at. It is safe to call concurrently and on every start. A function, not a method:
// Lambda functions never create tables, and an exported method would stay in their
// binaries (html/template's reflection keeps every exported method of a used type).
func EnsureTable(ctx context.Context, st *Store) error {
	_, err := st.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &st.table})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		if err := st.createTable(ctx); err != nil {
			return err
		}
	case err != nil:
		return fail(err, "describe table "+st.table)
	}
	waiter := dynamodb.NewTableExistsWaiter(st.db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &st.table}, 2*time.Minute); err != nil {
		return fail(err, "wait for table "+st.table)
	}
	return st.ensureTTL(ctx)
}

func (st *Store) createTable(ctx context.Context) error {
	_, err := st.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: &st.table,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("PK"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("SK"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("PK"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("SK"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil // created concurrently by another process; the waiter takes over
	} else if err != nil {
		return fail(err, "create table "+st.table)
	}
	return nil
}

// ensureTTL enables TTL unless it already is: UpdateTimeToLive refuses to enable it twice.
func (st *Store) ensureTTL(ctx context.Context) error {
	d, err := st.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &st.table})
	if err != nil {
		return fail(err, "describe TTL of "+st.table)
	}
	if ttl := d.TimeToLiveDescription; ttl != nil {
		switch ttl.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if aws.ToString(ttl.AttributeName) == "expires_at" {
				return nil
			}
			return fmt.Errorf("table %s has TTL on %q, want expires_at", st.table, aws.ToString(ttl.AttributeName))
		}
	}
	_, err = st.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: &st.table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String("expires_at"),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fail(err, "enable TTL on "+st.table)
	}
	return nil
}
