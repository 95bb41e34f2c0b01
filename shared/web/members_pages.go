package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// memberRow is one member on the Members page.
type memberRow struct {
	ID             string
	Username       string
	Name           string
	Integration    string // name (host), or a note when the integration is gone
	Role           string // "Admin", "Member", or "" when not known yet
	FirstSignIn    string
	LastSignIn     string
	ActiveSessions int
	SignOutAction  string
}

type membersPage struct {
	Title  string
	Org    string
	CSRF   string
	Rows   []memberRow
	Notice string
}

// membersPageData lists the org's members for the Members page.
func (s *integrationsServer) membersPageData(r *http.Request, org, sid string) (membersPage, error) {
	page := membersPage{Title: "Members", Org: org, CSRF: s.csrfToken(sid)}
	ins, err := s.integrations.ListIntegrations(r.Context(), org)
	if err != nil {
		return page, err
	}
	members, err := s.members.List(r.Context(), org)
	if err != nil {
		return page, err
	}
	names := map[string]string{}
	for _, in := range ins {
		names[in.ID] = signInLabel(in.Name, in.Host())
	}
	q := r.URL.Query()
	for _, m := range members {
		name, ok := names[m.IntegrationID]
		if !ok {
			name = "(integration deleted)"
		}
		page.Rows = append(page.Rows, memberRow{
			ID: m.ID(), Username: m.User.Username, Name: m.User.Name, Integration: name, Role: roleLabel(m.Role),
			FirstSignIn: m.FirstSeenAt.UTC().Format("2006-01-02 15:04 UTC"), LastSignIn: m.LastSeenAt.UTC().Format("2006-01-02 15:04 UTC"),
			ActiveSessions: m.ActiveSessions, SignOutAction: memberPath(org, m.ID()) + "/sign-out",
		})
		// Notices name stored members only, never text from the query string.
		if q.Get("signed_out") == m.ID() {
			n, _ := strconv.Atoi(q.Get("ended"))
			page.Notice = "@" + m.User.Username + " was signed out everywhere (" + sessionsText(n) +
				" ended). They can sign in again unless a rule refuses them."
		}
	}
	return page, nil
}

func signInLabel(name, host string) string {
	if name == "" || name == host {
		return host // "gitlab.example.com (gitlab.example.com)" says nothing twice
	}
	return name + " (" + host + ")"
}

func roleLabel(role string) string {
	switch role {
	case forgelink.RoleAdmin:
		return "Admin"
	case forgelink.RoleMember:
		return "Member"
	}
	return ""
}

func sessionsText(n int) string {
	if n == 1 {
		return "1 session"
	}
	return strconv.Itoa(max(n, 0)) + " sessions"
}

func (s *integrationsServer) handleMembersPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, sid, ok := s.adminPage(w, r)
		if !ok {
			return
		}
		page, err := s.membersPageData(r, actor.Org, sid)
		if err != nil {
			s.failHTML(w, r, err, "")
			return
		}
		s.render(w, r, http.StatusOK, "members.html", page)
	})
}

func (s *integrationsServer) handleSignOutMemberForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _, ok := s.adminForm(w, r)
		if !ok {
			return
		}
		id := r.PathValue("member")
		ended, err := s.members.SignOutEverywhere(r.Context(), actor, actor.Org, id)
		if err != nil {
			s.failPage(w, r, err, errorPage{ActionURL: membersPath(actor.Org), ActionLabel: "Back to members"})
			return
		}
		q := url.Values{"signed_out": {id}, "ended": {strconv.Itoa(ended)}}
		http.Redirect(w, r, membersPath(actor.Org)+"?"+q.Encode(), http.StatusSeeOther)
	})
}

func membersPath(org string) string { return "/orgs/" + org + "/settings/members" }

func memberPath(org, id string) string { return membersPath(org) + "/" + url.PathEscape(id) }
