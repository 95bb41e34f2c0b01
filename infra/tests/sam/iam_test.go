package sam_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/infra/testkit/awsrec"
	"github.com/forgelink/forgelink/infra/testkit/tier"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/mototest"
	"github.com/forgelink/forgelink/shared/web"
)

// TestMain shares one moto server between the suite's AWS tests (apptest needs it).
func TestMain(m *testing.M) { mototest.Main(m) }

// iamOp names a recorded call by its IAM action and the kind of resource it touches
// ("dynamodb:PutItem table", "secretsmanager:GetSecretValue cookie-key").
func iamOp(c awsrec.Call, cookieKey string) string {
	kind := "table"
	switch {
	case c.Service != "secretsmanager":
	case c.Op == "ListSecrets":
		kind = "*"
	case c.SecretID == cookieKey:
		kind = "cookie-key"
	default:
		kind = "client-secret"
	}
	return c.Action() + " " + kind
}

// resourceKind names a template resource the way iamOp does.
func resourceKind(r string) string {
	switch {
	case strings.Contains(r, "CookieKeySecret"):
		return "cookie-key"
	case strings.Contains(r, ":secret:forgelink/"):
		return "client-secret"
	case r == "*":
		return "*"
	case strings.Contains(r, "Table") || strings.Contains(r, ":table/"):
		return "table"
	}
	return "?" + r
}

// unusedByJourneys are permissions a function needs although its journeys on moto never
// show the call, each with the reason. Nothing else may be granted without use.
var unusedByJourneys = map[string]map[string]string{
	"IntegrationsFunction": {
		// CreateSecret with Tags needs TagResource too (Secrets Manager checks both); the
		// journeys see TagResource only when a Save re-tags an existing secret.
		"secretsmanager:TagResource client-secret": "CreateSecret with tags requires it",
	},
}

