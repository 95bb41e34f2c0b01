package netguard

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/forgelink"
)

func testPolicy() Policy {
	return Policy{
		AllowHosts: []string{"127.0.0.1:8929", "localhost:8929"},
		Resolver: fakeResolver{
			"evil.test":       {"127.0.0.1"},
			"meta.test":       {"169.254.169.254"},
			"mixed.test":      {"127.0.0.1", "93.184.215.14"},
			"intranet.test":   {"10.2.3.4"},
			"gitlab.example":  {"93.184.215.14"},
			"v6only.test":     {"::1"},
			"mapped.test":     {"::ffff:127.0.0.1"},
			"gitlab.internal": {"192.168.10.5"},
		},
	}
}

func TestValidateGitLabURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // normalised; "" when refused
		msg  string // part of the field message when refused
	}{
		// Accepted and normalised.
		{"plain", "https://gitlab.example.com", "https://gitlab.example.com", ""},
		{"upper case", "HTTPS://GitLab.Example.COM/", "https://gitlab.example.com", ""},
		{"default port", "https://gitlab.example.com:443/", "https://gitlab.example.com", ""},
		{"other port", "https://gitlab.example.com:8443", "https://gitlab.example.com:8443", ""},
		{"path prefix", "https://example.com/gitlab", "https://example.com/gitlab", ""},
		{"path trailing slashes", "https://example.com/gitlab///", "https://example.com/gitlab", ""},
		{"path dot segments", "https://example.com/./a//b/", "https://example.com/a/b", ""},
		{"surrounding space", "  https://gitlab.example.com\n", "https://gitlab.example.com", ""},
		{"root dot", "https://gitlab.example.com./", "https://gitlab.example.com", ""},
		{"resolves public", "https://gitlab.example", "https://gitlab.example", ""},
		{"resolves mixed", "https://mixed.test", "https://mixed.test", ""},
		{"unresolvable", "https://no-such-host.invalid", "https://no-such-host.invalid", ""},
		{"public IPv4", "https://8.8.8.8", "https://8.8.8.8", ""},
		{"public IPv4 decimal", "https://134744072/", "https://8.8.8.8", ""},
		{"public IPv6", "https://[2606:4700:4700::1111]:8443", "https://[2606:4700:4700::1111]:8443", ""},
		{"allow-listed http IP", "http://127.0.0.1:8929", "http://127.0.0.1:8929", ""},
		{"allow-listed localhost", "http://localhost:8929/", "http://localhost:8929", ""},
		{"allow-listed https", "https://127.0.0.1:8929/gitlab", "https://127.0.0.1:8929/gitlab", ""},

		// Shape.
		{"empty", "", "", "is required"},
		{"blank", "   ", "", "is required"},
		{"too long", "https://example.com/" + strings.Repeat("a", 2048), "", "at most 2048"},
		{"relative", "gitlab.example.com", "", "absolute http(s) URL"},
		{"no host", "https:///path", "", "absolute http(s) URL"},
		{"opaque", "https:gitlab.example.com", "", "absolute http(s) URL"},
		{"ftp", "ftp://gitlab.example.com", "", "absolute http(s) URL"},
		{"javascript", "javascript:alert(1)", "", "absolute http(s) URL"},
		{"http", "http://gitlab.example.com", "", "must use https"},
		{"http not allow-listed port", "http://127.0.0.1:8930", "", "must use https"},
		{"userinfo", "https://user:pass@gitlab.example.com", "", "user name or password"},
		{"user only", "https://user@gitlab.example.com", "", "user name or password"},
		{"query", "https://gitlab.example.com/?a=b", "", "query"},
		{"bare query", "https://gitlab.example.com?", "", "query"},
		{"fragment", "https://gitlab.example.com/#x", "", "fragment"},
		{"bare fragment", "https://gitlab.example.com#", "", "fragment"},
		{"dotdot", "https://example.com/a/../b", "", ".. segments"},
		{"encoded dotdot", "https://example.com/a/%2e%2e/b", "", "path may contain only"},
		{"encoded slash", "https://example.com/a%2fb", "", "path may contain only"},
		{"backslash", `https://example.com\@evil.com`, "", "backslash"},
		{"space", "https://example.com/a b", "", "spaces"},
		{"tab", "https://example.com/a\tb", "", "spaces"},
		{"control", "https://example.com/a\x00", "", "control"},
		{"bad port", "https://example.com:99999", "", "invalid port"},
		{"empty port", "https://example.com:/", "", "empty port"},
		{"bad host", "https://exa$mple.com", "", "invalid host name"},
		{"bad label", "https://-example.com", "", "invalid host name"},
		{"numeric tld", "https://1.2.3.999", "", "invalid IP"},
		{"idn", "https://bücher.example", "", "xn--"},

		// localhost and loopback in every form.
		{"localhost", "https://localhost", "", "localhost"},
		{"localhost port", "https://localhost:8443", "", "localhost"},
		{"sub localhost", "https://gitlab.localhost", "", "localhost"},
		{"LOCALHOST", "https://LOCALHOST.", "", "localhost"},
		{"loopback", "https://127.0.0.1", "", "loopback"},
		{"decimal", "https://2130706433", "", "loopback"},
		{"octal", "https://0177.0.0.1", "", "loopback"},
		{"hex", "https://0x7f.1", "", "loopback"},
		{"hex full", "https://0x7f000001", "", "loopback"},
		{"short", "https://127.1", "", "loopback"},
		{"mixed", "https://0x7f.0.01", "", "loopback"},
		{"v6 loopback", "https://[::1]", "", "loopback"},
		{"v6 mapped", "https://[::ffff:127.0.0.1]", "", "loopback"},
		{"v6 mapped hex", "https://[::ffff:7f00:1]", "", "loopback"},
		{"v6 zone", "https://[fe80::1%25eth0]", "", "zone"},
		{"nat64", "https://[64:ff9b::7f00:1]", "", "loopback"},
		{"6to4", "https://[2002:7f00:1::]", "", "loopback"},
		{"metadata", "https://169.254.169.254", "", "metadata"},
		{"metadata decimal", "https://2852039166/latest", "", "metadata"},
		{"private 10", "https://10.0.0.1", "", "private"},
		{"private 192", "https://192.168.0.1", "", "private"},
		{"cgnat", "https://100.64.0.1", "", "CGNAT"},
		{"unspecified", "https://0.0.0.0", "", "unspecified"},
		{"zero", "https://0", "", "unspecified"},
		{"broadcast", "https://255.255.255.255", "", "broadcast"},
		{"multicast", "https://224.0.0.1", "", "multicast"},
		{"ula", "https://[fd00::1]", "", "unique local"},
		{"link-local v6", "https://[fe80::1]", "", "link-local"},

		// Names resolving only to refused addresses.
		{"evil name", "https://evil.test", "", "resolves to an address that is not allowed"},
		{"metadata name", "https://meta.test", "", "resolves to an address that is not allowed"},
		{"v6 only name", "https://v6only.test", "", "resolves to an address that is not allowed"},
		{"mapped name", "https://mapped.test", "", "resolves to an address that is not allowed"},
		{"private name", "https://intranet.test", "", "resolves to an address that is not allowed"},
	}
	p := testPolicy()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.ValidateGitLabURL(context.Background(), tt.in)
			if tt.want != "" {
				if err != nil {
					t.Fatalf("ValidateGitLabURL(%q): %v", tt.in, err)
				}
				if got != tt.want {
					t.Errorf("ValidateGitLabURL(%q) = %q, want %q", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateGitLabURL(%q) = %q, want refusal %q", tt.in, got, tt.msg)
			}
			if code := forgelink.ErrorCode(err); code != forgelink.EINVALID {
				t.Errorf("code = %q, want %q", code, forgelink.EINVALID)
			}
			if msg := forgelink.ErrorFields(err)["url"]; !strings.Contains(msg, tt.msg) {
				t.Errorf("fields.url = %q, want it to contain %q", msg, tt.msg)
			}
		})
	}
}

