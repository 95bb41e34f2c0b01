package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Items are converted to and from DynamoDB attribute values by hand, through the
// attribute list each item type declares (its attrs method in items.go), instead of with
// feature/dynamodb/attributevalue: that package's reflection encoder and the DynamoDB
// Streams types it links were about 130 KB of every Lambda bootstrap, the margin by which
// the arm64 bootstrap missed its 15 MB budget. The encoding is the one attributevalue
// used, so items written before read the same: strings as S, integers as N, times as
// RFC3339Nano strings (S) or, for expires_at, Unix seconds (N), the user as a map (M).

// attr binds one attribute name to a field of an item, for both directions.
type attr struct {
	name string
	ptr  any // *string, *int64, *time.Time, *unixTime or attributed (a nested map)
}

// unixTime marks a time stored as Unix seconds (N), for DynamoDB's TTL and conditions.
type unixTime struct{ t *time.Time }

// attributed is an item, or a value nested in one, that lists its attributes.
type attributed interface{ attrs() []attr }

// marshalItem returns the attribute values of v.
func marshalItem(v attributed) map[string]types.AttributeValue {
	attrs := v.attrs()
	out := make(map[string]types.AttributeValue, len(attrs))
	for _, a := range attrs {
		switch p := a.ptr.(type) {
		case *string:
			out[a.name] = str(*p)
		case *int64:
			out[a.name] = num(*p)
		case *time.Time:
			out[a.name] = str(p.Format(time.RFC3339Nano))
		case unixTime:
			out[a.name] = num(p.t.Unix())
		case attributed:
			out[a.name] = &types.AttributeValueMemberM{Value: marshalItem(p)}
		default:
			panic(fmt.Sprintf("dynamo: attribute %q of unsupported type %T", a.name, a.ptr))
		}
	}
	return out
}

// unmarshalItem sets the fields of v from item. Missing and NULL attributes leave their
// field as it is (the zero value); an attribute of another type is an error.
func unmarshalItem(item map[string]types.AttributeValue, v attributed) error {
	for _, a := range v.attrs() {
		av, ok := item[a.name]
		if _, null := av.(*types.AttributeValueMemberNULL); !ok || null {
			continue
		}
		if err := unmarshalAttr(av, a.ptr); err != nil {
			return fmt.Errorf("attribute %q: %w", a.name, err)
		}
	}
	return nil
}

func unmarshalAttr(av types.AttributeValue, ptr any) error {
	var err error
	switch p := ptr.(type) {
	case *string:
		s, ok := av.(*types.AttributeValueMemberS)
		if !ok {
			return fmt.Errorf("want a string (S), got %T", av)
		}
		*p = s.Value
	case *int64:
		n, ok := av.(*types.AttributeValueMemberN)
		if !ok {
			return fmt.Errorf("want a number (N), got %T", av)
		}
		*p, err = strconv.ParseInt(n.Value, 10, 64)
	case *time.Time:
		*p, err = timeOf(av)
	case unixTime:
		*p.t, err = timeOf(av)
	case attributed:
		m, ok := av.(*types.AttributeValueMemberM)
		if !ok {
			return fmt.Errorf("want a map (M), got %T", av)
		}
		err = unmarshalItem(m.Value, p)
	default:
		panic(fmt.Sprintf("dynamo: unsupported attribute type %T", ptr))
	}
	return err
}

// timeOf reads a time as attributevalue wrote and read it: an RFC 3339 string or Unix
// seconds.
func timeOf(av types.AttributeValue) (time.Time, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return time.Parse(time.RFC3339, v.Value)
	case *types.AttributeValueMemberN:
		sec, err := strconv.ParseInt(v.Value, 10, 64)
		return time.Unix(sec, 0), err
	}
	return time.Time{}, fmt.Errorf("want a time (S or N), got %T", av)
}