// TestIAMEqualsCode: each function's inline policy equals the AWS calls its code makes.
// Every function runs its real journeys (the admin API and pages, setup links, sign-in,
// sign-out) on moto in its own container over an HTTP client that records each call's
// action and resource kind; the template must allow every call seen (nothing fails with
// AccessDenied in production) and grant nothing never seen, except unusedByJourneys.
func TestIAMEqualsCode(t *testing.T) {
	tier.Slow(t, "starts moto")
	seen := runJourneys(t)
	tpl, _ := loadTemplate(t)
	for fn, id := range map[string]string{web.FuncIntegrations: "IntegrationsFunction", web.FuncLogin: "LoginFunction",
		web.FuncCallback: "CallbackFunction", web.FuncSession: "SessionFunction"} {
		allowed := map[string]bool{}
		for _, s := range tpl.Functions[id].Statements {
			for _, a := range s.Actions {
				for _, r := range s.Resources {
					allowed[a+" "+resourceKind(r)] = true
				}
			}
		}
		for op := range seen[fn] {
			if !allowed[op] {
				t.Errorf("%s calls %s, which its policy does not allow", id, op)
			}
		}
		for op := range allowed {
			if !seen[fn][op] && unusedByJourneys[id][op] == "" {
				t.Errorf("%s is allowed %s, which its code never calls", id, op)
			}
		}
		for op := range unusedByJourneys[id] {
			if !allowed[op] {
				t.Errorf("%s: exception %s is not in the template any more; drop it", id, op)
			}
		}
		t.Logf("%s: %s", id, strings.Join(sorted(seen[fn]), ", "))
	}
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// runJourneys builds each function as under Lambda (app.FromAWSConfig: the cookie key
// from its secret), mounts them as API Gateway routes them, walks every function's
// journeys through them and returns the calls each function made.
func runJourneys(t *testing.T) map[string]map[string]bool {
	env := apptest.Start(t, apptest.Options{AWS: true, GitLab: fakegitlab.Options{AutoApprove: "alice"}})
	keyName := awsrec.StoreCookieKey(t, env)
	srv := httptest.NewUnstartedServer(nil)
	cfg := env.App.Config
	cfg.CookieKey, cfg.CookieKeySecret, cfg.BaseURL, cfg.LogLevel = "", keyName, "http://"+srv.Listener.Addr().String(), "error"
	containers := awsrec.Containers(t, env, cfg, map[string]func(app.Deps) (http.Handler, error){
		web.FuncIntegrations: app.Integrations, web.FuncLogin: app.Login, web.FuncCallback: app.Callback, web.FuncSession: app.Session})
	handlers := map[string]http.Handler{}
	for fn, c := range containers {
		handlers[fn] = c.Handler
	}
	srv.Config.Handler = web.Mount(web.Options{BaseURL: cfg.BaseURL}, handlers)
	srv.Start()
	t.Cleanup(srv.Close)
	e := &apptest.Env{URL: cfg.BaseURL, App: env.App, GitLab: env.GitLab, GitLabURL: env.GitLabURL,
		Org: env.Org, AdminToken: env.AdminToken, Logs: env.Logs, Moto: env.Moto, Table: env.Table, Prefix: env.Prefix}
	adminJourney(t, e)
	memberJourney(t, e)
	seen := map[string]map[string]bool{}
	for fn, ct := range containers {
		seen[fn] = map[string]bool{}
		for _, c := range ct.Calls.Take() {
			seen[fn][iamOp(c, keyName)] = true
		}
	}
	return seen
}

// adminJourney: setup link, admin pages, integrations and admin rules through the API:
// create, save, replace the secret, rename, audit, delete.
func adminJourney(t *testing.T, e *apptest.Env) {
	admin := e.AdminClient(t) // session function: setup link page and redeem
	want := func(r apptest.Response, status int) {
		t.Helper()
		if r.StatusCode != status {
			t.Fatalf("%s %s: %d, want %d: %.300s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.Body)
		}
	}
	want(e.Get(t, admin, "/orgs/"+e.Org+"/settings/integrations"), http.StatusOK)
	in, _ := e.ActiveIntegration(t)
	base := "/api/v1/orgs/" + e.Org + "/integrations/" + in.ID
	app := e.GitLab.CreateApplication("second", in.CallbackURL, []string{"api", "read_user"}, true, false)
	want(e.API(t, http.MethodPatch, base, map[string]string{"client_id": app.UID, "client_secret": app.Secret}), http.StatusOK)
	want(e.API(t, http.MethodPatch, base, map[string]string{"name": "renamed"}), http.StatusOK)
	want(e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/integrations", nil), http.StatusOK)
	want(e.API(t, http.MethodGet, base+"/audit", nil), http.StatusOK)
	r := e.API(t, http.MethodPost, "/api/v1/orgs/"+e.Org+"/admins", map[string]string{"integration_id": in.ID, "username": "alice"})
	want(r, http.StatusCreated)
	var rule struct{ ID string }
	json.Unmarshal([]byte(r.Body), &rule)
	want(e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/admins", nil), http.StatusOK)
	want(e.API(t, http.MethodDelete, "/api/v1/orgs/"+e.Org+"/admins/"+rule.ID, nil), http.StatusNoContent)
	want(e.Get(t, admin, "/orgs/"+e.Org+"/settings/admins"), http.StatusOK)
	want(e.API(t, http.MethodDelete, base, nil), http.StatusNoContent)
}

// memberJourney: a sign-in (login page, button, GitLab, callback), the org home,
// whoami and sign-out.
func memberJourney(t *testing.T, e *apptest.Env) {
	in, _ := e.ActiveIntegration(t)
	c := e.Client(t)
	if r := e.Get(t, c, "/orgs/"+e.Org); r.StatusCode != http.StatusOK { // its sign-in links
		t.Fatalf("org home: %d", r.StatusCode)
	}
	var home apptest.Response
	for range 2 { // the second sign-in in one browser ends the first session (rotation)
		home = e.SignIn(t, c, in.LoginURL, "alice")
		if home.StatusCode != http.StatusOK || !strings.Contains(home.Body, "Signed in as @alice") {
			t.Fatalf("sign-in: %d %.300s", home.StatusCode, home.Body)
		}
	}
	if r := e.Get(t, c, "/api/v1/orgs/"+e.Org+"/session"); r.StatusCode != http.StatusOK {
		t.Fatalf("whoami: %d", r.StatusCode)
	}
	// The admin's view of members: their live sessions are counted (integrations function).
	r := e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/members", nil)
	var members struct{ Members []struct{ ID string } }
	if json.Unmarshal([]byte(r.Body), &members) != nil || len(members.Members) == 0 {
		t.Fatalf("members: %d %.300s", r.StatusCode, r.Body)
	}
	form := map[string]string{"csrf_token": apptest.FormValue(home.Body, "csrf_token")}
	if r := e.PostForm(t, c, "/orgs/"+e.Org+"/logout", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	// Signed in again elsewhere, then signed out everywhere by an admin.
	e.SignIn(t, e.Client(t), in.LoginURL, "alice")
	if r := e.API(t, http.MethodDelete, "/api/v1/orgs/"+e.Org+"/members/"+members.Members[0].ID+"/sessions", nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out everywhere: %d %.300s", r.StatusCode, r.Body)
	}
}
