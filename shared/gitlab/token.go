package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Bounds on a token response. oauth2 reads at most 1 MiB of it.
const (
	// MaxAccessTokenLength bounds the access token: GitLab's are 64 hex digits, and the
	// token goes back in an Authorization header.
	MaxAccessTokenLength = 4096
	maxScopes            = 32
	maxScopeLength       = 64
)

// Token is what an authorization code is exchanged for. It is used for the calls of one
// sign-in and then dropped, never stored; it never prints its access token.
type Token struct {
	AccessToken string
	// Scopes are the scopes GitLab granted, from the token response's scope field (Test
	// sign-in shows them); nil when GitLab did not say.
	Scopes []string
	// Expiry is zero when GitLab omitted expires_in, as old servers do.
	Expiry time.Time
}

// HasScope reports whether GitLab said it granted scope.
func (t Token) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// String describes t without its access token, so a Token in a log line or an error
// message leaks nothing.
func (t Token) String() string {
	return fmt.Sprintf("gitlab.Token{scopes: %q, expiry: %s}", t.Scopes, t.Expiry.Format(time.RFC3339))
}

// Format keeps every verb (%v, %+v, %s, …) from printing the access token.
func (t Token) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.String()) }

// LogValue keeps slog from printing the access token.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("scopes", t.Scopes), slog.Time("expiry", t.Expiry))
}

// ExchangeGranted is ExchangeToken for callers that need the token and the granted
// scopes only (the service, which does not know this package's types).
func (c *Client) ExchangeGranted(ctx context.Context, in forgelink.Integration, secret, redirectURL, code, verifier string) (string, []string, error) {
	tok, err := c.ExchangeToken(ctx, in, secret, redirectURL, code, verifier)
	return tok.AccessToken, tok.Scopes, err
}

// ExchangeToken trades an authorization code for a token and the scopes GitLab granted.
// invalid_grant (a used, expired or foreign code) is EEXPIRED; everything else that goes
// wrong is EUPSTREAM with a kind (ErrInvalidClient, ErrUnexpectedAnswer, netguard's).
func (c *Client) ExchangeToken(ctx context.Context, in forgelink.Integration, secret, redirectURL, code, verifier string) (Token, error) {
	hc, err := c.client(in)
	if err != nil {
		return Token{}, err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	tok, err := config(in, in.ClientID, secret, redirectURL, nil).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Token{}, exchangeError(in.URL, err, secret, code, verifier)
	}
	return tokenOf(in.URL, tok)
}

func exchangeError(base string, err error, secret, code, verifier string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "invalid_grant":
			return forgelink.Wrap(forgelink.EEXPIRED, redact(err, secret, code, verifier),
				"GitLab rejected the sign-in code; please sign in again.")
		case "invalid_client":
			return forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrInvalidClient, redact(err, secret, code, verifier)),
				"GitLab rejected this integration's Application ID or Secret; ask your admin to check the integration.")
		}
	}
	return upstream(base, err, secret, code, verifier)
}

// tokenOf checks what oauth2 made of GitLab's answer. oauth2 already turns "bearer" into
// "Bearer" and leaves Expiry zero without expires_in.
func tokenOf(base string, tok *oauth2.Token) (Token, error) {
	bad := func(cause error, format string) (Token, error) {
		return Token{}, forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrUnexpectedAnswer, cause), format, base)
	}
	if tok.Type() != "Bearer" {
		// Not echoed: a hostile server could put anything there.
		return bad(errors.New("token type is not Bearer"), "GitLab at %s answered with a token type forgelink cannot use (not Bearer).")
	}
	if len(tok.AccessToken) > MaxAccessTokenLength {
		return bad(fmt.Errorf("access token of %d bytes", len(tok.AccessToken)), "GitLab at %s answered with something that is not a usable token.")
	}
	scopes, err := parseScopes(tok.Extra("scope"))
	if err != nil {
		return bad(err, "GitLab at %s answered with a scope list that is not one.")
	}
	return Token{AccessToken: tok.AccessToken, Scopes: scopes, Expiry: tok.Expiry}, nil
}

// parseScopes reads the scope field of a token response (RFC 6749 §3.3: scope-tokens of
// printable ASCII but " and \, separated by spaces). nil: GitLab did not say. The list is
// shown to admins, so anything else, or more than 32 scopes of 64 bytes, is refused.
func parseScopes(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("scope is a %T, not a string", v)
	}
	scopes := strings.Fields(s)
	if len(scopes) > maxScopes {
		return nil, fmt.Errorf("%d scopes", len(scopes))
	}
	for _, sc := range scopes {
		if len(sc) > maxScopeLength || strings.ContainsFunc(sc, func(r rune) bool {
			return r <= 0x20 || r >= 0x7f || r == '"' || r == '\\'
		}) {
			return nil, errors.New("scope is not a list of RFC 6749 scope tokens")
		}
	}
	return scopes, nil
}
