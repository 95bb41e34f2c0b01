package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// CreateIntegration writes the integration and its URL claim in one transaction, so two
// integrations of one org can never share a URL, even when created at the same instant.
func (st *Store) CreateIntegration(ctx context.Context, in forgelink.Integration) (forgelink.Integration, error) {
	if in.Org == "" || in.URL == "" {
		return forgelink.Integration{}, forgelink.Invalid(map[string]string{"url": "must not be empty"})
	}
	if in.ID == "" {
		in.ID = randomHex(10)
	}
	in.Version = 1
	if in.CreatedAt.IsZero() {
		in.CreatedAt = st.now()
	}
	if in.UpdatedAt.IsZero() {
		in.UpdatedAt = in.CreatedAt
	}
	integration := toIntegrationItem(in)
	item := marshalItem(&integration)
	claim := marshalItem(&urlClaimItem{key: key{orgPK(in.Org), urlSK(in.URL)}, Type: "url", IntegrationID: in.ID})
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &st.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: &st.table, Item: claim, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}})
	if reasons := cancelReasons(err); reasons != nil && !unavailable(err) {
		switch {
		case len(reasons) == 2 && reasons[1] == "ConditionalCheckFailed":
			return forgelink.Integration{}, forgelink.Wrap(forgelink.ECONFLICT, err, "%s", errDuplicateURL.Message)
		case reasons[0] == "ConditionalCheckFailed":
			return forgelink.Integration{}, forgelink.Wrap(forgelink.ECONFLICT, err, "an integration with this id already exists")
		case transactionConflict(reasons):
			return forgelink.Integration{}, forgelink.Wrap(forgelink.ECONFLICT, err, "another change to this org's integrations happened at the same time; try again")
		default:
			return forgelink.Integration{}, fail(err, "create integration")
		}
	} else if err != nil {
		return forgelink.Integration{}, fail(err, "create integration")
	}
	return toIntegrationItem(in).domain(), nil
}

func (st *Store) GetIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	var it integrationItem
	found, err := st.get(ctx, orgPK(org), integrationSK(id), &it)
	if err != nil {
		return forgelink.Integration{}, err
	} else if !found {
		return forgelink.Integration{}, errIntegrationNotFound
	}
	return it.domain(), nil
}

// ListIntegrations returns the org's integrations ordered by id (the sort key).
func (st *Store) ListIntegrations(ctx context.Context, org string) ([]forgelink.Integration, error) {
	items, err := st.query(ctx, orgPK(org), prefixIntegration, false, 0, nil)
	if err != nil {
		return nil, err
	}
	out := make([]forgelink.Integration, 0, len(items))
	for _, raw := range items {
		var it integrationItem
		if err := unmarshalItem(raw, &it); err != nil {
			return nil, forgelink.Wrap(forgelink.EINTERNAL, err, "Something went wrong on our side. Please try again.")
		}
		out = append(out, it.domain())
	}
	return out, nil
}

// UpdateIntegration sets only the mutable fields, so identity, URL and creation time
// cannot be changed by a careless caller, and only if the version is the one it read.
func (st *Store) UpdateIntegration(ctx context.Context, in forgelink.Integration) (forgelink.Integration, error) {
	cond := "attribute_exists(PK) AND #version = :expected"
	values := map[string]types.AttributeValue{
		":name": str(in.Name), ":cid": str(in.ClientID), ":arn": str(in.SecretARN), ":sver": str(in.SecretVersion),
		":sat": str(utc(in.SecretUpdatedAt).Format(time.RFC3339Nano)), ":ca": str(in.CABundle),
		":status": str(string(in.Status)), ":expected": num(in.Version), ":next": num(in.Version + 1),
		":now": str(utc(st.now()).Format(time.RFC3339Nano)),
	}
	names := map[string]string{"#name": "name", "#status": "status", "#version": "version"}
	if in.URL != "" {
		cond += " AND #url = :url"
		names["#url"] = "url"
		values[":url"] = str(in.URL)
	}
	res, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table,
		Key:       st.keyOf(orgPK(in.Org), integrationSK(in.ID)),
		UpdateExpression: aws.String("SET #name = :name, client_id = :cid, secret_arn = :arn, secret_version = :sver, " +
			"secret_updated_at = :sat, ca_bundle = :ca, #status = :status, #version = :next, updated_at = :now"),
		ConditionExpression:       &cond,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return forgelink.Integration{}, st.whyRefused(ctx, in, err)
	} else if err != nil {
		return forgelink.Integration{}, fail(err, "update integration")
	}
	var it integrationItem
	if err := unmarshalItem(res.Attributes, &it); err != nil {
		return forgelink.Integration{}, forgelink.Wrap(forgelink.EINTERNAL, err, "Something went wrong on our side. Please try again.")
	}
	return it.domain(), nil
}

// whyRefused reads the item after a failed condition to give the caller the right error:
// gone (ENOTFOUND), URL change (EINVALID) or someone else's write (ECONFLICT). The read is
// not atomic with the write, but it only picks the message; nothing was written.
func (st *Store) whyRefused(ctx context.Context, in forgelink.Integration, cause error) error {
	cur, err := st.GetIntegration(ctx, in.Org, in.ID)
	switch {
	case forgelink.ErrorCode(err) == forgelink.ENOTFOUND:
		return errIntegrationNotFound
	case err != nil:
		return err
	case in.URL != "" && in.URL != cur.URL:
		return errURLImmutable
	}
	return forgelink.Wrap(forgelink.ECONFLICT, cause, "%s", errStale.Message)
}

// DeleteIntegration removes the item and its URL claim together, so the URL is free again
// exactly when the integration is gone.
func (st *Store) DeleteIntegration(ctx context.Context, org, id string, version int64) error {
	cur, err := st.GetIntegration(ctx, org, id)
	if err != nil {
		return err
	}
	if cur.Version != version {
		return errStale
	}
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName:                 &st.table,
			Key:                       st.keyOf(orgPK(org), integrationSK(id)),
			ConditionExpression:       aws.String("attribute_exists(PK) AND #version = :expected"),
			ExpressionAttributeNames:  map[string]string{"#version": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":expected": num(version)},
		}},
		{Delete: &types.Delete{
			TableName:                 &st.table,
			Key:                       st.keyOf(orgPK(org), urlSK(cur.URL)),
			ConditionExpression:       aws.String("attribute_not_exists(PK) OR integration_id = :id"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id)},
		}},
	}})
	if cancelReasons(err) != nil && !unavailable(err) {
		return st.whyRefused(ctx, forgelink.Integration{Org: org, ID: id}, err)
	} else if err != nil {
		return fail(err, "delete integration")
	}
	return nil
}
