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
)

func orgPK(org string) string           { return "ORG#" + org }
func integrationSK(id string) string    { return prefixIntegration + id }
func urlSK(url string) string           { return "URL#" + sha256Hex(url) }
func tokenSK(hash string) string        { return "TOKEN#" + hash }
func tokenPointerPK(hash string) string { return "TOKEN#" + hash }
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
// expires_at in epoch seconds for DynamoDB's TTL and for condition expressions.

type key struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
}

type orgItem struct {
	key
	Type      string    `dynamodbav:"type"`
	Slug      string    `dynamodbav:"slug"`
	Name      string    `dynamodbav:"name"`
	CreatedAt time.Time `dynamodbav:"created_at"`
}

// integrationItem deliberately has no field for a client secret: only where it lives.
type integrationItem struct {
	key
	Type            string    `dynamodbav:"type"`
	Org             string    `dynamodbav:"org"`
	ID              string    `dynamodbav:"id"`
	Platform        string    `dynamodbav:"platform"`
	Name            string    `dynamodbav:"name"`
	URL             string    `dynamodbav:"url"`
	ClientID        string    `dynamodbav:"client_id"`
	SecretARN       string    `dynamodbav:"secret_arn"`
	SecretVersion   string    `dynamodbav:"secret_version"`
	SecretUpdatedAt time.Time `dynamodbav:"secret_updated_at"`
	CABundle        string    `dynamodbav:"ca_bundle"`
	Status          string    `dynamodbav:"status"`
	Version         int64     `dynamodbav:"version"`
	CreatedAt       time.Time `dynamodbav:"created_at"`
	UpdatedAt       time.Time `dynamodbav:"updated_at"`
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
	Type          string `dynamodbav:"type"`
	IntegrationID string `dynamodbav:"integration_id"`
}

type userItem struct {
	ID        int64  `dynamodbav:"id"`
	Username  string `dynamodbav:"username"`
	Name      string `dynamodbav:"name"`
	Email     string `dynamodbav:"email"`
	AvatarURL string `dynamodbav:"avatar_url"`
	State     string `dynamodbav:"state"`
}

func toUserItem(u forgelink.GitLabUser) userItem { return userItem(u) }
func (u userItem) domain() forgelink.GitLabUser  { return forgelink.GitLabUser(u) }

type memberItem struct {
	key
	Type          string    `dynamodbav:"type"`
	Org           string    `dynamodbav:"org"`
	IntegrationID string    `dynamodbav:"integration_id"`
	User          userItem  `dynamodbav:"user"`
	FirstSeenAt   time.Time `dynamodbav:"first_seen_at"`
	LastSeenAt    time.Time `dynamodbav:"last_seen_at"`
}

type sessionItem struct {
	key
	Type          string    `dynamodbav:"type"`
	Hash          string    `dynamodbav:"hash"`
	Kind          string    `dynamodbav:"kind"`
	Org           string    `dynamodbav:"org"`
	IntegrationID string    `dynamodbav:"integration_id"`
	GitLabHost    string    `dynamodbav:"gitlab_host"`
	User          userItem  `dynamodbav:"user"`
	CreatedAt     time.Time `dynamodbav:"created_at"`
	Expires       time.Time `dynamodbav:"expires"`
	ExpiresAt     time.Time `dynamodbav:"expires_at,unixtime"`
}

type tokenItem struct {
	key
	Type      string    `dynamodbav:"type"`
	Hash      string    `dynamodbav:"hash"`
	Org       string    `dynamodbav:"org"`
	Name      string    `dynamodbav:"name"`
	CreatedAt time.Time `dynamodbav:"created_at"`
}

// tokenPointerItem lets bearer auth find a token's org from the hash alone.
type tokenPointerItem struct {
	key
	Type string `dynamodbav:"type"`
	Org  string `dynamodbav:"org"`
}

type adminLinkItem struct {
	key
	Type      string    `dynamodbav:"type"`
	Hash      string    `dynamodbav:"hash"`
	Org       string    `dynamodbav:"org"`
	CreatedAt time.Time `dynamodbav:"created_at"`
	Expires   time.Time `dynamodbav:"expires"`
	ExpiresAt time.Time `dynamodbav:"expires_at,unixtime"`
}

type auditItem struct {
	key
	Type          string    `dynamodbav:"type"`
	Org           string    `dynamodbav:"org"`
	ID            string    `dynamodbav:"id"`
	Time          time.Time `dynamodbav:"time"`
	Actor         string    `dynamodbav:"actor"`
	Action        string    `dynamodbav:"action"`
	IntegrationID string    `dynamodbav:"integration_id"`
	Detail        string    `dynamodbav:"detail"`
}

// utc drops the monotonic reading and zone so times round-trip exactly.
func utc(t time.Time) time.Time { return t.Round(0).UTC() }
