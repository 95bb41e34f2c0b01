package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/netguard"
)

// maxIssuerShown bounds how much of a server's issuer is repeated to the admin.
const maxIssuerShown = 200

// Probe reaches the server at in.URL (with in.CABundle) through the guarded client and
// reads GitLab's public OpenID discovery document. A server that answers at all is a
// forgelink.ServerInfo, whatever it answered; only a network failure is an error: EINVALID on the
// url field, worded by netguard's coarse kinds (never an address), so the admin can fix
// a typo where it was made.
func (c *Client) Probe(ctx context.Context, in forgelink.Integration) (forgelink.ServerInfo, error) {
	hc, err := c.Policy.UncachedClient(in.CABundle, c.timeout())
	if err != nil {
		return forgelink.ServerInfo{}, err
	}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL+"/.well-known/openid-configuration", nil)
	if err != nil {
		return forgelink.ServerInfo{}, forgelink.Invalid(map[string]string{"url": "is not a URL forgelink can call"})
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return forgelink.ServerInfo{}, probeFailure(in.URL, err)
	}
	defer resp.Body.Close()
	info := forgelink.ServerInfo{Status: resp.StatusCode}
	body, err := readBounded(resp.Body, MaxResponseBody)
	if err != nil || resp.StatusCode != http.StatusOK {
		return info, nil
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if json.Unmarshal(body, &doc) == nil {
		info.Issuer = printable(doc.Issuer, maxIssuerShown)
	}
	return info, nil
}

// probeFailure words a probe's network failure for the url field.
func probeFailure(base string, err error) error {
	var msg string
	switch netguard.KindOf(netguard.Classify(err)) {
	case netguard.ErrRefusedAddress:
		msg = "The server at " + base + " is on a local or private network address, which is not allowed."
	case netguard.ErrCertificate:
		msg = "The server at " + base + " answered with a TLS certificate that is not trusted. Check the URL; if GitLab uses a private CA, add the integration first and then its CA bundle."
	case netguard.ErrNotGitLab:
		msg = "The server at " + base + " did not answer as a web server over this scheme (https on a plain HTTP port?). Check the URL."
	default:
		msg = "No server answered at " + base + ": " + unreachableReason(err) + ". Check the URL for a typo."
	}
	return &forgelink.Error{Code: forgelink.EINVALID, Message: "Check the Server URL.",
		Fields: map[string]string{"url": msg}, Err: netguard.Classify(err)}
}

// unreachableReason is the coarse reason of an unreachable server: whether the name
// exists is public knowledge; refused, filtered and slow ports are one answer.
func unreachableReason(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return "host not found"
	}
	return "no connection (refused or timed out)"
}

// printable keeps s when it is short printable text, else cuts it.
func printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
