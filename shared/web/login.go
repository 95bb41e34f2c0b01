package web

import (
	"net/http"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// loginPage is the data of login.html.
type loginPage struct {
	Org      string
	ID       string // the integration's
	GitLab   string // the integration's GitLab origin, for the form-action policy
	Name     string // the integration's display name
	Host     string
	ReturnTo string
	// Session is the browser's session in this org, when it has one.
	Session *forgelink.Session
}

// handleLoginPage is GET /orgs/{org}/login/{id}[?return_to=/path]: the sign-in page
// (org, GitLab host, Sign in with GitLab). Showing the option first, instead of sending
// the browser to GitLab at once, keeps a link that anyone can send from signing people
// in (or out) without their say. It writes nothing and sets no cookie.
func (s *loginServer) handleLoginPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, id := r.PathValue("org"), r.PathValue("id")
		in, err := s.signIn.Integration(r.Context(), org, id)
		if err != nil {
			s.failSignIn(w, r, err)
			return
		}
		page := loginPage{Org: org, ID: id, GitLab: originOf(in.URL), Name: in.Name, Host: in.Host(), ReturnTo: service.CleanReturnTo(org, r.URL.Query().Get("return_to"))}
		if sess, err := s.sessions.Session(r.Context(), org, s.cookie(r, sessionCookie(org))); err == nil {
			page.Session = &sess
		}
		s.render(w, r, http.StatusOK, "login.html", page)
	})
}

// handleLogin is POST /orgs/{org}/login/{id}, the page's button: it seals the state,
// PKCE verifier, org, integration and return_to into the state cookie (10 minutes) and
// answers 302 to GitLab's authorize page. A post from another site is 403 and sets
// nothing. It writes nothing to the store.
func (s *loginServer) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, id := r.PathValue("org"), r.PathValue("id")
		if err := s.sameOrigin(r); err != nil {
			s.failSignIn(w, r, err)
			return
		}
		// The form carries only return_to: a post without a body starts a plain sign-in.
		if r.ContentLength != 0 {
			if err := parseForm(r); err != nil {
				s.failSignIn(w, r, err)
				return
			}
		}
		if s.cookie(r, sessionCookie(org)) == "" && s.orgSessions(r, org) >= MaxOrgSessions {
			s.failSignIn(w, r, errTooManySessions)
			return
		}
		start, err := s.signIn.StartLogin(r.Context(), s.base(r), org, id, r.PostFormValue("return_to"))
		if err != nil {
			s.failSignIn(w, r, err)
			return
		}
		sealed, err := s.sealer.Seal(start.State, s.now(), forgelink.StateTTL)
		if err != nil {
			s.failSignIn(w, r, forgelink.Wrap(forgelink.EINTERNAL, err, "Sign-in could not be started."))
			return
		}
		s.setCookie(w, r, cookieState, sealed, forgelink.StateTTL)
		// Not http.Redirect: it re-parses an URL we just built (absolute, escaped) and
		// writes an HTML body that browsers never show for a 302.
		w.Header().Set("Location", start.AuthURL)
		w.WriteHeader(http.StatusFound)
	})
}

func (p loginPage) gitLabOrigin() string { return p.GitLab }
