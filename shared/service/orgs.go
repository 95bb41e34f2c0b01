package service

import (
	"context"
	"strings"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Orgs creates and reads organizations (the operator CLI and the local runner create them).
type Orgs struct{ *base }

// NewOrgs returns the Orgs noun over d.
func NewOrgs(d Deps) *Orgs { return &Orgs{newBase(d)} }

// ValidSlug reports whether slug is a valid org slug: 2–40 characters of [a-z0-9-], not
// starting or ending with "-".
func ValidSlug(slug string) bool { return validSlug(slug) }

// EnsureOrg returns the org called slug, creating it with name when missing.
func (s *Orgs) EnsureOrg(ctx context.Context, slug, name string) (forgelink.Org, error) {
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

// orgNotFound is the one text of an unknown org. It never repeats the slug: the path is
// the visitor's input (a reflected-text vector in pages and JSON), and echoing it back
// only confirms what was probed.
const orgNotFound = "There is no such organization."

// getOrg returns the org or a user-facing ENOTFOUND.
func (s *base) getOrg(ctx context.Context, slug string) (forgelink.Org, error) {
	org, err := s.store.GetOrg(ctx, slug)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return forgelink.Org{}, forgelink.Wrap(forgelink.ENOTFOUND, err, orgNotFound)
	}
	return org, err
}
