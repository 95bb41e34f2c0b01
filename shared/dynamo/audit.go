package dynamo

import (
	"context"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

const prefixAudit = "AUDIT#"

func auditSK(id string) string { return prefixAudit + id }

// auditItem is an audit record, at ORG#{org}/AUDIT#{id}; the id sorts by time.
type auditItem struct {
	key
	Type string `dynamodbav:"type"` // "audit"
	auditAttrs
}

// auditAttrs has the fields of forgelink.AuditRecord.
type auditAttrs struct {
	Org           string    `dynamodbav:"org"`
	ID            string    `dynamodbav:"id"`
	Time          time.Time `dynamodbav:"time"`
	Actor         string    `dynamodbav:"actor"`
	Action        string    `dynamodbav:"action"`
	IntegrationID string    `dynamodbav:"integration_id"`
	Detail        string    `dynamodbav:"detail"`
}

func newAuditItem(a forgelink.AuditRecord) auditItem {
	return auditItem{key{orgPK(a.Org), auditSK(a.ID)}, "audit", auditAttrs(a)}
}

func (it auditItem) domain() forgelink.AuditRecord { return forgelink.AuditRecord(it.auditAttrs) }

func (st *Store) PutAudit(ctx context.Context, a forgelink.AuditRecord) error {
	if a.Org == "" {
		return forgelink.Errorf(forgelink.EINTERNAL, "audit record needs an org")
	}
	if a.Time.IsZero() {
		a.Time = st.now()
	}
	if a.ID == "" {
		a.ID = forgelink.NewAuditID(a.Time)
	}
	err := st.put(ctx, newAuditItem(a), "attribute_not_exists(PK)", nil)
	if isConditionFailed(err) {
		return forgelink.Wrap(forgelink.ECONFLICT, err, "audit record already exists")
	} else if err != nil {
		return fail(err, "put audit record")
	}
	return nil
}

// ListAudit returns newest first; limit <= 0 means no limit. The integration filter is
// applied here rather than as a FilterExpression so that limit counts matching records.
func (st *Store) ListAudit(ctx context.Context, org, integrationID string, limit int) ([]forgelink.AuditRecord, error) {
	var keep func(auditItem) bool
	if integrationID != "" {
		keep = func(it auditItem) bool { return it.IntegrationID == integrationID }
	}
	items, err := query(ctx, st, orgPK(org), prefixAudit, true, limit, keep)
	if err != nil {
		return nil, err
	}
	out := make([]forgelink.AuditRecord, 0, len(items))
	for _, it := range items {
		out = append(out, it.domain())
	}
	return out, nil
}
