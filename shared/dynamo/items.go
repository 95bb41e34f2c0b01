package dynamo

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Items. Each noun's file declares its item struct, whose dynamodbav tags are the table's
// layout (DESIGN.md, "Data"; layout_test.go and items_test.go pin it): the key, a type
// attribute and the fields of the domain type. Those sit in an embedded struct with
// exactly the domain type's fields (orgAttrs for forgelink.Org, and so on), so the two
// convert into each other with a plain conversion, and a field added to the domain breaks
// the build here until it has an attribute. Members and sessions store their user as a
// userItem; sessions and admin links add expires_at.
//
// attributevalue encodes strings as S, integers as N, structs as M and times as
// RFC3339Nano strings (S), or, tagged unixtime, as Unix seconds (N) for DynamoDB's TTL
// and for condition expressions.

// Keys of the single table, as DESIGN.md ("Data") lays them out.
const skMeta = "META"

func orgPK(org string) string { return "ORG#" + org }

type key struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
}

// userItem is a forgelink.GitLabUser, nested in member and session items as a map.
// forgelink.GitLabUser's json tags are GitLab's; these are ours.
type userItem struct {
	ID        int64  `dynamodbav:"id"`
	Username  string `dynamodbav:"username"`
	Name      string `dynamodbav:"name"`
	Email     string `dynamodbav:"email"`
	AvatarURL string `dynamodbav:"avatar_url"`
	State     string `dynamodbav:"state"`
}

// marshal returns the attributes of an item struct.
func marshal(item any) (map[string]types.AttributeValue, error) {
	av, err := attributevalue.MarshalMapWithOptions(item, timesInUTC)
	if err != nil {
		return nil, corrupt(err)
	}
	return av, nil
}

// timesInUTC stores every time in UTC, so that items read back exactly as written.
func timesInUTC(o *attributevalue.EncoderOptions) {
	o.EncodeTime = func(t time.Time) (types.AttributeValue, error) {
		return &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}, nil
	}
}

// unmarshal reads an item. Missing and NULL attributes leave their field zero; an
// attribute of the wrong type is an error.
func unmarshal[T any](raw map[string]types.AttributeValue) (T, error) {
	var it T
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return it, corrupt(err)
	}
	return it, nil
}

// corrupt reports an item that does not fit its struct: a bug or a damaged item, never
// the user's fault.
func corrupt(err error) error {
	return forgelink.Wrap(forgelink.EINTERNAL, err, "Something went wrong on our side. Please try again.")
}

// utc drops the monotonic reading and zone: the time as it reads back from the table.
func utc(t time.Time) time.Time { return t.Round(0).UTC() }

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
