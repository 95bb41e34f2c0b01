package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Actor is who performs an admin action, for authorisation and the audit trail. Name is
// "token:<first 8 hex of the token's hash>", "admin-session" or "operator"; never a secret.
type Actor struct{ Org, Name string }

// Operator is the actor of the operator CLI.
func Operator(org string) Actor { return Actor{Org: org, Name: "operator"} }

// MinAdminTokenLength bounds operator-chosen admin tokens (FORGELINK_ADMIN_TOKEN).
const MinAdminTokenLength = 24

// ValidSlug reports whether slug is a valid org slug: 2–40 characters of [a-z0-9-], not
// starting or ending with "-".
func ValidSlug(slug string) bool { return validSlug(slug) }

// EnsureOrg returns the org called slug, creating it with name when missing.
func (s *Service) EnsureOrg(ctx context.Context, slug, name string) (forgelink.Org, error) {
	if !ValidSlug(slug) {
		return forgelink.Org{}, forgelink.Invalid(map[string]string{"slug": "must be 2-40 characters of a-z, 0-9 and -, not starting or ending with -"})
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = slug
	}
	if msg := checkName(name); msg != "" {
		return forgelink.Org{}, forgelink.Invalid(map[string]string{"name": msg})
	}
	org, err := s.store.GetOrg(ctx, slug)
	if err == nil {
		return org, nil
	} else if forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		return forgelink.Org{}, err
	}
	org = forgelink.Org{Slug: slug, Name: name, CreatedAt: s.now().UTC()}
	if err := s.store.CreateOrg(ctx, org); err != nil {
		if forgelink.ErrorCode(err) == forgelink.ECONFLICT { // created concurrently
			return s.store.GetOrg(ctx, slug)
		}
		return forgelink.Org{}, err
	}
	s.log.InfoContext(ctx, "org created", "org", slug)
	return s.store.GetOrg(ctx, slug)
}

// getOrg returns the org or a user-facing ENOTFOUND.
func (s *Service) getOrg(ctx context.Context, slug string) (forgelink.Org, error) {
	org, err := s.store.GetOrg(ctx, slug)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return forgelink.Org{}, forgelink.Wrap(forgelink.ENOTFOUND, err, "Org %q does not exist.", slug)
	}
	return org, err
}

// CreateAdminToken creates an admin API token for org and returns it; only its hash is
// stored, so this is the one time it can be shown. token "" means a random one; a given
// token must be at least MinAdminTokenLength characters.
func (s *Service) CreateAdminToken(ctx context.Context, org, name, token string) (string, error) {
	if _, err := s.getOrg(ctx, org); err != nil {
		return "", err
	}
	var hash string
	if token == "" {
		token, hash = newToken()
	} else {
		if len(token) < MinAdminTokenLength || strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return "", forgelink.Invalid(map[string]string{"token": "must be at least 24 characters without spaces or control characters"})
		}
		hash = hashToken(token)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "admin token"
	}
	if msg := checkName(name); msg != "" {
		return "", forgelink.Invalid(map[string]string{"name": msg})
	}
	err := s.store.CreateAdminToken(ctx, forgelink.AdminToken{Hash: hash, Org: org, Name: name, CreatedAt: s.now().UTC()})
	if forgelink.ErrorCode(err) == forgelink.ECONFLICT {
		// The same fixed token again (FORGELINK_ADMIN_TOKEN on a restart over a persistent
		// store): fine for its own org, refused for another.
		if t, gerr := s.store.FindAdminToken(ctx, hash); gerr == nil && t.Org == org {
			return token, nil
		}
		return "", forgelink.Errorf(forgelink.ECONFLICT, "This token is already in use.")
	} else if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "admin token created", "org", org, "token", "token:"+hash[:8])
	return token, nil
}

// TokenIDLength is the length of an admin token's id: the first hex characters of its
// hash, enough to tell the org's tokens apart and useless for signing in.
const TokenIDLength = 12

// minTokenIDPrefix is the shortest id prefix RevokeAdminToken accepts.
const minTokenIDPrefix = 8

