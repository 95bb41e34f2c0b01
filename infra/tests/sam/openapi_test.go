package sam_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/forgelink/forgelink/infra/testkit/sam"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/web"
)

// notYetServed: operations docs/openapi.yaml documents (DESIGN.md, "People and access") that
// web.Routes() does not serve yet; they are being built. The test fails as soon as one of
// them is served, so that its entry is removed here and the route is held to the document
// like every other one.
var notYetServed = map[string]bool{}

// pendingField is a part of a documented response shape that the served code does not
// produce yet (DESIGN.md, "People and access"). TestOpenAPIMatchesResponses relaxes the
// document for it, and fails once a served response carries it, so that the entry goes.
type pendingField struct {
	schema, field string
	// op and pointer locate an object of that schema in a served response: the operation's
	// 2xx body and a JSON pointer into it.
	op, pointer string
	// changed: the field is served with another shape (the document wants an object);
	// otherwise it is not served at all.
	changed bool
}

var notYetInResponses = []pendingField{}

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	root, err := sam.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(filepath.Join(root, "docs", "openapi.yaml"))
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	return doc
}

// operations returns the document's operations as "METHOD /path".
func operations(doc *openapi3.T) map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = op
		}
	}
	return ops
}

// normalRoute writes every path parameter as {}: the document and the route table may name
// a parameter differently ({id}, {rule}) and still mean the same route.
func normalRoute(key string) string {
	method, path, _ := strings.Cut(key, " ")
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = "{}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}

// TestOpenAPIDocumentIsValid: docs/openapi.yaml is a valid OpenAPI 3.1 document (examples
// included), the admin API asks for the bearer token, and every error answer has the one
// error shape.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi: %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid: %v", err)
	}
	bearer := doc.Components.SecuritySchemes["bearer"]
	if bearer == nil || bearer.Value.Type != "http" || bearer.Value.Scheme != "bearer" {
		t.Fatal("docs/openapi.yaml: components.securitySchemes.bearer must be HTTP bearer")
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearer"] == nil {
		t.Errorf("docs/openapi.yaml: the document's security must be the bearer token")
	}
	errorRef := "#/components/schemas/Error"
	for key, op := range operations(doc) {
		_, path, _ := strings.Cut(key, " ")
		switch {
		case path == "/api/v1/orgs/{org}/session":
			if op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["sessionCookie"] == nil {
				t.Errorf("%s: want security sessionCookie (whoami reads the session cookie, not a token)", key)
			}
		case strings.HasPrefix(path, "/api/"):
			if op.Security != nil {
				t.Errorf("%s: overrides the bearer security of the admin API", key)
			}
			if op.Responses.Status(http.StatusUnauthorized) == nil || op.Responses.Status(http.StatusForbidden) == nil {
				t.Errorf("%s: documents no 401 or 403 (bearer token missing, or of another org)", key)
			}
		}
		if op.OperationID == "" || op.Summary == "" {
			t.Errorf("%s: needs an operationId and a summary", key)
		}
		for code, resp := range op.Responses.Map() {
			if code == "default" || code[0] < '4' || !strings.HasPrefix(path, "/api/") {
				continue
			}
			mt := resp.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Ref != errorRef {
				t.Errorf("%s %s: an error answer must be application/json with %s", key, code, errorRef)
			}
		}
	}
}

// TestOpenAPICoversRoutes: every /api/ route web.Routes() serves is documented, and every
// documented operation is served, except those listed in notYetServed, which must really
// not be served yet.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	served := map[string]string{} // normal route → route
	for _, r := range web.Routes() {
		key := r.Method + " " + r.Path
		served[normalRoute(key)] = key
	}
	documented := map[string]string{}
	for key := range operations(doc) {
		documented[normalRoute(key)] = key
	}
	for n, key := range served {
		_, path, _ := strings.Cut(key, " ")
		if strings.HasPrefix(path, "/api/") && documented[n] == "" {
			t.Errorf("route %s is served (shared/web/routes.go) but not documented in docs/openapi.yaml", key)
		}
	}
	for key := range notYetServed {
		if documented[normalRoute(key)] == "" {
			t.Errorf("notYetServed lists %s, which docs/openapi.yaml does not document", key)
		}
	}
	for n, key := range documented {
		switch {
		case notYetServed[key] && served[n] != "":
			t.Errorf("%s is served now (as %s): remove it from notYetServed", key, served[n])
		case !notYetServed[key] && served[n] == "":
			t.Errorf("docs/openapi.yaml documents %s, which shared/web/routes.go does not serve (list it in notYetServed if it is being built)", key)
		}
	}
}

