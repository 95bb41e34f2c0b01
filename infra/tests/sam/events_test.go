package sam_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/forgelink/forgelink/infra/testkit/sam"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/lambdahttp"
	"github.com/forgelink/forgelink/shared/logging"
	"github.com/forgelink/forgelink/shared/statecookie"
)

// expect is what one event must answer. Status is required; the other fields are checked
// when set. Keep this table in step with the handlers: it is the one place to update.
type expect struct {
	Status    int
	Body      []string // substrings of the (decoded) body
	Location  string   // prefix of the Location header
	SetCookie []string // cookie names that must be set (in the payload 2.0 cookies array)
	Cleared   []string // cookie names that must be cleared (Max-Age=0 / expired)
	JSON      bool     // Content-Type application/json
	HTML      bool     // Content-Type text/html
}

// seeded: every events/*.json file against a store seeded by SeedEvents.
var seeded = map[string]expect{
	"healthz.json": {Status: 200, Body: []string{"ok"}},

	"integrations-list.json": {Status: 200, HTML: true, Body: []string{sam.EventIntegrationName, "/orgs/acme/login/" + sam.EventIntegrationID}},
	"integrations-new.json":  {Status: 200, HTML: true, Body: []string{`name="csrf_token"`}},
	// The form reaches the server before it creates anything; the event's server does
	// not exist, which is the typo the check catches.
	"integrations-create-form.json": {Status: 422, HTML: true, Body: []string{"No server answered at https://git.example.org/gitlab"}},
	"integration-page.json":         {Status: 200, HTML: true, Body: []string{sam.EventBaseURL + "/orgs/acme/login/" + sam.EventIntegrationID + "/callback"}},
	"integration-save-form.json":    {Status: 303, Location: "/orgs/acme/settings/integrations?saved=" + sam.EventIntegrationID},
	"integration-delete-form.json":  {Status: 303, Location: "/orgs/acme/settings/integrations?deleted=" + sam.EventIntegrationID},

	"api-integrations-list.json":   {Status: 200, JSON: true, Body: []string{`"id":"` + sam.EventIntegrationID + `"`}},
	"api-integrations-create.json": {Status: 201, JSON: true, Body: []string{`"status":"pending"`, `"callback_url":"` + sam.EventBaseURL + `/orgs/acme/login/`}},
	"api-integration-get.json":     {Status: 200, JSON: true, Body: []string{`"status":"active"`, `"client_secret_set":true`}},
	"api-integration-update.json":  {Status: 200, JSON: true, Body: []string{`"name":"` + sam.EventRenamed + `"`}},
	"api-integration-delete.json":  {Status: 204},
	"api-integration-audit.json":   {Status: 200, JSON: true},

	"admins-page.json":            {Status: 200, HTML: true, Body: []string{"GitLab user @" + sam.EventUsername, sam.EventIntegrationName}},
	"admin-rule-create-form.json": {Status: 303, Location: "/orgs/acme/settings/admins?added="},
	"admin-rule-delete-form.json": {Status: 303, Location: "/orgs/acme/settings/admins?removed=1"},
	"api-admins-list.json":        {Status: 200, JSON: true, Body: []string{`"id":"` + sam.EventAdminRuleID + `"`, `"username":"` + sam.EventUsername + `"`}},
	"api-admins-create.json":      {Status: 201, JSON: true, Body: []string{`"group":"eng"`, `"min_access_level":40`, `"username":null`}},
	"api-admin-delete.json":       {Status: 204},

	"login.json": {Status: 200, HTML: true, Body: []string{"Sign in with GitLab", sam.EventGitLabHost}},
	// The state cookie was sealed at EventTime and has expired since: the clear 400 page,
	// and the cookie is cleared (single use). TestEventCallbackAtEventTime replays it while
	// it was valid.
	"callback.json": {Status: 400, HTML: true, Body: []string{"expired"}, Cleared: []string{"__Host-forgelink_state"}},

	"org-home.json":      {Status: 200, HTML: true, Body: []string{"@" + sam.EventUsername, sam.EventGitLabHost}},
	"session.json":       {Status: 200, JSON: true, Body: []string{`"username":"` + sam.EventUsername + `"`, `"integration_id":"` + sam.EventIntegrationID + `"`}},
	"logout-form.json":   {Status: 303, Location: "/orgs/acme", Cleared: []string{"__Host-forgelink_session_acme"}},
	"admin-sign-in.json": {Status: 200, HTML: true, Body: []string{"Continue"}}, // GET never redeems
	"login-start.json":   {Status: 302, Location: sam.EventGitLabURL + "/oauth/authorize?", SetCookie: []string{"__Host-forgelink_state"}},
	"admin-sign-in-form.json": {Status: 303, Location: "/orgs/acme/settings/integrations",
		SetCookie: []string{"__Host-forgelink_session_acme"}},
	"integration-test-form.json": {Status: 302, Location: sam.EventGitLabURL + "/oauth/authorize?", SetCookie: []string{"__Host-forgelink_state"}},

	"members-page.json":         {Status: 200, HTML: true, Body: []string{"@" + sam.EventUsername, sam.EventIntegrationName, "Sign out everywhere"}},
	"member-sign-out-form.json": {Status: 303, Location: "/orgs/acme/settings/members?ended=1&signed_out=" + sam.EventMemberID},
	"api-members-list.json": {Status: 200, JSON: true, Body: []string{`"id":"` + sam.EventMemberID + `"`, `"username":"` + sam.EventUsername + `"`,
		`"role":"member"`, `"active_sessions":1`}},
	"api-member-sign-out.json": {Status: 204},

	// The seeded integration is active: its URL stays, and the page says how to move.
	"integration-url-form.json": {Status: 422, HTML: true, Body: []string{"add an integration for the new URL, then delete this one"}},
}

