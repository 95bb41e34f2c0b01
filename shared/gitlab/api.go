package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// MaxResponseBody bounds what is read of any GitLab API answer (the token answer is
// bounded to the same 1 MiB by oauth2). Real answers are a few KiB; a bigger one is
// refused rather than cut, so a truncated document is never mistaken for a whole one.
const MaxResponseBody = 1 << 20

// errTooLarge is the cause of refusing an answer over MaxResponseBody.
var errTooLarge = fmt.Errorf("answer larger than %d bytes", MaxResponseBody)

// apiAnswer is an answer of GitLab's REST API, body read in full (≤ MaxResponseBody).
type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

// apiGet calls GET {in.URL}{path} with the person's access token through the guarded
// client, within ctx's deadline and the client's timeout. path must be escaped already
// (a group's full path travels as one %2F-escaped segment). Transport failures come back
// as EUPSTREAM errors of a netguard kind; an answer over MaxResponseBody as
// ErrUnexpectedAnswer.
func (c *Client) apiGet(ctx context.Context, in forgelink.Integration, accessToken, path string) (apiAnswer, error) {
	hc, err := c.client(in)
	if err != nil {
		return apiAnswer{}, err
	}
	u, err := url.Parse(in.URL + path)
	if err != nil {
		return apiAnswer{}, forgelink.Wrap(forgelink.EUPSTREAM, err, "GitLab at %s cannot be called.", in.URL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return apiAnswer{}, forgelink.Wrap(forgelink.EUPSTREAM, err, "GitLab at %s cannot be called.", in.URL)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return apiAnswer{}, upstream(in.URL, err, accessToken)
	}
	defer resp.Body.Close()
	body, err := readBounded(resp.Body, MaxResponseBody)
	if errors.Is(err, errTooLarge) {
		return apiAnswer{}, forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrUnexpectedAnswer, err),
			"GitLab at %s answered with more than 1 MiB.", in.URL)
	} else if err != nil {
		return apiAnswer{}, upstream(in.URL, err, accessToken)
	}
	return apiAnswer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// readBounded reads r to the end, or fails with errTooLarge after max bytes.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, nil
}

// insufficientScope reports whether a 401 or 403 says the token lacks a scope, as GitLab
// does in WWW-Authenticate (RFC 6750) and in its JSON body.
func (a apiAnswer) insufficientScope() bool {
	if a.status != http.StatusUnauthorized && a.status != http.StatusForbidden {
		return false
	}
	if strings.Contains(a.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		return true
	}
	var e struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(a.body, &e) == nil && e.Error == "insufficient_scope"
}

// apiCall describes a call for the messages of statusError.
type apiCall struct {
	what  string // what forgelink asked, as in "when asked to …"
	scope string // the scope the call needs
	// forbiddenRejects: a 403 without insufficient_scope means the token (its user) is
	// not accepted at all, as on /api/v4/user for a blocked account.
	forbiddenRejects bool
}

var (
	callUser   = apiCall{what: "tell who signed in", scope: SignInScope, forbiddenRejects: true}
	callGroups = apiCall{what: "read a group membership", scope: GroupsScope}
)

// statusError words an answer other than the ones call expects. 401/403 with
// insufficient_scope is ErrInsufficientScope, other 401s (and 403s where call says so)
// ErrTokenRejected, everything else ErrUnexpectedAnswer.
func statusError(base string, a apiAnswer, call apiCall) error {
	cause := fmt.Errorf("HTTP %d", a.status)
	switch {
	case a.insufficientScope():
		return forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrInsufficientScope, cause),
			"GitLab at %s did not let forgelink %s: the sign-in token lacks the %s scope. An admin must add the %s scope to the integration's GitLab application.",
			base, call.what, call.scope, call.scope)
	case a.status == http.StatusUnauthorized, a.status == http.StatusForbidden && call.forbiddenRejects:
		return forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrTokenRejected, cause),
			"GitLab at %s did not accept the sign-in token; please sign in again.", base)
	case a.status >= 500:
		return forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrUnexpectedAnswer, cause),
			"GitLab at %s answered with a server error when asked to %s; try again later.", base, call.what)
	default:
		// The status stays in the cause (the log): pages name no HTTP statuses of a server
		// an admin chose, so sign-in cannot be used to probe it either.
		return forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrUnexpectedAnswer, cause),
			"GitLab at %s answered unexpectedly when asked to %s.", base, call.what)
	}
}