// TestOpenAPIMatchesResponses walks the JSON API of the real application (the in-memory
// store, the fake GitLab) and validates every request it sends and every response it gets
// against docs/openapi.yaml, strictly: a response field the document does not name fails.
// Only what notYetInResponses lists is relaxed.
func TestOpenAPIMatchesResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	relax(t, doc)
	strict(doc)

	e := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	if _, err := e.App.Services.Orgs.EnsureOrg(ctx, "beta", "Beta"); err != nil {
		t.Fatal(err)
	}
	betaToken, err := e.App.Services.Tokens.CreateAdminToken(ctx, "beta", "openapi", "")
	if err != nil {
		t.Fatal(err)
	}
	v := &validator{t: t, doc: doc, base: e.URL, bodies: map[string][]byte{}}
	org := "/api/v1/orgs/" + e.Org

	v.do(nil, "GET", "/healthz", "", nil, 200)
	v.do(nil, "GET", org+"/integrations", e.AdminToken, nil, 200)
	created := v.do(nil, "POST", org+"/integrations", e.AdminToken,
		map[string]any{"platform": "gitlab", "url": e.GitLabURL + "/typo", "name": "Acme GitLab"}, 201)
	var in struct {
		ID          string `json:"id"`
		CallbackURL string `json:"callback_url"`
		LoginURL    string `json:"login_url"`
	}
	if err := json.Unmarshal(created, &in); err != nil || in.ID == "" {
		t.Fatalf("create: %v in %s", err, created)
	}
	one := org + "/integrations/" + in.ID
	v.do(nil, "GET", one, e.AdminToken, nil, 200)
	// A pending integration's URL: fixed (200), not to one in use (409).
	v.do(nil, "PATCH", one, e.AdminToken, map[string]any{"url": e.GitLabURL}, 200)
	other := v.do(nil, "POST", org+"/integrations", e.AdminToken, map[string]any{"platform": "gitlab", "url": e.GitLabURL + "/other"}, 201)
	var second struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(other, &second); err != nil || second.ID == "" {
		t.Fatalf("create: %v in %s", err, other)
	}
	v.do(nil, "PATCH", org+"/integrations/"+second.ID, e.AdminToken, map[string]any{"url": e.GitLabURL}, 409)
	v.do(nil, "DELETE", org+"/integrations/"+second.ID, e.AdminToken, nil, 204)
	app := e.GitLab.CreateApplication("openapi", in.CallbackURL, []string{"api", "read_user"}, true, false)
	v.do(nil, "PATCH", one, e.AdminToken, map[string]any{"client_id": app.UID, "client_secret": app.Secret}, 200)
	// An application that is not Confidential: saved, with a warning in the answer.
	public := e.GitLab.CreateApplication("openapi public", in.CallbackURL, []string{"api", "read_user"}, false, false)
	if b := v.do(nil, "PATCH", one, e.AdminToken, map[string]any{"client_id": public.UID, "client_secret": public.Secret}, 200); !strings.Contains(string(b), `"code":"not_confidential"`) {
		t.Errorf("PATCH with a public application carries no warning: %s", b)
	}
	v.do(nil, "POST", "/api/v1/orgs/beta/integrations", betaToken,
		map[string]any{"platform": "gitlab", "url": e.GitLabURL, "client_id": public.UID, "client_secret": public.Secret}, 201)
	v.do(nil, "PATCH", one, e.AdminToken, map[string]any{"name": "Acme GitLab (renamed)"}, 200)
	v.do(nil, "PATCH", one, e.AdminToken, map[string]any{"url": e.GitLabURL + "/elsewhere"}, 422)
	v.do(nil, "GET", one, e.AdminToken, nil, 200)
	v.do(nil, "GET", one+"/audit?limit=10", e.AdminToken, nil, 200)
	v.do(nil, "GET", org+"/integrations", e.AdminToken, nil, 200)

	// The session: none, then alice signed in through the integration.
	browser := e.Client(t)
	v.do(browser, "GET", org+"/session", "", nil, 401)
	e.SignIn(t, browser, in.LoginURL, "alice")
	v.do(browser, "GET", org+"/session", "", nil, 200)

	// Errors, each in the one shape with its documented status.
	v.do(nil, "GET", org+"/integrations", "", nil, 401)
	v.do(nil, "GET", org+"/integrations", "not-a-token-of-anyone-0123456789", nil, 401)
	v.do(nil, "GET", org+"/integrations", betaToken, nil, 403)
	v.do(nil, "GET", org+"/integrations/nosuchintegration", e.AdminToken, nil, 404)
	v.do(nil, "POST", org+"/integrations", e.AdminToken, map[string]any{"platform": "gitlab", "url": e.GitLabURL}, 409)
	v.do(nil, "POST", org+"/integrations", e.AdminToken, map[string]any{"platform": "gitlab", "url": "http://10.0.0.1"}, 422)
	v.do(nil, "GET", one+"/audit?limit=0", e.AdminToken, nil, 422)
	v.raw("POST", org+"/integrations", e.AdminToken, "text/plain", []byte("platform=gitlab"), 415)
	v.raw("POST", org+"/integrations", e.AdminToken, "application/json", []byte("{"), 400)
	v.raw("POST", org+"/integrations", e.AdminToken, "application/json",
		[]byte(`{"name":"`+strings.Repeat("x", 70<<10)+`"}`), 413)

	v.do(nil, "DELETE", one, e.AdminToken, nil, 204)
	v.do(nil, "GET", one, e.AdminToken, nil, 404)

	// What notYetInResponses relaxes must still be missing from the served responses.
	for _, p := range notYetInResponses {
		body, ok := v.bodies[p.op]
		if !ok {
			t.Errorf("notYetInResponses: no response of %s was seen", p.op)
			continue
		}
		var whole any
		if err := json.Unmarshal(body, &whole); err != nil {
			t.Errorf("%s: %v", p.op, err)
			continue
		}
		obj, ok := pointer(whole, p.pointer).(map[string]any)
		if !ok {
			t.Errorf("notYetInResponses: %s%s is no object in %s", p.op, p.pointer, body)
			continue
		}
		val, present := obj[p.field]
		_, isObject := val.(map[string]any)
		if (!p.changed && present) || (p.changed && isObject) {
			t.Errorf("%s.%s is served now (%s): remove it from notYetInResponses", p.schema, p.field, p.op)
		}
	}
}

