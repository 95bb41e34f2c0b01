package lambdahttp_test

// The aws-lambda-go-api-proxy pitfalls of DESIGN.md, proven on real API Gateway HTTP API
// (payload 2.0) events from events/ through httpadapter v0.16.2 (pinned in go.mod), so that an
// upgrade cannot silently break sign-in:
//   - several Set-Cookie headers land in the payload 2.0 cookies array, one entry each;
//   - Authorization ("Bearer a,b") and User-Agent ("KHTML, like Gecko") are not split;
//   - a base64-encoded form body arrives decoded; multi-value query strings survive;
//   - the cookies array reaches the handler as cookies.
// Known and accepted: v0.16.2 splits every header that is not on its singleton list
// (Authorization, User-Agent, Content-Type, Host, Referer, ...) at commas into several values,
// e.g. Accept or X-Forwarded-For. Header.Get then returns only the first element;
// Header.Values has them all. forgelink reads only singleton or comma-free headers
// (Authorization, Content-Type, User-Agent, X-Request-Id); TestHeadersSplitOnCommas pins the
// behaviour so that a change is noticed.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/lambdahttp"
	"github.com/forgelink/forgelink/shared/logging"
)

// event loads events/<name> from the repository.
func event(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// capture runs ev through httpadapter.NewV2(...).ProxyWithContext, as lambdahttp.Handler
// does, with a handler that records the request it got and answers with respond.
func capture(t *testing.T, ev events.APIGatewayV2HTTPRequest, respond func(http.ResponseWriter)) (*http.Request, []byte, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	var got *http.Request
	var body []byte
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		if respond != nil {
			respond(w)
		} else {
			w.WriteHeader(http.StatusNoContent)
		}
	})
	resp, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("handler not called")
	}
	return got, body, resp
}

