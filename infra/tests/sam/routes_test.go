package sam_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/infra/testkit/sam"
	"github.com/forgelink/forgelink/shared/web"
)

// healthFunction is the function template.yaml maps /healthz (web.AnyFunction) to: every
// function serves it, but API Gateway routes it to one.
const healthFunction = "session"

func loadTemplate(t *testing.T) (*sam.Template, string) {
	t.Helper()
	root, err := sam.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := sam.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tpl, root
}

// TestTemplateRoutesMatchRouteTable: the HttpApi events of template.yaml are exactly
// web.Routes(), each on the function the route table names.
func TestTemplateRoutesMatchRouteTable(t *testing.T) {
	tpl, _ := loadTemplate(t)

	want := map[string]bool{}
	for _, r := range web.Routes() {
		fn := r.Function
		if fn == web.AnyFunction {
			fn = healthFunction
		}
		want[fmt.Sprintf("%s %s → %s", r.Method, r.Path, sam.LogicalID(fn))] = true
	}
	got := map[string]bool{}
	for _, id := range tpl.FunctionIDs() {
		for _, e := range tpl.Functions[id].Events {
			key := fmt.Sprintf("%s → %s", e.RouteKey(), id)
			if got[key] {
				t.Errorf("template.yaml declares %s twice", key)
			}
			got[key] = true
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("route %s is in shared/web/routes.go but not in template.yaml", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("route %s is in template.yaml but not in shared/web/routes.go", k)
		}
	}

	// A route key must belong to exactly one function (API Gateway allows one integration).
	owners := map[string][]string{}
	for _, id := range tpl.FunctionIDs() {
		for _, e := range tpl.Functions[id].Events {
			owners[e.RouteKey()] = append(owners[e.RouteKey()], id)
		}
	}
	for k, ids := range owners {
		if len(ids) > 1 {
			t.Errorf("route %s is mapped to %v", k, ids)
		}
	}
}

// TestTemplateFunctionsMatchFolders: each function's logical id names its folder under
// functions/, whose main.go starts that function by the same name. (What the Makefile's
// build-<LogicalId> targets build: TestMakefileBuildsWhatTheTemplateDeclares.)
func TestTemplateFunctionsMatchFolders(t *testing.T) {
	tpl, root := loadTemplate(t)
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, d := range dirs {
		if d.IsDir() {
			folders = append(folders, d.Name())
		}
	}
	var declared []string
	for _, id := range tpl.FunctionIDs() {
		f := tpl.Functions[id]
		name := sam.FunctionName(id)
		declared = append(declared, name)
		if f.CodeURI != "." || f.BuildMethod != "makefile" {
			t.Errorf("%s: CodeUri %q, BuildMethod %q; want \".\" and makefile", id, f.CodeURI, f.BuildMethod)
		}
		main, err := os.ReadFile(filepath.Join(root, "functions", name, "main.go"))
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		// The function's composition root: started under its own name, over its own
		// constructor (so its binary links only its own routes).
		title := strings.TrimSuffix(id, "Function")
		for _, call := range []string{"lambdahttp.Start(web.Func" + title + ",", "app.OnAWS(app." + title + ")"} {
			if !strings.Contains(string(main), call) {
				t.Errorf("functions/%s/main.go does not call %s", name, call)
			}
		}
	}
	slices.Sort(folders)
	slices.Sort(declared)
	if !slices.Equal(folders, declared) {
		t.Errorf("functions/ has %v, template.yaml declares %v", folders, declared)
	}
	// Every function named in the route table is declared.
	for _, r := range web.Routes() {
		if r.Function != web.AnyFunction && tpl.Functions[sam.LogicalID(r.Function)] == nil {
			t.Errorf("route %s %s names function %q, which template.yaml lacks", r.Method, r.Path, r.Function)
		}
	}
}

// TestTemplateLambdaSettings: the settings DESIGN.md fixes for every function.
func TestTemplateLambdaSettings(t *testing.T) {
	tpl, _ := loadTemplate(t)
	for key, want := range map[string]string{
		"Runtime":       "provided.al2023",
		"Architectures": "[arm64]",
		"Handler":       "bootstrap",
		"Tracing":       "Active",
	} {
		if got := sam.Text(tpl.Globals[key]); got != want {
			t.Errorf("Globals.Function.%s = %q, want %q", key, got, want)
		}
	}
	env := sam.Get(tpl.Globals["Environment"], "Variables")
	for _, v := range []string{"FORGELINK_STORE", "FORGELINK_TABLE", "FORGELINK_SECRET_PREFIX",
		"FORGELINK_ALLOW_NETWORKS", "FORGELINK_ALLOW_HOSTS", "FORGELINK_BASE_URL", "FORGELINK_COOKIE_KEY_SECRET"} {
		if sam.Get(env, v) == nil {
			t.Errorf("Globals.Function.Environment lacks %s", v)
		}
	}
	if got := sam.Text(sam.Get(env, "FORGELINK_STORE")); got != "aws" {
		t.Errorf("FORGELINK_STORE = %q, want aws", got)
	}
	globalTimeout, _ := sam.IntOf(tpl.Globals["Timeout"])
	timeout := func(id string) int {
		if f := tpl.Functions[id]; f != nil && f.Timeout != 0 {
			return f.Timeout
		}
		return globalTimeout
	}
	// The GitLab client times out after 10 s; the functions that call GitLab must outlive it
	// to answer with a clear 502 page instead of a Lambda timeout.
	for _, id := range []string{"CallbackFunction", "IntegrationsFunction"} {
		if got := timeout(id); got <= 10 {
			t.Errorf("%s Timeout = %d s, want more than the GitLab client's 10 s", id, got)
		}
	}
	api := tpl.Resources["HttpApi"]
	if got := sam.Text(sam.Get(api, "Properties", "StageName")); got != "$default" {
		t.Errorf("HttpApi StageName = %q, want $default (a named stage prefixes rawPath and breaks routing)", got)
	}
	if sam.Get(api, "Properties", "DefaultRouteSettings", "ThrottlingBurstLimit") == nil ||
		sam.Get(api, "Properties", "DefaultRouteSettings", "ThrottlingRateLimit") == nil {
		t.Error("HttpApi has no DefaultRouteSettings throttling")
	}
	table := tpl.Resources["Table"]
	for path, want := range map[string]string{
		"Properties.BillingMode":                                                 "PAY_PER_REQUEST",
		"Properties.TimeToLiveSpecification.AttributeName":                       "expires_at",
		"Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled": "true",
		"Properties.SSESpecification.SSEEnabled":                                 "true",
		"DeletionPolicy":                                                         "Retain",
	} {
		if got := sam.Text(sam.Get(table, strings.Split(path, ".")...)); got != want {
			t.Errorf("Table %s = %q, want %q", path, got, want)
		}
	}
	if got := sam.Text(sam.Get(tpl.Resources["CookieKeySecret"], "Properties", "GenerateSecretString", "GenerateStringKey")); got != "key" {
		t.Errorf("CookieKeySecret GenerateStringKey = %q, want key", got)
	}
}

// TestTemplateLeastPrivilege: what each function may do with the table and the secrets.
func TestTemplateLeastPrivilege(t *testing.T) {
	tpl, _ := loadTemplate(t)
	secretWrites := []string{"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue",
		"secretsmanager:DeleteSecret", "secretsmanager:UpdateSecret", "secretsmanager:TagResource"}
	tableWrites := []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
		"dynamodb:TransactWriteItems", "dynamodb:BatchWriteItem"}
	cases := map[string]struct {
		allowed, forbidden []string
	}{
		"IntegrationsFunction": {
			allowed: []string{"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret", "dynamodb:TransactWriteItems"},
			// It writes client secrets and never reads them back (TestIAMEqualsCode).
			forbidden: []string{"dynamodb:Scan", "dynamodb:DeleteTable", "secretsmanager:DescribeSecret", "secretsmanager:ListSecrets"},
		},
		"LoginFunction":    {allowed: []string{"dynamodb:GetItem"}, forbidden: append(append([]string{}, secretWrites...), tableWrites...)},
		"CallbackFunction": {allowed: []string{"dynamodb:PutItem", "secretsmanager:GetSecretValue"}, forbidden: secretWrites},
		"SessionFunction":  {allowed: []string{"dynamodb:DeleteItem"}, forbidden: secretWrites},
	}
	for id, c := range cases {
		f := tpl.Functions[id]
		if f == nil {
			t.Errorf("%s missing", id)
			continue
		}
		actions := map[string][]string{} // action → resources
		for _, s := range f.Statements {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range s.Actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %q", id, a)
				}
				actions[a] = append(actions[a], s.Resources...)
			}
		}
		for _, a := range c.allowed {
			if actions[a] == nil {
				t.Errorf("%s lacks %s", id, a)
			}
		}
		for _, a := range c.forbidden {
			if actions[a] != nil {
				t.Errorf("%s must not have %s", id, a)
			}
		}
		for a, res := range actions {
			for _, r := range res {
				if r == "*" && a != "secretsmanager:ListSecrets" {
					t.Errorf("%s: %s on every resource", id, a)
				}
			}
		}
		// Every function reads the cookie key, and only reads it.
		if !slices.Contains(actions["secretsmanager:GetSecretValue"], "!Ref CookieKeySecret") {
			t.Errorf("%s cannot read the cookie key secret", id)
		}
		for _, a := range secretWrites {
			for _, r := range actions[a] {
				if strings.Contains(r, "CookieKeySecret") || strings.HasSuffix(r, "forgelink/${AWS::StackName}/*") {
					t.Errorf("%s: %s reaches the cookie key (%s)", id, a, r)
				}
			}
		}
	}
}
