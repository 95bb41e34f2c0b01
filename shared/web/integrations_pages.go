package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/gitlab"
	"github.com/forgelink/forgelink/shared/service"
)

// fieldError is one entry of a form's error summary; Field is the id of its input.
type fieldError struct{ Field, Label, Message string }

// formLabels orders and names the fields of the integration forms for the error summary.
var formLabels = []struct{ field, label string }{
	{"platform", "Platform"},
	{"url", "Server URL"},
	{"name", "Display name"},
	{"client_id", "Application ID"},
	{"client_secret", "Secret"},
	{"ca_bundle", "CA bundle"},
	{"allowed_groups", "Who may sign in"},
	// The Admins page.
	{"integration_id", "Integration"},
	{"username", "GitLab username"},
	{"group", "Group path"},
	{"min_access_level", "Access level"},
}

// summarize lists the field errors in form order. A message shared by several fields
// ("Application ID or Secret is wrong") is listed once, linking to the first of them.
func summarize(fields map[string]string) []fieldError {
	var out []fieldError
	seen := map[string]bool{}
	for _, f := range formLabels {
		msg, ok := fields[f.field]
		if !ok || seen[fieldText(f.label, msg)] {
			continue
		}
		seen[fieldText(f.label, msg)] = true
		out = append(out, fieldError{Field: f.field, Label: f.label, Message: msg})
	}
	return out
}

// integrationRow is one line of the list page.
type integrationRow struct {
	forgelink.Integration
	Active   bool
	LoginURL string
	EditURL  string
}

// deletedNotice names a deleted integration and where its GitLab application lives.
type deletedNotice struct{ Name, Host, ApplicationsURL, AdminURL string }

// confidentialNotice is the warning about an integration whose GitLab application is
// not Confidential, with the places on GitLab where it may live (forgelink does not know
// which one) and, on the list, the integration's page, where Save checks again.
type confidentialNotice struct{ Name, Host, ApplicationsURL, AdminURL, EditURL string }

// notConfidential is the notice of in, or nil when its application is Confidential.
func notConfidential(in forgelink.Integration, onList bool) *confidentialNotice {
	if !in.NotConfidential {
		return nil
	}
	n := &confidentialNotice{Name: in.Name, Host: in.Host(), ApplicationsURL: service.SetupURL(in), AdminURL: in.URL + "/admin/applications"}
	if onList {
		n.EditURL = integrationPath(in.Org, in.ID)
	}
	return n
}

type integrationsListPage struct {
	Deleted *deletedNotice
	// NotConfidential warns, right after a Save, that the saved integration's GitLab
	// application is not Confidential.
	NotConfidential *confidentialNotice
	Title           string
	Org             string
	Rows            []integrationRow
	Notice          string
	NewURL          string
	Signout         string
}

func (s *integrationsServer) handleIntegrationsPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _, ok := s.adminPage(w, r)
		if !ok {
			return
		}
		list, err := s.integrations.ListIntegrations(r.Context(), actor.Org)
		if err != nil {
			s.failHTML(w, r, err, "")
			return
		}
		base := s.base(r)
		page := integrationsListPage{Title: "Integrations", Org: actor.Org, NewURL: integrationsPath(actor.Org) + "/new"}
		for _, in := range list {
			page.Rows = append(page.Rows, integrationRow{
				Integration: in,
				Active:      in.Status == forgelink.StatusActive,
				LoginURL:    service.LoginURL(base, in.Org, in.ID),
				EditURL:     integrationPath(in.Org, in.ID),
			})
			// Notices name stored integrations only, never text from the query string.
			if q := r.URL.Query().Get("saved"); q != "" && q == in.ID {
				page.Notice = "Integration “" + in.Name + "” is saved and active. Share its login link with your organization."
				page.NotConfidential = notConfidential(in, true)
			}
		}
		if id := r.URL.Query().Get("deleted"); id != "" {
			page.Notice = "The integration was deleted, together with its client secret."
			if f := s.takeFlash(w, r, "deleted", id); f != nil {
				page.Notice = ""
				page.Deleted = &deletedNotice{Name: f.Name, Host: forgelink.Integration{URL: f.URL}.Host(),
					ApplicationsURL: f.URL + "/-/user_settings/applications", AdminURL: f.URL + "/admin/applications"}
			}
		}
		s.render(w, r, http.StatusOK, "integrations.html", page)
	})
}

