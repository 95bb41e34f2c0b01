package sam

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Gateway is a loopback stand-in for the API Gateway HTTP API of template.yaml: it routes
// each request by the template's routes (method + path with {org}/{id}) to the function's
// Lambda Runtime Interface Emulator, as a payload 2.0 event, and turns the function's
// payload 2.0 response back into HTTP. It does what the e2e test needs, not all of API
// Gateway (no greedy {proxy+} routes, no $default route, no authorizers, no throttling).
type Gateway struct {
	URL  string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT: requestContext.domainName

	routes []gatewayRoute
	srv    *http.Server

	mu        sync.Mutex
	functions map[string]*RIE        // by function name ("login")
	invokeMu  map[string]*sync.Mutex // one invoke at a time per emulator, like one Lambda instance
	exchanges []Exchange
	errs      []error
}

// Exchange is one request through the gateway and the response it gave (for leak checks).
type Exchange struct {
	Method, Path, RouteKey, Function string
	Status                           int
	Header                           http.Header
	Body                             string
}

type gatewayRoute struct {
	method, path, function string
	segments               []string
}

// StartGateway listens on 127.0.0.1:0 and serves tpl's HttpApi routes; functions are
// attached with Attach (the emulators need the gateway's URL as FORGELINK_BASE_URL first).
func StartGateway(tpl *Template) (*Gateway, error) {
	g := &Gateway{functions: map[string]*RIE{}, invokeMu: map[string]*sync.Mutex{}}
	for _, id := range tpl.FunctionIDs() {
		for _, e := range tpl.Functions[id].Events {
			if strings.Contains(e.Path, "+}") || e.Path == "$default" {
				return nil, fmt.Errorf("gateway: route %s: greedy and $default routes are not supported", e.RouteKey())
			}
			g.routes = append(g.routes, gatewayRoute{method: e.Method, path: e.Path, function: FunctionName(id),
				segments: strings.Split(strings.TrimPrefix(e.Path, "/"), "/")})
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g.Host = l.Addr().String()
	g.URL = "http://" + g.Host
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = g.srv.Serve(l) }()
	return g, nil
}

// Attach sends the routes of function ("login") to r.
func (g *Gateway) Attach(function string, r *RIE) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.functions[function] = r
	g.invokeMu[function] = &sync.Mutex{}
}

// Close stops the gateway.
func (g *Gateway) Close() error { return g.srv.Close() }

// Exchanges returns every request served so far with its response.
func (g *Gateway) Exchanges() []Exchange {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Exchange(nil), g.exchanges...)
}

// Errors returns the failed invocations (emulator errors, function errors, bad responses):
// API Gateway hides them behind a 500, a test must not.
func (g *Gateway) Errors() []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]error(nil), g.errs...)
}

// match finds the route of method and path. Like API Gateway, the most specific route wins:
// a literal segment beats a {variable} at the first place two candidates differ
// (/integrations/new before /integrations/{id}). Variables match one whole, non-empty segment.
func (g *Gateway) match(method, rawPath string) (gatewayRoute, map[string]string, bool) {
	segs := strings.Split(strings.TrimPrefix(rawPath, "/"), "/")
	var best gatewayRoute
	var bestParams map[string]string
	found := false
	for _, rt := range g.routes {
		if rt.method != method || len(rt.segments) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, s := range rt.segments {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				v, err := url.PathUnescape(segs[i])
				if segs[i] == "" || err != nil {
					ok = false
					break
				}
				params[strings.Trim(s, "{}")] = v
			} else if s != segs[i] {
				ok = false
				break
			}
		}
		if ok && (!found || moreSpecific(rt.segments, best.segments)) {
			best, bestParams, found = rt, params, true
		}
	}
	return best, bestParams, found
}

