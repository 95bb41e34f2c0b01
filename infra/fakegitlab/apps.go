package fakegitlab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// knownScopes are the OAuth application scopes GitLab 17 offers, in the
// order its form lists them.
var knownScopes = []scopeChoice{
	{Name: "api", Description: "Grants complete read/write access to the API, including all groups and projects."},
	{Name: "read_api", Description: "Grants read access to the API, including all groups and projects."},
	{Name: "read_user", Description: "Grants read-only access to your profile through the /user API endpoint."},
	{Name: "create_runner", Description: "Grants create access to the runners."},
	{Name: "manage_runner", Description: "Grants access to manage the runners."},
	{Name: "k8s_proxy", Description: "Grants permission to perform Kubernetes API calls using the agent for Kubernetes."},
	{Name: "read_repository", Description: "Grants read-only access to repositories on private projects."},
	{Name: "write_repository", Description: "Grants read-write access to repositories on private projects."},
	{Name: "read_registry", Description: "Grants read-only access to container registry images on private projects."},
	{Name: "write_registry", Description: "Grants write access to container registry images on private projects."},
	{Name: "ai_features", Description: "Grants access to GitLab Duo related API endpoints."},
	{Name: "sudo", Description: "Grants permission to perform API actions as any user in the system."},
	{Name: "admin_mode", Description: "Grants permission to perform API actions as an administrator."},
	{Name: "openid", Description: "Grants permission to authenticate with GitLab using OpenID Connect."},
	{Name: "profile", Description: "Grants read-only access to the user's profile data using OpenID Connect."},
	{Name: "email", Description: "Grants read-only access to the user's primary email address using OpenID Connect."},
}

func isKnownScope(name string) bool {
	for _, sc := range knownScopes {
		if sc.Name == name {
			return true
		}
	}
	return false
}

// validateApp applies Doorkeeper's model validations; the messages are
// GitLab's full messages ("Redirect URI must be an absolute URI.").
func validateApp(name string, uris, scopes []string) map[string][]string {
	errs := map[string][]string{}
	if strings.TrimSpace(name) == "" {
		errs["name"] = append(errs["name"], "can't be blank")
	}
	if len(uris) == 0 {
		errs["redirect_uri"] = append(errs["redirect_uri"], "can't be blank")
	}
	for _, raw := range uris {
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == ""):
			errs["redirect_uri"] = append(errs["redirect_uri"], "must be an absolute URI.")
		case u.Fragment != "" || strings.Contains(raw, "#"):
			errs["redirect_uri"] = append(errs["redirect_uri"], "cannot contain a fragment.")
		}
	}
	if len(scopes) == 0 {
		errs["scopes"] = append(errs["scopes"], "can't be blank")
	}
	for _, sc := range scopes {
		if !isKnownScope(sc) {
			errs["scopes"] = append(errs["scopes"], "doesn't match configured on the server.")
			break
		}
	}
	return errs
}

var fieldLabels = map[string]string{"name": "Name", "redirect_uri": "Redirect URI", "scopes": "Scopes"}

// ---- REST API: /api/v4/applications (admin only) ----

// apiAdmin authenticates an API request and requires an admin with scope
// api, answering 401 or 403 like GitLab otherwise.
func (s *Server) apiAdmin(w http.ResponseWriter, r *http.Request) bool {
	u, _, ok := s.apiAuth(w, r, "api")
	if !ok {
		return false
	}
	if !u.Admin {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "403 Forbidden"})
		return false
	}
	return true
}

type apiApp struct {
	ID              int    `json:"id"`
	ApplicationID   string `json:"application_id"`
	ApplicationName string `json:"application_name"`
	Secret          string `json:"secret,omitempty"`
	CallbackURL     string `json:"callback_url"`
	Confidential    bool   `json:"confidential"`
}

func toAPIApp(a *Application, withSecret bool) apiApp {
	out := apiApp{ID: a.ID, ApplicationID: a.UID, ApplicationName: a.Name,
		CallbackURL: strings.Join(a.RedirectURIs, "\n"), Confidential: a.Confidential}
	if withSecret {
		out.Secret = a.Secret
	}
	return out
}

