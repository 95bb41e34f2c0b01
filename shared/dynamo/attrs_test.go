package dynamo

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestAttrsEncoding pins the hand-written encoding to the one attributevalue used (items
// written by earlier versions must read the same), and checks the round trip.
func TestAttrsEncoding(t *testing.T) {
	created := time.Date(2026, 11, 25, 13, 4, 5, 120000000, time.UTC)
	in := sessionItem{
		key: key{"SESSION#h", "META"}, Type: "session", Hash: "h", Kind: "member", Org: "acme",
		IntegrationID: "i1", GitLabHost: "gitlab.example.com",
		User:      userItem{ID: 42, Username: "alice", Name: "Alice", Email: "", AvatarURL: "https://a/x.png", State: "active"},
		CreatedAt: created, Expires: created.Add(time.Hour), ExpiresAt: created.Add(time.Hour).Truncate(time.Second),
	}
	got := marshalItem(&in)
	// What attributevalue.MarshalMap made of the same item with the dynamodbav tags.
	want, err := attributevalue.MarshalMap(map[string]any{
		"PK": "SESSION#h", "SK": "META", "type": "session", "hash": "h", "kind": "member", "org": "acme",
		"integration_id": "i1", "gitlab_host": "gitlab.example.com",
		"user": map[string]any{"id": int64(42), "username": "alice", "name": "Alice", "email": "",
			"avatar_url": "https://a/x.png", "state": "active"},
		"created_at": "2026-11-25T13:04:05.12Z", "expires": "2026-11-25T14:04:05.12Z",
		"expires_at": created.Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("marshalItem =\n%#v\nwant\n%#v", got, want)
	}
	var out sessionItem
	if err := unmarshalItem(got, &out); err != nil {
		t.Fatal(err)
	}
	out.ExpiresAt = out.ExpiresAt.UTC()
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
	bad := marshalItem(&in)
	bad["created_at"] = &types.AttributeValueMemberN{Value: "x"}
	if err := unmarshalItem(bad, &out); err == nil {
		t.Error("unmarshalItem accepted a malformed time")
	}
}
