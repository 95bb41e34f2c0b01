package web

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// FuzzUnmarshalStrict: a request body is either refused as EMALFORMED with a message of
// our own, or it has no key twice (at any depth) and every field it set was spelt
// exactly as its tag.
func FuzzUnmarshalStrict(f *testing.F) {
	for _, s := range []string{
		`{"name":"a"}`, `{"name":"a","name":"b"}`, `{"Name":"a"}`, `{"NAME":"a","name":"b"}`,
		`{"allowed_groups":[{"path":"eng","path":"ops"}]}`, `{"client_id":1}`, `{"version":"1"}`,
		`{"url":"https://x","platform":"gitlab","ca_bundle":null}`, `{"name":"\u00e9"}`, `{"a":{"b":{"b":1,"b":2}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req integrationRequest
		err := unmarshalStrict(body, &req)
		if err != nil {
			if forgelink.ErrorCode(err) != forgelink.EMALFORMED {
				t.Fatalf("code %q for %q", forgelink.ErrorCode(err), body)
			}
			if msg := forgelink.ErrorMessage(err); strings.Contains(msg, "json:") || strings.Contains(msg, "jsontext") {
				t.Errorf("message shows the parser: %q", msg)
			}
			return
		}
		if _, err := jsontext.NewDecoder(bytes.NewReader(body)).ReadValue(); err != nil {
			t.Fatalf("accepted a body with duplicate names or bad syntax: %q (%v)", body, err)
		}
		for tag, set := range map[string]bool{
			"platform": req.Platform != nil, "url": req.URL != nil, "name": req.Name != nil,
			"client_id": req.ClientID != nil, "client_secret": req.ClientSecret != nil,
			"ca_bundle": req.CABundle != nil, "version": req.Version != nil, "allowed_groups": req.AllowedGroups != nil,
		} {
			if set && !bytes.Contains(body, []byte(`"`+tag+`"`)) && !bytes.Contains(body, []byte(`\u`)) {
				t.Errorf("%s set by a body without the exact key: %q", tag, body)
			}
		}
	})
}
