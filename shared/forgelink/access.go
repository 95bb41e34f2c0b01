package forgelink

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GitLab access levels (DESIGN.md, "People and access"). GitLab has more (5 Minimal, 15
// Planner, 60 Admin); rules name only these five.
const (
	AccessGuest      = 10
	AccessReporter   = 20
	AccessDeveloper  = 30
	AccessMaintainer = 40
	AccessOwner      = 50
)

// AccessLevels are the levels a rule may name, lowest first.
var AccessLevels = []int{AccessGuest, AccessReporter, AccessDeveloper, AccessMaintainer, AccessOwner}

// ValidAccessLevel reports whether a rule may name level.
func ValidAccessLevel(level int) bool { return slices.Contains(AccessLevels, level) }

// AccessLevelName is GitLab's name of a level ("Developer"); another number prints as is.
func AccessLevelName(level int) string {
	switch level {
	case AccessGuest:
		return "Guest"
	case AccessReporter:
		return "Reporter"
	case AccessDeveloper:
		return "Developer"
	case AccessMaintainer:
		return "Maintainer"
	case AccessOwner:
		return "Owner"
	}
	return "access level " + strconv.Itoa(level)
}

// Roles of a signed-in person.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// GroupRule is one entry of an integration's allowed_groups: members of the group (full
// path, inherited membership counts) with at least MinAccessLevel may sign in.
type GroupRule struct {
	Path           string
	MinAccessLevel int
}

// AdminRule makes people of an integration admins of the org: either the GitLab user
// Username, or the members of Group with at least MinAccessLevel. Exactly one of Username
// and Group is set; MinAccessLevel is 0 for a username rule.
type AdminRule struct {
	Org            string
	ID             string // AdminRuleID of the rule's content
	IntegrationID  string
	Username       string
	Group          string
	MinAccessLevel int
	CreatedAt      time.Time
}

// AdminRuleID is the id of a rule, derived from what it says (integration, then the
// username, or the group and level; names compared case-insensitively as GitLab does): the
// same rule twice has the same id, so a store refuses the second with ECONFLICT by key
// alone, without a claim item. 128 bits of SHA-256 in lower-case base32 (26 characters),
// like integration ids. It reveals nothing the rule does not show.
func AdminRuleID(r AdminRule) string {
	subject := "user\x00" + strings.ToLower(r.Username)
	if r.Username == "" {
		subject = "group\x00" + strings.ToLower(r.Group) + "\x00" + strconv.Itoa(r.MinAccessLevel)
	}
	sum := sha256.Sum256([]byte(r.IntegrationID + "\x00" + subject))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

// SortAdminRules orders rules as Store.ListAdminRules returns them: oldest first, ties by id.
func SortAdminRules(rs []AdminRule) {
	slices.SortFunc(rs, func(a, b AdminRule) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// AdminRuleStore keeps admin rules and the sign-in health of integrations; part of Store.
type AdminRuleStore interface {
	// CreateAdminRule stores r under the id AdminRuleID(r) (any r.ID is replaced) and
	// returns it as stored. ECONFLICT when the org has that rule already.
	CreateAdminRule(ctx context.Context, r AdminRule) (AdminRule, error)
	// GetAdminRule returns ENOTFOUND when org has no rule id.
	GetAdminRule(ctx context.Context, org, id string) (AdminRule, error)
	// ListAdminRules returns the org's rules oldest first (ties: by id).
	ListAdminRules(ctx context.Context, org string) ([]AdminRule, error)
	// DeleteAdminRule removes the org's rule; ENOTFOUND when org has no rule id.
	DeleteAdminRule(ctx context.Context, org, id string) error
	// TouchIntegration records a successful sign-in or test on an existing integration:
	// each non-zero time replaces the stored one. It changes neither Version nor UpdatedAt,
	// so an admin's edit never conflicts with people signing in. ENOTFOUND when missing.
	TouchIntegration(ctx context.Context, org, id string, verifiedAt, lastSignInAt time.Time) error
}

// ErrInsufficientScope: GitLab refused a call because the person's token lacks a scope
// (e.g. group reads without api). A setup problem: an admin must add the scope to the
// GitLab application. shared/gitlab returns errors wrapping it (gitlab.ErrInsufficientScope
// is this value), so the service can tell it apart without importing the client.
var ErrInsufficientScope = errors.New("gitlab: the token lacks a needed scope")

// MaxUsernameLength is GitLab's limit on namespace paths, in bytes.
const MaxUsernameLength = 255

// ValidUsername reports whether s can be a GitLab username: 1 to 255 letters, digits,
// '_', '-' and '.', not starting with '-'. GitLab's newer rules (no leading or trailing
// special character, none twice in a row, no .git/.atom ending) are not applied: older
// accounts predate them and still sign in. Usernames are shown in pages and audit
// records, so nothing else gets through.
func ValidUsername(s string) bool {
	if s == "" || len(s) > MaxUsernameLength || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isPathChar(s[i]) {
			return false
		}
	}
	return true
}

// Bounds on a group's full path, GitLab's own: 20 levels of subgroups, 255 bytes a level.
const (
	maxGroupDepth   = 20
	maxGroupSegment = 255
)

// ValidGroupPath reports whether s can be the full path of a GitLab group ("eng",
// "eng/platform"): 1 to 20 segments separated by single slashes, each 1 to 255 letters,
// digits, '_', '-' and '.', not starting with '-' and not "." or "..".
func ValidGroupPath(s string) bool {
	segs := strings.Split(s, "/")
	if len(segs) > maxGroupDepth {
		return false
	}
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." || len(seg) > maxGroupSegment || seg[0] == '-' {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if !isPathChar(seg[i]) {
				return false
			}
		}
	}
	return true
}

// isPathChar reports whether c may appear in a GitLab username or path segment.
func isPathChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// Audit actions of admin rules and sign-in restrictions.
const (
	AuditAdminRuleAdded    = "admin_rule.added"
	AuditAdminRuleRemoved  = "admin_rule.removed"
	AuditSignInRefused     = "signin.refused"     // DESIGN.md: a person refused by allowed_groups
	AuditIntegrationTested = "integration.tested" // a Test sign-in succeeded
)
