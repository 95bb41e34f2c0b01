// Package forgelink holds the domain: its types, error codes and the interfaces of the
// stores that the rest of the application depends on. It imports no dependency.
package forgelink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Status of an integration.
type Status string

const (
	StatusPending  Status = "pending"  // created, no verified credentials yet
	StatusActive   Status = "active"   // credentials verified, sign-in works
	StatusDisabled Status = "disabled" // kept but sign-in refused
)

// PlatformGitLab is the only platform today: GitLab Self-Managed.
const PlatformGitLab = "gitlab"

// Lifetimes fixed by DESIGN.md.
const (
	StateTTL     = 10 * time.Minute // OAuth state cookie
	SessionTTL   = 12 * time.Hour   // member and admin browser sessions
	AdminLinkTTL = 10 * time.Minute // one-time admin sign-in links
)

// Org is an organization, addressed by its slug.
type Org struct {
	Slug      string
	Name      string
	CreatedAt time.Time
}

// Integration connects an org to one GitLab server.
type Integration struct {
	Org      string
	ID       string // opaque, URL-safe
	Platform string // PlatformGitLab
	Name     string
	URL      string // normalised GitLab base URL: https://host[:port][/prefix], no trailing slash
	ClientID string
	// SecretARN and SecretVersion point at the client secret in the secret store; the item
	// never holds the secret itself. Empty while pending.
	SecretARN       string
	SecretVersion   string
	SecretUpdatedAt time.Time
	CABundle        string // optional PEM for GitLab servers with a private CA
	Status          Status
	// NotConfidential: the last Save found the GitLab application not marked Confidential,
	// so GitLab does not require its secret. false when it is Confidential, and when the
	// check could not tell (a warning, never a reason to refuse).
	NotConfidential bool
	// Version is the optimistic-locking counter: every update must name the version it read.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// AllowedGroups restricts sign-in (empty: every active user of the GitLab); see
	// access.go. VerifiedAt (last successful test or sign-in) and LastSignInAt are set by
	// Store.TouchIntegration, never by UpdateIntegration.
	AllowedGroups []GroupRule
	VerifiedAt    time.Time
	LastSignInAt  time.Time
}

// Host returns the host[:port] of the integration's GitLab URL, for display.
func (i Integration) Host() string { return hostOf(i.URL) }

// ServerInfo is what a GitLab server said about itself when probed at its public
// /.well-known/openid-configuration: the HTTP status and the document's issuer ("" when
// there is no document or no issuer). GitLab's issuer is its external URL, path prefix
// included.
type ServerInfo struct {
	Status int
	Issuer string
}

// GitLabUser is what GitLab's /api/v4/user says about a person.
type GitLabUser struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	AvatarURL string `json:"avatar_url"`
	State     string `json:"state"`
}

// SessionKind tells member sessions (signed in through GitLab) from admin browser sessions.
type SessionKind string

const (
	SessionMember SessionKind = "member"
	SessionAdmin  SessionKind = "admin"
)

// Session is a browser session. Only the SHA-256 of its random id is stored (Hash).
type Session struct {
	Hash          string // hex SHA-256 of the session id
	Kind          SessionKind
	Org           string
	IntegrationID string     // member sessions
	GitLabHost    string     // member sessions
	User          GitLabUser // member sessions
	// Role is RoleAdmin or RoleMember, decided at sign-in (setup links: always admin).
	Role string
	// Principal names who holds a setup-link session: the link's label.
	Principal string
	// RuleID is the admin rule that made a member session admin; removing the rule takes
	// the role away.
	RuleID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// WithDefaults fills a zero CreatedAt with now and a zero ExpiresAt with CreatedAt +
// SessionTTL: every store gives sessions the same lifetime.
func (s Session) WithDefaults(now time.Time) Session {
	s.CreatedAt, s.ExpiresAt = lifetime(s.CreatedAt, s.ExpiresAt, now, SessionTTL)
	return s
}

// AdminToken is an org admin's API token; only its SHA-256 is stored.
type AdminToken struct {
	Hash      string
	Org       string
	Name      string
	CreatedAt time.Time
}

// SortAdminTokens orders tokens as Store.ListAdminTokens returns them: newest first,
// ties by hash.
func SortAdminTokens(ts []AdminToken) {
	slices.SortFunc(ts, func(a, b AdminToken) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Hash, b.Hash)
	})
}

