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

// MemberSession resolves the member session whose id is sessionID for org. It answers
// EUNAUTHORIZED when the id is missing or unknown, the session expired, is an admin
// session, belongs to another org (a session is worth nothing outside its org), or its
// integration was deleted or turned off (noticed within the integration cache's 30 s).
func (s *Sessions) MemberSession(ctx context.Context, org, sessionID string) (forgelink.Session, error) {
	if sessionID == "" || len(sessionID) > 256 {
		return forgelink.Session{}, errNotSignedIn
	}
	sess, err := s.store.GetSession(ctx, hashToken(sessionID))
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return forgelink.Session{}, errNotSignedIn
	} else if err != nil {
		return forgelink.Session{}, err
	}
	if sess.Kind != forgelink.SessionMember || sess.Org != org || !s.now().Before(sess.ExpiresAt) {
		return forgelink.Session{}, errNotSignedIn
	}
	in, err := s.cachedIntegration(ctx, org, sess.IntegrationID)
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND || (err == nil && in.Status != forgelink.StatusActive) {
		return forgelink.Session{}, errNotSignedIn
	} else if err != nil {
		return forgelink.Session{}, err
	}
	return sess, nil
}

// SignOut ends the member session sessionID of org and audits it. A session that no
// longer exists (expired, or ended elsewhere) leaves nothing to end, so that is not an
// error: the browser is signed out either way. A live session of another org, or an admin
// session, is EUNAUTHORIZED and nothing changes. Whether the integration is still active
// does not matter: ending a session is always allowed.
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
	case sess.Kind != forgelink.SessionMember || sess.Org != org:
		return errNotSignedIn
	}
	if err := s.store.DeleteSession(ctx, sess.Hash); err != nil && forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		return err
	}
	if err := s.store.PutAudit(ctx, forgelink.AuditRecord{
		Org: org, Time: s.now().UTC(), Actor: "gitlab:" + sess.User.Username,
		Action: forgelink.AuditSignOut, IntegrationID: sess.IntegrationID,
	}); err != nil {
		// The session is gone either way; a missing sign-out record is logged, not shown.
		s.log.ErrorContext(ctx, "could not audit sign-out", "org", org, "error", err.Error())
	}
	s.log.InfoContext(ctx, "member signed out", "org", org, "integration", sess.IntegrationID, "gitlab_user_id", sess.User.ID)
	return nil
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
	// Session is the visitor's member session of this org; nil when not signed in here.
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
		return OrgHome{}, forgelink.Wrap(forgelink.ENOTFOUND, err, "There is no organization %q.", org)
	} else if err != nil {
		return OrgHome{}, err
	}
	home := OrgHome{Org: o}
	if sessionID != "" {
		sess, err := s.MemberSession(ctx, org, sessionID)
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

var errNoAdminSession = forgelink.Errorf(forgelink.EUNAUTHORIZED, "You are not signed in as an admin of this org, or your session has expired. Ask your operator for a new sign-in link.")

// AdminSession resolves an admin browser session of org: EUNAUTHORIZED when missing,
// expired or not an admin session; EFORBIDDEN when it is an admin session of another org.
func (s *Sessions) AdminSession(ctx context.Context, org, sessionID string) (Actor, error) {
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
func (s *Sessions) EndAdminSession(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	err := s.store.DeleteSession(ctx, hashToken(sessionID))
	if forgelink.ErrorCode(err) == forgelink.ENOTFOUND {
		return nil
	}
	return err
}
