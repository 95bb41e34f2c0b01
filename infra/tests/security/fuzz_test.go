package security_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/inmem"
	"github.com/forgelink/forgelink/shared/lambdahttp"
	"github.com/forgelink/forgelink/shared/netguard"
	"github.com/forgelink/forgelink/shared/service"
	"github.com/forgelink/forgelink/shared/statecookie"
	"github.com/forgelink/forgelink/shared/web"
)

// The fuzz harness is the real web handler over the real service and the in-memory
// store, offline: host names never resolve (no DNS) and GitLab is a stub, so nothing
// leaves the process whatever URL the fuzzer invents.

type noDNS struct{}

func (noDNS) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, errors.New("no DNS in fuzzing")
}

type stubGitLab struct{}

func (stubGitLab) AuthCodeURLScopes(in forgelink.Integration, redirectURL, state, _ string, _ []string) string {
	return in.URL + "/oauth/authorize?state=" + url.QueryEscape(state) + "&redirect_uri=" + url.QueryEscape(redirectURL)
}
func (stubGitLab) ExchangeGranted(_ context.Context, _ forgelink.Integration, _, _, code, _ string) (string, []string, error) {
	if code == "good" {
		return "token", []string{"read_user"}, nil
	}
	return "", nil, forgelink.Errorf(forgelink.EEXPIRED, "code rejected")
}
func (stubGitLab) User(context.Context, forgelink.Integration, string) (forgelink.GitLabUser, error) {
	return forgelink.GitLabUser{ID: 7, Username: "alice", State: "active"}, nil
}
func (stubGitLab) GroupAccessLevel(context.Context, forgelink.Integration, string, string, int64) (int, error) {
	return 0, nil
}
func (stubGitLab) Probe(_ context.Context, in forgelink.Integration) (forgelink.ServerInfo, error) {
	return forgelink.ServerInfo{Status: 200, Issuer: in.URL}, nil
}
func (stubGitLab) IsConfidential(context.Context, forgelink.Integration, string, string) (bool, error) {
	return true, nil
}
func (stubGitLab) CheckCredentials(_ context.Context, _ forgelink.Integration, _, secret, _ string) error {
	if strings.HasPrefix(secret, "wrong") {
		return forgelink.Invalid(map[string]string{"client_secret": "wrong"})
	}
	if strings.HasPrefix(secret, "down") {
		return forgelink.Errorf(forgelink.EUPSTREAM, "GitLab down")
	}
	return nil
}

const (
	fuzzOrg   = "acme"
	fuzzToken = "fuzz-admin-token-0123456789abcdef"
	fuzzBase  = "https://forgelink.test"
)

type fuzzApp struct {
	store          *inmem.Store
	functions      map[string]http.Handler
	handler        http.Handler
	pendingID      string
	activeID       string
	adminSID, csrf string
	memberSID      string
	memberCSRF     string
	runs           int
}

var fuzzEnv *fuzzApp

// function returns one function's handler, or for "" all of them (the local runner's).
func (h *fuzzApp) function(name string) http.Handler {
	if name == "" {
		return h.handler
	}
	return h.functions[name]
}

