package service

import (
	"context"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Audit list bounds.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 200
)

// Audit reads the org's audit trail; every noun writes to it (base.audit).
type Audit struct{ *base }

// NewAudit returns the Audit noun over d.
func NewAudit(d Deps) *Audit { return &Audit{newBase(d)} }

// audit writes one audit record. The action it records has already happened, so a failed
// audit write is logged at error level (an alarm) rather than turned into a failure of the
// action, which the admin would otherwise retry and repeat.
func (s *base) audit(ctx context.Context, actor Actor, action, integrationID, detail string) {
	rec := forgelink.AuditRecord{
		Org:           actor.Org,
		Time:          s.now().UTC(),
		Actor:         actor.Name,
		Action:        action,
		IntegrationID: integrationID,
		Detail:        detail,
	}
	if err := s.store.PutAudit(ctx, rec); err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "org", actor.Org, "action", action,
			"integration", integrationID, "actor", actor.Name, "error", err.Error())
	}
}

// ListAudit returns the org's audit records newest first, for one integration or, with
// integrationID "", for all. limit <= 0 means DefaultAuditLimit; it is capped at
// MaxAuditLimit.
func (s *Audit) ListAudit(ctx context.Context, org, integrationID string, limit int) ([]forgelink.AuditRecord, error) {
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	limit = min(limit, MaxAuditLimit)
	recs, err := s.store.ListAudit(ctx, org, integrationID, limit)
	if err != nil {
		return nil, err
	}
	if recs == nil {
		recs = []forgelink.AuditRecord{}
	}
	return recs, nil
}