// handleAPICreateApp takes name, redirect_uri (newline-separated for
// several), scopes (space or comma separated) and confidential (default
// true), as form fields, query parameters or a JSON body, like Grape.
func (s *Server) handleAPICreateApp(w http.ResponseWriter, r *http.Request) {
	if !s.apiAdmin(w, r) {
		return
	}
	params, err := apiParams(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "The request body could not be parsed"})
		return
	}
	var missing []string
	for _, k := range []string{"name", "redirect_uri", "scopes"} {
		if strings.TrimSpace(params[k]) == "" {
			missing = append(missing, k+" is missing")
		}
	}
	if len(missing) > 0 {
		// Grape's message for absent required parameters.
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": strings.Join(missing, ", ")})
		return
	}
	confidential := true
	if v, ok := params["confidential"]; ok && v != "" {
		switch strings.ToLower(v) {
		case "true", "1", "t", "yes":
		case "false", "0", "f", "no":
			confidential = false
		default:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "confidential is invalid"})
			return
		}
	}
	uris := splitRedirectURIs(params["redirect_uri"])
	scopes := strings.FieldsFunc(params["scopes"], func(c rune) bool { return c == ' ' || c == ',' || c == '\n' })
	if errs := validateApp(params["name"], uris, scopes); len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": errs})
		return
	}
	s.mu.Lock()
	a := s.createAppLocked(params["name"], uris, scopes, confidential, false, 0)
	out := toAPIApp(a, true)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// apiParams flattens a form, query or JSON body into strings.