// TokenInfo describes an admin token without its secret.
type TokenInfo struct {
	ID        string // first TokenIDLength hex characters of the hash
	Name      string
	CreatedAt time.Time
}

// ListAdminTokens returns the org's admin tokens, newest first.
func (s *Service) ListAdminTokens(ctx context.Context, org string) ([]TokenInfo, error) {
	if _, err := s.getOrg(ctx, org); err != nil {
		return nil, err
	}
	tokens, err := s.store.ListAdminTokens(ctx, org)
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, len(tokens))
	for i, t := range tokens {
		out[i] = TokenInfo{ID: tokenID(t.Hash), Name: t.Name, CreatedAt: t.CreatedAt}
	}
	return out, nil
}

func tokenID(hash string) string { return hash[:min(len(hash), TokenIDLength)] }

var errTokenNotFound = forgelink.Errorf(forgelink.ENOTFOUND, "No admin token of this org matches.")

// RevokeAdminToken deletes one of org's admin tokens, named by the token itself or by an
// id prefix of at least 8 hex characters that matches exactly one of the org's tokens
// (EINVALID when it matches several, ENOTFOUND when none). The token stops working at
// once: bearer auth reads the store on every request.
func (s *Service) RevokeAdminToken(ctx context.Context, actor Actor, org, idOrToken string) error {
	if err := s.authorize(actor, org); err != nil {
		return err
	}
	if _, err := s.getOrg(ctx, org); err != nil {
		return err
	}
	idOrToken = strings.TrimSpace(idOrToken)
	// The token itself first: an operator-chosen token may look like an id.
	hash := hashToken(idOrToken)
	t, err := s.store.GetAdminToken(ctx, org, hash)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		if t, err = s.findTokenByID(ctx, org, idOrToken); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := s.store.DeleteAdminToken(ctx, org, t.Hash); err != nil {
		if forgelink.ErrorCode(err) == forgelink.ENOTFOUND { // revoked concurrently
			return errTokenNotFound
		}
		return err
	}
	id := tokenID(t.Hash)
	s.log.InfoContext(ctx, "admin token revoked", "org", org, "token", id)
	s.audit(ctx, actor, forgelink.AuditTokenRevoked, "", "revoked admin token "+id+" ("+t.Name+")")
	return nil
}

// findTokenByID returns the one token of org whose hash starts with the id prefix.
func (s *Service) findTokenByID(ctx context.Context, org, id string) (forgelink.AdminToken, error) {
	id = strings.ToLower(id)
	switch {
	case len(id) < minTokenIDPrefix:
		return forgelink.AdminToken{}, forgelink.Invalid(map[string]string{
			"token": "give the token or its id (at least 8 hex characters, see list-tokens)"})
	case len(id) > 64 || strings.Trim(id, "0123456789abcdef") != "":
		return forgelink.AdminToken{}, errTokenNotFound // not an id: an unknown token
	}
	tokens, err := s.store.ListAdminTokens(ctx, org)
	if err != nil {
		return forgelink.AdminToken{}, err
	}
	var found []forgelink.AdminToken
	for _, t := range tokens {
		if strings.HasPrefix(t.Hash, id) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return forgelink.AdminToken{}, errTokenNotFound
	case 1:
		return found[0], nil
	}
	return forgelink.AdminToken{}, forgelink.Invalid(map[string]string{
		"token": fmt.Sprintf("id %s matches %d tokens; give more characters", id, len(found))})
}

var errNoToken = forgelink.Errorf(forgelink.EUNAUTHORIZED, "Send an admin API token: Authorization: Bearer <token>.")

// AuthenticateToken resolves a bearer token for org: EUNAUTHORIZED when missing or
// unknown, EFORBIDDEN when it belongs to another org.
func (s *Service) AuthenticateToken(ctx context.Context, org, bearer string) (Actor, error) {
	if bearer == "" {
		return Actor{}, errNoToken
	}
	hash := hashToken(bearer)
	t, err := s.store.FindAdminToken(ctx, hash)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return Actor{}, forgelink.Errorf(forgelink.EUNAUTHORIZED, "The admin API token is not valid.")
	} else if err != nil {
		return Actor{}, err
	}
	if t.Org != org {
		return Actor{}, forgelink.Errorf(forgelink.EFORBIDDEN, "This token does not belong to org %q.", org)
	}
	return Actor{Org: org, Name: "token:" + hash[:8]}, nil
}

