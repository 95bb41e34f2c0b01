package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// fakeResolver answers from a map; names not in it do not resolve (like these machines,
// which have no DNS).
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestCheckAddr(t *testing.T) {
	strict := Policy{}
	tenNet := Policy{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	tests := []struct {
		addr          string
		strict, ten   bool // allowed under each policy
		reasonContain string
	}{
		{"8.8.8.8", true, true, ""},
		{"140.82.112.3", true, true, ""},
		{"2606:4700:4700::1111", true, true, ""},
		{"::ffff:8.8.8.8", true, true, ""},
		{"64:ff9b::808:808", true, true, ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true, true, ""},  // 6to4 of 8.8.8.8

		{"127.0.0.1", false, false, "loopback"},
		{"127.255.255.254", false, false, "loopback"},
		{"0.0.0.0", false, false, "unspecified"},
		{"0.1.2.3", false, false, "this network"},
		{"169.254.169.254", false, false, "metadata"},
		{"169.254.1.1", false, false, "link-local"},
		{"224.0.0.1", false, false, "multicast"},
		{"239.255.255.250", false, false, "multicast"},
		{"255.255.255.255", false, false, "broadcast"},
		{"240.0.0.1", false, false, "reserved"},
		{"10.1.2.3", false, true, "private"},
		{"172.16.0.1", false, false, "private"},
		{"172.31.255.255", false, false, "private"},
		{"192.168.1.1", false, false, "private"},
		{"100.64.0.1", false, false, "CGNAT"},
		{"100.127.255.255", false, false, "CGNAT"},

		{"::1", false, false, "loopback"},
		{"::", false, false, "unspecified"},
		{"fe80::1", false, false, "link-local"},
		{"fe80::1%eth0", false, false, "scoped"},
		{"ff02::1", false, false, "multicast"},
		{"fc00::1", false, false, "unique local"},
		{"fd12:3456::1", false, true, "unique local"},
		{"fd00:ec2::254", false, false, "metadata"},

		// IPv4 inside IPv6.
		{"::ffff:127.0.0.1", false, false, "loopback"},
		{"::ffff:169.254.169.254", false, false, "metadata"},
		{"::ffff:10.0.0.1", false, true, "private"},
		{"::127.0.0.1", false, false, "loopback inside IPv4-compatible"},
		{"::8.8.8.8", false, false, "IPv4-compatible"},
		{"64:ff9b::7f00:1", false, false, "loopback inside NAT64"},
		{"64:ff9b::a9fe:a9fe", false, false, "metadata service inside NAT64"},
		{"64:ff9b::a00:1", false, false, "private network inside NAT64"}, // the v6 address is not in 10/8
		{"2002:7f00:1::", false, false, "loopback inside 6to4"},
		{"2002:a9fe:a9fe::1", false, false, "metadata service inside 6to4"},
		{"2002:c0a8:101::1", false, false, "private network inside 6to4"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false, false, "Teredo"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			err := strict.CheckAddr(a)
			if (err == nil) != tt.strict {
				t.Errorf("strict: CheckAddr(%s) = %v, want allowed=%v", a, err, tt.strict)
			}
			if err != nil {
				if !errors.Is(err, ErrRefused) {
					t.Errorf("error %v is not ErrRefused", err)
				}
				if !strings.Contains(err.Error(), tt.reasonContain) {
					t.Errorf("error %q does not mention %q", err, tt.reasonContain)
				}
			}
			if err := tenNet.CheckAddr(a); (err == nil) != tt.ten {
				t.Errorf("AllowNetworks 10/8: CheckAddr(%s) = %v, want allowed=%v", a, err, tt.ten)
			}
		})
	}
}

func TestCheckAddrAllowNetworksNeverOpensLoopbackOrMetadata(t *testing.T) {
	// Even a policy built by hand (not through ParseAllowNetworks) cannot open these.
	p := Policy{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}
	for _, s := range []string{"127.0.0.1", "169.254.169.254", "::1", "fe80::1", "::ffff:127.0.0.1", "fd00:ec2::254", "0.0.0.0"} {
		if err := p.CheckAddr(netip.MustParseAddr(s)); err == nil {
			t.Errorf("CheckAddr(%s) allowed with AllowNetworks 0.0.0.0/0", s)
		}
	}
	if err := p.CheckAddr(netip.MustParseAddr("192.168.0.1")); err != nil {
		t.Errorf("192.168.0.1 refused with 0.0.0.0/0 allowed: %v", err)
	}
}

func TestParseIPv4(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = not an IPv4 form
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0x7F.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0xa9.0376.43518", "169.254.169.254"},
		{"2852039166", "169.254.169.254"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"10.0x1.01.1", "10.1.1.1"},
		{"8.8.8.8", "8.8.8.8"},
		{"256.0.0.1", ""},
		{"1.2.3.256", ""},
		{"1.2.65536", ""},
		{"4294967296", ""},
		{"1.2.3.4.5", ""},
		{"08.1.1.1", ""}, // 8 is not an octal digit
		{"0x1g", ""},
		{"", ""},
		{"1..1", ""},
		{"1.2.3.", ""},
		{"example.com", ""},
		{"+1.2.3.4", ""},
		{"1_0.0.0.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, ok := ParseIPv4(tt.in)
			got := ""
			if ok {
				got = a.String()
			}
			if got != tt.want {
				t.Errorf("ParseIPv4(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseAllowNetworks(t *testing.T) {
	tests := []struct {
		in      string
		want    string // joined by space
		errPart string
	}{
		{"", "", ""},
		{"10.0.0.0/8", "10.0.0.0/8", ""},
		{" 10.0.0.0/8 , 192.168.5.0/24,", "10.0.0.0/8 192.168.5.0/24", ""},
		{"10.1.2.3/8", "10.0.0.0/8", ""},
		{"10.1.2.3", "10.1.2.3/32", ""},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", ""},
		{"fd00::/8", "fd00::/8", ""},
		{"127.0.0.0/8", "", "loopback"},
		{"0.0.0.0/0", "", "never allowed"},
		{"::/0", "", "never allowed"},
		{"169.254.169.254/32", "", "metadata"},
		{"169.254.0.0/16", "", "link-local"},
		{"fe80::/64", "", "link-local"},
		{"::ffff:127.0.0.1/128", "", "loopback"},
		{"10.0.0.0/33", "", "not a CIDR"},
		{"banana", "", "not a CIDR"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAllowNetworks(tt.in)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("ParseAllowNetworks(%q) error = %v, want one containing %q", tt.in, err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAllowNetworks(%q): %v", tt.in, err)
			}
			var ss []string
			for _, p := range got {
				ss = append(ss, p.String())
			}
			if s := strings.Join(ss, " "); s != tt.want {
				t.Errorf("ParseAllowNetworks(%q) = %q, want %q", tt.in, s, tt.want)
			}
		})
	}
}

func TestParseAllowHosts(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "", false},
		{"127.0.0.1:8929", "127.0.0.1:8929", false},
		{"LocalHost:8929, gitlab.internal:443", "localhost:8929 gitlab.internal:443", false},
		{"[::1]:8929", "[::1]:8929", false},
		{"127.0.0.1", "", true},
		{"127.0.0.1:0", "", true},
		{"127.0.0.1:99999", "", true},
		{":8929", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAllowHosts(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseAllowHosts(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("ParseAllowHosts(%q) = %q, want %q", tt.in, s, tt.want)
			}
		})
	}
}
