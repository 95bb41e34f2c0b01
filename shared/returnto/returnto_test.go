package returnto

import (
	"net/url"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"/", true},
		{"/orgs/acme", true},
		{"/orgs/acme?x=1", true},
		{"/orgs/acme?next=https://evil.example", true}, // a query value is just data
		{"/orgs/acme#top", true},
		{"/orgs/acme/caf%C3%A9", true},
		{"/a%20b", false}, // a decoded space
		{"/orgs/a:b", true},

		{"", false},
		{"orgs/acme", false},
		{"//evil.example", false},
		{"///evil.example", false},
		{`/\evil.example`, false},
		{`\\evil.example`, false},
		{`/orgs\acme`, false},
		{"https://evil.example", false},
		{"http:/evil.example", false},
		{"javascript:alert(1)", false},
		{"JavaScript:alert(1)", false},
		{"data:text/html,hi", false},
		{"/%2F%2Fevil.example", false},
		{"/%2f/evil.example", false},
		{"/%5Cevil.example", false},
		{"/%5cevil.example", false},
		{"/%252F%252Fevil.example", false}, // double-encoded
		{"/%25252F%25252Fevil", false},     // triple-encoded
		{"/%2525252Fx", false},             // still decoding after 3 rounds
		{"/\tevil.example", false},
		{"/\t/evil.example", false},
		{"/%09/evil.example", false},
		{"/\n/evil", false},
		{"/%0d%0aSet-Cookie:x", false},
		{"/a//b", false},
		{"/%zz", false},
		{" /orgs", false},
		{"/\u00a0/evil", false},
		{"/\xff", false},
		{"/" + strings.Repeat("a", MaxLength), false},
		{"/" + strings.Repeat("a", MaxLength-1), true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Clean(tt.in)
			if ok != tt.ok {
				t.Fatalf("Clean(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
			if ok && got != tt.in {
				t.Errorf("Clean(%q) = %q, want it unchanged", tt.in, got)
			}
			if !ok && got != "" {
				t.Errorf("Clean(%q) refused but returned %q", tt.in, got)
			}
		})
	}
}

// FuzzClean checks the property that matters: whatever Clean accepts stays on our origin,
// in Go's parser and when a browser resolves it against the app's base URL.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"/orgs/acme?x=1", "//evil", `/\evil`, "/%2F%2Fevil", "/\t/evil", "https://evil"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/orgs/acme/login/x")
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := Clean(raw)
		if !ok {
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", got, err)
		}
		if u.Scheme != "" || u.Host != "" || u.User != nil {
			t.Fatalf("accepted %q with scheme %q host %q", got, u.Scheme, u.Host)
		}
		if r := base.ResolveReference(u); r.Host != "app.example" || r.Scheme != "https" {
			t.Fatalf("accepted %q resolves to %s", got, r)
		}
		// A browser also treats \ as / and drops tabs and newlines before resolving.
		b := strings.NewReplacer(`\`, "/", "\t", "", "\n", "", "\r", "").Replace(got)
		if strings.HasPrefix(b, "//") {
			t.Fatalf("accepted %q, which a browser reads as %q", got, b)
		}
	})
}
