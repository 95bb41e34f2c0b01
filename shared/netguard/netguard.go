// Package netguard is forgelink's SSRF guard. Every outbound call to a GitLab server goes
// through one HTTP client built here, which refuses at dial time the addresses an attacker
// could use to reach the inside of our network (loopback, private, link-local, the cloud
// metadata service, multicast, unspecified), and a URL validator that refuses them early
// with a clear field error when an integration is created.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Resolver resolves host names; *net.Resolver implements it. Tests plug in their own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy says which outbound destinations are allowed. The zero value is the strict
// default: public addresses over https only.
type Policy struct {
	// AllowHosts lists host:port pairs exempt from the https and address rules (the fake
	// GitLab of a local run, FORGELINK_ALLOW_HOSTS). Normalise with ParseAllowHosts.
	AllowHosts []string
	// AllowNetworks lists private networks GitLab servers may live in
	// (FORGELINK_ALLOW_NETWORKS). Loopback, link-local and metadata stay refused anyway.
	AllowNetworks []netip.Prefix
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
}

// RefusedError says which address was refused and why. Its message names the address:
// it is for the logs. What people see is the kind, ErrRefused (see Classify), or the
// reason alone.
type RefusedError struct {
	Addr   netip.Addr
	Reason string // e.g. "loopback", "private network"
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("address %s is not allowed (%s)", e.Addr, e.Reason)
}

// Is makes errors.Is(err, ErrRefused) true for every *RefusedError.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func (p Policy) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// hostAllowed reports whether host:port is in the operator allow-list.
func (p Policy) hostAllowed(hostport string) bool {
	n, err := normalizeHostPort(hostport)
	if err != nil {
		return false
	}
	for _, h := range p.AllowHosts {
		if h == n {
			return true
		}
		// Entries that were not put through ParseAllowHosts still match.
		if m, err := normalizeHostPort(h); err == nil && m == n {
			return true
		}
	}
	return false
}

// verdict is how an address is treated.
type verdict int

const (
	public  verdict = iota // allowed
	private                // refused unless inside Policy.AllowNetworks
	never                  // refused whatever the policy says
)

type rangeRule struct {
	prefix  netip.Prefix
	verdict verdict
	reason  string
}

// rules are checked in order; the first containing prefix wins, so the narrow "never"
// entries (metadata) sit before the wide private ones that contain them (fd00::/8).
var rules = func() []rangeRule {
	r := func(cidr string, v verdict, why string) rangeRule {
		return rangeRule{netip.MustParsePrefix(cidr), v, why}
	}
	return []rangeRule{
		// IPv4
		r("0.0.0.0/8", never, "unspecified or \"this network\""),
		r("127.0.0.0/8", never, "loopback"),
		r("169.254.169.254/32", never, "cloud metadata service"),
		r("169.254.0.0/16", never, "link-local"),
		r("224.0.0.0/4", never, "multicast"),
		r("255.255.255.255/32", never, "broadcast"),
		r("240.0.0.0/4", never, "reserved"),
		r("10.0.0.0/8", private, "private network"),
		r("172.16.0.0/12", private, "private network"),
		r("192.168.0.0/16", private, "private network"),
		r("100.64.0.0/10", private, "shared address space (CGNAT)"),
		r("192.0.0.0/24", private, "IETF protocol assignments"),
		r("198.18.0.0/15", private, "benchmarking network"),
		r("192.0.2.0/24", private, "documentation network"),
		r("198.51.100.0/24", private, "documentation network"),
		r("203.0.113.0/24", private, "documentation network"),
		// IPv6
		r("::/128", never, "unspecified"),
		r("::1/128", never, "loopback"),
		r("fd00:ec2::254/128", never, "cloud metadata service"),
		r("fe80::/10", never, "link-local"),
		r("ff00::/8", never, "multicast"),
		r("100::/64", never, "discard-only"),
		r("2001::/32", never, "Teredo tunnel"),
		r("fc00::/7", private, "private network (unique local)"),
		r("fec0::/10", private, "site-local"),
		r("64:ff9b:1::/48", private, "local-use NAT64"),
		r("2001:db8::/32", private, "documentation network"),
	}
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	v4compat  = netip.MustParsePrefix("::/96")
)

