package web

import "net/http"

// AnyFunction marks routes that every function serves (health checks).
const AnyFunction = "*"

// Route maps one method and path (API Gateway and net/http share the {name} syntax) to the
// Lambda function that serves it. template.yaml must declare exactly these routes; a test
// compares the two.
type Route struct {
	Method   string
	Path     string
	Function string
	handler  func(*Server) http.Handler
}

// Routes returns the whole API surface, for the template test and the local runner.
func Routes() []Route { return append([]Route(nil), routes...) }

var routes = []Route{
	{"GET", "/healthz", AnyFunction, (*Server).handleHealth},

	// Admin pages.
	{"GET", "/orgs/{org}/settings/integrations", "integrations", (*Server).handleIntegrationsPage},
	{"GET", "/orgs/{org}/settings/integrations/new", "integrations", (*Server).handleNewIntegrationPage},
	{"POST", "/orgs/{org}/settings/integrations", "integrations", (*Server).handleCreateIntegrationForm},
	{"GET", "/orgs/{org}/settings/integrations/{id}", "integrations", (*Server).handleIntegrationPage},
	{"POST", "/orgs/{org}/settings/integrations/{id}", "integrations", (*Server).handleSaveIntegrationForm},
	{"POST", "/orgs/{org}/settings/integrations/{id}/delete", "integrations", (*Server).handleDeleteIntegrationForm},

	// Admin JSON API.
	{"GET", "/api/v1/orgs/{org}/integrations", "integrations", (*Server).handleAPIListIntegrations},
	{"POST", "/api/v1/orgs/{org}/integrations", "integrations", (*Server).handleAPICreateIntegration},
	{"GET", "/api/v1/orgs/{org}/integrations/{id}", "integrations", (*Server).handleAPIGetIntegration},
	{"PATCH", "/api/v1/orgs/{org}/integrations/{id}", "integrations", (*Server).handleAPIUpdateIntegration},
	{"DELETE", "/api/v1/orgs/{org}/integrations/{id}", "integrations", (*Server).handleAPIDeleteIntegration},
	{"GET", "/api/v1/orgs/{org}/integrations/{id}/audit", "integrations", (*Server).handleAPIIntegrationAudit},

	// Sign-in.
	{"GET", "/orgs/{org}/login/{id}", "login", (*Server).handleLogin},
	{"GET", "/orgs/{org}/login/{id}/callback", "callback", (*Server).handleCallback},

	// Sessions.
	{"GET", "/orgs/{org}", "session", (*Server).handleOrgHome},
	{"GET", "/api/v1/orgs/{org}/session", "session", (*Server).handleAPISession},
	{"POST", "/orgs/{org}/logout", "session", (*Server).handleLogout},
	{"GET", "/orgs/{org}/admin/sign-in", "session", (*Server).handleAdminSignIn},
}

func (s *Server) handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
}
