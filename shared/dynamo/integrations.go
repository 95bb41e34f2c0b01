package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

const prefixIntegration = "INTEGRATION#"

func integrationSK(id string) string { return prefixIntegration + id }
func urlSK(url string) string        { return "URL#" + sha256Hex(url) }

// integrationItem is an integration, at ORG#{org}/INTEGRATION#{id}. It deliberately has
// no field for a client secret: only where it lives.
type integrationItem struct {
	key
	Type string `dynamodbav:"type"` // "integration"
	integrationAttrs
	// AllowedGroups stands in for integrationAttrs.AllowedGroups: a list of maps, written
	// even when empty so that UpdateIntegration always has a value to set.
	AllowedGroups []groupRuleItem `dynamodbav:"allowed_groups"`
}

// groupRuleItem is a forgelink.GroupRule, an element of allowed_groups.
type groupRuleItem struct {
	Path           string `dynamodbav:"path"`
	MinAccessLevel int    `dynamodbav:"min_access_level"`
}

// integrationAttrs has the fields of forgelink.Integration.
type integrationAttrs struct {
	Org             string                `dynamodbav:"org"`
	ID              string                `dynamodbav:"id"`
	Platform        string                `dynamodbav:"platform"`
	Name            string                `dynamodbav:"name"`
	URL             string                `dynamodbav:"url"`
	ClientID        string                `dynamodbav:"client_id"`
	SecretARN       string                `dynamodbav:"secret_arn"`
	SecretVersion   string                `dynamodbav:"secret_version"`
	SecretUpdatedAt time.Time             `dynamodbav:"secret_updated_at"`
	CABundle        string                `dynamodbav:"ca_bundle"`
	Status          forgelink.Status      `dynamodbav:"status"`
	NotConfidential bool                  `dynamodbav:"not_confidential"`
	Version         int64                 `dynamodbav:"version"`
	CreatedAt       time.Time             `dynamodbav:"created_at"`
	UpdatedAt       time.Time             `dynamodbav:"updated_at"`
	AllowedGroups   []forgelink.GroupRule `dynamodbav:"-"`
	VerifiedAt      time.Time             `dynamodbav:"verified_at"`
	LastSignInAt    time.Time             `dynamodbav:"last_sign_in_at"`
}

// integrationMutable are the attributes UpdateIntegration sets, so identity, URL and
// creation time cannot be changed by a careless caller. verified_at and last_sign_in_at
// are not among them: only TouchIntegration sets those, so an admin's edit based on an
// older read never turns them back.
var integrationMutable = []string{"name", "client_id", "secret_arn", "secret_version", "secret_updated_at",
	"ca_bundle", "status", "not_confidential", "allowed_groups", "version", "updated_at"}

func newIntegrationItem(in forgelink.Integration) integrationItem {
	groups := make([]groupRuleItem, 0, len(in.AllowedGroups))
	for _, g := range in.AllowedGroups {
		groups = append(groups, groupRuleItem(g))
	}
	return integrationItem{key{orgPK(in.Org), integrationSK(in.ID)}, "integration", integrationAttrs(in), groups}
}

func (it integrationItem) domain() forgelink.Integration {
	in := forgelink.Integration(it.integrationAttrs)
	in.AllowedGroups = nil // the item's list is the one that counts
	for _, g := range it.AllowedGroups {
		in.AllowedGroups = append(in.AllowedGroups, forgelink.GroupRule(g))
	}
	return in
}

