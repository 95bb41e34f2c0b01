package gitlab

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// MaxAccessTokenLength bounds the access token (oauth2 reads at most 1 MiB of the token
// answer): GitLab's are 64 hex digits, and the token goes back in an Authorization header.
const MaxAccessTokenLength = 4096

// Exchange trades an authorization code for an access token. The token is returned for
// one call to User and then dropped by the caller. invalid_grant (a used, expired or
// foreign code) is EEXPIRED; everything else that goes wrong is EUPSTREAM with a kind
// (ErrInvalidClient, ErrUnexpectedAnswer, netguard's).
func (c *Client) Exchange(ctx context.Context, in forgelink.Integration, secret, redirectURL, code, verifier string) (string, error) {
	hc, err := c.client(in)
	if err != nil {
		return "", err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	tok, err := config(in, in.ClientID, secret, redirectURL, nil).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", exchangeError(in.URL, err, secret, code, verifier)
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
func tokenOf(base string, tok *oauth2.Token) (string, error) {
	bad := func(cause error, format string) (string, error) {
		return "", forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrUnexpectedAnswer, cause), format, base)
	}
	if tok.Type() != "Bearer" {
		// Not echoed: a hostile server could put anything there.
		return bad(errors.New("token type is not Bearer"), "GitLab at %s answered with a token type forgelink cannot use (not Bearer).")
	}
	if len(tok.AccessToken) > MaxAccessTokenLength {
		return bad(fmt.Errorf("access token of %d bytes", len(tok.AccessToken)), "GitLab at %s answered with something that is not a usable token.")
	}
	return tok.AccessToken, nil
}
