package sam

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestE2EGatewayRoutes: the gateway routes as API Gateway does on template.yaml's routes: a
// literal segment wins over a {variable}, the method is part of the route, and a variable
// matches exactly one non-empty segment.
func TestE2EGatewayRoutes(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := StartGateway(tpl)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/orgs/acme/settings/integrations/new", "integrations GET /orgs/{org}/settings/integrations/new"},
		{"GET", "/orgs/acme/settings/integrations/abc", "integrations GET /orgs/{org}/settings/integrations/{id}"},
		{"GET", "/orgs/acme/login/abc/callback", "callback GET /orgs/{org}/login/{id}/callback"},
		{"GET", "/orgs/acme", "session GET /orgs/{org}"},
		{"PATCH", "/api/v1/orgs/acme/integrations/abc", "integrations PATCH /api/v1/orgs/{org}/integrations/{id}"},
		{"POST", "/healthz", ""},
		{"GET", "/orgs//settings/integrations", ""},
		{"GET", "/orgs/acme/", ""},
	} {
		rt, params, ok := gw.match(c.method, c.path)
		got := ""
		if ok {
			got = rt.function + " " + rt.method + " " + rt.path
		}
		if got != c.want {
			t.Errorf("%s %s → %q, want %q", c.method, c.path, got, c.want)
		}
		if ok && strings.Contains(rt.path, "{org}") && params["org"] != "acme" {
			t.Errorf("%s %s: pathParameters %v", c.method, c.path, params)
		}
	}
}
