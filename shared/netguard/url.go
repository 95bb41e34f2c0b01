package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// MaxURLLength bounds a GitLab URL.
const MaxURLLength = 2048

// resolveTimeout bounds the DNS look-up of ValidateGitLabURL.
const resolveTimeout = 2 * time.Second

// ValidateGitLabURL checks a GitLab base URL typed by an admin and returns it normalised
// (lower-case scheme and host, default port dropped, path cleaned, no trailing slash).
// Refusals are forgelink.Invalid errors with a message for the "url" field.
//
// It refuses early, with a clear message, what the guarded client would refuse later at
// dial time. A host name that does not resolve at all is accepted: the credential check
// reports an unreachable server, and the dial-time check still protects us if the name
// later resolves somewhere it must not.
func (p Policy) ValidateGitLabURL(ctx context.Context, raw string) (string, error) {
	bad := func(msg string) (string, error) {
		return "", forgelink.Invalid(map[string]string{"url": msg})
	}
	raw = strings.TrimSpace(raw) // pasted values often carry a newline
	switch {
	case raw == "":
		return bad("is required")
	case len(raw) > MaxURLLength:
		return bad("must be at most 2048 characters")
	case strings.ContainsAny(raw, " \t"):
		return bad("must not contain spaces")
	case strings.ContainsFunc(raw, isControl):
		return bad("must not contain control characters")
	case strings.Contains(raw, `\`):
		return bad("must not contain backslashes")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || u.Scheme == "" {
		return bad("must be an absolute http(s) URL, like https://gitlab.example.com")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "https" && scheme != "http":
		return bad("must be an absolute http(s) URL, like https://gitlab.example.com")
	case u.User != nil:
		return bad("must not contain a user name or password")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("must not contain a query (?…)")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return bad("must not contain a fragment (#…)")
	}

	host, port := u.Hostname(), u.Port()
	ipLiteral := strings.HasPrefix(u.Host, "[")
	host = strings.ToLower(host)
	if !ipLiteral {
		host = strings.TrimSuffix(host, ".") // the root-zone dot changes nothing
	}
	if host == "" {
		return bad("must name a host, like https://gitlab.example.com")
	}
	defaultPort := map[string]string{"https": "443", "http": "80"}[scheme]
	if strings.HasSuffix(u.Host, ":") && port == "" {
		return bad("has an empty port")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("has an invalid port (1-65535)")
		}
		port = strconv.Itoa(n) // drops leading zeros
	}
	if port == "" {
		port = defaultPort
	}

	// Canonical host: IP literals in their standard form, so that what we store is what we
	// dial (Go would otherwise send "2130706433" to DNS).
	var addr netip.Addr
	switch {
	case ipLiteral:
		a, err := netip.ParseAddr(host)
		if err != nil {
			return bad("has an invalid IPv6 address")
		}
		if a.Zone() != "" {
			return bad("must not use an IPv6 zone (%…)")
		}
		addr, host = a, a.String()
	default:
		if a, ok := ParseIPv4(host); ok {
			addr, host = a, a.String()
		} else if err := checkHostName(host); err != "" {
			return bad(err)
		}
	}

	allowed := p.hostAllowed(net.JoinHostPort(host, port))
	if !allowed {
		if scheme != "https" {
			return bad("must use https")
		}
		if host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "localhost.localdomain" {
			return bad("must not point at this machine (localhost)")
		}
		if addr.IsValid() {
			if err := p.CheckAddr(addr); err != nil {
				return bad(refusalMessage(err))
			}
		} else if err := p.checkResolved(ctx, host); err != nil {
			return bad(refusalMessage(err))
		}
	}

	cleaned, msg := cleanPath(u)
	if msg != "" {
		return bad(msg)
	}
	out := scheme + "://"
	if addr.IsValid() && addr.Is6() {
		out += "[" + host + "]"
	} else {
		out += host
	}
	if port != defaultPort {
		out += ":" + port
	}
	return out + cleaned, nil
}

func refusalMessage(err error) string {
	var re *RefusedError
	if errors.As(err, &re) {
		return "points at an address that is not allowed (" + re.Addr.String() + ": " + re.Reason + ")"
	}
	return "points at an address that is not allowed"
}

// checkResolved refuses a host name whose every address is refused. A name that does not
// resolve is accepted (see ValidateGitLabURL).
func (p Policy) checkResolved(ctx context.Context, host string) error {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := p.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil
	}
	var first error
	for _, a := range addrs {
		err := p.CheckAddr(a)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// checkHostName returns a message when host is not a plausible DNS name.
func checkHostName(host string) string {
	if len(host) > 253 {
		return "has a host name longer than 253 characters"
	}
	for _, r := range host {
		if r > 0x7f {
			// Go's standard library has no IDNA; ask for the ASCII form rather than guess.
			return "must use the ASCII (xn--…) form of an international host name"
		}
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "has an invalid host name"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "has an invalid host name"
			}
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "has an invalid host name"
		}
	}
	// A numeric last label that ParseIPv4 refused (e.g. 1.2.3.999) is neither a valid
	// address nor a name a browser would look up.
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		return "has an invalid IP address"
	}
	return ""
}

// cleanPath validates u's path prefix (GitLab's relative URL root, e.g. /gitlab) and
// returns it cleaned, without a trailing slash.
func cleanPath(u *url.URL) (string, string) {
	p := u.EscapedPath()
	if p == "" || p == "/" {
		return "", ""
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0) {
			// Percent-escapes included: a GitLab root needs none, and refusing them keeps
			// %2e%2e and %2f from sneaking past the segment checks.
			return "", "path may contain only letters, digits and - . _ ~ /"
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", "path must not contain .. segments"
		}
	}
	c := path.Clean(p)
	if c == "/" || c == "." {
		return "", ""
	}
	return strings.TrimSuffix(c, "/"), ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// ParseIPv4 parses every IPv4 form inet_aton accepts: 1 to 4 dot-separated parts, each
// decimal, octal (leading 0) or hex (0x), the last part filling the remaining bytes
// ("127.1", "2130706433", "0177.0.0.1", "0x7f.1"). Browsers and many resolvers accept
// these forms too, so the guard must see through them.
func ParseIPv4(s string) (netip.Addr, bool) {
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, part := range parts {
		v, ok := parseInetPart(part)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	for i := 0; i < len(vals)-1; i++ {
		if vals[i] > 0xff {
			return netip.Addr{}, false
		}
		n |= vals[i] << (8 * (3 - i))
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

func parseInetPart(s string) (uint64, bool) {
	base := 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
		if s == "" {
			return 0, true // inet_aton reads a bare "0x" as zero
		}
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" || len(s) > 11 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil || v > 0xffffffff {
		return 0, false
	}
	return v, true
}
