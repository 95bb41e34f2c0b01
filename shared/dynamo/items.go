package dynamo

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Keys of the single table, as DESIGN.md ("Data") lays them out.
const (
	skMeta            = "META"
	prefixIntegration = "INTEGRATION#"
	prefixAudit       = "AUDIT#"
	prefixToken       = "TOKEN#"
)

func orgPK(org string) string           { return "ORG#" + org }
func integrationSK(id string) string    { return prefixIntegration + id }
func urlSK(url string) string           { return "URL#" + sha256Hex(url) }
func tokenSK(hash string) string        { return prefixToken + hash }
func tokenPointerPK(hash string) string { return prefixToken + hash }
func sessionPK(hash string) string      { return "SESSION#" + hash }
func adminLinkPK(hash string) string    { return "ADMINLINK#" + hash }
func auditSK(id string) string          { return prefixAudit + id }
func memberSK(integ string, uid int64) string {
	return "MEMBER#" + integ + "#" + strconv.FormatInt(uid, 10)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Item shapes. Times are stored as RFC3339Nano strings in UTC; expiring items also carry
// expires_at in epoch seconds for DynamoDB's TTL and for condition expressions. Each
// shape's attrs method names its attributes (attrs.go converts them).

type key struct {
	PK string
	SK string
}

type orgItem struct {
	key
	Type      string
	Slug      string
	Name      string
	CreatedAt time.Time
}

// integrationItem deliberately has no field for a client secret: only where it lives.
type integrationItem struct {
	key
	Type            string
	Org             string
	ID              string
	Platform        string
	Name            string
	URL             string
	ClientID        string
	SecretARN       string
	SecretVersion   string
	SecretUpdatedAt time.Time
	CABundle        string
	Status          string
	Version         int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func toIntegrationItem(in forgelink.Integration) integrationItem {
	return integrationItem{
		key:  key{orgPK(in.Org), integrationSK(in.ID)},
		Type: "integration", Org: in.Org, ID: in.ID, Platform: in.Platform, Name: in.Name,
		URL: in.URL, ClientID: in.ClientID, SecretARN: in.SecretARN, SecretVersion: in.SecretVersion,
		SecretUpdatedAt: utc(in.SecretUpdatedAt), CABundle: in.CABundle, Status: string(in.Status),
		Version: in.Version, CreatedAt: utc(in.CreatedAt), UpdatedAt: utc(in.UpdatedAt),
	}
}

func (it integrationItem) domain() forgelink.Integration {
	return forgelink.Integration{
		Org: it.Org, ID: it.ID, Platform: it.Platform, Name: it.Name, URL: it.URL,
		ClientID: it.ClientID, SecretARN: it.SecretARN, SecretVersion: it.SecretVersion,
		SecretUpdatedAt: it.SecretUpdatedAt, CABundle: it.CABundle, Status: forgelink.Status(it.Status),
		Version: it.Version, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
}

// urlClaimItem makes "one integration per GitLab URL per org" a key constraint.
type urlClaimItem struct {
	key
	Type          string
	IntegrationID string
}

type userItem struct {
	ID        int64
	Username  string
	Name      string
	Email     string
	AvatarURL string
	State     string
}

func toUserItem(u forgelink.GitLabUser) userItem { return userItem(u) }
func (u userItem) domain() forgelink.GitLabUser  { return forgelink.GitLabUser(u) }

type memberItem struct {
	key
	Type          string
	Org           string
	IntegrationID string
	User          userItem
	FirstSeenAt   time.Time
	LastSeenAt    time.Time
}

type sessionItem struct {
	key
	Type          string
	Hash          string
	Kind          string
	Org           string
	IntegrationID string
	GitLabHost    string
	User          userItem
	CreatedAt     time.Time
	Expires       time.Time
	ExpiresAt     time.Time
}

type tokenItem struct {
	key
	Type      string
	Hash      string
	Org       string
	Name      string
	CreatedAt time.Time
}

func (it tokenItem) domain() forgelink.AdminToken {
	return forgelink.AdminToken{Hash: it.Hash, Org: it.Org, Name: it.Name, CreatedAt: it.CreatedAt}
}

// tokenPointerItem lets bearer auth find a token's org from the hash alone.
type tokenPointerItem struct {
	key
	Type string
	Org  string
}

type adminLinkItem struct {
	key
	Type      string
	Hash      string
	Org       string
	CreatedAt time.Time
	Expires   time.Time
	ExpiresAt time.Time
}

type auditItem struct {
	key
	Type          string
	Org           string
	ID            string
	Time          time.Time
	Actor         string
	Action        string
	IntegrationID string
	Detail        string
}

// utc drops the monotonic reading and zone so times round-trip exactly.
func utc(t time.Time) time.Time { return t.Round(0).UTC() }

// Attribute names of each item shape: the table's layout (DESIGN.md, "Data").

func (k *key) attrs() []attr { return []attr{{"PK", &k.PK}, {"SK", &k.SK}} }

func (it *orgItem) attrs() []attr {
	return append(it.key.attrs(), attr{"type", &it.Type}, attr{"slug", &it.Slug}, attr{"name", &it.Name},
		attr{"created_at", &it.CreatedAt})
}

func (it *integrationItem) attrs() []attr {
	return append(it.key.attrs(), attr{"type", &it.Type}, attr{"org", &it.Org}, attr{"id", &it.ID},
		attr{"platform", &it.Platform}, attr{"name", &it.Name}, attr{"url", &it.URL},
		attr{"client_id", &it.ClientID}, attr{"secret_arn", &it.SecretARN},
		attr{"secret_version", &it.SecretVersion}, attr{"secret_updated_at", &it.SecretUpdatedAt},
		attr{"ca_bundle", &it.CABundle}, attr{"status", &it.Status}, attr{"version", &it.Version},
		attr{"created_at", &it.CreatedAt}, attr{"updated_at", &it.UpdatedAt})
}

func (it *urlClaimItem) attrs() []attr {
	return append(it.key.attrs(), attr{"type", &it.Type}, attr{"integration_id", &it.IntegrationID})
}

func (u *userItem) attrs() []attr {
	return []attr{{"id", &u.ID}, {"username", &u.Username}, {"name", &u.Name}, {"email", &u.Email},
		{"avatar_url", &u.AvatarURL}, {"state", &u.State}}
}

func (it *memberItem) attrs() []attr {
	return append(it.key.attrs(), attr{"type", &it.Type}, attr{"org", &it.Org},
		attr{"integration_id", &it.IntegrationID}, attr{"user", &it.User},
		attr{"first_seen_at", &it.FirstSeenAt}, attr{"last_seen_at", &it.LastSeenAt})
}

func (it *sessionItem) attrs() []attr {
	return append(it.key.attrs(), attr{"type", &it.Type}, attr{"hash", &it.Hash}, attr{"kind", &it.Kind},
		attr{"org", &it.Org}, attr{"integration_id", &it.IntegrationID}, attr{"gitlab_host", &it.GitLabHost},
		attr{"user", &it.User}, attr{"created_at", &it.CreatedAt}, attr{"expires", &it.Expires},
		attr{"expires_at", unixTime{&it.ExpiresAt}})
}

func (it *tokenItem) attrs() []attr {
	return append(it.key.attrs(), attr{"type", &it.Type}, attr{"hash", &it.Hash}, attr{"org", &it.Org},
		attr{"name", &it.Name}, attr{"created_at", &it.CreatedAt})
}

func (it *tokenPointerItem) attrs() []attr {
	return append(it.key.attrs(), attr{"type", &it.Type}, attr{"org", &it.Org})
}

func (it *adminLinkItem) attrs() []attr {
	return append(it.key.attrs(), attr{"type", &it.Type}, attr{"hash", &it.Hash}, attr{"org", &it.Org},
		attr{"created_at", &it.CreatedAt}, attr{"expires", &it.Expires}, attr{"expires_at", unixTime{&it.ExpiresAt}})
}

func (it *auditItem) attrs() []attr {
	return append(it.key.attrs(), attr{"type", &it.Type}, attr{"org", &it.Org}, attr{"id", &it.ID},
		attr{"time", &it.Time}, attr{"actor", &it.Actor}, attr{"action", &it.Action},
		attr{"integration_id", &it.IntegrationID}, attr{"detail", &it.Detail})
}
