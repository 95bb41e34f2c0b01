package service

import (
	"context"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Sessions resolve and end browser sessions, and answer the org home.
type Sessions struct{ *base }

// NewSessions returns the Sessions noun over d.
func NewSessions(d Deps) *Sessions { return &Sessions{newBase(d)} }

var errNotSignedIn = forgelink.Errorf(forgelink.EUNAUTHORIZED, "You are not signed in to this organization.")

// Session resolves the browser's session in org, whatever its role. It answers
// EUNAUTHORIZED when the id is missing or unknown, the session expired, belongs to another
// org (a session is worth nothing outside its org), or is a member session whose
// integration was deleted or turned off (noticed within the integration cache's 30 s).
func (s *Sessions) Session(ctx context.Context, org, sessionID string) (forgelink.Session, error) {
	if sessionID == "" || len(sessionID) > 256 {
		return forgelink.Session{}, errNotSignedIn
	}
	sess, err := s.store.GetSession(ctx, hashToken(sessionID))
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return forgelink.Session{}, errNotSignedIn
	} else if err != nil {
		return forgelink.Session{}, err
	}
	if sess.Org != org || !s.now().Before(sess.ExpiresAt) {
		return forgelink.Session{}, errNotSignedIn
	}
	if sess.Role == "" { // sessions from before roles
		sess.Role = map[bool]string{true: forgelink.RoleAdmin, false: forgelink.RoleMember}[sess.Kind == forgelink.SessionAdmin]
	}
	if sess.Kind != forgelink.SessionMember {
		return sess, nil
	}
	in, err := s.cachedIntegration(ctx, org, sess.IntegrationID)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND || (err == nil && in.Status != forgelink.StatusActive) {
		return forgelink.Session{}, errNotSignedIn
	} else if err != nil {
		return forgelink.Session{}, err
	}
	return s.currentRole(ctx, sess)
}

// SignOut ends the browser's session sessionID in org, admin or member, and audits it. A
// session that no longer exists (expired, or ended elsewhere) leaves nothing to end, so
// that is not an error: the browser is signed out either way. A live session of another
// org is EUNAUTHORIZED and nothing changes: signing out of one org never ends another's.
func (s *Sessions) SignOut(ctx context.Context, org, sessionID string) error {
	if sessionID == "" || len(sessionID) > 256 {
		return errNotSignedIn
	}
	sess, err := s.store.GetSession(ctx, hashToken(sessionID))
	switch {
	case forgelink.ErrorCode(err) == forgelink.ENOTFOUND:
		return nil
	case err != nil:
		return err
	case sess.Org != org:
		return errNotSignedIn
	}
	if err := s.store.DeleteSession(ctx, sess.Hash); err != nil && forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		return err
	}
	s.audit(ctx, sessionActor(sess), forgelink.AuditSignOut, sess.IntegrationID, "")
	s.log.InfoContext(ctx, "signed out", "org", org, "integration", sess.IntegrationID, "gitlab_user_id", sess.User.ID)
	return nil
}

// sessionActor is who holds sess, for the audit trail.
func sessionActor(sess forgelink.Session) Actor {
	if sess.Kind == forgelink.SessionAdmin {
		return SetupLinkActor(sess.Org, sess.Principal)
	}
	return GitLabActor(sess.Org, sess.IntegrationID, sess.User.Username)
}

// SignInLink is one way to sign in to an org, for its home page.
type SignInLink struct {
	IntegrationID string
	Name          string
	Host          string
	URL           string // the login link
}

// OrgHome is what the org's home page shows.
type OrgHome struct {
	Org forgelink.Org
	// Session is the visitor's session in this org; nil when not signed in here.
	Session *forgelink.Session
	// Links are the org's sign-in links (active integrations), listed only when the
	// visitor is not signed in.
	Links []SignInLink
}

// Home returns the org home for a visitor presenting sessionID ("" for none): ENOTFOUND
// for an unknown org; a session of another org counts as none.
func (s *Sessions) Home(ctx context.Context, base, org, sessionID string) (OrgHome, error) {
	o, err := s.store.GetOrg(ctx, org)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return OrgHome{}, forgelink.Wrap(forgelink.ENOTFOUND, err, orgNotFound)
	} else if err != nil {
		return OrgHome{}, err
	}
	home := OrgHome{Org: o}
	if sessionID != "" {
		sess, err := s.Session(ctx, org, sessionID)
		if err == nil {
			home.Session = &sess
			return home, nil
		} else if forgelink.ErrorCode(err) != forgelink.EUNAUTHORIZED {
			return OrgHome{}, err
		}
	}
	ins, err := s.store.ListIntegrations(ctx, org)
	if err != nil {
		return OrgHome{}, err
	}
	for _, in := range ins {
		if in.Status != forgelink.StatusActive {
			continue
		}
		home.Links = append(home.Links, SignInLink{
			IntegrationID: in.ID, Name: signInName(in), Host: in.Host(), URL: LoginURL(base, org, in.ID),
		})
	}
	return home, nil
}

var errNoAdminSession = forgelink.Errorf(forgelink.EUNAUTHORIZED, "You are not signed in to this organization, or your session has expired. Sign in with GitLab, or ask your operator for a setup link.")

var errNotAdmin = forgelink.Errorf(forgelink.EFORBIDDEN, "You are signed in, but not as an admin of this organization. Ask one of its admins to add an admin rule for you.")

// AdminSession resolves an admin of org: a session in org whose role is admin (a setup
// link, or a GitLab sign-in an admin rule matched). EUNAUTHORIZED without a session,
// EFORBIDDEN for a member.
func (s *Sessions) AdminSession(ctx context.Context, org, sessionID string) (Actor, forgelink.Session, error) {
	sess, err := s.Session(ctx, org, sessionID)
	if forgelink.ErrorCode(err) == forgelink.EUNAUTHORIZED {
		return Actor{}, forgelink.Session{}, errNoAdminSession
	} else if err != nil {
		return Actor{}, forgelink.Session{}, err
	}
	if sess.Role != forgelink.RoleAdmin {
		return Actor{}, forgelink.Session{}, errNotAdmin
	}
	return sessionActor(sess), sess, nil
}
