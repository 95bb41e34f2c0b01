package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Bounds on the profile read from /api/v4/user, GitLab's own limits. A GitLab server
// never sends more; a hostile or broken one might, and the profile lands in the session
// item (read on every request) and in members and audit records.
//
// Fields that identify or reach the person — username, email, state — are refused when
// out of bounds (*ProfileError, ErrUnexpectedAnswer): changing them would make them
// wrong, and a cut username could even be someone else's. Display-only fields are kept
// usable instead, so that a sign-in does not fail over decoration: the name is cut at a
// character boundary, an avatar URL that is too long or not http(s) is dropped (a cut URL
// points elsewhere). web_url and the rest of the profile are not kept at all.
const (
	MaxUsernameLength  = forgelink.MaxUsernameLength // bytes; GitLab's limit on namespace paths
	MaxNameLength      = 255                         // characters (runes); GitLab's limit on user names
	MaxEmailLength     = 255                         // bytes; GitLab's column, one more than RFC 5321's 254
	MaxAvatarURLLength = 2048                        // bytes
	MaxStateLength     = 32                          // bytes; GitLab's states are short words (active, blocked, …)
)

// ProfileError says which field of a GitLab profile was refused, and why (for the logs;
// the field name also reaches the person). errors.Is(err, ErrUnexpectedAnswer) is true.
type ProfileError struct {
	Field  string // "username", "email" or "state"
	Reason string
}

func (e *ProfileError) Error() string { return "gitlab: profile " + e.Field + " " + e.Reason }

// Is makes every *ProfileError match ErrUnexpectedAnswer.
func (e *ProfileError) Is(target error) bool { return target == ErrUnexpectedAnswer }

// User returns the person the access token belongs to (GET /api/v4/user), within the
// bounds above.
func (c *Client) User(ctx context.Context, in forgelink.Integration, accessToken string) (forgelink.GitLabUser, error) {
	a, err := c.apiGet(ctx, in, accessToken, "/api/v4/user")
	if err != nil {
		return forgelink.GitLabUser{}, err
	}
	if a.status != http.StatusOK {
		return forgelink.GitLabUser{}, statusError(in.URL, a, callUser)
	}
	u, err := decodeUser(a.body)
	var pe *ProfileError
	switch {
	case errors.As(err, &pe):
		return forgelink.GitLabUser{}, forgelink.Wrap(forgelink.EUPSTREAM, err,
			"GitLab at %s answered with a user profile forgelink cannot accept (its %s is not valid).", in.URL, pe.Field)
	case err != nil:
		return forgelink.GitLabUser{}, forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrUnexpectedAnswer, err),
			"GitLab at %s answered with something that is not a GitLab user.", in.URL)
	}
	return u, nil
}

// apiUser is the part of GitLab's user entity forgelink keeps.
type apiUser struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	AvatarURL string `json:"avatar_url"`
	State     string `json:"state"`
}

// decodeUser reads a /api/v4/user answer and applies the bounds above; a user without a
// positive id or a valid username is no user (members are keyed on the id).
func decodeUser(body []byte) (forgelink.GitLabUser, error) {
	var a apiUser
	if err := json.Unmarshal(body, &a); err != nil {
		return forgelink.GitLabUser{}, err
	}
	refuse := func(field, reason string) (forgelink.GitLabUser, error) {
		return forgelink.GitLabUser{}, &ProfileError{Field: field, Reason: reason}
	}
	switch {
	case a.ID <= 0:
		return forgelink.GitLabUser{}, errors.New("missing or non-positive id")
	case !ValidUsername(a.Username):
		return refuse("username", "is not a GitLab username")
	case len(a.Email) > MaxEmailLength:
		return refuse("email", "is longer than 255 bytes")
	case strings.ContainsFunc(a.Email, isControl):
		return refuse("email", "contains control characters")
	case len(a.State) > MaxStateLength || strings.ContainsFunc(a.State, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' }):
		return refuse("state", "is not a GitLab user state")
	}
	return forgelink.GitLabUser{
		ID:        a.ID,
		Username:  a.Username,
		Name:      truncateRunes(a.Name, MaxNameLength),
		Email:     a.Email,
		AvatarURL: avatarURL(a.AvatarURL),
		State:     a.State,
	}, nil
}

// ValidUsername reports whether s can be a GitLab username (1 to 255 letters, digits,
// '_', '-' and '.', not starting with '-'); the rule lives in shared/forgelink, which the
// service layer validates admin input with.
func ValidUsername(s string) bool { return forgelink.ValidUsername(s) }

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// truncateRunes cuts s to at most n characters. encoding/json has already replaced
// invalid UTF-8, so cutting between runes leaves valid UTF-8.
func truncateRunes(s string, n int) string {
	if len(s) <= n { // fast path: n bytes are at most n runes
		return s
	}
	i := 0
	for count := 0; i < len(s) && count < n; count++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// avatarURL keeps an http(s) URL of at most MaxAvatarURLLength bytes and drops anything
// else: it ends up in an <img src>, and a cut URL would point elsewhere.
func avatarURL(s string) string {
	if len(s) > MaxAvatarURLLength || strings.ContainsFunc(s, isControl) {
		return ""
	}
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return ""
	}
	return s
}
