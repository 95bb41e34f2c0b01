package dynamo

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

var (
	t0   = time.Date(2026, 11, 25, 13, 4, 5, 120000000, time.UTC)
	t0S  = "2026-11-25T13:04:05.12Z"
	t1   = t0.Add(time.Hour)
	t1S  = "2026-11-25T14:04:05.12Z"
	user = forgelink.GitLabUser{ID: 42, Username: "alice", Name: "Alice", Email: "a@example.com", AvatarURL: "https://a/x.png", State: "active"}
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

var userAV = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
	"id": n("42"), "username": s("alice"), "name": s("Alice"), "email": s("a@example.com"),
	"avatar_url": s("https://a/x.png"), "state": s("active"),
}}

// codecCase is one item: what the store writes for a domain value, and the domain value it
// reads back.
type codecCase[D any] struct {
	domain D
	item   func(D) any
	read   func(map[string]types.AttributeValue) (D, error)
	want   map[string]types.AttributeValue
}

func readAs[T interface{ domain() D }, D any](raw map[string]types.AttributeValue) (D, error) {
	it, err := unmarshal[T](raw)
	return it.domain(), err
}

func (c codecCase[D]) run(t *testing.T) {
	t.Helper()
	got, err := marshal(c.item(c.domain))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c.want) {
		t.Errorf("marshal =\n%#v\nwant\n%#v", got, c.want)
	}
	back, err := c.read(c.want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c.domain) {
		t.Errorf("read back %+v, want %+v", back, c.domain)
	}
}

