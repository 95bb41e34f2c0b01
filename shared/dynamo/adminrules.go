package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

const prefixAdminRule = "ADMINRULE#"

func adminRuleSK(id string) string { return prefixAdminRule + id }

var errAdminRuleNotFound = forgelink.Errorf(forgelink.ENOTFOUND, "admin rule not found")

// adminRuleItem is an admin rule, at ORG#{org}/ADMINRULE#{id}. The id is derived from the
// rule's content (forgelink.AdminRuleID), so "the same rule twice" is a key conflict and
// needs no claim item.
type adminRuleItem struct {
	key
	Type string `dynamodbav:"type"` // "adminrule"
	adminRuleAttrs
}

// adminRuleAttrs has the fields of forgelink.AdminRule.
type adminRuleAttrs struct {
	Org            string    `dynamodbav:"org"`
	ID             string    `dynamodbav:"id"`
	IntegrationID  string    `dynamodbav:"integration_id"`
	Username       string    `dynamodbav:"username"`
	Group          string    `dynamodbav:"group"`
	MinAccessLevel int       `dynamodbav:"min_access_level"`
	CreatedAt      time.Time `dynamodbav:"created_at"`
}

func newAdminRuleItem(r forgelink.AdminRule) adminRuleItem {
	return adminRuleItem{key{orgPK(r.Org), adminRuleSK(r.ID)}, "adminrule", adminRuleAttrs(r)}
}

func (it adminRuleItem) domain() forgelink.AdminRule { return forgelink.AdminRule(it.adminRuleAttrs) }

func (st *Store) CreateAdminRule(ctx context.Context, r forgelink.AdminRule) (forgelink.AdminRule, error) {
	if r.Org == "" || r.IntegrationID == "" || (r.Username == "") == (r.Group == "") {
		return forgelink.AdminRule{}, forgelink.Errorf(forgelink.EINTERNAL, "admin rule needs an org, an integration and one of username or group")
	}
	r.ID = forgelink.AdminRuleID(r)
	if r.CreatedAt.IsZero() {
		r.CreatedAt = st.now()
	}
	r.CreatedAt = utc(r.CreatedAt)
	err := st.put(ctx, newAdminRuleItem(r), "attribute_not_exists(PK)", nil)
	if isConditionFailed(err) {
		return forgelink.AdminRule{}, forgelink.Wrap(forgelink.ECONFLICT, err, "this admin rule exists already")
	} else if err != nil {
		return forgelink.AdminRule{}, fail(err, "create admin rule")
	}
	return r, nil
}

func (st *Store) GetAdminRule(ctx context.Context, org, id string) (forgelink.AdminRule, error) {
	return getOne[adminRuleItem](ctx, st, orgPK(org), adminRuleSK(id), errAdminRuleNotFound)
}

// ListAdminRules reads the org's rule items (the sort key orders them by id) and returns
// them oldest first.
func (st *Store) ListAdminRules(ctx context.Context, org string) ([]forgelink.AdminRule, error) {
	out, err := listAll[adminRuleItem](ctx, st, orgPK(org), prefixAdminRule)
	if err != nil {
		return nil, err
	}
	forgelink.SortAdminRules(out)
	return out, nil
}

func (st *Store) DeleteAdminRule(ctx context.Context, org, id string) error {
	_, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           &st.table,
		Key:                 st.keyOf(orgPK(org), adminRuleSK(id)),
		ConditionExpression: aws.String("attribute_exists(PK)"),
	})
	if isConditionFailed(err) {
		return errAdminRuleNotFound
	} else if err != nil {
		return fail(err, "delete admin rule")
	}
	return nil
}

// integrationHealth holds the attributes TouchIntegration sets, encoded by the same tags
// as the integration item's.
type integrationHealth struct {
	key
	VerifiedAt   time.Time `dynamodbav:"verified_at"`
	LastSignInAt time.Time `dynamodbav:"last_sign_in_at"`
}

// TouchIntegration sets verified_at and/or last_sign_in_at with no version condition (only
// that the item exists), so sign-ins never make an admin's edit conflict, and an edit
// never turns them back (UpdateIntegration does not set them).
func (st *Store) TouchIntegration(ctx context.Context, org, id string, verifiedAt, lastSignInAt time.Time) error {
	item, err := marshal(integrationHealth{key{orgPK(org), integrationSK(id)}, verifiedAt, lastSignInAt})
	if err != nil {
		return err
	}
	up := newUpdate(item)
	if !verifiedAt.IsZero() {
		up.set("verified_at")
	}
	if !lastSignInAt.IsZero() {
		up.set("last_sign_in_at")
	}
	if len(up.clauses) == 0 {
		_, err := st.GetIntegration(ctx, org, id)
		return err
	}
	up.when("attribute_exists(PK)", nil, map[string]types.AttributeValue{})
	_, err = st.db.UpdateItem(ctx, up.input(st.table))
	if isConditionFailed(err) {
		return errIntegrationNotFound
	} else if err != nil {
		return fail(err, "touch integration")
	}
	return nil
}