// harness returns the shared fuzz app, rebuilt every 500 runs so state stays small.
func harness(tb testing.TB) *fuzzApp {
	if fuzzEnv != nil && fuzzEnv.runs < 500 {
		fuzzEnv.runs++
		return fuzzEnv
	}
	ctx := context.Background()
	mem := inmem.New(time.Now)
	policy := netguard.Policy{Resolver: noDNS{}, AllowHosts: []string{"127.0.0.1:8929"}}
	log := slog.New(slog.DiscardHandler)
	svc := service.NewAll(service.Deps{
		Store: mem, Secrets: mem, GitLab: stubGitLab{}, URLs: policy, SecretPrefix: "forgelink/fuzz/",
		Log: log, AdminWrites: service.WriteLimit{Off: true},
	})
	sealer, err := statecookie.New([]byte("fuzz-cookie-key-0123456789abcdefghijklmn"))
	if err != nil {
		tb.Fatal(err)
	}
	wo := web.Options{BaseURL: fuzzBase, Sealer: sealer, Log: log}
	fns := map[string]http.Handler{
		web.FuncIntegrations: web.Integrations(wo, web.IntegrationsServices{
			Integrations: svc.Integrations, Sessions: svc.Sessions, Tokens: svc.Tokens, Audit: svc.Audit,
			AdminRules: svc.AdminRules, Members: svc.Members, SignIn: svc.SignIn}),
		web.FuncLogin:    web.Login(wo, svc.SignIn, svc.Sessions),
		web.FuncCallback: web.Callback(wo, svc.SignIn),
		web.FuncSession:  web.Session(wo, svc.Sessions, svc.SetupLinks),
	}
	h := &fuzzApp{store: mem, functions: fns, handler: web.Mount(wo, fns)}
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	_, err = svc.Orgs.EnsureOrg(ctx, fuzzOrg, "Acme")
	must(err)
	_, err = svc.Tokens.CreateAdminToken(ctx, fuzzOrg, "fuzz", fuzzToken)
	must(err)
	actor := service.Actor{Org: fuzzOrg, Name: "fuzz"}
	u1, u2 := "http://127.0.0.1:8929", "https://gitlab.fuzz.test"
	p, err := svc.Integrations.CreateIntegration(ctx, actor, fuzzOrg, service.IntegrationInput{Platform: ptr("gitlab"), URL: &u1}, fuzzBase)
	must(err)
	ac, err := svc.Integrations.CreateIntegration(ctx, actor, fuzzOrg, service.IntegrationInput{Platform: ptr("gitlab"), URL: &u2, ClientID: ptr("cid"), ClientSecret: ptr("fuzz-client-secret-value")}, fuzzBase)
	must(err)
	h.pendingID, h.activeID = p.ID, ac.ID
	link, err := svc.SetupLinks.CreateAdminLink(ctx, fuzzOrg, "")
	must(err)
	h.adminSID, err = svc.SetupLinks.RedeemAdminLink(ctx, fuzzOrg, link)
	must(err)
	h.csrf = sealer.MAC("csrf", h.adminSID)
	st, err := svc.SignIn.StartLogin(ctx, fuzzBase, fuzzOrg, ac.ID, "")
	must(err)
	done, err := svc.SignIn.FinishLogin(ctx, service.LoginCallback{Base: fuzzBase, Org: fuzzOrg, IntegrationID: ac.ID, Code: "good", State: st.State.State, Cookie: st.State})
	must(err)
	h.memberSID = done.SessionID
	h.memberCSRF = sealer.MAC("csrf", h.memberSID)
	fuzzEnv = h
	return h
}

func ptr(s string) *string { return &s }

var (
	apiStatuses  = statusSet(200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 502, 503)
	pageStatuses = statusSet(200, 302, 303, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 502, 503)
)