// TestItemCodec pins every item to its attributes, exactly as items have always been
// written (so existing tables read the same), and checks the way back to the domain.
func TestItemCodec(t *testing.T) {
	t.Run("org", codecCase[forgelink.Org]{
		domain: forgelink.Org{Slug: "acme", Name: "Acme", CreatedAt: t0},
		item:   func(o forgelink.Org) any { return newOrgItem(o) },
		read:   readAs[orgItem],
		want: map[string]types.AttributeValue{"PK": s("ORG#acme"), "SK": s("META"), "type": s("org"),
			"slug": s("acme"), "name": s("Acme"), "created_at": s(t0S)},
	}.run)
	t.Run("integration", codecCase[forgelink.Integration]{
		domain: forgelink.Integration{Org: "acme", ID: "i1", Platform: "gitlab", Name: "GL", URL: "https://g.example.com",
			ClientID: "cid", SecretARN: "arn:s", SecretVersion: "v1", SecretUpdatedAt: t1, CABundle: "PEM",
			Status: forgelink.StatusActive, NotConfidential: true, Version: 7, CreatedAt: t0, UpdatedAt: t1,
			AllowedGroups: []forgelink.GroupRule{{Path: "eng/platform", MinAccessLevel: 30}, {Path: "ops", MinAccessLevel: 10}},
			VerifiedAt:    t1, LastSignInAt: t0},
		item: func(in forgelink.Integration) any { return newIntegrationItem(in) },
		read: readAs[integrationItem],
		want: map[string]types.AttributeValue{"PK": s("ORG#acme"), "SK": s("INTEGRATION#i1"), "type": s("integration"),
			"org": s("acme"), "id": s("i1"), "platform": s("gitlab"), "name": s("GL"), "url": s("https://g.example.com"),
			"client_id": s("cid"), "secret_arn": s("arn:s"), "secret_version": s("v1"), "secret_updated_at": s(t1S),
			"ca_bundle": s("PEM"), "status": s("active"), "not_confidential": &types.AttributeValueMemberBOOL{Value: true},
			"version": n("7"), "created_at": s(t0S), "updated_at": s(t1S),
			"allowed_groups": &types.AttributeValueMemberL{Value: []types.AttributeValue{
				&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"path": s("eng/platform"), "min_access_level": n("30")}},
				&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"path": s("ops"), "min_access_level": n("10")}},
			}},
			"verified_at": s(t1S), "last_sign_in_at": s(t0S)},
	}.run)
	t.Run("admin rule", codecCase[forgelink.AdminRule]{
		domain: forgelink.AdminRule{Org: "acme", ID: "r1", IntegrationID: "i1", Group: "eng", MinAccessLevel: 40, CreatedAt: t0},
		item:   func(r forgelink.AdminRule) any { return newAdminRuleItem(r) },
		read:   readAs[adminRuleItem],
		want: map[string]types.AttributeValue{"PK": s("ORG#acme"), "SK": s("ADMINRULE#r1"), "type": s("adminrule"),
			"org": s("acme"), "id": s("r1"), "integration_id": s("i1"), "username": s(""), "group": s("eng"),
			"min_access_level": n("40"), "created_at": s(t0S)},
	}.run)
	t.Run("member", codecCase[forgelink.Member]{
		domain: forgelink.Member{Org: "acme", IntegrationID: "i1", User: user, Role: "admin",
			Sessions: []forgelink.MemberSession{{Hash: "h", ExpiresAt: t1}}, FirstSeenAt: t0, LastSeenAt: t1, Version: 3},
		item: func(m forgelink.Member) any { return newMemberItem(m) },
		read: readAs[memberItem],
		want: map[string]types.AttributeValue{"PK": s("ORG#acme"), "SK": s("MEMBER#i1#42"), "type": s("member"),
			"org": s("acme"), "integration_id": s("i1"), "user": userAV, "role": s("admin"),
			"sessions": &types.AttributeValueMemberL{Value: []types.AttributeValue{
				&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"hash": s("h"), "expires": s(t1S)}},
			}},
			"first_seen_at": s(t0S), "last_seen_at": s(t1S), "version": n("3")},
	}.run)
	t.Run("session", codecCase[forgelink.Session]{
		domain: forgelink.Session{Hash: "h", Kind: forgelink.SessionMember, Org: "acme", IntegrationID: "i1",
			GitLabHost: "g.example.com", User: user, CreatedAt: t0, ExpiresAt: t1},
		item: func(v forgelink.Session) any { return newSessionItem(v) },
		read: readAs[sessionItem],
		want: map[string]types.AttributeValue{"PK": s("SESSION#h"), "SK": s("META"), "type": s("session"),
			"hash": s("h"), "kind": s("member"), "org": s("acme"), "integration_id": s("i1"), "gitlab_host": s("g.example.com"),
			"user": userAV, "created_at": s(t0S), "expires": s(t1S), "expires_at": n("1795615445")},
	}.run)
	t.Run("admin token", codecCase[forgelink.AdminToken]{
		domain: forgelink.AdminToken{Hash: "h", Org: "acme", Name: "ci", CreatedAt: t0},
		item:   func(v forgelink.AdminToken) any { return newTokenItem(v) },
		read:   readAs[tokenItem],
		want: map[string]types.AttributeValue{"PK": s("ORG#acme"), "SK": s("TOKEN#h"), "type": s("token"),
			"hash": s("h"), "org": s("acme"), "name": s("ci"), "created_at": s(t0S)},
	}.run)
	t.Run("admin link", codecCase[forgelink.AdminLink]{
		domain: forgelink.AdminLink{Hash: "h", Org: "acme", CreatedAt: t0, ExpiresAt: t1},
		item:   func(v forgelink.AdminLink) any { return newAdminLinkItem(v) },
		read:   readAs[adminLinkItem],
		want: map[string]types.AttributeValue{"PK": s("ADMINLINK#h"), "SK": s("META"), "type": s("adminlink"),
			"hash": s("h"), "org": s("acme"), "created_at": s(t0S), "expires": s(t1S), "expires_at": n("1795615445")},
	}.run)
	t.Run("audit", codecCase[forgelink.AuditRecord]{
		domain: forgelink.AuditRecord{Org: "acme", ID: "2026#ab", Time: t0, Actor: "operator",
			Action: forgelink.AuditSignIn, IntegrationID: "i1", Detail: "d"},
		item: func(v forgelink.AuditRecord) any { return newAuditItem(v) },
		read: readAs[auditItem],
		want: map[string]types.AttributeValue{"PK": s("ORG#acme"), "SK": s("AUDIT#2026#ab"), "type": s("audit"),
			"org": s("acme"), "id": s("2026#ab"), "time": s(t0S), "actor": s("operator"), "action": s("member.signed_in"),
			"integration_id": s("i1"), "detail": s("d")},
	}.run)
}

