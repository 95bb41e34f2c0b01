package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// AdminRuleInput is what an admin sends to add an admin rule; nil (or blank text) means
// "not given". IntegrationID and exactly one of Username and Group are required; a group
// needs MinAccessLevel, a username takes none.
type AdminRuleInput struct {
	IntegrationID  *string
	Username       *string
	Group          *string
	MinAccessLevel *int
}

// AdminRules say which people of an org's integrations are its admins (integrations
// function: the Admins page and /api/v1/orgs/{org}/admins).
type AdminRules struct {
	*base
	writes *writeLimiter
}

// NewAdminRules returns the AdminRules noun over d (it needs Store).
func NewAdminRules(d Deps) *AdminRules {
	return &AdminRules{base: newBase(d), writes: newWriteLimiter(d.AdminWrites, d.Now)}
}

// Messages of admin rule errors.
const (
	DuplicateAdminRuleMessage = "This admin rule exists already."
	msgUsernameOrGroup        = "give either a GitLab username or a group, not both"
	msgUsernameFormat         = "must be a GitLab username: letters, digits, _, - and ., not starting with -"
	msgGroupFormat            = "must be the full path of a GitLab group, like eng or eng/platform"
	msgLevelValues            = "must be 10 (Guest), 20 (Reporter), 30 (Developer), 40 (Maintainer) or 50 (Owner)"
)

// ListAdminRules returns the org's rules, oldest first.
func (s *AdminRules) ListAdminRules(ctx context.Context, org string) ([]forgelink.AdminRule, error) {
	list, err := s.store.ListAdminRules(ctx, org)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []forgelink.AdminRule{}
	}
	return list, nil
}

// CreateAdminRule adds a rule to org. Validation errors are EINVALID with fields
// (integration_id, username, group, min_access_level); the same rule twice is ECONFLICT.
func (s *AdminRules) CreateAdminRule(ctx context.Context, actor Actor, org string, in AdminRuleInput) (forgelink.AdminRule, error) {
	if err := s.authorize(actor, org); err != nil {
		return forgelink.AdminRule{}, err
	}
	rule, fields := checkAdminRule(in)
	integ, err := s.ruleIntegration(ctx, org, rule.IntegrationID, fields)
	if err != nil {
		return forgelink.AdminRule{}, err
	}
	if len(fields) > 0 {
		return forgelink.AdminRule{}, forgelink.Invalid(fields)
	}
	if err := s.writes.allow(org); err != nil {
		return forgelink.AdminRule{}, err
	}
	rule.Org, rule.CreatedAt = org, s.now().UTC()
	created, err := s.store.CreateAdminRule(ctx, rule)
	if forgelink.ErrorCode(err) == forgelink.ECONFLICT {
		return forgelink.AdminRule{}, forgelink.Wrap(forgelink.ECONFLICT, err, DuplicateAdminRuleMessage)
	} else if err != nil {
		return forgelink.AdminRule{}, err
	}
	s.cache.forgetRules(org)
	s.audit(ctx, actor, forgelink.AuditAdminRuleAdded, integ.ID,
		"Admin rule added: "+DescribeAdminRule(created)+" on "+integ.Host())
	return created, nil
}

// ruleIntegration looks up the rule's integration in org; an unknown one (or another
// org's) is a field error, not a 404: the path named the org, the body the integration.
func (s *AdminRules) ruleIntegration(ctx context.Context, org, id string, fields map[string]string) (forgelink.Integration, error) {
	if id == "" {
		fields["integration_id"] = "is required"
		return forgelink.Integration{}, nil
	}
	in, err := s.store.GetIntegration(ctx, org, id)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		fields["integration_id"] = "is not an integration of this org"
		return forgelink.Integration{}, nil
	}
	return in, err
}

// checkAdminRule validates the input's own fields and returns the rule it describes.
func checkAdminRule(in AdminRuleInput) (forgelink.AdminRule, map[string]string) {
	fields := map[string]string{}
	r := forgelink.AdminRule{
		IntegrationID: strings.TrimSpace(deref(in.IntegrationID)),
		Username:      cleanUsername(deref(in.Username)),
		Group:         cleanGroupPath(deref(in.Group)),
	}
	switch {
	case r.Username == "" && r.Group == "":
		fields["username"], fields["group"] = "is required, or a group", "is required, or a username"
	case r.Username != "" && r.Group != "":
		fields["username"], fields["group"] = msgUsernameOrGroup, msgUsernameOrGroup
	case r.Username != "":
		if !forgelink.ValidUsername(r.Username) {
			fields["username"] = msgUsernameFormat
		}
		if in.MinAccessLevel != nil {
			fields["min_access_level"] = "applies to group rules only"
		}
	default:
		if !forgelink.ValidGroupPath(r.Group) {
			fields["group"] = msgGroupFormat
		}
		if in.MinAccessLevel == nil {
			fields["min_access_level"] = "is required with a group: " + msgLevelValues
		} else if r.MinAccessLevel = *in.MinAccessLevel; !forgelink.ValidAccessLevel(r.MinAccessLevel) {
			fields["min_access_level"] = msgLevelValues
		}
	}
	return r, fields
}