func statusSet(codes ...int) map[int]bool {
	m := map[int]bool{}
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// FuzzAdminAPI sends fuzzed JSON bodies (content type and If-Match fuzzed too) to the
// create and patch endpoints of the real handler: never a panic or a 500, a documented
// status, the error shape on every error, and a client secret of the body never echoed.
func FuzzAdminAPI(f *testing.F) {
	f.Add(uint8(0), "application/json", `{"platform":"gitlab","url":"https://gitlab.example.com","name":"x"}`, "")
	f.Add(uint8(1), "application/json", `{"client_id":"abc","client_secret":"secret-value-123"}`, `"1"`)
	f.Add(uint8(2), "application/json; charset=utf-8", `{"name":"renamed","version":3}`, `W/"2"`)
	f.Add(uint8(0), "text/plain", `{"url":5}`, "")
	f.Fuzz(func(t *testing.T, route uint8, contentType, body, ifMatch string) {
		h := harness(t)
		method, path := http.MethodPost, "/api/v1/orgs/"+fuzzOrg+"/integrations"
		switch route % 4 {
		case 1:
			method, path = http.MethodPatch, path+"/"+h.pendingID
		case 2:
			method, path = http.MethodPatch, path+"/"+h.activeID
		case 3:
			method, path = http.MethodDelete, path+"/"+h.pendingID+"x"
		}
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+fuzzToken)
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		if !apiStatuses[rec.Code] {
			t.Fatalf("%s %s: status %d: %s", method, path, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 {
			var e apiError
			checkErrorShape(t, method+" "+path, rec.Body.String(), &e)
		}
		var sent struct {
			Secret any `json:"client_secret"`
		}
		if json.Unmarshal([]byte(body), &sent) == nil {
			if s, ok := sent.Secret.(string); ok && len(s) >= 12 && strings.Contains(rec.Body.String(), s) && !strings.Contains(strings.ReplaceAll(body, `"client_secret":"`+s+`"`, ""), s) {
				t.Fatalf("the client secret is echoed: %s", rec.Body.String())
			}
		}
	})
}

// FuzzAdminForms posts fuzzed form bodies (with the session cookie; "CSRF" in the body
// becomes the valid token, so the fuzzer reaches the parsing behind the check) to every
// HTML form: never a panic or a 500, and a documented status.
func FuzzAdminForms(f *testing.F) {
	f.Add(uint8(0), "application/x-www-form-urlencoded", "csrf_token=CSRF&platform=gitlab&url=https%3A%2F%2Fgitlab.example.com&name=x")
	f.Add(uint8(1), "application/x-www-form-urlencoded", "csrf_token=CSRF&client_id=abc&client_secret=s3cret-value-long&version=1")
	f.Add(uint8(2), "application/x-www-form-urlencoded", "csrf_token=CSRF")
	f.Add(uint8(3), "application/x-www-form-urlencoded; charset=utf-8", "csrf_token=CSRF&x=%zz")
	f.Add(uint8(4), "multipart/form-data; boundary=b", "--b\r\n")
	f.Fuzz(func(t *testing.T, route uint8, contentType, body string) {
		h := harness(t)
		list := "/orgs/" + fuzzOrg + "/settings/integrations"
		paths := []string{list, list + "/" + h.pendingID, list + "/" + h.activeID, list + "/" + h.pendingID + "/delete", "/orgs/" + fuzzOrg + "/logout"}
		path := paths[int(route)%len(paths)]
		token, cookie := h.csrf, "forgelink_admin="+h.adminSID
		if strings.HasSuffix(path, "/logout") {
			token, cookie = h.memberCSRF, "forgelink_session="+h.memberSID
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(strings.ReplaceAll(body, "CSRF", token)))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		if !pageStatuses[rec.Code] {
			t.Fatalf("POST %s: status %d: %.500s", path, rec.Code, rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), "fuzz-client-secret-value") {
			t.Fatal("the stored client secret appears in a page")
		}
		if strings.HasSuffix(path, "/logout") && rec.Code == http.StatusSeeOther {
			fuzzEnv = nil // the member session ended; rebuild next time
		}
	})
}

// FuzzLambdaEvent builds API Gateway HTTP API (payload 2.0) events from fuzzed method,
// path, query, headers, cookies and body, and runs them through the real Lambda handler:
// never a panic, never an error return (API Gateway would answer 500), never a 500.
// Events API Gateway cannot send (an unparsable URL or method; a base64 body that is not
// base64, which API Gateway itself encodes) are shaped into valid ones: the adapter's
// behaviour on those is TestLambdaHandlerRefusesBrokenEvents's business.
func FuzzLambdaEvent(f *testing.F) {
	f.Add(uint8(0), uint8(0), "/healthz", "", "user-agent: a,b\nauthorization: Bearer a,b", "", "", false)
	f.Add(uint8(1), uint8(1), "/api/v1/orgs/acme/integrations", "", "content-type: application/json\nauthorization: Bearer TOKEN", "", `{"platform":"gitlab","url":"https://gitlab.example.com"}`, false)
	f.Add(uint8(2), uint8(0), "/orgs/acme/login/ACTIVE/callback", "code=good&state=x", "", "forgelink_state=abc;forgelink_session=SESSION", "", false)
	f.Add(uint8(3), uint8(1), "/orgs/acme/settings/integrations", "", "content-type: application/x-www-form-urlencoded", "forgelink_admin=ADMIN", "Y3NyZl90b2tlbj1DU1JG", true)
	f.Add(uint8(4), uint8(0), "/orgs/acme", "", "x-request-id: abc\r\ncookie: forgelink_session=SESSION", "a=b", "", false)
	f.Fuzz(func(t *testing.T, fn, method uint8, rawPath, rawQuery, headers, cookies, body string, isBase64 bool) {
		h := harness(t)
		functions := []string{"", "integrations", "login", "callback", "session"}
		methods := []string{"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"}
		m := methods[int(method)%len(methods)]
		r := strings.NewReplacer("TOKEN", fuzzToken, "ACTIVE", h.activeID, "SESSION", h.memberSID, "ADMIN", h.adminSID, "CSRF", h.csrf)
		rawPath, rawQuery, headers, cookies, body = r.Replace(rawPath), r.Replace(rawQuery), r.Replace(headers), r.Replace(cookies), r.Replace(body)
		if _, err := http.NewRequest(m, "https://d.test/"+strings.TrimPrefix(rawPath, "/")+"?"+rawQuery, nil); err != nil {
			t.Skip("not an event API Gateway sends")
		}
		if isBase64 {
			if _, err := base64.StdEncoding.DecodeString(body); err != nil {
				body = base64.StdEncoding.EncodeToString([]byte(body))
			}
		}
		hdr := map[string]string{}
		for _, line := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k != "" {
				hdr[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		var cks []string
		if cookies != "" {
			cks = strings.Split(cookies, ";")
		}
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "$default", RawPath: rawPath, RawQueryString: rawQuery,
			Headers: hdr, Cookies: cks, Body: body, IsBase64Encoded: isBase64,
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				DomainName: "abc123.execute-api.us-east-1.amazonaws.com", RequestID: "req-fuzz-0001", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: m, Path: rawPath, Protocol: "HTTP/1.1", SourceIP: "203.0.113.9"},
			},
		}
		resp, err := lambdahttp.Handler(h.function(functions[int(fn)%len(functions)]), slog.New(slog.DiscardHandler))(context.Background(), ev)
		if err != nil {
			t.Fatalf("the Lambda handler returned an error (API Gateway answers 500): %v", err)
		}
		if resp.StatusCode >= 500 && resp.StatusCode != 502 && resp.StatusCode != 503 || resp.StatusCode < 100 {
			t.Fatalf("%s %s: status %d: %.500s", m, rawPath, resp.StatusCode, resp.Body)
		}
		if strings.Contains(resp.Body, "fuzz-client-secret-value") {
			t.Fatal("the client secret appears in a response")
		}
		if m == "POST" && strings.HasSuffix(rawPath, "/logout") && resp.StatusCode == http.StatusSeeOther {
			fuzzEnv = nil
		}
	})
}

// TestLambdaHandlerRefusesBrokenEvents: an event the adapter cannot turn into a request
// (a base64 body that is not base64, a path that is not a URL) must still be answered
// (400), not returned as an error, which API Gateway turns into a bare 500.
func TestLambdaHandlerRefusesBrokenEvents(t *testing.T) {
	h := harness(t)
	for name, ev := range map[string]events.APIGatewayV2HTTPRequest{
		"bad base64": {RawPath: "/healthz", Body: "%%%", IsBase64Encoded: true},
		"bad path":   {RawPath: "/a b%zz"},
	} {
		ev.Version, ev.RequestContext.HTTP.Method, ev.RequestContext.DomainName = "2.0", "POST", "abc.execute-api.us-east-1.amazonaws.com"
		resp, err := lambdahttp.Handler(h.handler, slog.New(slog.DiscardHandler))(context.Background(), ev)
		if err != nil || resp.StatusCode >= 500 {
			t.Errorf("%s: status %d, error %v; want a 400 answer and no error", name, resp.StatusCode, err)
		}
	}
}
