package netguard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Fixed parts of the outbound client's timeouts; the caller picks the overall one.
const (
	dialTimeout         = 5 * time.Second
	tlsHandshakeTimeout = 5 * time.Second
	// MaxCABundle bounds a CA bundle (PEM).
	MaxCABundle = 64 << 10
)

// ClientCacheSize bounds the cache of guarded clients. Each cached client keeps its
// transport (idle connections, TLS sessions) and, with a CA bundle, its own certificate
// pool; a warm Lambda talks to a handful of GitLab servers, so 64 is plenty.
const ClientCacheSize = 64

// clients caches guarded clients per policy, CA bundle and timeout, so a warm Lambda
// reuses its connections (and TLS sessions) to the same GitLab server.
var clients = newClientCache(ClientCacheSize)

// Client returns the guarded HTTP client for caBundlePEM: no proxy, every dialed address
// checked by the policy, TLS 1.2+ over the system roots plus caBundlePEM, redirects not
// followed (OAuth and API endpoints do not redirect; following one could lead anywhere).
//
// Clients are cached (least recently used out, at most ClientCacheSize), keyed by the
// SHA-256 of the bundle and the policy: use Client for the bundle of a saved integration,
// and UncachedClient for a bundle that is only being checked.
func (p Policy) Client(caBundlePEM string, timeout time.Duration) (*http.Client, error) {
	if err := ValidateCABundle(caBundlePEM); err != nil {
		return nil, err
	}
	// A custom Resolver cannot be part of a cache key; such clients (tests) are not cached.
	if p.Resolver != nil {
		return p.newClient(caBundlePEM, timeout), nil
	}
	key := p.cacheKey(caBundlePEM, timeout)
	if c := clients.get(key); c != nil {
		return c, nil
	}
	return clients.add(key, p.newClient(caBundlePEM, timeout)), nil
}

// UncachedClient returns a new guarded client that is not cached: for a one-off check of a
// CA bundle that is not saved (yet), which would otherwise push a saved integration's
// client out of the cache and keep tens of KiB alive for nothing when the check fails.
// Call CloseIdleConnections when done with it.
func (p Policy) UncachedClient(caBundlePEM string, timeout time.Duration) (*http.Client, error) {
	if err := ValidateCABundle(caBundlePEM); err != nil {
		return nil, err
	}
	return p.newClient(caBundlePEM, timeout), nil
}

// cacheKey is the SHA-256 of everything a client is built from, so keys stay small
// whatever the size of the bundle or the allow-lists.
func (p Policy) cacheKey(caBundlePEM string, timeout time.Duration) [sha256.Size]byte {
	bundle := sha256.Sum256([]byte(caBundlePEM))
	return sha256.Sum256(fmt.Appendf(nil, "%x|%d|%v|%q", bundle, timeout, p.AllowNetworks, p.AllowHosts))
}

// newClient builds a guarded client. Without a CA bundle it leaves RootCAs nil, which
// shares the system pool instead of copying it (SystemCertPool returns a copy).
func (p Policy) newClient(caBundlePEM string, timeout time.Duration) *http.Client {
	var roots *x509.CertPool
	if caBundlePEM != "" {
		var err error
		if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		roots.AppendCertsFromPEM([]byte(caBundlePEM))
	}
	t := &http.Transport{
		Proxy:       nil, // a proxy would dial for us, past the guard
		DialContext: p.dialContext,
		TLSClientConfig: &tls.Config{
			RootCAs:    roots,
			MinVersion: tls.VersionTLS12,
		},
		ForceAttemptHTTP2:     true, // a custom DialContext turns HTTP/2 off otherwise
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: timeout,
		// One GitLab per client. A Lambda container calls it one sign-in at a time; the
		// local runner serves sign-ins side by side, and with fewer idle connections than
		// concurrent sign-ins every callback beyond them dialed anew.
		MaxIdleConns:        16,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// dialContext dials allow-listed host:port pairs as they are; any other destination is
// resolved here, every address is checked, and only allowed addresses are dialed — by
// address, so a second DNS answer (rebinding) never gets a say. The dialer's Control hook
// checks the socket's actual peer once more, as a second line.
func (p Policy) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if p.hostAllowed(address) {
		d := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
		return d.DialContext(ctx, network, address)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	addrs, err := p.lookup(ctx, network, host)
	if err != nil {
		return nil, err
	}
	var allowed []netip.Addr
	var refused error
	for _, a := range addrs {
		if err := p.CheckAddr(a); err != nil {
			if refused == nil {
				refused = err
			}
			continue
		}
		allowed = append(allowed, a)
	}
	if len(allowed) == 0 {
		if refused == nil {
			refused = &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
		return nil, refused
	}
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, Control: p.control}
	var lastErr error
	for _, a := range allowed {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (p Policy) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if a, ok := ParseIPv4(host); ok {
		return []netip.Addr{a}, nil
	}
	ipnet := "ip"
	switch network {
	case "tcp4":
		ipnet = "ip4"
	case "tcp6":
		ipnet = "ip6"
	}
	return p.resolver().LookupNetIP(ctx, ipnet, host)
}

// control runs after the socket is created and before it connects: the address here is
// the one the kernel is about to connect to.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: cannot check dial address %q: %w", address, ErrRefused)
	}
	return p.CheckAddr(ap.Addr())
}

// ValidateCABundle checks an optional CA bundle: empty, or at most 64 KiB of PEM
// CERTIFICATE blocks, at least one, and nothing else (a pasted private key is refused
// rather than stored).
func ValidateCABundle(bundle string) error {
	bad := func(msg string) error {
		return forgelink.Invalid(map[string]string{"ca_bundle": msg})
	}
	if strings.TrimSpace(bundle) == "" {
		return nil
	}
	if len(bundle) > MaxCABundle {
		return bad("must be at most 64 KiB")
	}
	rest := []byte(bundle)
	n := 0
	for {
		// pem.Decode silently skips text before a block; insist that there is none.
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 {
			break
		}
		if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			if n == 0 {
				return bad("must be PEM: -----BEGIN CERTIFICATE----- blocks")
			}
			return bad("contains text that is not a PEM certificate")
		}
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return bad("contains a broken PEM block")
		}
		if block.Type != "CERTIFICATE" {
			return bad(fmt.Sprintf("may contain only CERTIFICATE blocks, found %q", block.Type))
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return bad("contains a certificate that cannot be parsed")
		}
		n++
	}
	if n == 0 {
		return bad("must contain at least one certificate")
	}
	return nil
}

// IsRefused reports whether err (from the guarded client) is a refusal of the guard.
func IsRefused(err error) bool { return errors.Is(err, ErrRefused) }