func moreSpecific(a, b []string) bool {
	for i := range a {
		av, bv := strings.HasPrefix(a[i], "{"), strings.HasPrefix(b[i], "{")
		if av != bv {
			return !av
		}
	}
	return false
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := Exchange{Method: r.Method, Path: r.URL.RequestURI()}
	rec := &recorder{ResponseWriter: w}
	defer func() {
		ex.Status, ex.Header, ex.Body = rec.status, w.Header().Clone(), rec.body.String()
		g.mu.Lock()
		g.exchanges = append(g.exchanges, ex)
		g.mu.Unlock()
	}()
	requestID := apiGatewayRequestID()
	// API Gateway names every answer, its own errors included.
	w.Header().Set("Apigw-Requestid", requestID)

	route, params, ok := g.match(r.Method, r.URL.EscapedPath())
	if !ok {
		// No route and no $default route: HTTP APIs answer this, whatever the method.
		gatewayError(rec, http.StatusNotFound, "Not Found")
		return
	}
	ex.RouteKey, ex.Function = route.method+" "+route.path, route.function
	g.mu.Lock()
	fn, lock := g.functions[route.function], g.invokeMu[route.function]
	g.mu.Unlock()
	if fn == nil {
		g.fail(fmt.Errorf("%s: function %s is not attached", ex.RouteKey, route.function))
		gatewayError(rec, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	// API Gateway's payload limit is 10 MB; a bigger body is refused before any Lambda runs.
	body, err := io.ReadAll(http.MaxBytesReader(rec, r.Body, 10<<20))
	if err != nil {
		gatewayError(rec, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	ev, err := json.Marshal(g.event(r, route, params, body, requestID))
	if err != nil {
		g.fail(err)
		gatewayError(rec, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	lock.Lock()
	raw, err := fn.Invoke(ev)
	lock.Unlock()
	if err != nil {
		// A crashed, timed-out or failing function: API Gateway answers a bare 500.
		g.fail(fmt.Errorf("%s %s → %s: %w", r.Method, r.URL.Path, route.function, err))
		gatewayError(rec, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeResponse(rec, raw, g.fail)
}

// event builds the payload 2.0 event API Gateway sends for r. Like the events' event(), it
// sets every field API Gateway sets, in one place.
func (g *Gateway) event(r *http.Request, route gatewayRoute, params map[string]string, body []byte, requestID string) Event {
	now := time.Now().UTC()
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	routeKey := route.method + " " + route.path

	// Header names arrive lower-cased; repeated headers are joined with commas. Cookie is
	// taken out of the headers into the cookies array, one entry per cookie.
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[name] = strings.Join(values, ",")
	}
	// What API Gateway adds: the host it was reached at, the forwarding headers, a trace id.
	headers["host"] = r.Host
	_, port, _ := net.SplitHostPort(g.Host)
	if xff := headers["x-forwarded-for"]; xff != "" {
		headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-port"] = port
	headers["x-forwarded-proto"] = "http" // this stand-in is plain http on loopback
	headers["x-amzn-trace-id"] = fmt.Sprintf("Root=1-%08x-%s", now.Unix(), randomHex(12))
	headers["content-length"] = strconv.Itoa(len(body))

	var query map[string]string
	if r.URL.RawQuery != "" {
		query = map[string]string{}
		for k, v := range r.URL.Query() {
			query[k] = strings.Join(v, ",") // repeated parameters: comma-joined
		}
	}
	if len(params) == 0 {
		params = nil
	}
	ev := Event{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: RequestContext{
			AccountID:    EventAccountID,
			APIID:        "e2egateway",
			DomainName:   g.Host,
			DomainPrefix: strings.SplitN(g.Host, ".", 2)[0],
			HTTP: HTTPContext{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto,
				SourceIP: sourceIP, UserAgent: r.UserAgent(),
			},
			RequestID: requestID,
			RouteKey:  routeKey,
			Stage:     "$default",
			Time:      now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: now.UnixMilli(),
		},
	}
	// Text bodies (JSON, text/*, XML) pass as they are; forms and anything else, or
	// anything that is not valid UTF-8, are base64-encoded (isBase64Encoded: true).
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/xml" || strings.HasSuffix(mt, "+xml") || mt == "application/javascript"
}

// writeResponse turns a payload 2.0 response into HTTP: headers, multiValueHeaders, cookies
// (one Set-Cookie each), statusCode, and the body, decoded when isBase64Encoded.
func writeResponse(w http.ResponseWriter, raw []byte, fail func(error)) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil || probe["statusCode"] == nil {
		// Payload 2.0 lets a function return any JSON without statusCode: API Gateway then
		// answers 200 with that JSON as the body. forgelink never does; say so.
		fail(fmt.Errorf("function answered without statusCode: %.200s", raw))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(raw)
		return
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		fail(fmt.Errorf("malformed function response: %v: %.200s", err, raw))
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			fail(fmt.Errorf("response body marked base64 is not: %v", err))
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		body = b
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Del("Content-Length") // API Gateway sets its own
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// gatewayError is API Gateway's own error answer: {"message":"Not Found"} and the like.
func gatewayError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%q}`, message)
}

func (g *Gateway) fail(err error) {
	g.mu.Lock()
	g.errs = append(g.errs, err)
	g.mu.Unlock()
}

// apiGatewayRequestID looks like API Gateway's (e.g. "Vx3k2gFQjoEEMfA=").
func apiGatewayRequestID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// recorder keeps a copy of what the gateway answered.
type recorder struct {
	http.ResponseWriter
	status int
	body   strings.Builder
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