// relax applies notYetInResponses to doc: a missing field is no longer required, a field
// served in another shape may have any.
func relax(t *testing.T, doc *openapi3.T) {
	t.Helper()
	for _, p := range notYetInResponses {
		ref := doc.Components.Schemas[p.schema]
		if ref == nil || ref.Value.Properties[p.field] == nil {
			t.Fatalf("notYetInResponses: docs/openapi.yaml has no %s.%s", p.schema, p.field)
		}
		s := ref.Value
		s.Required = slices.DeleteFunc(slices.Clone(s.Required), func(f string) bool { return f == p.field })
		if p.changed {
			s.Properties[p.field] = &openapi3.SchemaRef{Value: &openapi3.Schema{}}
		}
	}
}

// strict closes every object schema that says nothing about additional properties, so a
// response field the document does not describe fails the validation. (The document itself
// leaves them open: clients should ignore fields they do not know.)
func strict(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	no := false
	var walk func(*openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if s.Type.Is("object") && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, list := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf, s.AllOf} {
			for _, c := range list {
				walk(c)
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s)
	}
	for _, op := range operations(doc) {
		for _, r := range op.Responses.Map() {
			for _, mt := range r.Value.Content {
				walk(mt.Schema)
			}
		}
	}
}

// pointer follows a JSON pointer ("/audit/0") through decoded JSON.
func pointer(v any, p string) any {
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if tok == "" {
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// validator sends requests to the application and validates both directions.
type validator struct {
	t      *testing.T
	doc    *openapi3.T
	base   string
	bodies map[string][]byte // operationId → last 2xx body
}

// do sends a JSON request (body nil: none) with the bearer token (if any) through c (nil: a
// plain client), validates the request when it is meant to be valid, validates the
// response, and returns its body.
func (v *validator) do(c *http.Client, method, path, token string, body any, want int) []byte {
	v.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			v.t.Fatal(err)
		}
	}
	return v.send(c, method, path, token, "application/json", raw, want, want < 400)
}

