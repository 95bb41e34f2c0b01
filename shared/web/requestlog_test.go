package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/app/local"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/logging"
)

// TestRequestLogLine pins the one log line per request that operators query (README: p50/p99
// from the logs): msg "request" with method, the route pattern, status, duration_ms, org,
// integration and request_id, through the real handler of the whole app.
func TestRequestLogLine(t *testing.T) {
	var logs bytes.Buffer
	cfg := config.Config{
		BaseURL:   "http://forgelink.test",
		Store:     "memory",
		CookieKey: "requestlog-cookie-key-0123456789abcdefghijkl",
		LogLevel:  "info",
	}
	d, err := local.Deps(context.Background(), cfg, logging.New(&logs, "info"), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(d)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://forgelink.test/api/v1/orgs/acme/integrations/abc123", nil)
	req.Header.Set("X-Request-Id", "req-0123456789")
	rec := httptest.NewRecorder()
	a.Handler("").ServeHTTP(rec, req)

	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		if m["msg"] == "request" {
			if line != nil {
				t.Fatalf("two request lines for one request:\n%s", logs.String())
			}
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no request line in the log:\n%s", logs.String())
	}
	want := map[string]any{
		"method":      "GET",
		"route":       "GET /api/v1/orgs/{org}/integrations/{id}",
		"status":      float64(rec.Code),
		"org":         "acme",
		"integration": "abc123",
		"request_id":  "req-0123456789",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %#v, want %#v (line %v)", k, line[k], v, line)
		}
	}
	if rec.Code < 400 {
		t.Errorf("status %d: an unauthenticated API read must be refused", rec.Code)
	}
	if ms, ok := line["duration_ms"].(float64); !ok || ms < 0 {
		t.Errorf("duration_ms = %#v, want a non-negative number", line["duration_ms"])
	}
	if line["level"] != "INFO" {
		t.Errorf("level = %#v, want INFO", line["level"])
	}
}
