package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// MaxAccessLevel bounds the access levels accepted from GitLab (0 No access, 5 Minimal,
// 10 Guest, 15 Planner, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner, 60 Admin).
const MaxAccessLevel = 100

// ValidGroupPath reports whether s can be the full path of a GitLab group ("eng",
// "eng/platform"); the rule lives in shared/forgelink, which the service layer validates
// admin input with.
func ValidGroupPath(s string) bool { return forgelink.ValidGroupPath(s) }

// GroupAccessLevel returns the access level the user userID has in the group with full
// path group, inherited memberships included (GET /api/v4/groups/:id/members/all/:user_id
// with the person's token, which needs the api scope). 0 and no error mean not a member:
// GitLab answers 404 both for non-members and for groups the person cannot see, and a
// membership awaiting approval grants nothing yet.
//
// Errors: EINVALID for a group path or user id GitLab cannot have (no request is made);
// otherwise EUPSTREAM with a kind — ErrInsufficientScope (the token lacks api: an admin
// must fix the GitLab application), ErrTokenRejected, ErrUnexpectedAnswer (other status,
// malformed or oversized answer, a member other than the one asked for), or netguard's
// kinds for the network (ErrUnreachable also for ctx's deadline).
func (c *Client) GroupAccessLevel(ctx context.Context, in forgelink.Integration, accessToken, group string, userID int64) (int, error) {
	if !ValidGroupPath(group) || userID <= 0 {
		return 0, forgelink.Invalid(map[string]string{"group": "is not the full path of a GitLab group"})
	}
	path := "/api/v4/groups/" + url.PathEscape(group) + "/members/all/" + strconv.FormatInt(userID, 10)
	a, err := c.apiGet(ctx, in, accessToken, path)
	if err != nil {
		return 0, err
	}
	switch a.status {
	case http.StatusOK:
	case http.StatusNotFound:
		return 0, nil
	default:
		return 0, statusError(in.URL, a, callGroups)
	}
	level, err := decodeMember(a.body, userID)
	if err != nil {
		return 0, forgelink.Wrap(forgelink.EUPSTREAM, kindError(ErrUnexpectedAnswer, err),
			"GitLab at %s answered with something that is not a group membership.", in.URL)
	}
	return level, nil
}

// apiMember is the part of GitLab's member entity forgelink reads.
type apiMember struct {
	ID              int64  `json:"id"`
	AccessLevel     *int   `json:"access_level"`
	MembershipState string `json:"membership_state"` // "active", "awaiting"; absent on older GitLab
}

// decodeMember reads a members/all/:user_id answer for userID and returns the access
// level it grants.
func decodeMember(body []byte, userID int64) (int, error) {
	var m apiMember
	if err := json.Unmarshal(body, &m); err != nil {
		return 0, err
	}
	switch {
	case m.ID != userID:
		return 0, fmt.Errorf("member %d, not the user %d asked about", m.ID, userID)
	case m.AccessLevel == nil:
		return 0, errors.New("no access_level")
	case *m.AccessLevel < 0 || *m.AccessLevel > MaxAccessLevel:
		return 0, fmt.Errorf("access_level %d out of range", *m.AccessLevel)
	case m.MembershipState != "" && m.MembershipState != "active":
		return 0, nil // e.g. awaiting approval (user cap): no access yet
	}
	return *m.AccessLevel, nil
}