type newIntegrationPage struct {
	Title   string
	Org     string
	CSRF    string
	Action  string
	Cancel  string
	URL     string
	Name    string
	Errors  map[string]string
	Summary []fieldError
	Message string
	// ExistingURL is the page of the integration that already has the typed URL.
	ExistingURL string
}

func (s *integrationsServer) newPage(org, sid string) newIntegrationPage {
	return newIntegrationPage{
		Title: "Add Integration", Org: org, CSRF: s.csrfToken(sid),
		Action: integrationsPath(org), Cancel: integrationsPath(org), Errors: map[string]string{},
	}
}

func (s *integrationsServer) handleNewIntegrationPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, sid, ok := s.adminPage(w, r)
		if !ok {
			return
		}
		s.render(w, r, http.StatusOK, "integrations_new.html", s.newPage(actor.Org, sid))
	})
}

func (s *integrationsServer) handleCreateIntegrationForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, sid, ok := s.adminForm(w, r)
		if !ok {
			return
		}
		platform, rawURL, name := r.PostFormValue("platform"), r.PostFormValue("url"), r.PostFormValue("name")
		// The page's platform select has one option; a form posted without the field
		// (a script that fills in only the URL) means that one. A value sent is checked.
		if _, sent := r.PostForm["platform"]; !sent {
			platform = forgelink.PlatformGitLab
		}
		in, notes, err := s.integrations.CreateIntegrationNotes(r.Context(), actor, actor.Org, service.IntegrationInput{
			Platform: &platform, URL: &rawURL, Name: &name, CheckServer: true,
		}, s.base(r))
		if err != nil {
			switch forgelink.ErrorCode(err) {
			case forgelink.EINVALID, forgelink.ECONFLICT, forgelink.ERATELIMITED, forgelink.EUNAVAILABLE:
				// Re-render with the input kept (as the save form does), so a retry after
				// a 429 or 503 needs no retyping.
				_, status := s.prepareFailure(w, r, err)
				page := s.newPage(actor.Org, sid)
				page.URL, page.Name = rawURL, name
				page.Errors = fieldsOrEmpty(err)
				page.Summary = summarize(page.Errors)
				page.Message = forgelink.ErrorMessage(err)
				if page.Errors["url"] == service.DuplicateURLMessage {
					page.ExistingURL = s.integrationAt(r, actor.Org, rawURL)
				}
				s.render(w, r, status, "integrations_new.html", page)
			default:
				s.failHTML(w, r, err, "")
			}
			return
		}
		if len(notes) > 0 {
			s.setFlash(w, r, flash{Kind: "created", ID: in.ID, Notes: notes})
		}
		http.Redirect(w, r, integrationPath(in.Org, in.ID), http.StatusSeeOther)
	})
}

// integrationAt is the page of org's integration for the server URL raw (as typed, or a
// GitLab page on it); "" when none matches.
func (s *integrationsServer) integrationAt(r *http.Request, org, raw string) string {
	server, _ := service.ServerURLOfPage(raw)
	want := strings.TrimRight(strings.ToLower(strings.TrimSpace(server)), "/")
	list, err := s.integrations.ListIntegrations(r.Context(), org)
	if err != nil {
		return ""
	}
	for _, in := range list {
		if strings.ToLower(in.URL) == want {
			return integrationPath(in.Org, in.ID)
		}
	}
	return ""
}

// integrationEditPage is the setup page of a pending integration and the edit page of an
// active one. It never carries the secret.
type integrationEditPage struct {
	Title         string
	Org           string
	CSRF          string
	In            forgelink.Integration
	Pending       bool
	Action        string
	DeleteAction  string
	ListURL       string
	CallbackURL   string
	SetupURL      string
	AdminSetupURL string
	GroupSetupURL string
	LoginURL      string
	// Form values (input kept on errors; the secret never).
	ClientID string
	Name     string
	CABundle string
	Version  int64
	// URL is the Server URL form's value and URLAction its target (pending only);
	// ExistingURL the page of the integration that has the typed URL; Moved says that
	// the URL just changed.
	URL         string
	URLAction   string
	ExistingURL string
	Moved       string
	// Who may sign in: one row per allowed group plus empty rows to add more.
	Groups  []groupRow
	Levels  []levelOption
	Errors  map[string]string
	Summary []fieldError
	Message string
	Audit   []auditRow
	// Notes are warnings about the server found when the integration was created; SameName
	// the host of another integration with this display name; CredentialsWrong explains
	// how to get a Secret GitLab no longer shows; NotConfidential warns until a Save finds
	// the GitLab application Confidential.
	Notes            []string
	SameName         string
	CredentialsWrong bool
	NotConfidential  *confidentialNotice
	// Test is a Test sign-in's report waiting to be shown, and TestAction its button.
	Test       *service.TestOutcome
	TestAction string
}