// TestValidateGitLabURLDoesNotEchoAddresses: the field message of a refused URL tells the
// admin why, but never the address a name resolved to (that would let anyone map internal
// DNS through the settings form).
func TestValidateGitLabURLDoesNotEchoAddresses(t *testing.T) {
	p := testPolicy()
	for _, tt := range []struct{ in, hidden, want string }{
		{"https://evil.test", "127.0.0.1", "resolves to an address that is not allowed"},
		{"https://meta.test", "169.254.169.254", "resolves to an address that is not allowed"},
		{"https://intranet.test", "10.2.3.4", "resolves to an address that is not allowed"},
		{"https://mapped.test", "::ffff:127.0.0.1", "resolves to an address that is not allowed"},
		{"https://v6only.test", "::1", "resolves to an address that is not allowed"},
		{"https://2130706433", "127.0.0.1", "points at an address that is not allowed"},
		{"https://0x7f.1", "127.0.0.1", "points at an address that is not allowed"},
		{"https://[::ffff:7f00:1]", "127.0.0.1", "points at an address that is not allowed"},
	} {
		_, err := p.ValidateGitLabURL(context.Background(), tt.in)
		msg := forgelink.ErrorFields(err)["url"]
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s: fields.url = %q, want it to contain %q", tt.in, msg, tt.want)
		}
		if strings.Contains(msg, tt.hidden) || strings.Contains(forgelink.ErrorMessage(err), tt.hidden) {
			t.Errorf("%s: message %q echoes the address %s", tt.in, msg, tt.hidden)
		}
		// A name's message names no kind of range either: that would say what it resolves to.
		if strings.HasPrefix(msg, "resolves") && strings.Contains(msg, "(") {
			t.Errorf("%s: message %q tells the kind of address the name resolves to", tt.in, msg)
		}
	}
}

