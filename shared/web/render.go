package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sync"
	"time"
	"unicode"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one template set per page: the shared layout plus the page's own
// "title" and "content" blocks.
type pages struct{ byName map[string]*template.Template }

var funcs = template.FuncMap{
	"field": fieldText,
	"copyField": func(id, label, value, button string) copyField {
		return copyField{ID: id, Label: label, Value: value, ButtonLabel: button}
	},
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}

// copyField is a read-only URL with its Copy button (the "copy" template).
type copyField struct{ ID, Label, Value, ButtonLabel string }

// parsedPages parses the templates on first use, once per process: the login and callback
// functions render pages only on errors, so parsing them in New cost every cold start of
// those functions about 1 ms for nothing. The templates are embedded and every page is
// rendered by the tests, so a parse error cannot wait for production.
var parsedPages = sync.OnceValue(mustParsePages)

// fieldText prefixes a field's message with its label ("Server URL must use https"),
// unless the message is already a sentence of its own ("Application ID or Secret is wrong").
func fieldText(label, msg string) string {
	if msg != "" && unicode.IsUpper([]rune(msg)[0]) {
		return msg
	}
	return label + " " + msg
}

func mustParsePages() *pages {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" {
			continue
		}
		p.byName[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", name))
	}
	return p
}

// view is what the layout sees; Page is what the page's own blocks see.
type view struct {
	Nonce string
	Page  any
	// Settings is the settings header of admin pages; nil elsewhere.
	Settings *settingsHeader
}

// settingsHeader is what every admin page shows on top: the org, who is signed in, the
// settings sections and Sign out.
type settingsHeader struct {
	Org     string
	Who     string // "@alice · gitlab.example.com", "Setup link: Jane Doe"
	CSRF    string // of the Sign out form
	Current string // "integrations", "admins", "members"
}

// pageMeta is request-scoped page state that handlers set before rendering (the admin
// check fills the settings header), so pages need not thread it through their data.
type pageMeta struct{ settings *settingsHeader }

type ctxPageMeta struct{}

func metaOf(r *http.Request) *pageMeta {
	if m, ok := r.Context().Value(ctxPageMeta{}).(*pageMeta); ok {
		return m
	}
	return &pageMeta{}
}

// formsToGitLab is a page with a form whose answer redirects to a GitLab server (Sign in
// with GitLab, Test sign-in): browsers apply form-action to that redirect too, so the
// policy must name the server's origin.
type formsToGitLab interface{ gitLabOrigin() string }

// showsImages is a page with an image from another origin (the org home's avatar, from
// the integration's own GitLab): img-src names that origin, and no other.
type showsImages interface{ imageOrigin() string }

// pageBuffers reuses render buffers: a page is about 10 KB, and a fresh buffer grew to
// that size through five copies on every page.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes page name with status. It sets a nonce-based Content-Security-Policy so
// that only forgelink's own inline script runs, whatever a stored name contains.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := parsedPages().byName[name]
	if !ok {
		s.log.ErrorContext(r.Context(), "unknown page", "page", name)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	nonce := randomString(16)
	buf := pageBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer pageBuffers.Put(buf) // w.Write below copies: nothing keeps buf's bytes
	if err := t.Execute(buf, view{Nonce: nonce, Page: data, Settings: metaOf(r).settings}); err != nil {
		s.log.ErrorContext(r.Context(), "render failed", "page", name, "error", err.Error())
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	formAction := "'self'"
	if g, ok := data.(formsToGitLab); ok && g.gitLabOrigin() != "" {
		formAction += " " + g.gitLabOrigin()
	}
	imgSrc := "'self' data:" // data: is the layout's empty favicon
	if p, ok := data.(showsImages); ok && p.imageOrigin() != "" {
		imgSrc += " " + p.imageOrigin()
	}
	h.Set("Content-Security-Policy", fmt.Sprintf(
		"default-src 'none'; script-src 'nonce-%s'; style-src 'nonce-%s'; img-src %s; form-action %s; frame-ancestors 'none'; base-uri 'none'",
		nonce, nonce, imgSrc, formAction))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