// urlClaimItem, at ORG#{org}/URL#{sha256 of the URL}, makes "one integration per GitLab
// URL per org" a key constraint.
type urlClaimItem struct {
	key
	Type          string `dynamodbav:"type"` // "url"
	IntegrationID string `dynamodbav:"integration_id"`
}

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
	// Return the times as GetIntegration will read them.
	in.CreatedAt, in.UpdatedAt, in.SecretUpdatedAt = utc(in.CreatedAt), utc(in.UpdatedAt), utc(in.SecretUpdatedAt)
	in.VerifiedAt, in.LastSignInAt = utc(in.VerifiedAt), utc(in.LastSignInAt)
	item := newIntegrationItem(in)
	claim := urlClaimItem{key{orgPK(in.Org), urlSK(in.URL)}, "url", in.ID}
	err := st.createAll(ctx, item, claim)
	if reasons := cancelReasons(err); reasons != nil && !unavailable(err) {
		switch {
		case len(reasons) == 2 && reasons[1] == "ConditionalCheckFailed":
			return forgelink.Integration{}, duplicateURL(err)
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
	return item.domain(), nil
}

func (st *Store) GetIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	return getOne[integrationItem](ctx, st, orgPK(org), integrationSK(id), errIntegrationNotFound)
}

// ListIntegrations returns the org's integrations ordered by id (the sort key).
func (st *Store) ListIntegrations(ctx context.Context, org string) ([]forgelink.Integration, error) {
	return listAll[integrationItem](ctx, st, orgPK(org), prefixIntegration)
}

// UpdateIntegration sets only the mutable attributes, and only if the version is the one
// the caller read.
func (st *Store) UpdateIntegration(ctx context.Context, in forgelink.Integration) (forgelink.Integration, error) {
	next := in
	next.Version, next.UpdatedAt = in.Version+1, st.now()
	item, err := marshal(newIntegrationItem(next))
	if err != nil {
		return forgelink.Integration{}, err
	}
	cond := "attribute_exists(PK) AND #version = :expected"
	names := map[string]string{"#version": "version"}
	values := map[string]types.AttributeValue{":expected": num(in.Version)}
	if in.URL != "" {
		cond += " AND #url = :url"
		names["#url"] = "url"
		values[":url"] = str(in.URL)
	}
	up := newUpdate(item).set(integrationMutable...).when(cond, names, values).input(st.table)
	up.ReturnValues = types.ReturnValueAllNew
	res, err := st.db.UpdateItem(ctx, up)
	if isConditionFailed(err) {
		return forgelink.Integration{}, st.whyRefused(ctx, in, err, keepsURL(in))
	} else if err != nil {
		return forgelink.Integration{}, fail(err, "update integration")
	}
	it, err := unmarshal[integrationItem](res.Attributes)
	if err != nil {
		return forgelink.Integration{}, err
	}
	return it.domain(), nil
}

// whyRefused reads the item after a failed condition to give the caller the right error:
// gone (ENOTFOUND), the write's own rule broken (rule's error, when rule is not nil), or
// someone else's write (ECONFLICT). The read is not atomic with the write, but it only
// picks the message; nothing was written.
func (st *Store) whyRefused(ctx context.Context, in forgelink.Integration, cause error, rule func(cur forgelink.Integration) error) error {
	cur, err := st.GetIntegration(ctx, in.Org, in.ID)
	switch {
	case forgelink.ErrorCode(err) == forgelink.ENOTFOUND:
		return errIntegrationNotFound
	case err != nil:
		return err
	}
	if rule != nil {
		if err := rule(cur); err != nil {
			return err
		}
	}
	return forgelink.Wrap(forgelink.ECONFLICT, cause, "%s", errStale.Message)
}

// keepsURL is UpdateIntegration's rule: the URL, when the update names one, is the stored one.
func keepsURL(in forgelink.Integration) func(cur forgelink.Integration) error {
	return func(cur forgelink.Integration) error {
		if in.URL != "" && in.URL != cur.URL {
			return errURLImmutable
		}
		return nil
	}
}

// stillPending is MoveIntegration's rule: only a pending integration moves.
func stillPending(cur forgelink.Integration) error {
	if cur.Status != forgelink.StatusPending {
		return errNotPending
	}
	return nil
}

// duplicateURL is the ECONFLICT of a URL claimed by another integration of the org; its
// field tells it from a stale version.
func duplicateURL(cause error) error {
	return &forgelink.Error{Code: forgelink.ECONFLICT, Message: errDuplicateURL.Message,
		Fields: map[string]string{"url": errDuplicateURL.Message}, Err: cause}
}

