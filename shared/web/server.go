// Package web is forgelink's HTTP layer: HTML pages and the JSON API over shared/service.
// Each Lambda function serves one handler built here (Integrations, Login, Callback,
// Session) over only the services it needs; the local runner mounts all four. The package
// knows nothing of Lambda: hosts pass what they know of a request through RequestInfo.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/forgelink/forgelink/shared/service"
	"github.com/forgelink/forgelink/shared/statecookie"
)

// Options are what every function's handler shares.
type Options struct {
	// BaseURL is the public base URL (FORGELINK_BASE_URL); empty under Lambda means
	// "https://" + the API Gateway domain of each request (RequestInfo.Domain).
	BaseURL string
	// Sealer seals state cookies and derives CSRF tokens.
	Sealer *statecookie.Sealer
	Log    *slog.Logger
	Now    func() time.Time
	// HSTSIncludeSubdomains adds includeSubDomains to Strict-Transport-Security.
	HSTSIncludeSubdomains bool
}

// site holds what the handlers of every function share. It has no globals and reads no
// environment.
type site struct {
	sealer  *statecookie.Sealer
	log     *slog.Logger
	baseURL string
	now     func() time.Time
	hsts    string // Strict-Transport-Security value sent on https
}

func newSite(o Options) *site {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	hsts := "max-age=31536000" // one year
	if o.HSTSIncludeSubdomains {
		hsts += "; includeSubDomains"
	}
	return &site{sealer: o.Sealer, log: o.Log, baseURL: o.BaseURL, now: o.Now, hsts: hsts}
}

// RequestInfo is what the host of a handler knows about a request beyond HTTP: under
// Lambda, API Gateway's request id and domain name.
type RequestInfo struct {
	RequestID string
	Domain    string
}

type ctxRequestInfo struct{}

// WithRequestInfo returns ctx carrying info, for the handlers built here.
func WithRequestInfo(ctx context.Context, info RequestInfo) context.Context {
	return context.WithValue(ctx, ctxRequestInfo{}, info)
}

func requestInfo(r *http.Request) RequestInfo {
	info, _ := r.Context().Value(ctxRequestInfo{}).(RequestInfo)
	return info
}

// IntegrationsServices are the services of the integrations function.
type IntegrationsServices struct {
	Integrations *service.Integrations
	Sessions     *service.Sessions
	Tokens       *service.Tokens
	Audit        *service.Audit
	AdminRules   *service.AdminRules
	Members      *service.Members
	// SignIn starts Test sign-ins.
	SignIn *service.SignIn
}

type integrationsServer struct {
	*site
	integrations *service.Integrations
	sessions     *service.Sessions
	tokens       *service.Tokens
	audit        *service.Audit
	adminRules   *service.AdminRules
	members      *service.Members
	signIn       *service.SignIn
}

// Integrations is the handler of the integrations function: the admin pages and the
// admin JSON API.
func Integrations(o Options, svc IntegrationsServices) http.Handler {
	s := &integrationsServer{site: newSite(o), integrations: svc.Integrations,
		sessions: svc.Sessions, tokens: svc.Tokens, audit: svc.Audit, adminRules: svc.AdminRules,
		members: svc.Members, signIn: svc.SignIn}
	return serve(s.site, s, integrationsRoutes)
}

type loginServer struct {
	*site
	signIn   *service.SignIn
	sessions *service.Sessions
}

// Login is the handler of the login function: the sign-in page, and its button that
// starts a sign-in.
func Login(o Options, signIn *service.SignIn, sessions *service.Sessions) http.Handler {
	s := &loginServer{site: newSite(o), signIn: signIn, sessions: sessions}
	return serve(s.site, s, loginRoutes)
}

type callbackServer struct {
	*site
	signIn *service.SignIn
}

// Callback is the handler of the callback function: it finishes sign-ins.
func Callback(o Options, signIn *service.SignIn) http.Handler {
	s := &callbackServer{site: newSite(o), signIn: signIn}
	return serve(s.site, s, callbackRoutes)
}

type sessionServer struct {
	*site
	sessions *service.Sessions
	links    *service.SetupLinks
}

// Session is the handler of the session function: the org home, whoami, sign-out and
// the setup links.
func Session(o Options, sessions *service.Sessions, links *service.SetupLinks) http.Handler {
	s := &sessionServer{site: newSite(o), sessions: sessions, links: links}
	return serve(s.site, s, sessionRoutes)
}

// serve mounts routes (and the health check) on a mux behind the middleware.
func serve[S any](site *site, s S, routes []route[S]) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", handleHealth())
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.path, rt.handler(s))
	}
	return site.middleware(mux)
}