// TestItemCodecEdges covers what the table may hold besides the items above.
func TestItemCodecEdges(t *testing.T) {
	t.Run("pointer items", func(t *testing.T) {
		got, err := marshal(urlClaimItem{key{"ORG#acme", "URL#x"}, "url", "i1"})
		want := map[string]types.AttributeValue{"PK": s("ORG#acme"), "SK": s("URL#x"), "type": s("url"), "integration_id": s("i1")}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("url claim = %#v, %v", got, err)
		}
		got, err = marshal(tokenPointerItem{key{"TOKEN#h", "META"}, "token-pointer", "acme"})
		want = map[string]types.AttributeValue{"PK": s("TOKEN#h"), "SK": s("META"), "type": s("token-pointer"), "org": s("acme")}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("token pointer = %#v, %v", got, err)
		}
	})
	t.Run("times are stored in UTC", func(t *testing.T) {
		east := time.FixedZone("east", 2*3600)
		got, err := marshal(newOrgItem(forgelink.Org{Slug: "acme", CreatedAt: t0.In(east)}))
		if err != nil || !reflect.DeepEqual(got["created_at"], s(t0S)) {
			t.Errorf("created_at = %#v, %v; want %q", got["created_at"], err, t0S)
		}
	})
	t.Run("zero values", func(t *testing.T) {
		got, err := marshal(newOrgItem(forgelink.Org{Slug: "acme"}))
		if err != nil || !reflect.DeepEqual(got["created_at"], s("0001-01-01T00:00:00Z")) || !reflect.DeepEqual(got["name"], s("")) {
			t.Errorf("zero org = %#v, %v", got, err)
		}
	})
	t.Run("missing and NULL attributes read as zero", func(t *testing.T) {
		o, err := readAs[orgItem](map[string]types.AttributeValue{"slug": s("acme"),
			"name": &types.AttributeValueMemberNULL{Value: true}})
		if err != nil || o != (forgelink.Org{Slug: "acme"}) {
			t.Errorf("read %+v, %v", o, err)
		}
	})
	t.Run("integration without allowed groups", func(t *testing.T) {
		got, err := marshal(newIntegrationItem(forgelink.Integration{Org: "acme", ID: "i1"}))
		if err != nil || !reflect.DeepEqual(got["allowed_groups"], &types.AttributeValueMemberL{Value: []types.AttributeValue{}}) {
			t.Errorf("allowed_groups = %#v, %v; want an empty list (UpdateIntegration sets it)", got["allowed_groups"], err)
		}
		// Items written before allowed_groups existed read as "no restriction", and those
		// from before not_confidential as "no warning".
		in, err := readAs[integrationItem](map[string]types.AttributeValue{"id": s("i1")})
		if err != nil || in.AllowedGroups != nil || !in.VerifiedAt.IsZero() || in.NotConfidential {
			t.Errorf("old item read as %+v, %v", in, err)
		}
	})
	t.Run("malformed time", func(t *testing.T) {
		_, err := readAs[orgItem](map[string]types.AttributeValue{"created_at": n("x")})
		if forgelink.ErrorCode(err) != forgelink.EINTERNAL {
			t.Errorf("err = %v, want EINTERNAL", err)
		}
	})
}

// BenchmarkIntegrationItem is marshal plus unmarshal of one integration item with
// attributevalue, to compare with a network round trip (informational).
func BenchmarkIntegrationItem(b *testing.B) {
	in := forgelink.Integration{Org: "acme", ID: "i1", Platform: "gitlab", Name: "GL", URL: "https://g.example.com",
		ClientID: "cid", SecretARN: "arn:s", SecretVersion: "v1", SecretUpdatedAt: t1, CABundle: "PEM",
		Status: forgelink.StatusActive, Version: 7, CreatedAt: t0, UpdatedAt: t1}
	b.ReportAllocs()
	for b.Loop() {
		av, err := marshal(newIntegrationItem(in))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := unmarshal[integrationItem](av); err != nil {
			b.Fatal(err)
		}
	}
}
