package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Tokens are the org's admin API tokens: created and revoked by the operator, presented
// by scripts as bearer tokens.
type Tokens struct{ *base }

// NewTokens returns the Tokens noun over d.
func NewTokens(d Deps) *Tokens { return &Tokens{newBase(d)} }

// MinAdminTokenLength bounds operator-chosen admin tokens (FORGELINK_ADMIN_TOKEN).
const MinAdminTokenLength = 24

// CreateAdminToken creates an admin API token for org and returns it; only its hash is
// stored, so this is the one time it can be shown. token "" means a random one; a given
// token must be at least MinAdminTokenLength characters.
func (s *Tokens) CreateAdminToken(ctx context.Context, org, name, token string) (string, error) {
	if _, err := s.getOrg(ctx, org); err != nil {
		return "", err
	}
	var hash string
	if token == "" {
		token, hash = newToken()
	} else {
		if msg := checkChosenToken(token); msg != "" {
			return "", forgelink.Invalid(map[string]string{"token": msg})
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

// MinAdminTokenDistinct is how many different characters an operator-chosen token needs.
const MinAdminTokenDistinct = 8

// checkChosenToken returns why an operator-chosen admin token is refused, or "". Length
// alone let "aaaaaaaaaaaaaaaaaaaaaaaa" through: a token anyone guesses first. At least
// MinAdminTokenDistinct different characters, and not one short piece repeated
// ("abcabcabc…"), is a cheap floor that every generated or pasted random token passes;
// it is no entropy measurement, and random tokens (the default) need none.
func checkChosenToken(token string) string {
	const rule = "must be at least 24 characters without spaces or control characters, with at least 8 different characters and not one short piece repeated"
	if len(token) < MinAdminTokenLength || strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return rule
	}
	distinct := map[rune]bool{}
	for _, r := range token {
		distinct[r] = true
	}
	if len(distinct) < MinAdminTokenDistinct {
		return rule
	}
	for p := 1; p <= len(token)/2; p++ {
		if len(token)%p == 0 && strings.Repeat(token[:p], len(token)/p) == token {
			return rule
		}
	}
	return ""
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
func (s *Tokens) ListAdminTokens(ctx context.Context, org string) ([]TokenInfo, error) {
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
func (s *Tokens) RevokeAdminToken(ctx context.Context, actor Actor, org, idOrToken string) error {
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
func (s *Tokens) findTokenByID(ctx context.Context, org, id string) (forgelink.AdminToken, error) {
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
func (s *Tokens) AuthenticateToken(ctx context.Context, org, bearer string) (Actor, error) {
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
		return Actor{}, forgelink.Errorf(forgelink.EFORBIDDEN, "This token belongs to another organization.")
	}
	return TokenActor(org, t.Name), nil
}