// MoveIntegration writes the item at its new URL and moves the URL claim, in one
// transaction: the item (pending, at the expected version and old URL), a new claim (the
// URL must be free in the org) and the old claim's delete (only this integration's).
// Transactions return no item, so it returns what it wrote (verified_at and
// last_sign_in_at as the caller read them: only TouchIntegration writes those).
func (st *Store) MoveIntegration(ctx context.Context, in forgelink.Integration, fromURL string) (forgelink.Integration, error) {
	if in.URL == "" || in.URL == fromURL {
		return forgelink.Integration{}, errMoveNowhere
	}
	next := in
	next.Version, next.UpdatedAt = in.Version+1, st.now()
	// Return the times as GetIntegration will read them.
	next.CreatedAt, next.UpdatedAt, next.SecretUpdatedAt = utc(next.CreatedAt), utc(next.UpdatedAt), utc(next.SecretUpdatedAt)
	next.VerifiedAt, next.LastSignInAt = utc(next.VerifiedAt), utc(next.LastSignInAt)
	item := newIntegrationItem(next)
	av, err := marshal(item)
	if err != nil {
		return forgelink.Integration{}, err
	}
	claim, err := marshal(urlClaimItem{key{orgPK(in.Org), urlSK(in.URL)}, "url", in.ID})
	if err != nil {
		return forgelink.Integration{}, err
	}
	up := newUpdate(av).set(append([]string{"url"}, integrationMutable...)...).when(
		"attribute_exists(PK) AND #version = :expected AND #status = :pending AND #url = :from",
		map[string]string{"#version": "version", "#status": "status", "#url": "url"},
		map[string]types.AttributeValue{":expected": num(in.Version), ":pending": str(string(forgelink.StatusPending)), ":from": str(fromURL)},
	).input(st.table)
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: up.TableName, Key: up.Key, UpdateExpression: up.UpdateExpression,
			ConditionExpression: up.ConditionExpression, ExpressionAttributeNames: up.ExpressionAttributeNames,
			ExpressionAttributeValues: up.ExpressionAttributeValues}},
		{Put: &types.Put{TableName: &st.table, Item: claim, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Delete: &types.Delete{
			TableName:                 &st.table,
			Key:                       st.keyOf(orgPK(in.Org), urlSK(fromURL)),
			ConditionExpression:       aws.String("integration_id = :id"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(in.ID)},
		}},
	}})
	if err != nil {
		return forgelink.Integration{}, st.whyMoveRefused(ctx, in, fromURL, err)
	}
	return item.domain(), nil
}

// whyMoveRefused maps a refused move to its error by the transaction's reasons, in the
// order of its items: the item's own condition, then the new URL's claim.
func (st *Store) whyMoveRefused(ctx context.Context, in forgelink.Integration, fromURL string, err error) error {
	reasons := cancelReasons(err)
	switch {
	case reasons == nil || unavailable(err):
		return fail(err, "move integration")
	case reasons[0] == "ConditionalCheckFailed":
		return st.whyRefused(ctx, in, err, stillPending)
	case len(reasons) == 3 && reasons[1] == "ConditionalCheckFailed":
		return duplicateURL(err)
	case transactionConflict(reasons):
		return forgelink.Wrap(forgelink.ECONFLICT, err, "another change to this org's integrations happened at the same time; try again")
	case len(reasons) == 3 && reasons[2] == "ConditionalCheckFailed":
		// The item was at fromURL but the URL's claim is not its own: the table broke the
		// rule every write keeps. Nothing was written; an operator must look.
		return forgelink.Wrap(forgelink.EINTERNAL, err, "Something went wrong on our side. Please try again.")
	}
	return fail(err, "move integration")
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
		return st.whyRefused(ctx, forgelink.Integration{Org: org, ID: id}, err, nil)
	} else if err != nil {
		return fail(err, "delete integration")
	}
	return nil
}