// classify says how addr is treated. IPv6 forms that carry an IPv4 address (mapped,
// compatible, NAT64, 6to4) get the verdict of the address they carry, so ::ffff:127.0.0.1
// or 64:ff9b::7f00:1 cannot smuggle loopback past the IPv4 rules.
func classify(addr netip.Addr) (verdict, string) {
	if addr.Zone() != "" {
		return never, "scoped IPv6 address"
	}
	addr = addr.Unmap()
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64.Contains(addr):
			return embedded(netip.AddrFrom4([4]byte(b[12:16])), "NAT64")
		case sixToFour.Contains(addr):
			return embedded(netip.AddrFrom4([4]byte(b[2:6])), "6to4")
		case v4compat.Contains(addr) && addr != netip.IPv6Unspecified() && addr != netip.IPv6Loopback():
			v, why := embedded(netip.AddrFrom4([4]byte(b[12:16])), "IPv4-compatible")
			if v == public {
				// Deprecated form nobody routes; refuse rather than guess.
				return never, "IPv4-compatible IPv6 address"
			}
			return v, why
		}
	}
	for _, r := range rules {
		if r.prefix.Contains(addr) {
			return r.verdict, r.reason
		}
	}
	return public, ""
}

func embedded(v4 netip.Addr, form string) (verdict, string) {
	v, why := classify(v4)
	if v == public {
		return public, ""
	}
	return v, why + " inside " + form
}

// CheckAddr returns nil when the guard allows connecting to addr, a *RefusedError
// otherwise. Private ranges pass only inside AllowNetworks; loopback, link-local, metadata,
// multicast and unspecified addresses never pass.
func (p Policy) CheckAddr(addr netip.Addr) error {
	if !addr.IsValid() {
		return &RefusedError{Addr: addr, Reason: "invalid address"}
	}
	v, why := classify(addr)
	switch v {
	case public:
		return nil
	case private:
		u := addr.Unmap()
		for _, n := range p.AllowNetworks {
			if n.Contains(u) {
				return nil
			}
		}
	}
	return &RefusedError{Addr: addr, Reason: why}
}

// neverAllowable are the ranges an operator may not open with FORGELINK_ALLOW_NETWORKS.
var neverAllowable = []rangeRule{
	{netip.MustParsePrefix("127.0.0.0/8"), never, "loopback"},
	{netip.MustParsePrefix("::1/128"), never, "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), never, "link-local (and the metadata service 169.254.169.254)"},
	{netip.MustParsePrefix("fe80::/10"), never, "link-local"},
	{netip.MustParsePrefix("0.0.0.0/8"), never, "unspecified"},
	{netip.MustParsePrefix("::/128"), never, "unspecified"},
}

// ParseAllowNetworks parses a comma-separated CIDR list (FORGELINK_ALLOW_NETWORKS). A bare
// address means a single host. CIDRs overlapping loopback, link-local or the metadata
// address are refused so that a typo like 0.0.0.0/0 fails loudly at start. (The IPv6
// metadata address fd00:ec2::254 sits inside common ULA ranges such as fd00::/8, so those
// may be allowed; CheckAddr refuses that one address whatever is allowed.)
func ParseAllowNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var pfx netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if pfx, err = netip.ParsePrefix(f); err != nil {
				return nil, fmt.Errorf("allowed networks: %q is not a CIDR like 10.0.0.0/8", f)
			}
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("allowed networks: %q is not a CIDR like 10.0.0.0/8", f)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		if pfx.Addr().Zone() != "" {
			return nil, fmt.Errorf("allowed networks: %q must not have an IPv6 zone", f)
		}
		// ::ffff:10.0.0.0/104 means 10.0.0.0/8; CheckAddr unmaps before matching.
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		pfx = pfx.Masked()
		for _, r := range neverAllowable {
			if pfx.Overlaps(r.prefix) {
				return nil, fmt.Errorf("allowed networks: %s overlaps %s (%s), which is never allowed", f, r.prefix, r.reason)
			}
		}
		out = append(out, pfx)
	}
	return out, nil
}

// ParseAllowHosts parses a comma-separated host:port list (FORGELINK_ALLOW_HOSTS) and
// returns it normalised (lower-case host, IPv6 in brackets).
func ParseAllowHosts(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := normalizeHostPort(f)
		if err != nil {
			return nil, fmt.Errorf("allowed hosts: %q must be host:port, like 127.0.0.1:8929 (%v)", f, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func normalizeHostPort(hp string) (string, error) {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return "", err
	}
	if host == "" {
		return "", errors.New("missing host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", errors.New("port must be 1-65535")
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}
