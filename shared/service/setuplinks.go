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

// MaxLabelLength bounds a setup link's label.
const MaxLabelLength = 100

// CreateAdminLink returns a one-time setup link token for org, valid for
// forgelink.AdminLinkTTL, made for the person label names ("Jane Doe"; "" means
// "operator"); the link is {base}/orgs/{org}/admin/sign-in?token={plain}.
func (s *SetupLinks) CreateAdminLink(ctx context.Context, org, label string) (string, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		label = "operator"
	}
	if msg := checkName(label); msg != "" {
		return "", forgelink.Invalid(map[string]string{"label": msg})
	}
	if _, err := s.getOrg(ctx, org); err != nil {
		return "", err
	}
	plain, hash := newToken()
	now := s.now().UTC()
	link := forgelink.AdminLink{Hash: hash, Org: org, Label: label, CreatedAt: now, ExpiresAt: now.Add(forgelink.AdminLinkTTL)}
	if err := s.store.CreateAdminLink(ctx, link); err != nil {
		return "", err
	}
	return plain, nil
}

// AdminSignInURL is the setup link for a token of CreateAdminLink.
func AdminSignInURL(base, org, plain string) string {
	return strings.TrimRight(base, "/") + "/orgs/" + org + "/admin/sign-in?token=" + plain
}

var errBadLink = forgelink.Errorf(forgelink.EEXPIRED, "This setup link is not valid here: it was already used, has expired (links last 10 minutes), belongs to another organization or was mistyped. Ask your operator for a new one.")

// RedeemAdminLink consumes a one-time setup link of org and starts an admin session for
// its label; it returns the session id for the cookie (only its hash is stored). A link of
// another org is refused and stays usable in its own.
func (s *SetupLinks) RedeemAdminLink(ctx context.Context, org, plain string) (string, error) {
	if plain == "" || len(plain) > 256 {
		return "", errBadLink
	}
	link, err := s.store.ConsumeAdminLink(ctx, org, hashToken(plain))
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return "", errBadLink
	} else if err != nil {
		return "", err
	}
	now := s.now().UTC()
	if !now.Before(link.ExpiresAt) {
		return "", errBadLink
	}
	sid, hash := newToken()
	err = s.store.CreateSession(ctx, forgelink.Session{
		Hash: hash, Kind: forgelink.SessionAdmin, Org: org, Role: forgelink.RoleAdmin, Principal: link.Label,
		CreatedAt: now, ExpiresAt: now.Add(forgelink.SessionTTL),
	})
	if err != nil {
		return "", err
	}
	s.audit(ctx, SetupLinkActor(org, link.Label), forgelink.AuditAdminSignIn, "", "signed in with a setup link")
	return sid, nil
}