// CreateAdminLink returns a one-time admin sign-in token for org, valid for
// forgelink.AdminLinkTTL; the link is {base}/orgs/{org}/admin/sign-in?token={plain}.
func (s *Service) CreateAdminLink(ctx context.Context, org string) (string, error) {
	if _, err := s.getOrg(ctx, org); err != nil {
		return "", err
	}
	plain, hash := newToken()
	now := s.now().UTC()
	if err := s.store.CreateAdminLink(ctx, forgelink.AdminLink{Hash: hash, Org: org, CreatedAt: now, ExpiresAt: now.Add(forgelink.AdminLinkTTL)}); err != nil {
		return "", err
	}
	return plain, nil
}

// AdminSignInURL is the admin sign-in link for a token of CreateAdminLink.
func AdminSignInURL(base, org, plain string) string {
	return strings.TrimRight(base, "/") + "/orgs/" + org + "/admin/sign-in?token=" + plain
}

var errBadLink = forgelink.Errorf(forgelink.EEXPIRED, "This sign-in link is not valid: it was already used, has expired (links last 10 minutes) or was mistyped. Ask your operator for a new sign-in link.")

// RedeemAdminLink consumes a one-time sign-in link of org and starts an admin browser
// session; it returns the session id for the cookie (only its hash is stored).
func (s *Service) RedeemAdminLink(ctx context.Context, org, plain string) (string, error) {
	if plain == "" || len(plain) > 256 {
		return "", errBadLink
	}
	link, err := s.store.ConsumeAdminLink(ctx, hashToken(plain))
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return "", errBadLink
	} else if err != nil {
		return "", err
	}
	now := s.now().UTC()
	if !now.Before(link.ExpiresAt) {
		return "", errBadLink
	}
	if link.Org != org {
		return "", forgelink.Errorf(forgelink.EFORBIDDEN, "This sign-in link belongs to another org.")
	}
	sid, hash := newToken()
	err = s.store.CreateSession(ctx, forgelink.Session{
		Hash: hash, Kind: forgelink.SessionAdmin, Org: org,
		CreatedAt: now, ExpiresAt: now.Add(forgelink.SessionTTL),
	})
	if err != nil {
		return "", err
	}
	s.audit(ctx, Actor{Org: org, Name: "admin-session"}, forgelink.AuditAdminSignIn, "", "signed in with a one-time link")
	return sid, nil
}

var errNoAdminSession = forgelink.Errorf(forgelink.EUNAUTHORIZED, "You are not signed in as an admin of this org, or your session has expired. Ask your operator for a new sign-in link.")

// AdminSession resolves an admin browser session of org: EUNAUTHORIZED when missing,
// expired or not an admin session; EFORBIDDEN when it is an admin session of another org.
func (s *Service) AdminSession(ctx context.Context, org, sessionID string) (Actor, error) {
	if sessionID == "" || len(sessionID) > 256 {
		return Actor{}, errNoAdminSession
	}
	sess, err := s.store.GetSession(ctx, hashToken(sessionID))
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return Actor{}, errNoAdminSession
	} else if err != nil {
		return Actor{}, err
	}
	switch {
	case sess.Kind != forgelink.SessionAdmin, !s.now().Before(sess.ExpiresAt):
		return Actor{}, errNoAdminSession
	case sess.Org != org:
		return Actor{}, forgelink.Errorf(forgelink.EFORBIDDEN, "You are signed in as an admin of another org.")
	}
	return Actor{Org: org, Name: "admin-session"}, nil
}

// EndAdminSession deletes an admin session; a missing one is not an error.
func (s *Service) EndAdminSession(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	err := s.store.DeleteSession(ctx, hashToken(sessionID))
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return nil
	}
	return err
}
