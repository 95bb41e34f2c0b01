package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// homePage is the data of home.html.
type homePage struct {
	Org     forgelink.Org
	Session *forgelink.Session
	CSRF    string
	Links   []service.SignInLink
	// Avatar is the signed-in person's avatar when their GitLab serves it (ownAvatar).
	Avatar string
	// SignedOut: the browser just signed out; SignedOutOf is the GitLab host its session
	// came from ("" for a setup link), which keeps its own session.
	SignedOut   bool
	SignedOutOf string
}

func (p homePage) imageOrigin() string { return originOf(p.Avatar) }

// ownAvatar returns the session's avatar URL when the integration's own GitLab serves it
// (same host and port), else "". GitLab hands out avatars of other hosts too (Gravatar,
// or anything a hostile server puts there); showing them would tell a third party who
// opened forgelink, and when. The CSP's img-src names that one origin only.
func ownAvatar(sess *forgelink.Session) string {
	if sess == nil || sess.User.AvatarURL == "" || sess.GitLabHost == "" {
		return ""
	}
	u, err := url.Parse(sess.User.AvatarURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil ||
		!strings.EqualFold(u.Host, sess.GitLabHost) || strings.ContainsAny(u.Host, " ;,'\"") {
		return ""
	}
	return u.String()
}

// handleOrgHome is GET /orgs/{org}: who is signed in, or the org's sign-in links.
func (s *sessionServer) handleOrgHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		sid := s.cookie(r, sessionCookie(org))
		home, err := s.sessions.Home(r.Context(), s.base(r), org, sid)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		page := homePage{Org: home.Org, Session: home.Session, Links: home.Links, Avatar: ownAvatar(home.Session)}
		if home.Session != nil {
			page.CSRF = s.csrfToken(sid)
		} else if f := s.takeFlash(w, r, "signed-out", org); f != nil {
			page.SignedOut, page.SignedOutOf = true, f.Name
		}
		s.render(w, r, http.StatusOK, "home.html", page)
	})
}

// sessionJSON is the whoami shape of DESIGN.md.
type sessionJSON struct {
	Org           string   `json:"org"`
	User          userJSON `json:"user"`
	IntegrationID string   `json:"integration_id"`
	GitLabHost    string   `json:"gitlab_host"`
	Role          string   `json:"role"`
	// Principal names a setup-link session's holder; absent for GitLab sign-ins.
	Principal string `json:"principal,omitempty"`
	ExpiresAt string `json:"expires_at"`
}

type userJSON struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	AvatarURL string `json:"avatar_url"`
}

// handleAPISession is GET /api/v1/orgs/{org}/session: the whoami of the browser's session
// in this org (GitLab sign-in or setup link), 401 without one.
func (s *sessionServer) handleAPISession() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		sess, err := s.sessions.Session(r.Context(), org, s.cookie(r, sessionCookie(org)))
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		u := sess.User
		writeJSON(w, http.StatusOK, sessionJSON{
			Org:           sess.Org,
			User:          userJSON{ID: u.ID, Username: u.Username, Name: u.Name, Email: u.Email, AvatarURL: u.AvatarURL},
			IntegrationID: sess.IntegrationID,
			GitLabHost:    sess.GitLabHost,
			Role:          sess.Role,
			Principal:     sess.Principal,
			ExpiresAt:     sess.ExpiresAt.UTC().Format(time.RFC3339),
		})
	})
}

// handleLogout is POST /orgs/{org}/logout: ends the browser's session in this org, admin
// or member, and only that one; the session's CSRF token is required (403 and nothing
// changed otherwise).
func (s *sessionServer) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		sid := s.cookie(r, sessionCookie(org))
		if err := s.checkForm(r, sid); err == errCSRF {
			s.failHTML(w, r, forgelink.Wrap(forgelink.EFORBIDDEN, err,
				"The sign-out form was not sent from this organization's page, or you are not signed in. Nothing was changed."), "")
			return
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
		// The GitLab server of the session being ended, for the home page's reminder.
		var gitlabHost string
		if sess, err := s.sessions.Session(r.Context(), org, sid); err == nil && sess.User.Username != "" {
			gitlabHost = sess.GitLabHost
		}
		err := s.sessions.SignOut(r.Context(), org, sid)
		if forgelink.ErrorCode(err) == forgelink.EUNAUTHORIZED {
			s.failHTML(w, r, forgelink.Wrap(forgelink.EFORBIDDEN, err,
				"You are not signed in to this organization. Nothing was changed."), "")
			return
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
		s.setFlash(w, r, flash{Kind: "signed-out", ID: org, Name: gitlabHost})
		s.clearCookie(w, r, sessionCookie(org))
		http.Redirect(w, r, service.OrgHomePath(org), http.StatusSeeOther)
	})
}