func TestSetCookiesLandInCookiesArray(t *testing.T) {
	ev := event(t, "login.json")
	_, _, resp := capture(t, ev, func(w http.ResponseWriter) {
		http.SetCookie(w, &http.Cookie{Name: "__Host-a", Value: "1", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
			Expires: testTime})
		http.SetCookie(w, &http.Cookie{Name: "__Host-b", Value: "2", Path: "/", Secure: true, HttpOnly: true, MaxAge: -1})
		w.WriteHeader(http.StatusFound)
	})
	if len(resp.Cookies) != 2 {
		t.Fatalf("cookies array %q, want 2 entries", resp.Cookies)
	}
	// An Expires attribute has a comma ("Wed, 25 Nov 2026 ..."): joining cookies with
	// commas would be ambiguous, which is why payload 2.0 has an array.
	if !strings.HasPrefix(resp.Cookies[0], "__Host-a=1;") || !strings.Contains(resp.Cookies[0], "Expires=Wed, 25 Nov 2026") ||
		!strings.HasPrefix(resp.Cookies[1], "__Host-b=2;") || !strings.Contains(resp.Cookies[1], "Max-Age=0") {
		t.Errorf("cookies %q", resp.Cookies)
	}
	for k, v := range resp.Headers {
		if strings.EqualFold(k, "Set-Cookie") {
			t.Errorf("Set-Cookie also in headers: %q", v)
		}
	}
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestAuthorizationAndUserAgentNotSplit(t *testing.T) {
	ev := event(t, "api-integrations-list.json")
	ev.Headers["authorization"] = "Bearer a,b"
	ev.Headers["user-agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	r, _, _ := capture(t, ev, nil)
	if got := r.Header.Values("Authorization"); !slices.Equal(got, []string{"Bearer a,b"}) {
		t.Errorf("Authorization arrived as %q", got)
	}
	if got := r.Header.Values("User-Agent"); !slices.Equal(got, []string{ev.Headers["user-agent"]}) {
		t.Errorf("User-Agent arrived as %q", got)
	}
	if got := r.UserAgent(); got != ev.Headers["user-agent"] {
		t.Errorf("UserAgent() = %q", got)
	}
	// The real event's user agent (a browser's) arrives intact too.
	browser := event(t, "login.json")
	r, _, _ = capture(t, browser, nil)
	if got := r.Header.Values("User-Agent"); len(got) != 1 || got[0] != browser.Headers["user-agent"] || !strings.Contains(got[0], "KHTML, like Gecko") {
		t.Errorf("browser User-Agent arrived as %q", got)
	}
}

func TestBase64FormBodyDecoded(t *testing.T) {
	ev := event(t, "integrations-create-form.json")
	if !ev.IsBase64Encoded {
		t.Fatal("the create-form event should carry a base64 body, as API Gateway sends forms")
	}
	r, body, _ := capture(t, ev, nil)
	form, err := url.ParseQuery(string(body))
	if err != nil || strings.HasPrefix(string(body), "Y3Ny") {
		t.Fatalf("body not decoded: %q (%v)", body, err)
	}
	if got := form.Get("platform"); got != "gitlab" {
		t.Errorf("platform = %q", got)
	}
	if got := form.Get("name"); got != "Team GitLab, EU" {
		t.Errorf("name = %q (commas and spaces must survive)", got)
	}
	if form.Get("csrf_token") == "" || form.Get("url") != "https://git.example.org/gitlab" {
		t.Errorf("form = %v", form)
	}
	if r.ContentLength != int64(len(body)) && r.ContentLength != -1 {
		t.Errorf("ContentLength %d for a %d-byte body", r.ContentLength, len(body))
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", got)
	}
}

func TestMultiValueQueryString(t *testing.T) {
	ev := event(t, "login.json")
	// API Gateway keeps the raw query string; queryStringParameters joins repeats with ",".
	ev.RawQueryString = "return_to=%2Forgs%2Facme&scope=a&scope=b&note=x%2Cy"
	ev.QueryStringParameters = map[string]string{"return_to": "/orgs/acme", "scope": "a,b", "note": "x,y"}
	r, _, _ := capture(t, ev, nil)
	q := r.URL.Query()
	if !slices.Equal(q["scope"], []string{"a", "b"}) || q.Get("note") != "x,y" || q.Get("return_to") != "/orgs/acme" {
		t.Errorf("query = %v", q)
	}
	if r.URL.Path != "/orgs/acme/login/"+ev.PathParameters["id"] {
		t.Errorf("path = %q", r.URL.Path)
	}
}

func TestCookiesArrayReachesHandler(t *testing.T) {
	ev := event(t, "callback.json")
	if len(ev.Cookies) < 2 {
		t.Fatalf("callback.json should carry two cookies, has %q", ev.Cookies)
	}
	r, _, _ := capture(t, ev, nil)
	for _, c := range ev.Cookies {
		name, value, _ := strings.Cut(c, "=")
		got, err := r.Cookie(name)
		if err != nil || got.Value != value {
			t.Errorf("cookie %s: %v %v", name, got, err)
		}
	}
}

// TestHeadersSplitOnCommas pins v0.16.2's splitting of non-singleton headers (see the top of
// this file): no information is lost, but Get returns the first element only.
func TestHeadersSplitOnCommas(t *testing.T) {
	ev := event(t, "login.json")
	ev.Headers["x-forwarded-for"] = "203.0.113.10, 10.0.0.7"
	r, _, _ := capture(t, ev, nil)
	accept := r.Header.Values("Accept")
	if strings.Join(accept, ",") != ev.Headers["accept"] {
		t.Errorf("Accept values %q do not rejoin to %q", accept, ev.Headers["accept"])
	}
	if len(accept) < 2 || r.Header.Get("Accept") != accept[0] {
		t.Errorf("Accept arrived as %q: the adapter no longer splits it; update the note at the top of this file", accept)
	}
	if got := r.Header.Values("X-Forwarded-For"); !slices.Equal(got, []string{"203.0.113.10", "10.0.0.7"}) {
		t.Errorf("X-Forwarded-For arrived as %q, want it split at the comma; update the note at the top of this file", got)
	}
	// The headers forgelink reads arrive whole.
	for _, h := range []string{"Content-Type", "Authorization", "User-Agent", "Host", "Referer"} {
		ev := event(t, "integrations-create-form.json")
		ev.Headers[strings.ToLower(h)] = "x, y"
		r, _, _ := capture(t, ev, nil)
		if got := r.Header.Values(h); !slices.Equal(got, []string{"x, y"}) && h != "Host" {
			t.Errorf("%s arrived as %q", h, got)
		}
	}
}

func TestProxyWithContextKeepsLambdaContext(t *testing.T) {
	ev := event(t, "healthz.json")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-request-1"})
	var lc *lambdacontext.LambdaContext
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lc, _ = lambdacontext.FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	if _, err := httpadapter.NewV2(h).ProxyWithContext(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if lc == nil || lc.AwsRequestID != "lambda-request-1" {
		t.Errorf("the Lambda context did not reach the handler: %+v", lc)
	}
}

// TestSilentHandlerIsAnError pins another adapter behaviour: a handler that writes neither a
// status nor a body (net/http would send 200) makes ProxyWithContext fail, which Lambda
// turns into a 502. Every forgelink handler writes a status; the middleware's 404/405
// answers do too.
func TestSilentHandlerIsAnError(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	if _, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), event(t, "healthz.json")); err == nil {
		t.Error("the adapter now accepts a silent handler: update the note above and README's troubleshooting")
	}
}

// TestHandlerRealApp: lambdahttp.Handler (the function's real handler) on real events: the
// health check, API Gateway's request id echoed, the derived https base URL giving
// __Host- cookies in the cookies array.
func TestHandlerRealApp(t *testing.T) {
	a := memoryApp(t)
	for _, fn := range []string{"integrations", "login", "callback", "session"} {
		ev := event(t, "healthz.json")
		resp, err := lambdahttp.Handler(a.Handler(fn), discard)(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Body != "ok" {
			t.Errorf("%s healthz: %d %q", fn, resp.StatusCode, resp.Body)
		}
		if got := resp.Headers["X-Request-Id"]; got != ev.RequestContext.RequestID {
			t.Errorf("%s: X-Request-Id %q, want %q", fn, got, ev.RequestContext.RequestID)
		}
	}
	// The callback clears the state cookie (whatever the outcome) through the cookies array.
	resp, err := lambdahttp.Handler(a.Handler("callback"), discard)(context.Background(), event(t, "callback.json"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		t.Errorf("callback: %d", resp.StatusCode)
	}
	found := false
	for _, c := range resp.Cookies {
		found = found || strings.HasPrefix(c, "__Host-forgelink_state=;")
	}
	if !found {
		t.Errorf("callback did not clear __Host-forgelink_state in the cookies array: %q (headers %v)", resp.Cookies, resp.Headers)
	}
}

var discard = logging.New(io.Discard, "error")

// memoryApp is every function on the memory store with a fixed cookie key.
func memoryApp(tb testing.TB) *app.App {
	tb.Helper()
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"FORGELINK_STORE": "memory", "FORGELINK_COOKIE_KEY": strings.Repeat("k", 40)}[k]
	})
	if err != nil {
		tb.Fatal(err)
	}
	d, err := local.Deps(context.Background(), cfg, discard, local.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := app.New(d)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

var testTime = mustTime("2026-11-25T13:10:00Z")

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// FuzzHandler sends API Gateway-shaped events with arbitrary paths, query strings, cookies,
// headers and bodies through the real Lambda handler of every function: whatever arrives,
// the answer is a response (never an adapter error for a well-formed event) and never a 500.
func FuzzHandler(f *testing.F) {
	_, file, _, _ := runtime.Caller(0)
	paths, _ := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "events", "*.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &ev); err != nil {
			f.Fatal(err)
		}
		body := []byte(ev.Body)
		if ev.IsBase64Encoded {
			body, _ = base64.StdEncoding.DecodeString(ev.Body)
		}
		f.Add(ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString, strings.Join(ev.Cookies, "; "),
			ev.Headers["authorization"], ev.Headers["content-type"], body, ev.IsBase64Encoded)
	}
	a := memoryApp(f)
	handlers := map[string]lambdahttp.HandlerFunc{}
	for _, fn := range []string{"integrations", "login", "callback", "session"} {
		handlers[fn] = lambdahttp.Handler(a.Handler(fn), discard)
	}
	f.Fuzz(func(t *testing.T, method, rawPath, rawQuery, cookies, authz, contentType string, body []byte, b64 bool) {
		// What API Gateway can send: a known method, a path starting with "/" that parses
		// as a request URI, printable header values.
		if !slices.Contains([]string{"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"}, method) ||
			!strings.HasPrefix(rawPath, "/") || len(body) > 1<<17 {
			return
		}
		if _, err := url.ParseRequestURI(rawPath + "?" + rawQuery); err != nil {
			return
		}
		if strings.ContainsAny(rawPath+rawQuery, " #\x7f") || !printable(cookies+authz+contentType) {
			return
		}
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "$default", RawPath: rawPath, RawQueryString: rawQuery,
			Headers: map[string]string{"host": "abc.execute-api.eu-west-1.amazonaws.com", "user-agent": "fuzz, like Gecko"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				DomainName: "abc.execute-api.eu-west-1.amazonaws.com", RequestID: "fuzz-request-1",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: rawPath},
			},
		}
		if cookies != "" {
			ev.Cookies = strings.Split(cookies, "; ")
		}
		if authz != "" {
			ev.Headers["authorization"] = authz
		}
		if contentType != "" {
			ev.Headers["content-type"] = contentType
		}
		if b64 {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		} else if utf8.Valid(body) {
			ev.Body = string(body)
		}
		for fn, h := range handlers {
			resp, err := h(context.Background(), ev)
			if err != nil {
				t.Fatalf("%s: adapter error for %s %q: %v", fn, method, rawPath, err)
			}
			if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("%s: %d for %s %s?%s: %.300s", fn, resp.StatusCode, method, rawPath, rawQuery, resp.Body)
			}
		}
	})
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
