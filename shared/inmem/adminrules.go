package inmem

import (
	"context"
	"slices"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// copyGroups copies allowed groups in and out of the store, so callers never share the
// stored slice; empty is nil, as the DynamoDB store reads an empty list back.
func copyGroups(gs []forgelink.GroupRule) []forgelink.GroupRule {
	if len(gs) == 0 {
		return nil
	}
	return slices.Clone(gs)
}

// detached returns in with its own copy of the allowed groups.
func detached(in forgelink.Integration) forgelink.Integration {
	in.AllowedGroups = copyGroups(in.AllowedGroups)
	return in
}

var errAdminRuleNotFound = forgelink.Errorf(forgelink.ENOTFOUND, "admin rule not found")

// CreateAdminRule keys the rule on its content (forgelink.AdminRuleID), so the same rule
// twice is a key conflict, as in DynamoDB.
func (s *Store) CreateAdminRule(ctx context.Context, r forgelink.AdminRule) (forgelink.AdminRule, error) {
	if r.Org == "" || r.IntegrationID == "" || (r.Username == "") == (r.Group == "") {
		return forgelink.AdminRule{}, forgelink.Errorf(forgelink.EINTERNAL, "admin rule needs an org, an integration and one of username or group")
	}
	r.ID = forgelink.AdminRuleID(r)
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	r.CreatedAt = utc(r.CreatedAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.adminRules[r.Org][r.ID]; ok {
		return forgelink.AdminRule{}, forgelink.Errorf(forgelink.ECONFLICT, "this admin rule exists already")
	}
	if s.adminRules[r.Org] == nil {
		s.adminRules[r.Org] = map[string]forgelink.AdminRule{}
	}
	s.adminRules[r.Org][r.ID] = r
	return r, nil
}

func (s *Store) GetAdminRule(ctx context.Context, org, id string) (forgelink.AdminRule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.adminRules[org][id]
	if !ok {
		return forgelink.AdminRule{}, errAdminRuleNotFound
	}
	return r, nil
}

func (s *Store) ListAdminRules(ctx context.Context, org string) ([]forgelink.AdminRule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]forgelink.AdminRule, 0, len(s.adminRules[org]))
	for _, r := range s.adminRules[org] {
		out = append(out, r)
	}
	forgelink.SortAdminRules(out)
	return out, nil
}

func (s *Store) DeleteAdminRule(ctx context.Context, org, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.adminRules[org][id]; !ok {
		return errAdminRuleNotFound
	}
	delete(s.adminRules[org], id)
	return nil
}

// TouchIntegration sets the health times without moving Version or UpdatedAt.
func (s *Store) TouchIntegration(ctx context.Context, org, id string, verifiedAt, lastSignInAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.integrations[org][id]
	if !ok {
		return errIntegrationNotFound
	}
	if !verifiedAt.IsZero() {
		in.VerifiedAt = utc(verifiedAt)
	}
	if !lastSignInAt.IsZero() {
		in.LastSignInAt = utc(lastSignInAt)
	}
	s.integrations[org][id] = in
	return nil
}
