package service

import (
	"context"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// currentRole returns sess with the role it has now: a member session made admin by an
// admin rule loses the role once that rule is gone (rules are read through a 30 s cache).
func (s *base) currentRole(ctx context.Context, sess forgelink.Session) (forgelink.Session, error) {
	if sess.Role != forgelink.RoleAdmin || sess.RuleID == "" {
		return sess, nil
	}
	ok, err := s.ruleExists(ctx, sess.Org, sess.RuleID)
	if err != nil {
		return forgelink.Session{}, err
	}
	if !ok {
		sess.Role, sess.RuleID = forgelink.RoleMember, ""
	}
	return sess, nil
}

// ruleExists reports whether org still has the admin rule id (through the 30 s cache).
func (s *base) ruleExists(ctx context.Context, org, id string) (bool, error) {
	rules, err := s.adminRules(ctx, org, false)
	if err != nil {
		return false, err
	}
	for _, r := range rules {
		if r.ID == id {
			return true, nil
		}
	}
	return false, nil
}
