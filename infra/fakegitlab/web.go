package fakegitlab

import (
	"bytes"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"time"
)

// sessionCookie is the name GitLab (Rails) gives its session cookie.
const sessionCookie = "_gitlab_session"

// session is a browser session. It exists before sign-in too, because GitLab
// remembers where to return after sign-in ("user_return_to") in it.
type session struct {
	ID         string
	UserID     int // 0: not signed in
	SignedInAt time.Time
	ReturnTo   string
	CSRF       string
	// JustCreated holds applications whose secret the next show page may
	// reveal: GitLab shows a new secret once, right after creation.
	JustCreated map[int]bool
}

// sessionFor returns the request's session, or nil.
func (s *Server) sessionFor(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[c.Value]
}

// ensureSession returns the request's session, creating one (and its
// cookie) when there is none.
func (s *Server) ensureSession(w http.ResponseWriter, r *http.Request) *session {
	if sess := s.sessionFor(r); sess != nil {
		return sess
	}
	return s.newSession(w, r, "")
}

func (s *Server) newSession(w http.ResponseWriter, r *http.Request, returnTo string) *session {
	sess := &session{ID: randomHex(32), CSRF: randomString(43), ReturnTo: returnTo, JustCreated: map[int]bool{}}
	s.mu.Lock()
	s.sessions[sess.ID] = sess
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: sess.ID, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.base(r), "https:"),
	})
	return sess
}

// currentUser is the signed-in user of the request (a copy), or nil.
func (s *Server) currentUser(r *http.Request) *User {
	sess := s.sessionFor(r)
	if sess == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.UserID == 0 {
		return nil
	}
	if u := s.userByIDLocked(sess.UserID); u != nil {
		cp := *u
		return &cp
	}
	return nil
}

// requireSignIn sends an anonymous browser to the sign-in form and
// remembers the page it asked for, as Devise's authenticate_user! does.
func (s *Server) requireSignIn(w http.ResponseWriter, r *http.Request) *User {
	if u := s.currentUser(r); u != nil {
		return u
	}
	sess := s.ensureSession(w, r)
	s.mu.Lock()
	sess.ReturnTo = r.URL.RequestURI()
	s.mu.Unlock()
	http.Redirect(w, r, s.base(r)+"/users/sign_in", http.StatusFound)
	return nil
}

func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", pageData{Title: "Projects", Heading: "Welcome to GitLab"})
}

func (s *Server) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	if s.currentUser(r) != nil {
		// Devise's require_no_authentication.
		http.Redirect(w, r, s.base(r)+s.takeReturnTo(r), http.StatusFound)
		return
	}
	s.ensureSession(w, r)
	s.render(w, r, http.StatusOK, "signin", pageData{Title: "Sign in", Heading: "Sign in to GitLab"})
}

// handleSignIn checks user[login] (username or e-mail) and user[password].
// The authenticity_token is rendered but not enforced: only test drivers
// post this form, and they should not need to scrape it.
//
// Deliberate deviation: blocked users (mallory) can sign in, so that a
// client's own "state must be active" check can be exercised end to end.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	login := strings.TrimSpace(r.PostFormValue("user[login]"))
	password := r.PostFormValue("user[password]")
	s.mu.Lock()
	u := s.userByLoginLocked(login)
	ok := u != nil && password != "" && password == u.Password
	var uid int
	if ok {
		uid = u.ID
	}
	s.mu.Unlock()
	if !ok {
		s.ensureSession(w, r)
		s.render(w, r, http.StatusOK, "signin", pageData{
			Title: "Sign in", Heading: "Sign in to GitLab",
			Error: "Invalid login or password.", Login: login,
		})
		return
	}
	returnTo := s.takeReturnTo(r)
	// A new session id at sign-in (session fixation defence, as Devise).
	if old := s.sessionFor(r); old != nil {
		s.mu.Lock()
		delete(s.sessions, old.ID)
		s.mu.Unlock()
	}
	sess := s.newSession(w, r, "")
	s.mu.Lock()
	sess.UserID, sess.SignedInAt = uid, s.now()
	s.mu.Unlock()
	http.Redirect(w, r, s.base(r)+returnTo, http.StatusFound)
}

// takeReturnTo pops the stored return location; "/" when there is none.
func (s *Server) takeReturnTo(r *http.Request) string {
	sess := s.sessionFor(r)
	if sess == nil {
		return "/"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	to := sess.ReturnTo
	sess.ReturnTo = ""
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") {
		return "/"
	}
	return to
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if sess := s.sessionFor(r); sess != nil {
		s.mu.Lock()
		delete(s.sessions, sess.ID)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, s.base(r)+"/users/sign_in", http.StatusFound)
}

