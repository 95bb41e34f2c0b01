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
// later resolves somewhere it must not. Messages say why an address is refused (loopback,
// private network, …) but never which address a name resolved to: the settings form must
// not become a way to read internal DNS.
func (p Policy) ValidateGitLabURL(ctx context.Context, raw string) (string, error) {
	return p.ValidateGitLabURLWith(ctx, raw, nil)
}

// ValidateGitLabURLWith is ValidateGitLabURL that calls beforeLookup, when not nil, right
// before it resolves a host name: a look-up reaches the DNS of whatever name an admin
// typed, so the service counts it against the org's probe limit. IP literals and
// allow-listed hosts are never looked up. An error from beforeLookup is returned as is.
func (p Policy) ValidateGitLabURLWith(ctx context.Context, raw string, beforeLookup func() error) (string, error) {
	u, g, msg := parseGitLabURL(raw)
	if msg == "" {
		var err error
		if msg, err = p.checkDestination(ctx, g, beforeLookup); err != nil {
			return "", err
		}
	}
	if msg == "" {
		g.path, msg = cleanPath(u)
	}
	if msg != "" {
		return "", forgelink.Invalid(map[string]string{"url": msg})
	}
	return g.String(), nil
}

// gitlabURL is a parsed GitLab base URL on its way to its normalised form.
type gitlabURL struct {
	scheme      string     // "https" or "http"
	host        string     // lower case; IP literals in their standard form
	addr        netip.Addr // valid when host is an IP literal (in any inet_aton form)
	port        string     // always set: the default port when the URL has none
	defaultPort string
	path        string // cleaned, no trailing slash; "" for the root
}

func (g gitlabURL) String() string {
	out := g.scheme + "://"
	if g.addr.IsValid() && g.addr.Is6() {
		out += "[" + g.host + "]"
	} else {
		out += g.host
	}
	if g.port != g.defaultPort {
		out += ":" + g.port
	}
	return out + g.path
}

// parseGitLabURL checks raw's shape and parses it; the message is "" when it is an
// absolute http(s) URL without userinfo, query or fragment, with a plausible host and
// port. The path is checked later (cleanPath), as it always was, so that a refused host
// is reported before a bad path.
func parseGitLabURL(raw string) (*url.URL, gitlabURL, string) {
	raw = strings.TrimSpace(raw) // pasted values often carry a newline
	if msg := checkShape(raw); msg != "" {
		return nil, gitlabURL{}, msg
	}
	u, scheme, msg := parseAbsolute(raw)
	if msg != "" {
		return nil, gitlabURL{}, msg
	}
	g := gitlabURL{scheme: scheme, defaultPort: map[string]string{"https": "443", "http": "80"}[scheme]}
	if g.host, g.port, msg = hostAndPort(u, g.defaultPort); msg != "" {
		return nil, gitlabURL{}, msg
	}
	if g.addr, g.host, msg = canonicalHost(g.host, strings.HasPrefix(u.Host, "[")); msg != "" {
		return nil, gitlabURL{}, msg
	}
	return u, g, ""
}

// checkShape refuses what no URL parser should be trusted with.
func checkShape(raw string) string {
	switch {
	case raw == "":
		return "is required"
	case len(raw) > MaxURLLength:
		return "must be at most 2048 characters"
	case strings.ContainsAny(raw, " \t"):
		return "must not contain spaces"
	case strings.ContainsFunc(raw, isControl):
		return "must not contain control characters"
	case strings.Contains(raw, `\`):
		return "must not contain backslashes"
	}
	return ""
}

// parseAbsolute parses raw as an absolute http(s) URL without userinfo, query or
// fragment and returns it with its lower-case scheme.
func parseAbsolute(raw string) (*url.URL, string, string) {
	const notAbsolute = "must be an absolute http(s) URL, like https://gitlab.example.com"
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" || u.Scheme == "" {
		return nil, "", notAbsolute
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "https" && scheme != "http":
		return nil, "", notAbsolute
	case u.User != nil:
		return nil, "", "must not contain a user name or password"
	case u.RawQuery != "" || u.ForceQuery:
		return nil, "", "must not contain a query (?…)"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, "", "must not contain a fragment (#…)"
	}
	return u, scheme, ""
}

// hostAndPort returns u's lower-case host (without the root-zone dot, which changes
// nothing) and its port without leading zeros, defaultPort when it has none.
func hostAndPort(u *url.URL, defaultPort string) (host, port, msg string) {
	host, port = strings.ToLower(u.Hostname()), u.Port()
	if !strings.HasPrefix(u.Host, "[") {
		host = strings.TrimSuffix(host, ".")
	}
	if host == "" {
		return "", "", "must name a host, like https://gitlab.example.com"
	}
	if strings.HasSuffix(u.Host, ":") && port == "" {
		return "", "", "has an empty port"
	}
	if port == "" {
		return host, defaultPort, ""
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", "", "has an invalid port (1-65535)"
	}
	return host, strconv.Itoa(n), ""
}

// canonicalHost returns IP literals in their standard form, so that what we store is what
// we dial (Go would otherwise send "2130706433" to DNS), and checks host names.
func canonicalHost(host string, bracketed bool) (netip.Addr, string, string) {
	if bracketed {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return netip.Addr{}, "", "has an invalid IPv6 address"
		}
		if a.Zone() != "" {
			return netip.Addr{}, "", "must not use an IPv6 zone (%…)"
		}
		return a, a.String(), ""
	}
	if a, ok := ParseIPv4(host); ok {
		return a, a.String(), ""
	}
	if msg := checkHostName(host); msg != "" {
		return netip.Addr{}, "", msg
	}
	return netip.Addr{}, host, ""
}

// checkDestination applies the dial-time rules early: allow-listed host:port pairs pass;
// anything else must be https, not localhost, and (as a literal or through every address
// its name resolves to) not in a refused range. It returns the field message, or the
// error of beforeLookup.
func (p Policy) checkDestination(ctx context.Context, g gitlabURL, beforeLookup func() error) (string, error) {
	if p.hostAllowed(net.JoinHostPort(g.host, g.port)) {
		return "", nil
	}
	switch {
	case g.scheme != "https":
		return "must use https", nil
	case g.host == "localhost" || strings.HasSuffix(g.host, ".localhost") || g.host == "localhost.localdomain":
		return "must not point at this machine (localhost)", nil
	case g.addr.IsValid():
		if err := p.CheckAddr(g.addr); err != nil {
			// The admin typed this address, so naming its kind tells nothing new.
			return "points at an address that is not allowed" + refusalReason(err), nil
		}
	default:
		if beforeLookup != nil {
			if err := beforeLookup(); err != nil {
				return "", err
			}
		}
		if err := p.checkResolved(ctx, g.host); err != nil {
			// No kind (loopback, private network, …) for a name: it would tell what the
			// name resolves to inside the network, which the admin may not know.
			return "resolves to an address that is not allowed", nil
		}
	}
	return "", nil
}

// refusalReason is " (loopback)" and the like: the kind of range, never the address.
func refusalReason(err error) string {
	var re *RefusedError
	if errors.As(err, &re) && re.Reason != "" {
		return " (" + re.Reason + ")"
	}
	return ""
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
