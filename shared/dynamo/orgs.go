package dynamo

import (
	"context"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// orgItem is an org, at ORG#{slug}/META.
type orgItem struct {
	key
	Type string `dynamodbav:"type"` // "org"
	orgAttrs
}

// orgAttrs has the fields of forgelink.Org.
type orgAttrs struct {
	Slug      string    `dynamodbav:"slug"`
	Name      string    `dynamodbav:"name"`
	CreatedAt time.Time `dynamodbav:"created_at"`
}

func newOrgItem(o forgelink.Org) orgItem {
	return orgItem{key{orgPK(o.Slug), skMeta}, "org", orgAttrs(o)}
}

func (it orgItem) domain() forgelink.Org { return forgelink.Org(it.orgAttrs) }

func (st *Store) CreateOrg(ctx context.Context, org forgelink.Org) error {
	if org.Slug == "" {
		return forgelink.Invalid(map[string]string{"slug": "must not be empty"})
	}
	if org.CreatedAt.IsZero() {
		org.CreatedAt = st.now()
	}
	err := st.put(ctx, newOrgItem(org), "attribute_not_exists(PK)", nil)
	if isConditionFailed(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "an org with this slug already exists")
	} else if err != nil {
		return fail(err, "create org")
	}
	return nil
}

func (st *Store) GetOrg(ctx context.Context, slug string) (forgelink.Org, error) {
	return getOne[orgItem](ctx, st, orgPK(slug), skMeta, errOrgNotFound)
}
