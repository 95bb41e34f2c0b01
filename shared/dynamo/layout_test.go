package dynamo_test

import (
	"context"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/forgelink/forgelink/shared/dynamo"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/mototest"
	"github.com/forgelink/forgelink/shared/secrets"
	"github.com/forgelink/forgelink/shared/storetest"
)

// TestItemLayout checks the keys DESIGN.md promises and that no client secret reaches the
// table, by reading moto's raw items rather than trusting the store.
func TestItemLayout(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Shared(t)
	cfg := srv.Config(t)
	table := tableName(t)
	clock := storetest.NewClock(storetest.Start)
	st := dynamo.New(dynamodb.NewFromConfig(cfg), table, clock.Now)
	if err := dynamo.EnsureTable(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := dynamo.EnsureTable(ctx, st); err != nil {
		t.Fatalf("EnsureTable on an existing table: %v", err)
	}
	ttl, err := dynamodb.NewFromConfig(cfg).DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err != nil || ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled ||
		aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "expires_at" {
		t.Fatalf("TTL = %+v, %v; want enabled on expires_at", ttl, err)
	}

	const secretValue = "gloas-very-secret-client-secret-value"
	sec := secrets.New(secretsmanager.NewFromConfig(cfg))
	ref, err := sec.PutSecret(ctx, "layout-test/"+table+"/acme/int1", secretValue, map[string]string{"org": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sec.DeleteSecret(context.Background(), ref.ARN) })

	now := clock.Now()
	must(t, st.CreateOrg(ctx, forgelink.Org{Slug: "acme", Name: "Acme"}))
	in, err := st.CreateIntegration(ctx, forgelink.Integration{Org: "acme", ID: "int1", Platform: "gitlab", URL: "https://gitlab.example.com", Status: forgelink.StatusPending})
	must(t, err)
	in.ClientID, in.SecretARN, in.SecretVersion, in.Status = "app", ref.ARN, ref.Version, forgelink.StatusActive
	in.AllowedGroups = []forgelink.GroupRule{{Path: "eng/platform", MinAccessLevel: 30}}
	_, err = st.UpdateIntegration(ctx, in)
	must(t, err)
	must(t, st.TouchIntegration(ctx, "acme", "int1", now, now))
	rule, err := st.CreateAdminRule(ctx, forgelink.AdminRule{Org: "acme", IntegrationID: "int1", Username: "alice"})
	must(t, err)
	must(t, st.PutMember(ctx, forgelink.Member{Org: "acme", IntegrationID: "int1", User: forgelink.GitLabUser{ID: 42, Username: "alice"},
		Role: forgelink.RoleMember, Sessions: []forgelink.MemberSession{{Hash: "sesshash", ExpiresAt: now.Add(time.Hour)}}}))
	must(t, st.CreateAdminToken(ctx, forgelink.AdminToken{Hash: "tokhash", Org: "acme"}))
	must(t, st.CreateSession(ctx, forgelink.Session{Hash: "sesshash", Kind: forgelink.SessionAdmin, Org: "acme", ExpiresAt: now.Add(time.Hour)}))
	must(t, st.CreateAdminLink(ctx, forgelink.AdminLink{Hash: "linkhash", Org: "acme", ExpiresAt: now.Add(10 * time.Minute)}))
	must(t, st.PutAudit(ctx, forgelink.AuditRecord{Org: "acme", Action: forgelink.AuditSignIn}))

	items, err := srv.ScanTable(ctx, table)
	must(t, err)
	keys := map[string]map[string]any{}
	for _, it := range items {
		keys[fmt.Sprint(it["PK"], " ", it["SK"])] = it
		if s := fmt.Sprint(it); strings.Contains(s, secretValue) {
			t.Errorf("client secret stored in DynamoDB item %v", it["PK"])
		}
	}
	for _, k := range []string{
		"ORG#acme META", "ORG#acme INTEGRATION#int1", "ORG#acme MEMBER#int1#42", "ORG#acme TOKEN#tokhash",
		"TOKEN#tokhash META", "SESSION#sesshash META", "ADMINLINK#linkhash META",
		"ORG#acme URL#" + sha256Hex("https://gitlab.example.com"), "ORG#acme ADMINRULE#" + rule.ID,
	} {
		if keys[k] == nil {
			t.Errorf("no item %q; have %v", k, mapKeys(keys))
		}
	}
	if len(items) != 10 {
		t.Errorf("%d items, want 10 (the 9 above and one audit record): %v", len(items), mapKeys(keys))
	}
	for _, k := range []string{"SESSION#sesshash META", "ADMINLINK#linkhash META"} {
		if _, ok := keys[k]["expires_at"].(float64); !ok {
			t.Errorf("%s: expires_at = %#v, want a number (epoch seconds) for TTL", k, keys[k]["expires_at"])
		}
	}
	if got := keys["ADMINLINK#linkhash META"]["expires_at"]; got != float64(now.Add(10*time.Minute).Unix()) {
		t.Errorf("admin link expires_at = %v", got)
	}
	if got, want := keys["ORG#acme INTEGRATION#int1"]["created_at"], now.Format(time.RFC3339Nano); got != want {
		t.Errorf("integration created_at = %#v, want %q (RFC 3339 with nanoseconds, UTC)", got, want)
	}
	if got := keys["ORG#acme INTEGRATION#int1"]["verified_at"]; got != now.Format(time.RFC3339Nano) {
		t.Errorf("integration verified_at = %#v", got)
	}

	checkAttrTypes(t, items)
}

// checkAttrTypes checks every item's attribute names and types (S string, N number, M map),
// by its type attribute: existing tables hold items of this shape, so it must never change.
func checkAttrTypes(t *testing.T, items []map[string]any) {
	t.Helper()
	want := map[string]string{
		"org": "PK:S SK:S created_at:S name:S slug:S type:S",
		"integration": "PK:S SK:S allowed_groups:L[M{min_access_level:N path:S}] ca_bundle:S client_id:S created_at:S id:S " +
			"last_sign_in_at:S name:S not_confidential:bool org:S platform:S secret_arn:S secret_updated_at:S secret_version:S status:S type:S " +
			"updated_at:S url:S verified_at:S version:N",
		"url": "PK:S SK:S integration_id:S type:S",
		"member": "PK:S SK:S first_seen_at:S integration_id:S last_seen_at:S org:S role:S sessions:L[M{expires:S hash:S}] type:S " +
			"user:M{avatar_url:S email:S id:N name:S state:S username:S} version:N",
		"token":         "PK:S SK:S created_at:S hash:S name:S org:S type:S",
		"token-pointer": "PK:S SK:S org:S type:S",
		"session": "PK:S SK:S created_at:S expires:S expires_at:N gitlab_host:S hash:S integration_id:S kind:S " +
			"org:S type:S user:M{avatar_url:S email:S id:N name:S state:S username:S}",
		"adminlink": "PK:S SK:S created_at:S expires:S expires_at:N hash:S org:S type:S",
		"audit":     "PK:S SK:S action:S actor:S detail:S id:S integration_id:S org:S time:S type:S",
		"adminrule": "PK:S SK:S created_at:S group:S id:S integration_id:S min_access_level:N org:S type:S username:S",
	}
	got := map[string]string{}
	for _, it := range items {
		got[fmt.Sprint(it["type"])] = attrTypes(it)
	}
	for typ, w := range want {
		if got[typ] != w {
			t.Errorf("%s item attributes:\n got %s\nwant %s", typ, got[typ], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("item types %v, want those of %v", mapKeys(got), mapKeys(want))
	}
}

// attrTypes lists an item's attribute names, sorted, each with the DynamoDB type that
// ScanTable's plain value stands for.
func attrTypes(item map[string]any) string {
	names := mapKeys(item)
	slices.Sort(names)
	for i, n := range names {
		switch v := item[n].(type) {
		case string:
			names[i] += ":S"
		case float64:
			names[i] += ":N"
		case map[string]any:
			names[i] += ":M{" + attrTypes(v) + "}"
		case []any:
			names[i] += ":L" + listTypes(v)
		default:
			names[i] += fmt.Sprintf(":%T", v)
		}
	}
	return strings.Join(names, " ")
}

// listTypes describes a list's elements by their distinct types: "[M{…}]".
func listTypes(list []any) string {
	var seen []string
	for _, v := range list {
		d := strings.TrimPrefix(attrTypes(map[string]any{"": v}), ":")
		if !slices.Contains(seen, d) {
			seen = append(seen, d)
		}
	}
	return "[" + strings.Join(seen, " ") + "]"
}

// TestUnavailable checks that throttling, 5xx and connection failures become EUNAVAILABLE
// with a Retry-After and a message that says nothing about internals.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"throughput", 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`},
		{"throttling", 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}`},
		{"request limit", 400, `{"__type":"com.amazonaws.dynamodb.v20120810#RequestLimitExceeded","message":"slow down"}`},
		{"internal", 500, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"oops"}`},
		{"bad gateway", 502, `<html>bad gateway</html>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(tc.body))), 10))
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer fake.Close()
			wantUnavailable(t, storeAt(t, fake.URL))
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		fake := httptest.NewServer(http.NotFoundHandler())
		fake.Close()
		wantUnavailable(t, storeAt(t, fake.URL))
	})
	t.Run("deadline", func(t *testing.T) {
		release := make(chan struct{})
		fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer fake.Close()
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := storeAt(t, fake.URL).GetOrg(ctx, "acme")
		checkUnavailable(t, err)
	})
	t.Run("missing table", func(t *testing.T) {
		cfg := mototest.Shared(t).Config(t)
		st := dynamo.New(dynamodb.NewFromConfig(cfg), "no-such-table-"+tableName(t), nil)
		wantUnavailable(t, st)
	})
}

func storeAt(t *testing.T, url string) *dynamo.Store {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"), config.WithBaseEndpoint(url), config.WithRetryMaxAttempts(1),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, nil
		})))
	must(t, err)
	return dynamo.New(dynamodb.NewFromConfig(cfg), "forgelink", nil)
}

func wantUnavailable(t *testing.T, st *dynamo.Store) {
	t.Helper()
	ctx := context.Background()
	_, err := st.GetOrg(ctx, "acme")
	checkUnavailable(t, err)
	checkUnavailable(t, st.CreateOrg(ctx, forgelink.Org{Slug: "acme"}))
	_, err = st.CreateIntegration(ctx, forgelink.Integration{Org: "acme", ID: "i", URL: "https://g.example.com"})
	checkUnavailable(t, err)
	_, err = st.ListIntegrations(ctx, "acme")
	checkUnavailable(t, err)
	_, err = st.ConsumeAdminLink(ctx, "acme", "h")
	checkUnavailable(t, err)
}

func checkUnavailable(t *testing.T, err error) {
	t.Helper()
	var fe *forgelink.Error
	if forgelink.ErrorCode(err) != forgelink.EUNAVAILABLE || !asError(err, &fe) || fe.RetryAfter <= 0 {
		t.Fatalf("err = %v, want EUNAVAILABLE with RetryAfter", err)
	}
	if msg := forgelink.ErrorMessage(err); strings.Contains(msg, "dynamodb") || strings.Contains(msg, "Exception") {
		t.Fatalf("user message leaks internals: %q", msg)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