func (s *integrationsServer) editPage(r *http.Request, sid string, in forgelink.Integration) integrationEditPage {
	base := s.base(r)
	page := integrationEditPage{
		Title:           in.Name,
		Org:             in.Org,
		CSRF:            s.csrfToken(sid),
		In:              in,
		Pending:         in.Status != forgelink.StatusActive,
		Action:          integrationPath(in.Org, in.ID),
		DeleteAction:    integrationPath(in.Org, in.ID) + "/delete",
		TestAction:      integrationPath(in.Org, in.ID) + "/test",
		ListURL:         integrationsPath(in.Org),
		CallbackURL:     service.CallbackURL(base, in.Org, in.ID),
		SetupURL:        service.SetupURL(in),
		AdminSetupURL:   service.AdminSetupURL(in),
		GroupSetupURL:   service.GroupSetupURL(in, "{group}"),
		LoginURL:        service.LoginURL(base, in.Org, in.ID),
		ClientID:        in.ClientID,
		Name:            in.Name,
		CABundle:        in.CABundle,
		Version:         in.Version,
		URL:             in.URL,
		URLAction:       integrationPath(in.Org, in.ID) + "/url",
		Groups:          groupRows(in.AllowedGroups),
		Levels:          levelOptions(),
		Errors:          map[string]string{},
		NotConfidential: notConfidential(in, false),
	}
	if page.Pending {
		page.Title = "Finish setting up " + in.Name
	}
	audit, err := s.audit.ListAudit(r.Context(), in.Org, in.ID, 20)
	if err != nil {
		s.log.WarnContext(r.Context(), "audit trail unavailable", "error", err.Error())
	}
	page.Audit = auditRows(audit, in.Host())
	page.SameName = s.sameName(r, in)
	return page
}

// backToIntegrations is the way out of an error page about an integration.
func backToIntegrations(org string) errorPage {
	return errorPage{ActionURL: integrationsPath(org), ActionLabel: "Back to integrations"}
}

// pathIntegration reads the integration the path names; when it cannot, it has answered
// with the error page.
func (s *integrationsServer) pathIntegration(w http.ResponseWriter, r *http.Request, org string) (forgelink.Integration, bool) {
	in, err := s.integrations.GetIntegration(r.Context(), org, r.PathValue("id"))
	if err != nil {
		s.failPage(w, r, err, backToIntegrations(org))
		return forgelink.Integration{}, false
	}
	return in, true
}

func (s *integrationsServer) handleIntegrationPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, sid, ok := s.adminPage(w, r)
		if !ok {
			return
		}
		in, ok := s.pathIntegration(w, r, actor.Org)
		if !ok {
			return
		}
		page := s.editPage(r, sid, in)
		page.Test = s.takeTestOutcome(w, r, in.ID)
		if f := s.takeFlash(w, r, "created", in.ID); f != nil {
			page.Notes = f.Notes
		} else if f := s.takeFlash(w, r, "moved", in.ID); f != nil {
			page.Notes = f.Notes
			page.Moved = "The Server URL is now " + in.URL + " (it was " + f.URL + "). The Callback URL stays the same."
		}
		s.render(w, r, http.StatusOK, "integrations_edit.html", page)
	})
}