// empty: the same events against an empty store (what the RIE test sees: every emulator
// starts a fresh in-memory store). Tokens, sessions, org and integration are all unknown.
var empty = map[string]expect{
	"healthz.json": {Status: 200, Body: []string{"ok"}},

	"integrations-list.json":        {Status: 401, HTML: true},
	"integrations-new.json":         {Status: 401, HTML: true},
	"integrations-create-form.json": {Status: 401, HTML: true},
	"integration-page.json":         {Status: 401, HTML: true},
	"integration-save-form.json":    {Status: 401, HTML: true},
	"integration-delete-form.json":  {Status: 401, HTML: true},

	"api-integrations-list.json":   {Status: 401, JSON: true, Body: []string{`"code":`}},
	"api-integrations-create.json": {Status: 401, JSON: true, Body: []string{`"code":`}},
	"api-integration-get.json":     {Status: 401, JSON: true, Body: []string{`"code":`}},
	"api-integration-update.json":  {Status: 401, JSON: true, Body: []string{`"code":`}},
	"api-integration-delete.json":  {Status: 401, JSON: true, Body: []string{`"code":`}},
	"api-integration-audit.json":   {Status: 401, JSON: true, Body: []string{`"code":`}},

	"admins-page.json":            {Status: 401, HTML: true},
	"admin-rule-create-form.json": {Status: 401, HTML: true},
	"admin-rule-delete-form.json": {Status: 401, HTML: true},
	"api-admins-list.json":        {Status: 401, JSON: true, Body: []string{`"code":`}},
	"api-admins-create.json":      {Status: 401, JSON: true, Body: []string{`"code":`}},
	"api-admin-delete.json":       {Status: 401, JSON: true, Body: []string{`"code":`}},

	"login.json": {Status: 404, HTML: true},
	// An empty store knows no integration: the login link's "not valid" page, state cleared.
	"callback.json": {Status: 404, HTML: true, Cleared: []string{"__Host-forgelink_state"}},

	"org-home.json": {Status: 404, HTML: true},
	"session.json":  {Status: 401, JSON: true},
	// No such session: nothing is left to end, so the browser is signed out (cookie cleared).
	"logout-form.json":   {Status: 303, Location: "/orgs/acme", Cleared: []string{"__Host-forgelink_session_acme"}},
	"admin-sign-in.json": {Status: 200, HTML: true}, // the page only; nothing is looked up
	"login-start.json":   {Status: 404, HTML: true},
	// unknown link: the clear "not valid" page
	"admin-sign-in-form.json":    {Status: 400, HTML: true},
	"integration-test-form.json": {Status: 401, HTML: true},

	"members-page.json":         {Status: 401, HTML: true},
	"member-sign-out-form.json": {Status: 401, HTML: true},
	"api-members-list.json":     {Status: 401, JSON: true, Body: []string{`"code":`}},
	"api-member-sign-out.json":  {Status: 401, JSON: true, Body: []string{`"code":`}},

	"integration-url-form.json": {Status: 401, HTML: true},
}