// cleanUsername trims spaces and one leading "@" (people write "@alice").
func cleanUsername(s string) string {
	return strings.TrimPrefix(strings.TrimSpace(s), "@")
}

// cleanGroupPath trims spaces and the slashes people copy along from a URL ("/eng/").
func cleanGroupPath(s string) string { return strings.Trim(strings.TrimSpace(s), "/") }

// DeleteAdminRule removes one of org's rules; an unknown id, or another org's, is ENOTFOUND.
func (s *AdminRules) DeleteAdminRule(ctx context.Context, actor Actor, org, id string) error {
	if err := s.authorize(actor, org); err != nil {
		return err
	}
	rule, err := s.store.GetAdminRule(ctx, org, id)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return forgelink.Wrap(forgelink.ENOTFOUND, err, "There is no such admin rule in this org.")
	} else if err != nil {
		return err
	}
	if err := s.writes.allow(org); err != nil {
		return err
	}
	if err := s.store.DeleteAdminRule(ctx, org, id); forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return forgelink.Wrap(forgelink.ENOTFOUND, err, "There is no such admin rule in this org.")
	} else if err != nil {
		return err
	}
	s.cache.forgetRules(org)
	s.audit(ctx, actor, forgelink.AuditAdminRuleRemoved, rule.IntegrationID, "Admin rule removed: "+DescribeAdminRule(rule))
	return nil
}

// dropAdminRulesOf removes the rules of a deleted integration: they could never match
// again, and a new integration gets a new id. Failures are logged; the rules are inert.
func (s *base) dropAdminRulesOf(ctx context.Context, actor Actor, org, integrationID string) {
	rules, err := s.store.ListAdminRules(ctx, org)
	if err != nil {
		s.log.ErrorContext(ctx, "admin rules of a deleted integration left behind", "org", org, "integration", integrationID, "error", err.Error())
		return
	}
	for _, r := range rules {
		if r.IntegrationID != integrationID {
			continue
		}
		if err := s.store.DeleteAdminRule(ctx, org, r.ID); err != nil && forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
			s.log.ErrorContext(ctx, "admin rule of a deleted integration left behind", "org", org, "rule", r.ID, "error", err.Error())
			continue
		}
		s.audit(ctx, actor, forgelink.AuditAdminRuleRemoved, integrationID,
			"Admin rule removed with its integration: "+DescribeAdminRule(r))
	}
}

// DescribeAdminRule says in words whom a rule makes admin: "GitLab user @alice" or
// "Group eng/platform · Developer or above".
func DescribeAdminRule(r forgelink.AdminRule) string {
	if r.Username != "" {
		return "GitLab user @" + r.Username
	}
	return "Group " + DescribeGroupRule(forgelink.GroupRule{Path: r.Group, MinAccessLevel: r.MinAccessLevel})
}

// DescribeGroupRule is "eng/platform · Developer or above".
func DescribeGroupRule(g forgelink.GroupRule) string {
	return fmt.Sprintf("%s · %s or above", g.Path, forgelink.AccessLevelName(g.MinAccessLevel))
}

// MaxAllowedGroups bounds an integration's allowed_groups (DESIGN.md): each costs a GitLab
// call at every sign-in, inside the callback's 10 s budget.
const MaxAllowedGroups = 20

// checkAllowedGroups validates allowed groups (nil: not given) and returns them cleaned.
// A path listed twice is refused rather than collapsed: with two levels, which one the
// admin meant is a guess.
func checkAllowedGroups(fields map[string]string, given *[]forgelink.GroupRule) []forgelink.GroupRule {
	if given == nil {
		return nil
	}
	if len(*given) > MaxAllowedGroups {
		fields["allowed_groups"] = fmt.Sprintf("may list at most %d groups", MaxAllowedGroups)
		return nil
	}
	out := make([]forgelink.GroupRule, 0, len(*given))
	seen := map[string]bool{}
	for i, g := range *given {
		g.Path = cleanGroupPath(g.Path)
		switch {
		case !forgelink.ValidGroupPath(g.Path):
			fields["allowed_groups"] = fmt.Sprintf("entry %d: path %s", i+1, msgGroupFormat)
		case !forgelink.ValidAccessLevel(g.MinAccessLevel):
			fields["allowed_groups"] = fmt.Sprintf("entry %d (%s): min_access_level %s", i+1, g.Path, msgLevelValues)
		case seen[strings.ToLower(g.Path)]:
			fields["allowed_groups"] = fmt.Sprintf("lists %s twice; give each group once, with one level", g.Path)
		}
		if fields["allowed_groups"] != "" {
			return nil
		}
		seen[strings.ToLower(g.Path)] = true
		out = append(out, g)
	}
	return out
}

// describeAllowedGroups is the audit wording of who may sign in.
func describeAllowedGroups(gs []forgelink.GroupRule) string {
	if len(gs) == 0 {
		return "everyone on the GitLab server"
	}
	words := make([]string, len(gs))
	for i, g := range gs {
		words[i] = DescribeGroupRule(g)
	}
	return "members of " + strings.Join(words, ", ")
}
