package service

import (
	"context"
	"strings"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// SetupLinks are the operator's one-time admin sign-in links.
type SetupLinks struct{ *base }

// NewSetupLinks returns the SetupLinks noun over d.
func NewSetupLinks(d Deps) *SetupLinks { return &SetupLinks{newBase(d)} }

// CreateAdminLink returns a one-time admin sign-in token for org, valid for
// forgelink.AdminLinkTTL; the link is {base}/orgs/{org}/admin/sign-in?token={plain}.
func (s *SetupLinks) CreateAdminLink(ctx context.Context, org string) (string, error) {
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
func (s *SetupLinks) RedeemAdminLink(ctx context.Context, org, plain string) (string, error) {
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