// handleAvatar serves a small generated PNG so avatar_url values resolve
// locally: a page showing them must not reach out to a CDN.
func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request) {
	id, err := atoi(r.PathValue("id"))
	s.mu.Lock()
	u := s.userByIDLocked(id)
	s.mu.Unlock()
	if err != nil || u == nil {
		s.notFound(w, r)
		return
	}
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	c := color.RGBA{R: uint8(40 + 50*id), G: uint8(120 + 30*id), B: 200, A: 255}
	for x := 0; x < 16; x++ {
		for y := 0; y < 16; y++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	w.Header().Set("Content-Type", "image/png")
	w.Write(buf.Bytes())
}

func (s *Server) avatarURL(base string, u *User) string {
	return base + "/uploads/-/system/user/avatar/" + itoa(u.ID) + "/avatar.png"
}

// pageData feeds every HTML template; each page uses the fields it needs.
type pageData struct {
	Title, Heading, Message, Error string
	User                           *User
	CSRF                           string
	Login                          string

	// Consent page.
	App         *Application
	Scopes      []string
	Hidden      []hiddenField
	Description string

	// Application pages.
	FormAction string
	Admin      bool
	Form       appForm
	Errors     []string
	AllScopes  []scopeChoice
	Apps       []Application
	ShowPath   string
	Secret     string
}

type hiddenField struct{ Name, Value string }

type scopeChoice struct {
	Name, Description string
	Checked           bool
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, d pageData) {
	if d.User == nil {
		d.User = s.currentUser(r)
	}
	if sess := s.sessionFor(r); sess != nil {
		d.CSRF = sess.CSRF
	}
	var buf bytes.Buffer
	if err := pages[page].Execute(&buf, d); err != nil {
		http.Error(w, "template "+page+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// layout is shared by all pages: HTML5, a title, no external resources (the
// empty data: icon stops the browser from requesting /favicon.ico).
const layout = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · GitLab</title>
<link rel="icon" href="data:,">
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#333238}
header{background:#1f1e24;color:#fff;padding:.5rem 1rem;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff}
main{max-width:44rem;margin:2rem auto;padding:0 1rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
label.inline{display:inline;font-weight:400;margin:0}
input[type=text],input[type=password],input[type=email],textarea{width:100%;box-sizing:border-box;padding:.4rem}
button{padding:.4rem 1rem;margin:.75rem .5rem 0 0}
.flash-alert{background:#fdd4cd;padding:.5rem 1rem;border-radius:4px}
.flash-notice{background:#c3e6cd;padding:.5rem 1rem;border-radius:4px}
output{display:block;font-family:monospace;background:#f0f0f0;padding:.4rem;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}
</style>
</head>
<body>
<header>
<a href="/">GitLab</a>
{{if .User}}<form method="post" action="/users/sign_out"><input type="hidden" name="authenticity_token" value="{{.CSRF}}"><span data-testid="current-user">@{{.User.Username}}</span> <button type="submit">Sign out</button></form>{{end}}
</header>
<main>
<h1>{{.Heading}}</h1>
{{template "content" .}}
</main>
</body>
</html>
`

var pageBodies = map[string]string{
	"home": `{{if .User}}<p>Signed in as <strong>@{{.User.Username}}</strong> ({{.User.Name}}).</p>
<ul><li><a href="/-/user_settings/applications">Applications</a></li>{{if .User.Admin}}<li><a href="/admin/applications">Admin area: applications</a></li>{{end}}</ul>
{{else}}<p><a href="/users/sign_in">Sign in</a></p>{{end}}`,

	"signin": `{{if .Error}}<div class="flash-alert" role="alert" data-testid="alert">{{.Error}}</div>{{end}}
<form method="post" action="/users/sign_in" id="new_user" aria-label="Sign in">
<input type="hidden" name="authenticity_token" value="{{.CSRF}}">
<label for="user_login">Username or primary email</label>
<input type="text" name="user[login]" id="user_login" value="{{.Login}}" autocomplete="username" required autofocus>
<label for="user_password">Password</label>
<input type="password" name="user[password]" id="user_password" autocomplete="current-password" required>
<p><input type="checkbox" name="user[remember_me]" id="user_remember_me" value="1"> <label class="inline" for="user_remember_me">Remember me</label></p>
<button type="submit" name="button" data-testid="sign-in-button">Sign in</button>
</form>`,

	"consent": `<p>An application called <strong>{{.App.Name}}</strong> is requesting access to your GitLab account.</p>
<p>This application will be able to:</p>
<ul>{{range .Scopes}}<li><strong>{{.}}</strong></li>{{end}}</ul>
<p>You are signed in as <strong>@{{.User.Username}}</strong>.</p>
<form method="post" action="/oauth/authorize" id="authorize" aria-label="Authorize">
<input type="hidden" name="authenticity_token" value="{{.CSRF}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" data-testid="authorization-button">Authorize</button>
</form>
<form method="post" action="/oauth/authorize" id="deny" aria-label="Deny">
<input type="hidden" name="_method" value="delete">
<input type="hidden" name="authenticity_token" value="{{.CSRF}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" data-testid="deny-button">Deny</button>
</form>`,

	"error": `<p class="error-description" data-testid="error-description">{{.Message}}</p>`,

	"apps": `{{if .Errors}}<div class="flash-alert" role="alert"><p>The form contains the following errors:</p><ul>{{range .Errors}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
<h2>Add new application</h2>
<form method="post" action="{{.FormAction}}" id="new_doorkeeper_application" aria-label="Add new application">
<input type="hidden" name="authenticity_token" value="{{.CSRF}}">
<label for="doorkeeper_application_name">Name</label>
<input type="text" name="doorkeeper_application[name]" id="doorkeeper_application_name" value="{{.Form.Name}}" required>
<label for="doorkeeper_application_redirect_uri">Redirect URI</label>
<textarea name="doorkeeper_application[redirect_uri]" id="doorkeeper_application_redirect_uri" rows="3" required>{{.Form.RedirectURI}}</textarea>
<p>Use one line per URI</p>
{{if .Admin}}<p><input type="hidden" name="doorkeeper_application[trusted]" value="0"><input type="checkbox" name="doorkeeper_application[trusted]" id="doorkeeper_application_trusted" value="1"{{if .Form.Trusted}} checked{{end}}> <label class="inline" for="doorkeeper_application_trusted">Trusted</label><br><small>Trusted applications are automatically authorized on GitLab OAuth flow. It's highly recommended for the security of users that trusted applications have the confidential setting set to true.</small></p>{{end}}
<p><input type="hidden" name="doorkeeper_application[confidential]" value="0"><input type="checkbox" name="doorkeeper_application[confidential]" id="doorkeeper_application_confidential" value="1"{{if .Form.Confidential}} checked{{end}}> <label class="inline" for="doorkeeper_application_confidential">Confidential</label><br><small>Enable only for confidential applications exclusively used by a trusted backend server that can securely store the client secret.</small></p>
<fieldset><legend>Scopes</legend>
{{range .AllScopes}}<p><input type="checkbox" name="doorkeeper_application[scopes][]" id="doorkeeper_application_scopes_{{.Name}}" value="{{.Name}}"{{if .Checked}} checked{{end}}> <label class="inline" for="doorkeeper_application_scopes_{{.Name}}">{{.Name}}</label> <small>{{.Description}}</small></p>
{{end}}</fieldset>
<button type="submit" data-testid="save-application-button">Save application</button>
</form>
<h2>Your applications ({{len .Apps}})</h2>
{{if .Apps}}<table><thead><tr><th>Name</th><th>Callback URL</th><th>Confidential</th></tr></thead><tbody>
{{range .Apps}}<tr><td><a href="{{$.ShowPath}}/{{.ID}}">{{.Name}}</a></td><td>{{range .RedirectURIs}}{{.}} {{end}}</td><td>{{if .Confidential}}Yes{{else}}No{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p>You don't have any applications.</p>{{end}}`,

	"app": `{{if .Secret}}<div class="flash-notice" role="status">The application was created successfully. This is the only time the secret is accessible. Copy the secret and store it securely.</div>{{end}}
<label for="application_id">Application ID</label>
<output id="application_id" data-testid="application-id">{{.App.UID}}</output>
<label for="secret">Secret</label>
{{if .Secret}}<output id="secret" data-testid="secret">{{.Secret}}</output>{{else}}<output id="secret" data-testid="secret">This is the only time the secret is accessible. It is hidden now; renew it to get a new one.</output>{{end}}
<label for="callback_url">Callback URL</label>
<output id="callback_url" data-testid="callback-url">{{range $i, $u := .App.RedirectURIs}}{{if $i}}
{{end}}{{$u}}{{end}}</output>
<label for="trusted">Trusted</label>
<output id="trusted">{{if .App.Trusted}}Y{{else}}N{{end}}</output>
<label for="confidential">Confidential</label>
<output id="confidential">{{if .App.Confidential}}Y{{else}}N{{end}}</output>
<label for="scopes">Scopes</label>
<output id="scopes">{{range $i, $s := .App.Scopes}}{{if $i}} {{end}}{{$s}}{{end}}</output>
<p><a href="{{.ShowPath}}">Back to applications</a></p>`,
}

var pages = func() map[string]*template.Template {
	base := template.Must(template.New("layout").Parse(layout))
	out := map[string]*template.Template{}
	for name, body := range pageBodies {
		t := template.Must(base.Clone())
		template.Must(t.New("content").Parse(body))
		out[name] = t
	}
	return out
}()
