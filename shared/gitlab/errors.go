package gitlab

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/netguard"
)

// Kinds of failure, for errors.Is. Every error of this package is a *forgelink.Error
// (EUPSTREAM: 502, unless documented otherwise) whose message is fit for people; the kind
// tells the caller which page or advice fits, and the wrapped cause carries the detail
// for the logs.
var (
	// ErrInsufficientScope: GitLab refused a call because the token lacks a scope
	// (insufficient_scope), e.g. group reads without api. A setup problem: an admin must
	// add the scope to the GitLab application; signing in again does not help.
	// It is forgelink.ErrInsufficientScope, so the service layer can test for it.
	ErrInsufficientScope = forgelink.ErrInsufficientScope
	// ErrTokenRejected: GitLab did not accept the access token it just issued (expired,
	// revoked). Signing in again may help.
	ErrTokenRejected = errors.New("gitlab: GitLab did not accept the token")
	// ErrInvalidClient: GitLab rejected the integration's Application ID or Secret at
	// sign-in. A setup problem for an admin.
	ErrInvalidClient = errors.New("gitlab: GitLab rejected the application credentials")
	// ErrUnexpectedAnswer: GitLab answered, but wrongly — an unexpected status, malformed
	// JSON, an answer over MaxResponseBody, a profile field over GitLab's own limits (see
	// *ProfileError), an OAuth error other than the ones above.
	ErrUnexpectedAnswer = errors.New("gitlab: GitLab answered wrongly")
)

// The network kinds of shared/netguard, here too so that callers need one import. They
// are the same values: errors.Is(err, gitlab.ErrUnreachable) ⇔ errors.Is(err,
// netguard.ErrUnreachable).
var (
	ErrUnreachable    = netguard.ErrUnreachable    // no server answered
	ErrRefusedAddress = netguard.ErrRefusedAddress // the address is not allowed
	ErrCertificate    = netguard.ErrCertificate    // TLS certificate not trusted
	ErrNotGitLab      = netguard.ErrNotGitLab      // something answered, not GitLab
)

// kindError puts kind in front of cause's chain: errors.Is matches both.
func kindError(kind, cause error) error { return fmt.Errorf("%w: %w", kind, cause) }

// upstream turns a failed call to GitLab at base into an EUPSTREAM error of a coarse kind.
// Messages name the server the admin typed, never an address, port state, TLS detail or
// what a non-GitLab server answered: those would make the credential check a scanner.
// secrets are scrubbed from the wrapped cause.
func upstream(base string, err error, secrets ...string) error {
	var fe *forgelink.Error
	if errors.As(err, &fe) {
		return err
	}
	cause := redact(err, secrets...)
	var re *oauth2.RetrieveError
	var ue *url.Error
	switch {
	case errors.As(err, &re):
		return retrieveFailure(base, re, cause)
	case !errors.As(err, &ue) && strings.HasPrefix(err.Error(), "oauth2: ") &&
		!strings.HasPrefix(err.Error(), "oauth2: cannot fetch token"):
		// oauth2 got an answer it could not read (not JSON, no access_token).
		return forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrNotGitLab, cause),
			"%s does not look like a GitLab server (its answer is not OAuth JSON).", base)
	}
	return network(base, netguard.Classify(cause))
}

// network words a classified transport failure for people.
func network(base string, err error) error {
	switch netguard.KindOf(err) {
	case netguard.ErrRefused:
		return forgelink.Wrap(forgelink.EUPSTREAM, err,
			"The address of GitLab at %s is not allowed (it is a local or private network address).", base)
	case netguard.ErrCertificate:
		return forgelink.Wrap(forgelink.EUPSTREAM, err,
			"The TLS certificate of %s is not trusted; if GitLab uses a private CA, add its CA bundle.", base)
	case netguard.ErrNotGitLab:
		return forgelink.Wrap(forgelink.EUPSTREAM, err, "%s does not look like a GitLab server.", base)
	default:
		return forgelink.Wrap(forgelink.EUPSTREAM, err, "Could not reach GitLab at %s: no server answered.", base)
	}
}

// retrieveFailure words an OAuth endpoint's refusal.
func retrieveFailure(base string, re *oauth2.RetrieveError, cause error) error {
	switch {
	case re.ErrorCode != "":
		return forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrUnexpectedAnswer, cause),
			"GitLab at %s refused the request (%s).", base, oauthCode(re.ErrorCode))
	case re.Response != nil && re.Response.StatusCode >= 500:
		// No status in the message: which 5xx a server answers is scan detail (a proxy, a
		// load balancer, an application), and says nothing an admin can act on.
		return forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrUnexpectedAnswer, cause),
			"GitLab at %s answered with a server error; try again later.", base)
	default:
		return forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrNotGitLab, cause), "%s does not look like a GitLab server.", base)
	}
}

// oauthCodes are the error codes of RFC 6749 and RFC 6750 that GitLab (Doorkeeper) uses.
var oauthCodes = []string{
	"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "access_denied", "unsupported_response_type",
	"server_error", "temporarily_unavailable", "invalid_token", "insufficient_scope",
}

// oauthCode returns code when it is a known OAuth error code. Anything else is not
// echoed: a hostile server could put whatever we sent it (the secret) there.
func oauthCode(code string) string {
	for _, c := range oauthCodes {
		if c == code {
			return code
		}
	}
	return "an unknown error code"
}

// redactedError keeps the chain of err for errors.Is/As but prints it with secrets
// scrubbed: oauth2 errors may quote the response body, which a hostile server can make
// echo what we sent.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, secrets ...string) error {
	msg := err.Error()
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			msg = strings.ReplaceAll(msg, url.QueryEscape(s), "[redacted]")
		}
	}
	return &redactedError{msg: msg, err: err}
}