// loadEvents reads events/*.json.
func loadEvents(t *testing.T) map[string][]byte {
	t.Helper()
	dir, err := sam.EventsDir()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no events/*.json; run go run ./infra/cmd/genevents")
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func sortedNames(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// newEventApp builds the application as a Lambda function does, on the in-memory store with
// the events' cookie key, and logs into logs.
func newEventApp(t *testing.T, logs *bytes.Buffer, now func() time.Time) *app.App {
	t.Helper()
	env := sam.EventEnv()
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	d, err := local.Deps(context.Background(), cfg, logging.New(logs, cfg.LogLevel), local.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(d)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEventsUpToDate: events/*.json are what genevents writes (ids, tokens and CSRF tokens
// match the seeded store and the fixed cookie key), and every route has an event.
func TestEventsUpToDate(t *testing.T) {
	files := loadEvents(t)
	want, err := sam.EventFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sortedNames(want) {
		got, ok := files[name]
		if !ok {
			t.Errorf("events/%s is missing; run go run ./infra/cmd/genevents", name)
		} else if !sam.SameEvent(got, want[name]) {
			t.Errorf("events/%s is stale; run go run ./infra/cmd/genevents", name)
		}
	}
	for name := range files {
		if _, ok := want[name]; !ok {
			t.Errorf("events/%s is not generated by genevents: add it there (or delete it)", name)
		}
	}
	tpl, _ := loadTemplate(t)
	covered := map[string]bool{}
	for name, b := range files {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Errorf("events/%s: %v", name, err)
			continue
		}
		covered[ev.RouteKey] = true
		if _, ok := seeded[name]; !ok {
			t.Errorf("events/%s has no expectation in the seeded table", name)
		}
		if _, ok := empty[name]; !ok {
			t.Errorf("events/%s has no expectation in the empty-store table", name)
		}
		checkEventShape(t, name, ev)
	}
	for _, id := range tpl.FunctionIDs() {
		for _, e := range tpl.Functions[id].Events {
			if !covered[e.RouteKey()] {
				t.Errorf("route %s has no event in events/", e.RouteKey())
			}
		}
	}
}

// checkEventShape: what API Gateway sends and what DESIGN.md allows in an events file.
func checkEventShape(t *testing.T, name string, ev events.APIGatewayV2HTTPRequest) {
	t.Helper()
	if ev.Version != "2.0" || ev.RouteKey != ev.RequestContext.RouteKey || ev.RequestContext.Stage != "$default" ||
		ev.RawPath != ev.RequestContext.HTTP.Path || ev.RequestContext.RequestID == "" || ev.RequestContext.TimeEpoch == 0 {
		t.Errorf("events/%s: not a consistent payload 2.0 event", name)
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("events/%s: header %q: API Gateway lower-cases header names", name, k)
		}
		if k == "cookie" {
			t.Errorf("events/%s: payload 2.0 carries cookies in the cookies array, not a cookie header", name)
		}
	}
	body := ev.Body
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			t.Errorf("events/%s: body is not base64: %v", name, err)
		}
		body = string(b)
	}
	if strings.Contains(strings.ToLower(body), "client_secret=") && !strings.Contains(body, "client_secret=&") && !strings.HasSuffix(body, "client_secret=") ||
		strings.Contains(body, `"client_secret"`) || strings.Contains(body, sam.EventClientSecret) {
		t.Errorf("events/%s carries a client secret: events never do (DESIGN.md)", name)
	}
}

// invokeEvent runs one event through the real Lambda handler of function.
func invokeEvent(t *testing.T, a *app.App, function string, raw []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := lambdahttp.Handler(a.Handler(function), a.Log)(ctx, ev)
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	return resp
}

// TestEventsThroughLambdaHandlers invokes every events/*.json through lambdahttp.Handler of
// the function template.yaml routes its routeKey to, against a freshly seeded store.
func TestEventsThroughLambdaHandlers(t *testing.T) {
	tpl, _ := loadTemplate(t)
	files := loadEvents(t)
	for _, name := range sortedNames(files) {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			t.Parallel()
			raw := files[name]
			id := functionOf(t, tpl, raw)
			var logs bytes.Buffer
			a := newEventApp(t, &logs, nil)
			if err := sam.SeedEvents(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			resp := invokeEvent(t, a, sam.FunctionName(id), raw)
			checkResponse(t, name, raw, resp, seeded[name])
			checkNoSecretsLogged(t, logs.String())
			if t.Failed() {
				t.Logf("logs:\n%s", logs.String())
			}
		})
	}
}

// TestHealthOnEveryFunction: /healthz is served by every function (web.AnyFunction), even
// though API Gateway routes it to one.
func TestHealthOnEveryFunction(t *testing.T) {
	tpl, _ := loadTemplate(t)
	raw := loadEvents(t)["healthz.json"]
	var logs bytes.Buffer
	a := newEventApp(t, &logs, nil)
	for _, id := range tpl.FunctionIDs() {
		resp := invokeEvent(t, a, sam.FunctionName(id), raw)
		checkResponse(t, id+" healthz.json", raw, resp, seeded["healthz.json"])
	}
}

// TestEventCallbackAtEventTime replays callback.json at the time its state cookie was
// sealed: the cookie then opens with the events' key and matches the state, the path and the
// integration, so the callback goes on to GitLab — which is unreachable from here
// (gitlab.example.com does not resolve): the clear 502 page, never a 500.
func TestEventCallbackAtEventTime(t *testing.T) {
	raw := loadEvents(t)["callback.json"]
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	// The cookie is genuinely sealed: it opens at EventTime, not after its ten minutes.
	sealer, err := statecookie.New([]byte(sam.EventCookieKey))
	if err != nil {
		t.Fatal(err)
	}
	var state map[string]any
	value := cookieValue(ev.Cookies, "__Host-forgelink_state")
	if err := sealer.Open(value, sam.EventTime, &state); err != nil {
		t.Fatalf("state cookie does not open at EventTime: %v", err)
	}
	if state["s"] != sam.EventOAuthState || state["i"] != sam.EventIntegrationID {
		t.Errorf("state cookie holds %v", state)
	}
	if err := sealer.Open(value, sam.EventTime.Add(11*time.Minute), &state); err == nil {
		t.Error("state cookie still opens after its ten minutes")
	}

	var logs bytes.Buffer
	a := newEventApp(t, &logs, func() time.Time { return sam.EventTime })
	if err := sam.SeedEvents(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	resp := invokeEvent(t, a, "callback", raw)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502 (GitLab unreachable); body:\n%s\nlogs:\n%s", resp.StatusCode, resp.Body, logs.String())
	}
	checkNoSecretsLogged(t, logs.String())
}

func functionOf(t *testing.T, tpl *sam.Template, raw []byte) string {
	t.Helper()
	var ev struct {
		RouteKey string `json:"routeKey"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	id, ok := tpl.FunctionFor(ev.RouteKey)
	if !ok {
		t.Fatalf("template.yaml routes no function for %q", ev.RouteKey)
	}
	return id
}

// checkResponse checks resp against want and against what every response must be: the
// request id of API Gateway echoed, no 5xx, cookies only in the payload 2.0 cookies array and
// with forgelink's attributes.
func checkResponse(t *testing.T, name string, raw []byte, resp events.APIGatewayV2HTTPResponse, want expect) {
	t.Helper()
	body := resp.Body
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			t.Fatalf("%s: body not base64: %v", name, err)
		}
		body = string(b)
	}
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	if resp.StatusCode != want.Status {
		t.Errorf("%s: status %d, want %d; body:\n%.600s", name, resp.StatusCode, want.Status, body)
	}
	if resp.StatusCode >= 500 {
		t.Errorf("%s: %d: never a 5xx for these events", name, resp.StatusCode)
	}
	for _, s := range want.Body {
		if !strings.Contains(body, s) {
			t.Errorf("%s: body lacks %q:\n%.600s", name, s, body)
		}
	}
	if want.Location != "" && !strings.HasPrefix(h.Get("Location"), want.Location) {
		t.Errorf("%s: Location %q, want prefix %q", name, h.Get("Location"), want.Location)
	}
	ct := h.Get("Content-Type")
	if want.JSON && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want JSON", name, ct)
	}
	if want.HTML && !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: Content-Type %q, want HTML", name, ct)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err == nil && h.Get("X-Request-Id") != ev.RequestContext.RequestID {
		t.Errorf("%s: X-Request-Id %q, want API Gateway's request id %q", name, h.Get("X-Request-Id"), ev.RequestContext.RequestID)
	}
	for k := range resp.Headers {
		if strings.EqualFold(k, "Set-Cookie") {
			t.Errorf("%s: Set-Cookie in headers (%q): payload 2.0 wants the cookies array", name, resp.Headers[k])
		}
	}
	set := map[string]*http.Cookie{}
	for _, line := range resp.Cookies {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Errorf("%s: cookie %q: %v", name, line, err)
			continue
		}
		set[c.Name] = c
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("%s: cookie %q lacks HttpOnly, Secure, SameSite=Lax or Path=/", name, line)
		}
		if strings.HasPrefix(c.Name, "__Host-") && c.Domain != "" {
			t.Errorf("%s: __Host- cookie with a Domain: %q", name, line)
		}
	}
	for _, n := range want.SetCookie {
		if c := set[n]; c == nil || c.Value == "" || c.MaxAge < 0 {
			t.Errorf("%s: cookie %s not set; cookies: %q", name, n, resp.Cookies)
		}
	}
	for _, n := range want.Cleared {
		if c := set[n]; c == nil || c.MaxAge >= 0 && c.Value != "" {
			t.Errorf("%s: cookie %s not cleared; cookies: %q", name, n, resp.Cookies)
		}
	}
}

// checkNoSecretsLogged: tokens, session ids, codes and secrets never reach the logs.
func checkNoSecretsLogged(t *testing.T, logs string) {
	t.Helper()
	for what, s := range map[string]string{
		"admin token": sam.EventAdminToken, "admin session id": sam.EventAdminSessionID,
		"member session id": sam.EventMemberSessionID, "admin link token": sam.EventAdminLinkToken,
		"OAuth code": sam.EventOAuthCode, "client secret": sam.EventClientSecret, "cookie key": sam.EventCookieKey,
	} {
		if strings.Contains(logs, s) {
			t.Errorf("the logs contain the %s", what)
		}
	}
}

func cookieValue(cookies []string, name string) string {
	for _, c := range cookies {
		if n, v, ok := strings.Cut(c, "="); ok && n == name {
			return v
		}
	}
	return ""
}

// eventsByFunction groups event files by the function template.yaml routes them to.
func eventsByFunction(t *testing.T, tpl *sam.Template, files map[string][]byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range sortedNames(files) {
		id := functionOf(t, tpl, files[name])
		out[id] = append(out[id], name)
	}
	for _, names := range out {
		slices.Sort(names)
	}
	return out
}
