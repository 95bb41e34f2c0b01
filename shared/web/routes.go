package web

import "net/http"

// The Lambda functions, by the name template.yaml gives their code folders.
const (
	FuncIntegrations = "integrations"
	FuncLogin        = "login"
	FuncCallback     = "callback"
	FuncSession      = "session"
	// AnyFunction marks routes that every function serves (health checks).
	AnyFunction = "*"
)

// Route maps one method and path (API Gateway and net/http share the {name} syntax) to the
// Lambda function that serves it. template.yaml must declare exactly these routes; a test
// compares the two.
type Route struct {
	Method   string
	Path     string
	Function string
}

// route is one entry of a function's route set: its handler is a method of that
// function's server, so a function's binary links only its own handlers.
type route[S any] struct {
	method, path string
	handler      func(S) http.Handler
}

// Routes returns the whole API surface, the union of the functions' route sets, for the
// template test, the local runner and the documentation test.
func Routes() []Route {
	out := []Route{{"GET", "/healthz", AnyFunction}}
	out = appendRoutes(out, FuncIntegrations, integrationsRoutes)
	out = appendRoutes(out, FuncLogin, loginRoutes)
	out = appendRoutes(out, FuncCallback, callbackRoutes)
	return appendRoutes(out, FuncSession, sessionRoutes)
}

// Mount serves every route with the handler of its function, keyed by function name, as
// API Gateway routes them: the local runner and tests run all functions in one process.
// What no function routes gets forgelink's 404 or 405 (with Allow) answer, decided over
// all routes.
func Mount(o Options, handlers map[string]http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range Routes() {
		fn := rt.Function
		if fn == AnyFunction {
			fn = FuncSession
		}
		mux.Handle(rt.Method+" "+rt.Path, handlers[fn])
	}
	unrouted := newSite(o).middleware(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r) // the function's own middleware logs it
			return
		}
		unrouted.ServeHTTP(w, r)
	})
}

func appendRoutes[S any](out []Route, function string, routes []route[S]) []Route {
	for _, rt := range routes {
		out = append(out, Route{Method: rt.method, Path: rt.path, Function: function})
	}
	return out
}

var integrationsRoutes = []route[*integrationsServer]{
	// Admin pages.
	{"GET", "/orgs/{org}/settings/integrations", (*integrationsServer).handleIntegrationsPage},
	{"GET", "/orgs/{org}/settings/integrations/new", (*integrationsServer).handleNewIntegrationPage},
	{"POST", "/orgs/{org}/settings/integrations", (*integrationsServer).handleCreateIntegrationForm},
	{"GET", "/orgs/{org}/settings/integrations/{id}", (*integrationsServer).handleIntegrationPage},
	{"POST", "/orgs/{org}/settings/integrations/{id}", (*integrationsServer).handleSaveIntegrationForm},
	{"POST", "/orgs/{org}/settings/integrations/{id}/delete", (*integrationsServer).handleDeleteIntegrationForm},
	{"POST", "/orgs/{org}/settings/integrations/{id}/url", (*integrationsServer).handleChangeURLForm},
	{"POST", "/orgs/{org}/settings/integrations/{id}/test", (*integrationsServer).handleTestSignIn},

	// Admin JSON API.
	{"GET", "/api/v1/orgs/{org}/integrations", (*integrationsServer).handleAPIListIntegrations},
	{"POST", "/api/v1/orgs/{org}/integrations", (*integrationsServer).handleAPICreateIntegration},
	{"GET", "/api/v1/orgs/{org}/integrations/{id}", (*integrationsServer).handleAPIGetIntegration},
	{"PATCH", "/api/v1/orgs/{org}/integrations/{id}", (*integrationsServer).handleAPIUpdateIntegration},
	{"DELETE", "/api/v1/orgs/{org}/integrations/{id}", (*integrationsServer).handleAPIDeleteIntegration},
	{"GET", "/api/v1/orgs/{org}/integrations/{id}/audit", (*integrationsServer).handleAPIIntegrationAudit},

	// Admin rules: page and API.
	{"GET", "/orgs/{org}/settings/admins", (*integrationsServer).handleAdminsPage},
	{"POST", "/orgs/{org}/settings/admins", (*integrationsServer).handleCreateAdminRuleForm},
	{"POST", "/orgs/{org}/settings/admins/{rule}/delete", (*integrationsServer).handleDeleteAdminRuleForm},
	{"GET", "/api/v1/orgs/{org}/admins", (*integrationsServer).handleAPIListAdminRules},
	{"POST", "/api/v1/orgs/{org}/admins", (*integrationsServer).handleAPICreateAdminRule},
	{"DELETE", "/api/v1/orgs/{org}/admins/{rule}", (*integrationsServer).handleAPIDeleteAdminRule},

	// Members: page and API.
	{"GET", "/orgs/{org}/settings/members", (*integrationsServer).handleMembersPage},
	{"POST", "/orgs/{org}/settings/members/{member}/sign-out", (*integrationsServer).handleSignOutMemberForm},
	{"GET", "/api/v1/orgs/{org}/members", (*integrationsServer).handleAPIListMembers},
	{"DELETE", "/api/v1/orgs/{org}/members/{member}/sessions", (*integrationsServer).handleAPISignOutMember},
}

var loginRoutes = []route[*loginServer]{
	{"GET", "/orgs/{org}/login/{id}", (*loginServer).handleLoginPage},
	{"POST", "/orgs/{org}/login/{id}", (*loginServer).handleLogin},
}

var callbackRoutes = []route[*callbackServer]{
	{"GET", "/orgs/{org}/login/{id}/callback", (*callbackServer).handleCallback},
}

var sessionRoutes = []route[*sessionServer]{
	{"GET", "/orgs/{org}", (*sessionServer).handleOrgHome},
	{"GET", "/api/v1/orgs/{org}/session", (*sessionServer).handleAPISession},
	{"POST", "/orgs/{org}/logout", (*sessionServer).handleLogout},
	{"GET", "/orgs/{org}/admin/sign-in", (*sessionServer).handleSetupLinkPage},
	{"POST", "/orgs/{org}/admin/sign-in", (*sessionServer).handleAdminSignIn},
}

func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
}
