package sam_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"gopkg.in/yaml.v3"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/infra/testkit/sam"
	"github.com/forgelink/forgelink/infra/testkit/tier"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/dynamo"
	"github.com/forgelink/forgelink/shared/logging"
	"github.com/forgelink/forgelink/shared/mototest"
)

// TestE2E runs the real bootstrap binaries of all four functions under the Lambda Runtime
// Interface Emulator, configured as template.yaml configures them (FORGELINK_STORE=aws),
// against one moto server, behind a loopback API Gateway (gateway.go) that routes by the
// template's routes. It walks the admin's and the member's journeys through the gateway
// only: API setup of an integration, admin sign-in link, member sign-in through the fake
// GitLab, whoami, logout.
func TestE2E(t *testing.T) {
	tier.Slow(t, "builds four binaries and runs the Lambda RIE")
	tpl, _ := loadTemplate(t)
	sam.RIEBinary(t) // skips (fails under CI=true) when the emulator cannot be built
	var functions []string
	for _, id := range tpl.FunctionIDs() {
		functions = append(functions, sam.FunctionName(id))
	}
	bootstraps := sam.BuildBootstraps(t, t.TempDir(), functions...)
	started := time.Now() // the 60 s budget starts after the builds

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	moto := mototest.Start(t) // skips (fails under CI=true) when moto is missing
	motoCfg := moto.Config(t)
	// The functions reach moto through a proxy that records their calls (X-Amz-Target).
	calls := startCallRecorder(t, moto.URL)

	gl := fakegitlab.New(fakegitlab.Options{})
	gitlabURL, err := gl.Start("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gl.Close() })
	gitlabHost := strings.TrimPrefix(gitlabURL, "http://")

	gw, err := sam.StartGateway(tpl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })

	// What `sam deploy` would create before any function runs: the table, and the cookie key
	// secret that the template generates (GenerateSecretString: 64 characters, no punctuation,
	// under "key"). The functions never create the table. Every name derives from the stack
	// name.
	const stack = "forgelink-e2e"
	table := stack + "-Table-E2E"
	if err := dynamo.EnsureTable(ctx, dynamo.New(dynamodb.NewFromConfig(motoCfg), table, time.Now)); err != nil {
		t.Fatalf("create table: %v", err)
	}
	refs := map[string]string{"AWS::StackName": stack, "TableName": ""} // TableName "": the stack's own table
	cookieKeyName := resolve(t, tpl, sam.Get(tpl.Resources["CookieKeySecret"], "Properties", "Name"), refs)
	cookieKey := randomAlnum(t, 64)
	created, err := secretsmanager.NewFromConfig(motoCfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(cookieKeyName), SecretString: aws.String(`{"key":"` + cookieKey + `"}`),
	})
	if err != nil {
		t.Fatalf("create cookie key secret: %v", err)
	}

	// What each !Ref of the Globals environment resolves to in this stack.
	refs["Table"] = table
	refs["CookieKeySecret"] = aws.ToString(created.ARN) // !Ref of a secret is its ARN
	refs["AllowHosts"] = gitlabHost
	refs["AllowNetworks"] = ""
	refs["HSTSIncludeSubdomains"] = "false" // the parameter's default
	// The template only accepts an https BaseURL (a custom domain); this gateway is plain
	// http on loopback, where the base URL cannot be derived from the request, so it is given.
	refs["BaseURL"] = gw.URL

	emulators := map[string]*sam.RIE{}
	secretPrefix := ""
	for _, id := range tpl.FunctionIDs() {
		name := sam.FunctionName(id)
		env := functionEnv(t, tpl, id, refs)
		if env["FORGELINK_STORE"] != "aws" {
			t.Fatalf("template sets FORGELINK_STORE=%q, want aws", env["FORGELINK_STORE"])
		}
		if env["FORGELINK_TABLE"] != table {
			t.Fatalf("template sets FORGELINK_TABLE=%q, want the stack's table %q", env["FORGELINK_TABLE"], table)
		}
		secretPrefix = env["FORGELINK_SECRET_PREFIX"]
		vars := []string{
			// The SDK's standard variables: moto (through the recorder), test credentials.
			"AWS_ENDPOINT_URL=" + calls.URL,
			"AWS_REGION=" + mototest.Region,
			"AWS_ACCESS_KEY_ID=testing",
			"AWS_SECRET_ACCESS_KEY=testing",
			"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(functionInt(tpl, id, "Timeout")),
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(functionInt(tpl, id, "MemorySize")),
		}
		for k, v := range env {
			vars = append(vars, k+"="+v)
		}
		emulators[name] = sam.StartRIE(t, bootstraps[name], vars)
		gw.Attach(name, emulators[name])
	}

	// What the operator CLI (forgelinkctl) does: org acme, an admin API token, a one-time
	// admin sign-in link, on the same table and secrets.
	d, err := local.Deps(ctx, config.Config{
		Store: "aws", Table: table, SecretPrefix: secretPrefix,
		CookieKeySecret: aws.ToString(created.ARN), BaseURL: gw.URL, AllowHosts: gitlabHost,
	}, logging.New(io.Discard, "error"), local.Options{AWS: &motoCfg})
	if err != nil {
		t.Fatalf("operator app: %v", err)
	}
	operator, err := app.New(d)
	if err != nil {
		t.Fatalf("operator app: %v", err)
	}
	const org = "acme"
	if _, err := operator.Services.Orgs.EnsureOrg(ctx, org, "Acme Corp"); err != nil {
		t.Fatal(err)
	}
	adminToken, err := operator.Services.Tokens.CreateAdminToken(ctx, org, "e2e", "")
	if err != nil {
		t.Fatal(err)
	}
	adminLink, err := operator.Services.SetupLinks.CreateAdminLink(ctx, org, "")
	if err != nil {
		t.Fatal(err)
	}

	// apptest's client helpers, pointed at the gateway.
	e := &apptest.Env{URL: gw.URL, GitLab: gl, GitLabURL: gitlabURL, Org: org, AdminToken: adminToken}

	// Admin, JSON API: pending integration → GitLab application with its callback URL →
	// credentials saved → active.
	r := e.API(t, http.MethodPost, "/api/v1/orgs/"+org+"/integrations",
		map[string]string{"platform": "gitlab", "url": gitlabURL, "name": "Acme GitLab"})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create integration: %d %s", r.StatusCode, r.Body)
	}
	var in apptest.Integration
	if err := json.Unmarshal([]byte(r.Body), &in); err != nil || in.Status != "pending" {
		t.Fatalf("create integration: %v, status %q in %s", err, in.Status, r.Body)
	}
	if want := gw.URL + "/orgs/" + org + "/login/" + in.ID + "/callback"; in.CallbackURL != want {
		t.Fatalf("callback_url %q, want %q", in.CallbackURL, want)
	}
	glApp := gl.CreateApplication("forgelink e2e", in.CallbackURL, []string{"api", "read_user"}, true, false)
	r = e.API(t, http.MethodPatch, "/api/v1/orgs/"+org+"/integrations/"+in.ID,
		map[string]string{"client_id": glApp.UID, "client_secret": glApp.Secret})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"client_secret_set":true`) {
		t.Fatalf("save credentials: %d %s", r.StatusCode, r.Body)
	}
	if err := json.Unmarshal([]byte(r.Body), &in); err != nil || in.Status != "active" {
		t.Fatalf("save credentials: %v, status %q in %s", err, in.Status, r.Body)
	}

	// Admin, HTML: the one-time sign-in link → 303 to the list with a session cookie; the
	// list shows the login link.
	admin := e.Client(t)
	r = e.RedeemSetupLink(t, admin, org, "/orgs/"+org+"/admin/sign-in?token="+url.QueryEscape(adminLink))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/orgs/"+org+"/settings/integrations" || cookie(r, "forgelink_session_"+org) == nil {
		t.Fatalf("admin sign-in: %d → %q %v\n%s", r.StatusCode, r.Header.Get("Location"), r.Header["Set-Cookie"], r.Body)
	}
	r = e.Follow(t, admin, r)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, in.LoginURL) {
		t.Fatalf("integrations list: %d, login link %q missing:\n%s", r.StatusCode, in.LoginURL, r.Body)
	}

	// Member: the login link's page, its button → 302 to GitLab's authorize endpoint,
	// writing nothing.
	member := e.Client(t)
	mark := len(calls.all())
	itemsBefore := scan(t, ctx, moto, table)
	r = e.StartLogin(t, member, in.LoginURL)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", r.StatusCode, r.Body)
	}
	if w := writes(calls.since(mark)); len(w) > 0 {
		t.Errorf("starting a login wrote to DynamoDB or Secrets Manager: %v", w)
	}
	if after := scan(t, ctx, moto, table); after != itemsBefore {
		t.Errorf("starting a login changed the table")
	}
	authz, err := url.Parse(r.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(authz.String(), gitlabURL+"/oauth/authorize?") {
		t.Fatalf("login redirects to %q, want %s/oauth/authorize", r.Header.Get("Location"), gitlabURL)
	}
	q := authz.Query()
	for k, want := range map[string]string{
		"client_id": glApp.UID, "redirect_uri": in.CallbackURL, "response_type": "code",
		"scope": "read_user", "code_challenge_method": "S256",
	} {
		if q.Get(k) != want {
			t.Errorf("authorize %s=%q, want %q", k, q.Get(k), want)
		}
	}
	if len(q.Get("state")) < 16 || len(q.Get("code_challenge")) != 43 {
		t.Errorf("authorize state %q, code_challenge %q: want a random state and a S256 challenge", q.Get("state"), q.Get("code_challenge"))
	}
	if cookie(r, "forgelink_state") == nil {
		t.Errorf("login set no state cookie: %v", r.Header["Set-Cookie"])
	}

	// At GitLab: sign in as alice, approve.
	r = e.Follow(t, member, r)
	if !strings.Contains(r.Request.URL.Path, "/users/sign_in") {
		t.Fatalf("GitLab shows %s, want its sign-in page", r.Request.URL)
	}
	r = e.Follow(t, member, e.PostForm(t, member, gitlabURL+"/users/sign_in",
		map[string]string{"user[login]": "alice", "user[password]": "password"}))
	if r.StatusCode != http.StatusOK || r.Request.URL.Path != "/oauth/authorize" {
		t.Fatalf("GitLab after sign-in: %d at %s, want the consent page", r.StatusCode, r.Request.URL)
	}
	r = e.PostForm(t, member, gitlabURL+"/oauth/authorize", apptest.HiddenInputs(r.Body, "authorize"))
	callback := r.Header.Get("Location")
	if r.StatusCode != http.StatusFound || !strings.HasPrefix(callback, in.CallbackURL+"?") {
		t.Fatalf("GitLab consent: %d → %q, want the callback", r.StatusCode, callback)
	}

	// Back through the gateway: signed in, state cookie cleared, org home says who.
	r = e.Get(t, member, callback)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/orgs/"+org {
		t.Fatalf("callback: %d → %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if c := cookie(r, "forgelink_session_"+org); c == nil || c.Value == "" || !c.HttpOnly {
		t.Errorf("callback set no HttpOnly session cookie: %v", r.Header["Set-Cookie"])
	}
	if c := cookie(r, "forgelink_state"); c == nil || c.MaxAge >= 0 {
		t.Errorf("callback did not clear the state cookie: %v", r.Header["Set-Cookie"])
	}
	home := e.Follow(t, member, r)
	if home.StatusCode != http.StatusOK || !strings.Contains(home.Body, "Signed in as @alice ("+gitlabHost+")") {
		t.Fatalf("org home: %d\n%s", home.StatusCode, home.Body)
	}
	whoami := e.Get(t, member, "/api/v1/orgs/"+org+"/session")
	var who struct {
		Org  string `json:"org"`
		User struct {
			Username string `json:"username"`
		} `json:"user"`
		IntegrationID string `json:"integration_id"`
	}
	if whoami.StatusCode != http.StatusOK || json.Unmarshal([]byte(whoami.Body), &who) != nil ||
		who.Org != org || who.User.Username != "alice" || who.IntegrationID != in.ID {
		t.Fatalf("whoami: %d %s", whoami.StatusCode, whoami.Body)
	}
	r = e.PostForm(t, member, "/orgs/"+org+"/logout", map[string]string{"csrf_token": apptest.FormValue(home.Body, "csrf_token")})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", r.StatusCode, r.Body)
	}
	if whoami = e.Get(t, member, "/api/v1/orgs/"+org+"/session"); whoami.StatusCode != http.StatusUnauthorized {
		t.Errorf("whoami after logout: %d %s", whoami.StatusCode, whoami.Body)
	}

	// The gateway answers unknown routes as API Gateway does.
	if r = e.Get(t, member, "/orgs/"+org+"/nowhere"); r.StatusCode != http.StatusNotFound || r.Body != `{"message":"Not Found"}` {
		t.Errorf("unknown route: %d %s", r.StatusCode, r.Body)
	}

	for _, err := range gw.Errors() {
		t.Errorf("gateway: %v", err)
	}
	// The functions never create the table (production: the template does).
	for _, c := range calls.all() {
		if strings.HasSuffix(c, ".CreateTable") || strings.HasSuffix(c, ".UpdateTimeToLive") {
			t.Errorf("a function called %s", c)
		}
	}

	// The client secret went to Secrets Manager, and nowhere else: not in a response, an
	// emulator's log or the table. The cookie key is held to the same rule.
	secrets, err := moto.ListSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := false
	for _, s := range secrets {
		if s.Name == secretPrefix+org+"/"+in.ID && s.Value == glApp.Secret {
			stored = true
		}
	}
	if want := "forgelink/" + stack + "/"; secretPrefix != want {
		t.Errorf("FORGELINK_SECRET_PREFIX = %q, want %q (DESIGN-NOTES.md: the stack name is the stage)", secretPrefix, want)
	}
	if !stored {
		t.Errorf("the client secret is not in Secrets Manager as %s%s/%s", secretPrefix, org, in.ID)
	}
	leaks := map[string]string{"client secret": glApp.Secret, "cookie key": cookieKey}
	items := scan(t, ctx, moto, table)
	for what, secret := range leaks {
		for _, ex := range gw.Exchanges() {
			if strings.Contains(ex.Body, secret) || strings.Contains(fmt.Sprint(ex.Header), secret) {
				t.Errorf("the %s is in the response to %s %s", what, ex.Method, ex.Path)
			}
		}
		for name, rie := range emulators {
			if strings.Contains(rie.Logs(), secret) {
				t.Errorf("the %s is in the log of %s", what, name)
			}
		}
		if strings.Contains(items, secret) {
			t.Errorf("the %s is in the DynamoDB table", what)
		}
	}

	for _, name := range functions {
		if d, ok := emulators[name].InitDuration(); ok {
			t.Logf("%s: init duration %v", name, d)
		} else {
			t.Errorf("%s: no init duration in the emulator log", name)
		}
	}
	t.Logf("%d requests through the gateway, %d AWS calls by the functions", len(gw.Exchanges()), len(calls.all()))
	if took := time.Since(started); took > 60*time.Second {
		t.Errorf("the end-to-end run took %v after the builds, budget 60 s", took)
	}
}

// functionEnv resolves the function's environment as CloudFormation would: Globals first,
// then the function's own Environment; every !Ref, !Sub and !If must be known in refs and
// the template's Conditions.
func functionEnv(t *testing.T, tpl *sam.Template, id string, refs map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	add := func(n *yaml.Node) {
		sam.EachPair(sam.Get(n, "Variables"), func(k string, v *yaml.Node) { env[k] = resolve(t, tpl, v, refs) })
	}
	add(tpl.Globals["Environment"])
	add(sam.Get(tpl.Resources[id], "Properties", "Environment"))
	if len(env) == 0 {
		t.Fatalf("template.yaml sets no environment for %s", id)
	}
	return env
}

// resolve evaluates a scalar, !Ref Name, !Sub "…${Name}…" or !If [Condition, a, b] against
// refs and the template's Conditions.
func resolve(t *testing.T, tpl *sam.Template, n *yaml.Node, refs map[string]string) string {
	t.Helper()
	if n != nil && n.Tag == "!If" && n.Kind == yaml.SequenceNode && len(n.Content) == 3 {
		if condition(t, tpl, n.Content[0].Value, refs) {
			return resolve(t, tpl, n.Content[1], refs)
		}
		return resolve(t, tpl, n.Content[2], refs)
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		t.Fatalf("template value %q: want a scalar, !Ref, !Sub or !If", sam.Text(n))
	}
	ref := func(name string) string {
		v, ok := refs[name]
		if !ok {
			t.Fatalf("template refers to %s, which this test does not resolve", name)
		}
		return v
	}
	switch n.Tag {
	case "!Ref":
		return ref(n.Value)
	case "!Sub":
		out, rest := "", n.Value
		for {
			i := strings.Index(rest, "${")
			if i < 0 {
				return out + rest
			}
			j := strings.Index(rest[i:], "}")
			if j < 0 {
				t.Fatalf("template !Sub %q: unclosed ${", n.Value)
			}
			out += rest[:i] + ref(rest[i+2:i+j])
			rest = rest[i+j+1:]
		}
	case "", "!!str", "!!int", "!!bool":
		return n.Value
	}
	t.Fatalf("template value %q: unsupported tag %s", sam.Text(n), n.Tag)
	return ""
}

// condition evaluates the template's condition name: !Equals, !Not, !And, !Or and
// !Condition over values resolve understands.
func condition(t *testing.T, tpl *sam.Template, name string, refs map[string]string) bool {
	t.Helper()
	c, ok := tpl.Conditions[name]
	if !ok {
		t.Fatalf("template.yaml has no condition %s", name)
	}
	var eval func(n *yaml.Node) bool
	eval = func(n *yaml.Node) bool {
		switch n.Tag {
		case "!Equals":
			return resolve(t, tpl, n.Content[0], refs) == resolve(t, tpl, n.Content[1], refs)
		case "!Not":
			return !eval(n.Content[0])
		case "!And", "!Or":
			and := n.Tag == "!And"
			for _, c := range n.Content {
				if eval(c) != and {
					return !and
				}
			}
			return and
		case "!Condition":
			return condition(t, tpl, n.Value, refs)
		}
		t.Fatalf("condition %s: unsupported %s", name, sam.Text(n))
		return false
	}
	return eval(c)
}

// functionInt is the function's Timeout or MemorySize, else the Globals one.
func functionInt(tpl *sam.Template, id, key string) int {
	f := tpl.Functions[id]
	v := map[string]int{"Timeout": f.Timeout, "MemorySize": f.MemorySize}[key]
	if v == 0 {
		v, _ = strconv.Atoi(sam.Scalar(tpl.Globals[key]))
	}
	return v
}

func cookie(r apptest.Response, name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// scan renders every item of the table as text (to compare snapshots and look for leaks).
func scan(t *testing.T, ctx context.Context, moto *mototest.Server, table string) string {
	t.Helper()
	items, err := moto.ScanTable(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(items)
}

func randomAlnum(t *testing.T, n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			t.Fatal(err)
		}
		b[i] = chars[k.Int64()]
	}
	return string(b)
}

// callRecorder is a reverse proxy in front of moto that records each AWS call's
// X-Amz-Target ("DynamoDB_20120810.PutItem", "secretsmanager.GetSecretValue").
type callRecorder struct {
	URL   string
	mu    sync.Mutex
	calls []string
}

func startCallRecorder(t *testing.T, target string) *callRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &callRecorder{URL: "http://" + l.Addr().String()}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.calls = append(c.calls, r.Header.Get("X-Amz-Target"))
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return c
}

func (c *callRecorder) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *callRecorder) since(n int) []string { return c.all()[n:] }

// writes returns the calls that change state (anything but reads).
func writes(calls []string) []string {
	var out []string
	for _, call := range calls {
		_, op, _ := strings.Cut(call, ".")
		if !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "List") &&
			op != "Query" && op != "Scan" && op != "BatchGetItem" && op != "TransactGetItems" {
			out = append(out, call)
		}
	}
	return out
}