func TestValidateGitLabURLAllowNetworks(t *testing.T) {
	p := testPolicy()
	p.AllowNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")}
	for _, ok := range []string{"https://10.1.2.3", "https://intranet.test", "https://gitlab.internal/gitlab", "https://012.1"} {
		if _, err := p.ValidateGitLabURL(context.Background(), ok); err != nil {
			t.Errorf("ValidateGitLabURL(%q) with 10/8 allowed: %v", ok, err)
		}
	}
	for _, bad := range []string{"https://127.0.0.1", "https://169.254.169.254", "https://evil.test", "https://172.16.0.1", "http://10.1.2.3"} {
		if _, err := p.ValidateGitLabURL(context.Background(), bad); err == nil {
			t.Errorf("ValidateGitLabURL(%q) accepted with 10/8 allowed", bad)
		}
	}
}

// FuzzValidateGitLabURL checks that whatever is accepted is a normalised https (or
// allow-listed) URL without userinfo, query or fragment, and that normalising is stable.
func FuzzValidateGitLabURL(f *testing.F) {
	for _, s := range []string{
		"https://gitlab.example.com", "https://example.com/gitlab/", "http://127.0.0.1:8929",
		"https://0x7f.1", "https://[::ffff:127.0.0.1]", "https://a@b", "https://x/%2e%2e",
	} {
		f.Add(s)
	}
	p := testPolicy()
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := p.ValidateGitLabURL(context.Background(), raw)
		if err != nil {
			if forgelink.ErrorCode(err) != forgelink.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		u, perr := url.Parse(got)
		if perr != nil {
			t.Fatalf("accepted %q normalised to unparsable %q: %v", raw, got, perr)
		}
		if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Host == "" {
			t.Fatalf("accepted %q normalised to %q with userinfo/query/fragment or no host", raw, got)
		}
		if strings.HasSuffix(got, "/") || slices.Contains(strings.Split(u.Path, "/"), "..") {
			t.Fatalf("accepted %q normalised to %q with a trailing slash or ..", raw, got)
		}
		allowed := p.hostAllowed(u.Host) || p.hostAllowed(u.Host+":443")
		if u.Scheme != "https" && !allowed {
			t.Fatalf("accepted non-https %q", raw)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && !allowed {
			if err := p.CheckAddr(a); err != nil {
				t.Fatalf("accepted %q with a refused address: %v", raw, err)
			}
		}
		again, err := p.ValidateGitLabURL(context.Background(), got)
		if err != nil || again != got {
			t.Fatalf("normalised %q → %q, re-validated to %q, %v", raw, got, again, err)
		}
	})
}

func BenchmarkValidateGitLabURL(b *testing.B) {
	p := Policy{}
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.ValidateGitLabURL(ctx, "https://93.184.215.14:8443/gitlab/"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValidateGitLabURLGatesLookups: the gate runs before every DNS look-up and only
// then; its refusal stops the look-up and comes back as is.
func TestValidateGitLabURLGatesLookups(t *testing.T) {
	p := testPolicy()
	refused := errors.New("probe limit")
	for _, tt := range []struct {
		in     string
		called bool
	}{
		{"https://gitlab.example.com", true},
		{"https://intranet.test", true},
		{"https://8.8.8.8", false},
		{"https://127.0.0.1", false},
		{"http://gitlab.example.com", false},
		{"https://localhost", false},
	} {
		called := false
		_, err := p.ValidateGitLabURLWith(context.Background(), tt.in, func() error { called = true; return refused })
		if called != tt.called {
			t.Errorf("%s: gate called %t, want %t", tt.in, called, tt.called)
		}
		if tt.called && err != refused {
			t.Errorf("%s: err = %v, want the gate's", tt.in, err)
		}
	}
}