// AdminLink is a one-time admin sign-in link; only its SHA-256 is stored.
type AdminLink struct {
	Hash string
	Org  string
	// Label names who the operator made the link for ("Jane Doe"); the session it gives
	// and the audit trail carry it.
	Label     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// WithDefaults fills a zero CreatedAt with now and a zero ExpiresAt with CreatedAt +
// AdminLinkTTL: every store gives sign-in links the same lifetime.
func (l AdminLink) WithDefaults(now time.Time) AdminLink {
	l.CreatedAt, l.ExpiresAt = lifetime(l.CreatedAt, l.ExpiresAt, now, AdminLinkTTL)
	return l
}

func lifetime(created, expires, now time.Time, ttl time.Duration) (time.Time, time.Time) {
	if created.IsZero() {
		created = now
	}
	if expires.IsZero() {
		expires = created.Add(ttl)
	}
	return created, expires
}

// Audit actions.
const (
	AuditIntegrationCreated  = "integration.created"
	AuditIntegrationSaved    = "integration.saved"   // credentials saved, integration active
	AuditIntegrationUpdated  = "integration.updated" // name / CA bundle edited
	AuditSecretReplaced      = "integration.secret_replaced"
	AuditIntegrationDeleted  = "integration.deleted"
	AuditSignIn              = "member.signed_in"
	AuditSignOut             = "member.signed_out"
	AuditAdminSignIn         = "admin.signed_in"
	AuditTokenRevoked        = "admin.token_revoked"          // Detail names the token's id, never the token
	AuditSignedOutEverywhere = "member.signed_out_everywhere" // an admin ended all of a member's sessions
)

// NewAuditID makes the sortable id of an audit record at t: a fixed-width UTC time (so
// that string order is time order, which RFC 3339's trimmed zeros would break) and a
// random suffix so that records of the same instant do not collide. Stores use it as the
// sort key.
func NewAuditID(t time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + hex.EncodeToString(b)
}

// AuditRecord says who did what, when. Never carries secrets.
type AuditRecord struct {
	Org           string
	ID            string // sortable: time + random
	Time          time.Time
	Actor         string // "token:<first 8 of hash>", "admin-session", "gitlab:<username>", "operator"
	Action        string
	IntegrationID string
	Detail        string
}

// Store is the DynamoDB-shaped persistence of forgelink. Implementations: shared/inmem and
// shared/dynamo; shared/storetest is the one conformance suite both must pass.
//
// Errors: ENOTFOUND when an item is missing (or expired), ECONFLICT when a condition fails
// (already exists, version mismatch, duplicate URL), EUNAVAILABLE when the backend is down
// or throttling.
type Store interface {
	AdminRuleStore
	MemberStore

	CreateOrg(ctx context.Context, org Org) error
	GetOrg(ctx context.Context, slug string) (Org, error)

	// CreateIntegration stores a new integration with Version 1. ECONFLICT if the id exists
	// or another integration of the org has the same URL.
	CreateIntegration(ctx context.Context, in Integration) (Integration, error)
	GetIntegration(ctx context.Context, org, id string) (Integration, error)
	ListIntegrations(ctx context.Context, org string) ([]Integration, error)
	// UpdateIntegration writes in if the stored Version equals in.Version, and returns it
	// with Version+1 and UpdatedAt set. ECONFLICT otherwise. URL is immutable here: a URL
	// other than the stored one is EINVALID (only MoveIntegration changes it).
	UpdateIntegration(ctx context.Context, in Integration) (Integration, error)
	// MoveIntegration is UpdateIntegration that also changes the URL from fromURL to
	// in.URL, in one atomic write that moves the org's claim on the URL along, so the old
	// URL is free and the new one taken exactly when the item says so. It requires the
	// stored integration to be pending, at in.Version and at fromURL (it may write another
	// status, so saving credentials can move and activate at once). Errors: ENOTFOUND when
	// gone; EINVALID on field "url" when it is not pending (its GitLab application lives on
	// the old server) or when in.URL is empty or fromURL; ECONFLICT with field "url" when
	// another integration of the org has in.URL; ECONFLICT without fields for a stale
	// version or URL.
	MoveIntegration(ctx context.Context, in Integration, fromURL string) (Integration, error)
	// DeleteIntegration removes it (and its URL claim) if the stored Version equals version.
	DeleteIntegration(ctx context.Context, org, id string, version int64) error

	CreateSession(ctx context.Context, s Session) error
	// GetSession returns ENOTFOUND for missing or expired sessions.
	GetSession(ctx context.Context, hash string) (Session, error)
	DeleteSession(ctx context.Context, hash string) error

	CreateAdminToken(ctx context.Context, t AdminToken) error
	GetAdminToken(ctx context.Context, org, hash string) (AdminToken, error)
	// FindAdminToken resolves a token hash without knowing its org (bearer auth); ENOTFOUND.
	FindAdminToken(ctx context.Context, hash string) (AdminToken, error)
	// ListAdminTokens returns the org's tokens newest first (ties: by hash).
	ListAdminTokens(ctx context.Context, org string) ([]AdminToken, error)
	// DeleteAdminToken removes the org's token and its hash pointer together; ENOTFOUND
	// when the org has no token with this hash (a token of another org is not touched).
	DeleteAdminToken(ctx context.Context, org, hash string) error

	CreateAdminLink(ctx context.Context, l AdminLink) error
	// ConsumeAdminLink deletes the link and returns it, atomically: a second call, or a call
	// after ExpiresAt, returns ENOTFOUND.
	// A link of another org is ENOTFOUND too, and stays usable in its own org.
	ConsumeAdminLink(ctx context.Context, org, hash string) (AdminLink, error)

	PutAudit(ctx context.Context, a AuditRecord) error
	// ListAudit returns the org's records newest first; integrationID "" means all.
	ListAudit(ctx context.Context, org, integrationID string, limit int) ([]AuditRecord, error)
}

// SecretRef points at one version of a stored client secret.
type SecretRef struct {
	ARN     string
	Version string
}

// Secrets keeps client secrets (Secrets Manager, or memory). Implementations: shared/inmem
// and shared/secrets; the conformance suite covers both.
type Secrets interface {
	// PutSecret creates the secret called name, or adds a new current version when it
	// exists, tagging it with tags. It returns the ARN and the new version id.
	PutSecret(ctx context.Context, name, value string, tags map[string]string) (SecretRef, error)
	// GetSecret returns the value of the given version (ref.Version may be empty: current).
	GetSecret(ctx context.Context, ref SecretRef) (string, error)
	// DeleteSecret removes the secret (by ARN or name) at once, without a recovery window;
	// deleting a missing secret is not an error.
	DeleteSecret(ctx context.Context, arnOrName string) error
	// ListSecrets returns the names of secrets whose name starts with prefix (for sweeping
	// orphans left by a crash).
	ListSecrets(ctx context.Context, prefix string) ([]string, error)
}
