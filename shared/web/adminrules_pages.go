package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// levelOption is one entry of an access level select.
type levelOption struct {
	Value int
	Label string
}

// levelOptions are GitLab's access levels, for the selects of the admin rule and
// allowed groups forms.
func levelOptions() []levelOption {
	out := make([]levelOption, 0, len(forgelink.AccessLevels))
	for _, l := range forgelink.AccessLevels {
		out = append(out, levelOption{l, forgelink.AccessLevelName(l) + " or above"})
	}
	return out
}

// adminRuleRow is one rule on the Admins page.
type adminRuleRow struct {
	ID           string
	Integration  string // name (host), or a note when the integration is gone
	Description  string // "GitLab user @alice", "Group eng/platform · Developer or above"
	CreatedAt    string
	DeleteAction string
}

type integrationOption struct{ ID, Label string }

type adminsPage struct {
	Title           string
	Org             string
	CSRF            string
	Action          string
	IntegrationsURL string
	Rows            []adminRuleRow
	Integrations    []integrationOption
	Levels          []levelOption
	Notice          string
	// Form values, kept on errors.
	IntegrationID string
	Kind          string // "username" or "group"
	Username      string
	Group         string
	Level         int
	Errors        map[string]string
	Summary       []fieldError
	Message       string
}

// adminsPageData lists the org's rules and integrations for the Admins page.
func (s *integrationsServer) adminsPageData(r *http.Request, org, sid string) (adminsPage, error) {
	page := adminsPage{
		Title: "Admins", Org: org, CSRF: s.csrfToken(sid), Action: adminsPath(org),
		IntegrationsURL: integrationsPath(org), Levels: levelOptions(), Kind: "username",
		Level: forgelink.AccessMaintainer, Errors: map[string]string{},
	}
	ins, err := s.integrations.ListIntegrations(r.Context(), org)
	if err != nil {
		return page, err
	}
	rules, err := s.adminRules.ListAdminRules(r.Context(), org)
	if err != nil {
		return page, err
	}
	names := map[string]string{}
	for _, in := range ins {
		names[in.ID] = signInLabel(in.Name, in.Host())
		page.Integrations = append(page.Integrations, integrationOption{in.ID, names[in.ID]})
	}
	if len(ins) == 1 {
		page.IntegrationID = ins[0].ID
	}
	for _, rule := range rules {
		name, ok := names[rule.IntegrationID]
		if !ok {
			name = "(integration deleted)"
		}
		page.Rows = append(page.Rows, adminRuleRow{
			ID: rule.ID, Integration: name, Description: service.DescribeAdminRule(rule),
			CreatedAt: rule.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), DeleteAction: adminsPath(org) + "/" + rule.ID + "/delete",
		})
		// Notices name stored rules only, never text from the query string.
		if r.URL.Query().Get("added") == rule.ID {
			page.Notice = "Admin rule added: " + service.DescribeAdminRule(rule) + ". It applies from their next sign-in."
		}
	}
	if r.URL.Query().Get("removed") == "1" {
		page.Notice = "The admin rule was removed. People it made admin lose the role on their next request."
	}
	return page, nil
}

func (s *integrationsServer) handleAdminsPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, sid, ok := s.adminPage(w, r)
		if !ok {
			return
		}
		page, err := s.adminsPageData(r, actor.Org, sid)
		if err != nil {
			s.failHTML(w, r, err, "")
			return
		}
		s.render(w, r, http.StatusOK, "admins.html", page)
	})
}

func (s *integrationsServer) handleCreateAdminRuleForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, sid, ok := s.adminForm(w, r)
		if !ok {
			return
		}
		kind := r.PostFormValue("kind")
		integrationID, username, group := r.PostFormValue("integration_id"), r.PostFormValue("username"), r.PostFormValue("group")
		level, _ := strconv.Atoi(r.PostFormValue("min_access_level"))
		input := service.AdminRuleInput{IntegrationID: &integrationID}
		// The radio decides which input counts; the other may still hold text typed
		// before switching. Without the radio (a script), whatever is filled in counts.
		if kind != "group" {
			input.Username = &username
		}
		if kind != "username" {
			input.Group, input.MinAccessLevel = &group, &level
		}
		rule, err := s.adminRules.CreateAdminRule(r.Context(), actor, actor.Org, input)
		if err == nil {
			http.Redirect(w, r, adminsPath(actor.Org)+"?added="+rule.ID, http.StatusSeeOther)
			return
		}
		switch forgelink.ErrorCode(err) {
		case forgelink.EINVALID, forgelink.ECONFLICT, forgelink.ERATELIMITED, forgelink.EUNAVAILABLE:
			_, status := s.prepareFailure(w, r, err)
			page, lerr := s.adminsPageData(r, actor.Org, sid)
			if lerr != nil {
				s.failHTML(w, r, lerr, "")
				return
			}
			page.IntegrationID, page.Kind, page.Username, page.Group, page.Level = integrationID, kind, username, group, level
			if page.Kind != "group" {
				page.Kind = "username"
			}
			page.Errors = fieldsOrEmpty(err)
			page.Summary = summarize(page.Errors)
			page.Message = forgelink.ErrorMessage(err)
			s.render(w, r, status, "admins.html", page)
		default:
			s.failHTML(w, r, err, "")
		}
	})
}

func (s *integrationsServer) handleDeleteAdminRuleForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _, ok := s.adminForm(w, r)
		if !ok {
			return
		}
		if err := s.adminRules.DeleteAdminRule(r.Context(), actor, actor.Org, r.PathValue("rule")); err != nil {
			s.failPage(w, r, err, errorPage{ActionURL: adminsPath(actor.Org), ActionLabel: "Back to admins"})
			return
		}
		http.Redirect(w, r, adminsPath(actor.Org)+"?removed=1", http.StatusSeeOther)
	})
}

func adminsPath(org string) string { return "/orgs/" + org + "/settings/admins" }

// groupRow is one row of the "Who may sign in" rows of the integration form.
type groupRow struct {
	Path  string
	Level int
}

// blankGroupRows is how many empty rows the form offers for new groups.
const blankGroupRows = 3

// groupRows are the rows of gs plus blank ones, at most service.MaxAllowedGroups in all
// (a longer list, kept after an error, is shown whole).
func groupRows(gs []forgelink.GroupRule) []groupRow {
	rows := make([]groupRow, 0, len(gs)+blankGroupRows)
	for _, g := range gs {
		rows = append(rows, groupRow{g.Path, g.MinAccessLevel})
	}
	for len(rows) < min(len(gs)+blankGroupRows, service.MaxAllowedGroups) {
		rows = append(rows, groupRow{Level: forgelink.AccessGuest})
	}
	return rows
}

// postedGroups reads the "Who may sign in" rows of a posted integration form: pairs of
// group_path and group_level, rows without a path skipped. sent is false when the form had
// no such section (a script posting only the name), which leaves the groups unchanged.
func postedGroups(r *http.Request) (groups []forgelink.GroupRule, sent bool) {
	if r.PostForm.Get("allowed_groups_form") == "" {
		return nil, false
	}
	paths, levels := r.PostForm["group_path"], r.PostForm["group_level"]
	groups = []forgelink.GroupRule{}
	for i, p := range paths {
		if strings.TrimSpace(p) == "" {
			continue
		}
		level := 0
		if i < len(levels) {
			level, _ = strconv.Atoi(levels[i])
		}
		groups = append(groups, forgelink.GroupRule{Path: p, MinAccessLevel: level})
	}
	return groups, true
}