// raw sends a body as is, with contentType; the request is deliberately off the document.
func (v *validator) raw(method, path, token, contentType string, body []byte, want int) []byte {
	v.t.Helper()
	return v.send(nil, method, path, token, contentType, body, want, false)
}

func (v *validator) send(c *http.Client, method, path, token, contentType string, body []byte, want int, checkRequest bool) []byte {
	v.t.Helper()
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	req, err := http.NewRequest(method, v.base+path, bytes.NewReader(body))
	if err != nil {
		v.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	route, params := v.route(method, req.URL.Path)
	name := method + " " + path
	if route == nil {
		v.t.Errorf("%s: docs/openapi.yaml documents no such operation", name)
		return nil
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route, Options: validationOptions(),
	}
	if checkRequest {
		check := req.Clone(context.Background())
		check.Body = io.NopCloser(bytes.NewReader(body))
		in.Request = check
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			v.t.Errorf("%s: the request does not match docs/openapi.yaml: %v", name, err)
		}
		in.Request = req
	}
	resp, err := c.Do(req)
	if err != nil {
		v.t.Fatalf("%s: %v", name, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		v.t.Fatalf("%s: %v", name, err)
	}
	if resp.StatusCode != want {
		v.t.Errorf("%s: status %d, want %d: %s", name, resp.StatusCode, want, got)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: validationOptions(),
	}
	out.SetBodyBytes(got)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("%s: the %d response does not match docs/openapi.yaml: %v\n%s", name, resp.StatusCode, err, got)
	}
	if resp.StatusCode < 300 {
		v.bodies[route.Operation.OperationID] = got
	}
	return got
}

// validationOptions: every error at once, an undocumented status is an error, and schema
// errors in one line (the default message prints the whole schema).
func validationOptions() *openapi3filter.Options {
	o := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	o.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		return fmt.Sprintf("/%s: %s", strings.Join(err.JSONPointer(), "/"), err.Reason)
	})
	return o
}

// route finds the documented operation for method and a concrete path; a literal segment
// wins over a parameter.
func (v *validator) route(method, path string) (*routers.Route, map[string]string) {
	segs := strings.Split(path, "/")
	type match struct {
		tpl    string
		params map[string]string
		lits   int
	}
	var found []match
	for tpl, item := range v.doc.Paths.Map() {
		if item.GetOperation(method) == nil {
			continue
		}
		ts := strings.Split(tpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		m := match{tpl: tpl, params: map[string]string{}}
		ok := true
		for i, s := range ts {
			switch {
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
				if segs[i] == "" {
					ok = false
				}
				m.params[s[1:len(s)-1]] = segs[i]
			case s == segs[i]:
				m.lits++
			default:
				ok = false
			}
		}
		if ok {
			found = append(found, m)
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	sort.Slice(found, func(i, j int) bool { return found[i].lits > found[j].lits })
	item := v.doc.Paths.Value(found[0].tpl)
	return &routers.Route{Spec: v.doc, Path: found[0].tpl, PathItem: item, Method: method, Operation: item.GetOperation(method)}, found[0].params
}