// handleChangeURLForm is POST …/integrations/{id}/url, the setup page's "Wrong server?"
// form. Like Continue at create it reaches the new server first: no answer is a field
// error with the typed URL kept; an answer that is not GitLab at that URL is a warning on
// the page it returns to.
func (s *integrationsServer) handleChangeURLForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, sid, ok := s.adminForm(w, r)
		if !ok {
			return
		}
		cur, ok := s.pathIntegration(w, r, actor.Org)
		if !ok {
			return
		}
		raw := r.PostFormValue("url")
		version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
		in, notes, err := s.integrations.UpdateIntegrationNotes(r.Context(), actor, actor.Org, cur.ID,
			service.IntegrationInput{URL: &raw, Version: version, CheckServer: true}, s.base(r))
		if err != nil {
			switch forgelink.ErrorCode(err) {
			case forgelink.EINVALID, forgelink.ECONFLICT, forgelink.ERATELIMITED, forgelink.EUNAVAILABLE:
				_, status := s.prepareFailure(w, r, err)
				page := s.editPage(r, sid, cur)
				page.URL = raw
				if version != 0 {
					page.Version = version // a stale form stays stale: reload, as the save form says
				}
				page.Errors = fieldsOrEmpty(err)
				page.Summary = summarize(page.Errors)
				page.Message = forgelink.ErrorMessage(err)
				if page.Errors["url"] == service.DuplicateURLMessage {
					page.ExistingURL = s.integrationAt(r, actor.Org, raw)
				}
				s.render(w, r, status, "integrations_edit.html", page)
			default:
				s.failPage(w, r, err, backToIntegrations(actor.Org))
			}
			return
		}
		if in.URL != cur.URL {
			s.setFlash(w, r, flash{Kind: "moved", ID: in.ID, URL: cur.URL, Notes: notes})
		}
		http.Redirect(w, r, integrationPath(in.Org, in.ID), http.StatusSeeOther)
	})
}

// handleTestSignIn is POST …/integrations/{id}/test: an admin's Test sign-in, the real
// flow in test mode (302 to GitLab); the callback reports back on the integration's page.
func (s *integrationsServer) handleTestSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _, ok := s.adminForm(w, r)
		if !ok {
			return
		}
		start, err := s.signIn.StartTest(r.Context(), actor, s.base(r), actor.Org, r.PathValue("id"))
		if err != nil {
			s.failPage(w, r, err, errorPage{ActionURL: integrationPath(actor.Org, r.PathValue("id")), ActionLabel: "Back to the integration"})
			return
		}
		sealed, err := s.sealer.Seal(start.State, s.now(), forgelink.StateTTL)
		if err != nil {
			s.fail(w, r, forgelink.Wrap(forgelink.EINTERNAL, err, "The test could not be started."))
			return
		}
		s.setCookie(w, r, cookieState, sealed, forgelink.StateTTL)
		w.Header().Set("Location", start.AuthURL)
		w.WriteHeader(http.StatusFound)
	})
}

func (s *integrationsServer) handleSaveIntegrationForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, sid, ok := s.adminForm(w, r)
		if !ok {
			return
		}
		cur, ok := s.pathIntegration(w, r, actor.Org)
		if !ok {
			return
		}
		f := readSaveForm(r)
		saved := integrationsPath(cur.Org) + "?saved=" + cur.ID
		if s.savedBefore(r, cur, f) {
			// The same form sent twice (a double click, a reload): the first one saved it.
			http.Redirect(w, r, saved, http.StatusSeeOther)
			return
		}
		_, err := s.integrations.UpdateIntegration(r.Context(), actor, actor.Org, cur.ID, f.input(cur), s.base(r))
		if forgelink.ErrorCode(err) == forgelink.ECONFLICT && s.savedMeanwhile(r, cur, f) {
			// Both sends of one form read the same version (the second click arrived while
			// the first was still at GitLab): the first one saved it, so this is no conflict.
			http.Redirect(w, r, saved, http.StatusSeeOther)
			return
		}
		if err != nil {
			s.renderSaveFailure(w, r, sid, cur, f, err)
			return
		}
		http.Redirect(w, r, saved, http.StatusSeeOther)
	})
}

// saveForm is what the integration page's form posted.
type saveForm struct {
	clientID, secret, name, ca string
	version                    int64
	groups                     []forgelink.GroupRule
	groupsSent                 bool
}

func readSaveForm(r *http.Request) saveForm {
	f := saveForm{
		clientID: r.PostFormValue("client_id"), secret: r.PostFormValue("client_secret"),
		name: r.PostFormValue("name"), ca: r.PostFormValue("ca_bundle"),
	}
	f.version, _ = strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	f.groups, f.groupsSent = postedGroups(r)
	return f
}

// input is the change f asks of cur. A pending integration needs credentials; an active
// one keeps its secret unless a new one is typed. The edit page fills in the current
// Application ID, so that value with an empty Secret means "keep the credentials" (a
// rename), not "a new ID without its secret".
func (f saveForm) input(cur forgelink.Integration) service.IntegrationInput {
	input := service.IntegrationInput{Name: &f.name, CABundle: &f.ca, Version: f.version}
	keep := cur.Status == forgelink.StatusActive && f.secret == "" &&
		(f.clientID == "" || strings.TrimSpace(f.clientID) == cur.ClientID)
	if !keep {
		input.ClientID, input.ClientSecret = &f.clientID, &f.secret
	}
	if f.groupsSent {
		input.AllowedGroups = &f.groups
	}
	return input
}