func apiParams(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		// UseNumber keeps ids as sent: a float64 would print 1000000 as 1e+06.
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, err
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			case []any:
				var parts []string
				for _, p := range v {
					parts = append(parts, fmt.Sprint(p))
				}
				out[k] = strings.Join(parts, " ")
			case nil:
			default:
				out[k] = fmt.Sprint(v)
			}
		}
		for k, v := range r.URL.Query() {
			if _, ok := out[k]; !ok && len(v) > 0 {
				out[k] = v[0]
			}
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k, v := range r.Form {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out, nil
}

func (s *Server) handleAPIListApps(w http.ResponseWriter, r *http.Request) {
	if !s.apiAdmin(w, r) {
		return
	}
	s.mu.Lock()
	out := []apiApp{}
	for _, a := range s.apps {
		out = append(out, toAPIApp(a, false))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// handleAPIDeleteApp deletes an application; its grants and tokens die with
// it, as Doorkeeper's dependent: :delete_all does.
func (s *Server) handleAPIDeleteApp(w http.ResponseWriter, r *http.Request) {
	if !s.apiAdmin(w, r) {
		return
	}
	id, err := atoi(r.PathValue("id"))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range s.apps {
		if err == nil && a.ID == id {
			s.apps = append(s.apps[:i], s.apps[i+1:]...)
			for k, g := range s.grants {
				if g.AppUID == a.UID {
					delete(s.grants, k)
				}
			}
			for _, t := range s.tokens {
				if t.AppUID == a.UID {
					t.Revoked = true
				}
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Application Not Found"})
}

// ---- Web pages where a person registers an application ----

type appForm struct {
	Name, RedirectURI     string
	Trusted, Confidential bool
	Scopes                []string
}

// appPages tells the user-settings and admin-area variants apart.
type appPages struct {
	base  string // list and POST path
	admin bool
}

var (
	userAppPages  = appPages{base: "/-/user_settings/applications"}
	adminAppPages = appPages{base: "/admin/applications", admin: true}
)

func (s *Server) handleUserApps(w http.ResponseWriter, r *http.Request) {
	s.appsIndex(w, r, userAppPages)
}
func (s *Server) handleUserAppCreate(w http.ResponseWriter, r *http.Request) {
	s.appsCreate(w, r, userAppPages)
}
func (s *Server) handleUserAppShow(w http.ResponseWriter, r *http.Request) {
	s.appsShow(w, r, userAppPages)
}
func (s *Server) handleAdminApps(w http.ResponseWriter, r *http.Request) {
	s.appsIndex(w, r, adminAppPages)
}
func (s *Server) handleAdminAppNew(w http.ResponseWriter, r *http.Request) {
	s.appsIndex(w, r, adminAppPages)
}
func (s *Server) handleAdminAppCreate(w http.ResponseWriter, r *http.Request) {
	s.appsCreate(w, r, adminAppPages)
}
func (s *Server) handleAdminAppShow(w http.ResponseWriter, r *http.Request) {
	s.appsShow(w, r, adminAppPages)
}

// pageUser requires sign-in, and an admin for the admin area (others get
// GitLab's 404 there, which hides that the page exists).
func (s *Server) pageUser(w http.ResponseWriter, r *http.Request, p appPages) *User {
	u := s.requireSignIn(w, r)
	if u == nil {
		return nil
	}
	if p.admin && !u.Admin {
		s.notFound(w, r)
		return nil
	}
	return u
}

// ownedApps lists what the page shows: the user's own applications, or the
// instance-wide ones in the admin area.
func (s *Server) ownedApps(u *User, p appPages) []Application {
	owner := u.ID
	if p.admin {
		owner = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Application
	for _, a := range s.apps {
		if a.OwnerID == owner {
			out = append(out, *a)
		}
	}
	return out
}

func (s *Server) appsIndex(w http.ResponseWriter, r *http.Request, p appPages) {
	u := s.pageUser(w, r, p)
	if u == nil {
		return
	}
	s.renderAppForm(w, r, u, p, appForm{Confidential: true}, nil)
}

func (s *Server) renderAppForm(w http.ResponseWriter, r *http.Request, u *User, p appPages, f appForm, errs []string) {
	var choices []scopeChoice
	for _, sc := range knownScopes {
		sc.Checked = contains(f.Scopes, sc.Name)
		choices = append(choices, sc)
	}
	heading := "Applications"
	if p.admin {
		heading = "Instance OAuth applications"
	}
	s.render(w, r, http.StatusOK, "apps", pageData{
		Title: "Applications", Heading: heading, User: u,
		FormAction: p.base, Admin: p.admin, Form: f, Errors: errs, AllScopes: choices,
		Apps: s.ownedApps(u, p), ShowPath: p.base,
	})
}

func (s *Server) appsCreate(w http.ResponseWriter, r *http.Request, p appPages) {
	u := s.pageUser(w, r, p)
	if u == nil {
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := appForm{
		Name:         strings.TrimSpace(r.PostForm.Get("doorkeeper_application[name]")),
		RedirectURI:  r.PostForm.Get("doorkeeper_application[redirect_uri]"),
		Trusted:      p.admin && checkbox(r.PostForm["doorkeeper_application[trusted]"], false),
		Confidential: checkbox(r.PostForm["doorkeeper_application[confidential]"], true),
		Scopes:       r.PostForm["doorkeeper_application[scopes][]"],
	}
	uris := splitRedirectURIs(f.RedirectURI)
	if errs := validateApp(f.Name, uris, f.Scopes); len(errs) > 0 {
		var msgs []string
		for _, k := range []string{"name", "redirect_uri", "scopes"} {
			for _, m := range errs[k] {
				msgs = append(msgs, fieldLabels[k]+" "+m)
			}
		}
		s.renderAppForm(w, r, u, p, f, msgs)
		return
	}
	owner := u.ID
	if p.admin {
		owner = 0
	}
	sess := s.sessionFor(r)
	s.mu.Lock()
	a := s.createAppLocked(f.Name, uris, f.Scopes, f.Confidential, f.Trusted, owner)
	if sess != nil {
		sess.JustCreated[a.ID] = true
	}
	s.mu.Unlock()
	http.Redirect(w, r, s.base(r)+p.base+"/"+itoa(a.ID), http.StatusFound)
}

// checkbox reads a Rails check_box: a hidden "0" followed by "1" when
// ticked; the last value wins. Absent entirely: the model default.
func checkbox(values []string, def bool) bool {
	if len(values) == 0 {
		return def
	}
	v := values[len(values)-1]
	return v == "1" || v == "true" || v == "on"
}

func (s *Server) appsShow(w http.ResponseWriter, r *http.Request, p appPages) {
	u := s.pageUser(w, r, p)
	if u == nil {
		return
	}
	id, err := atoi(r.PathValue("id"))
	var app *Application
	for _, a := range s.ownedApps(u, p) {
		if err == nil && a.ID == id {
			a := a
			app = &a
		}
	}
	if app == nil {
		s.notFound(w, r)
		return
	}
	// The secret is shown once, on the page the creation redirects to.
	secret := ""
	if sess := s.sessionFor(r); sess != nil {
		s.mu.Lock()
		if sess.JustCreated[app.ID] {
			secret = app.Secret
			delete(sess.JustCreated, app.ID)
		}
		s.mu.Unlock()
	}
	s.render(w, r, http.StatusOK, "app", pageData{
		Title: "Application: " + app.Name, Heading: "Application: " + app.Name, User: u,
		App: app, Secret: secret, ShowPath: p.base,
	})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