// savedMeanwhile reads the integration again after a conflict and tells whether f is
// what it now is (savedBefore).
func (s *integrationsServer) savedMeanwhile(r *http.Request, cur forgelink.Integration, f saveForm) bool {
	latest, err := s.integrations.GetIntegration(r.Context(), cur.Org, cur.ID)
	return err == nil && s.savedBefore(r, latest, f)
}

// renderSaveFailure shows the integration page again with the admin's input (the secret
// never) and what went wrong, or an error page for failures the form cannot help with.
func (s *integrationsServer) renderSaveFailure(w http.ResponseWriter, r *http.Request, sid string, cur forgelink.Integration, f saveForm, err error) {
	switch forgelink.ErrorCode(err) {
	case forgelink.EINVALID, forgelink.EUPSTREAM, forgelink.ECONFLICT, forgelink.ERATELIMITED, forgelink.EUNAVAILABLE:
		_, status := s.prepareFailure(w, r, err)
		page := s.editPage(r, sid, cur)
		page.ClientID, page.Name, page.CABundle = f.clientID, f.name, f.ca
		if f.groupsSent {
			page.Groups = groupRows(f.groups)
		}
		if f.version != 0 {
			page.Version = f.version
		}
		page.Errors = fieldsOrEmpty(err)
		page.Summary = summarize(page.Errors)
		page.Message = forgelink.ErrorMessage(err)
		page.CredentialsWrong = page.Errors["client_secret"] == gitlab.WrongCredentials
		s.render(w, r, status, "integrations_edit.html", page)
	default:
		s.failPage(w, r, err, backToIntegrations(cur.Org))
	}
}

func (s *integrationsServer) handleDeleteIntegrationForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _, ok := s.adminForm(w, r)
		if !ok {
			return
		}
		in, ok := s.pathIntegration(w, r, actor.Org)
		if !ok {
			return
		}
		if err := s.integrations.DeleteIntegration(r.Context(), actor, actor.Org, in.ID); err != nil {
			s.failPage(w, r, err, backToIntegrations(actor.Org))
			return
		}
		s.setFlash(w, r, flash{Kind: "deleted", ID: in.ID, Name: in.Name, URL: in.URL})
		http.Redirect(w, r, integrationsPath(actor.Org)+"?deleted="+in.ID, http.StatusSeeOther)
	})
}

// savedBefore tells whether f, a form based on an older version, asks for what cur
// already is: an active integration with that Application ID, name, CA bundle and
// groups, whose secret (when one was sent) is that one and was saved in the last minutes.
func (s *integrationsServer) savedBefore(r *http.Request, cur forgelink.Integration, f saveForm) bool {
	name := strings.TrimSpace(f.name)
	switch {
	case f.version == 0, f.version == cur.Version,
		cur.Status != forgelink.StatusActive, strings.TrimSpace(f.clientID) != cur.ClientID,
		name != cur.Name && !(name == "" && cur.Name == cur.Host()),
		strings.TrimSpace(f.ca) != strings.TrimSpace(cur.CABundle),
		f.groupsSent && !slices.Equal(f.groups, cur.AllowedGroups):
		return false
	}
	if f.secret == "" {
		return true
	}
	return s.now().Sub(cur.SecretUpdatedAt) < 10*time.Minute && s.integrations.HoldsSecret(r.Context(), cur, f.secret)
}

// sameName is the host of another integration of in's org with in's display name; ""
// when there is none (or the list cannot be read: the warning is a nicety).
func (s *integrationsServer) sameName(r *http.Request, in forgelink.Integration) string {
	list, err := s.integrations.ListIntegrations(r.Context(), in.Org)
	if err != nil {
		return ""
	}
	for _, o := range list {
		if o.ID != in.ID && strings.EqualFold(strings.TrimSpace(o.Name), strings.TrimSpace(in.Name)) {
			return o.Host()
		}
	}
	return ""
}

func fieldsOrEmpty(err error) map[string]string {
	if f := forgelink.ErrorFields(err); f != nil {
		return f
	}
	return map[string]string{}
}

func (p integrationEditPage) gitLabOrigin() string { return originOf(p.In.URL) }
