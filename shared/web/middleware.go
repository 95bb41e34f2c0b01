package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/logging"
)

// middleware wraps the mux: request id, security headers, one log line per request,
// panics turned into a plain 500, and 404/405 answered in the page or JSON format.
func (s *site) middleware(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Durations use the monotonic clock, never the injected one: a test clock that
		// stands still or jumps would log nonsense.
		start := time.Now()
		id := requestID(r)
		r = r.WithContext(context.WithValue(logging.WithRequestID(r.Context(), id), ctxPageMeta{}, &pageMeta{}))
		rec := &statusRecorder{ResponseWriter: w}
		setSecurityHeaders(rec, r, id)
		if s.secure(r) {
			// Every response, errors included: a browser that once reached forgelink over
			// https never again sends a session cookie or a CSRF token over plain http.
			rec.Header().Set("Strict-Transport-Security", s.hsts)
		}

		defer func() {
			if p := recover(); p != nil {
				s.log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !rec.wrote {
					s.fail(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
			// LogAttrs: typed attributes, not boxed into any, on every request.
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("route", r.Pattern), slog.Int("status", rec.status()),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("org", r.PathValue("org")), slog.String("integration", r.PathValue("id")))
		}()

		if _, pattern := mux.Handler(r); pattern == "" {
			s.notRouted(rec, r, mux)
			return
		}
		mux.ServeHTTP(rec, r)
	})
}

// notRouted lets the mux decide between 404 and 405 (it knows the Allow header), then
// answers in forgelink's format instead of net/http's plain text.
func (s *site) notRouted(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	probe := &headerProbe{header: http.Header{}}
	mux.ServeHTTP(probe, r)
	if allow := probe.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if probe.code == http.StatusMethodNotAllowed {
		s.fail(w, r, forgelink.Errorf(forgelink.EMETHOD, "Method %s is not allowed here.", r.Method))
		return
	}
	s.fail(w, r, forgelink.Errorf(forgelink.ENOTFOUND, "There is no page at this address."))
}

// headerProbe captures what the mux would answer without sending anything.
type headerProbe struct {
	header http.Header
	code   int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.code = code }

// safeRequestID reports whether id matches ^[A-Za-z0-9=._-]{8,128}$. Written out: that
// regexp compiles to 128 repetitions, 70 µs of every cold start.
func safeRequestID(id string) bool {
	if len(id) < 8 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("=._-", c) >= 0) {
			return false
		}
	}
	return true
}

// requestID prefers API Gateway's request id, then a sane X-Request-Id, then a new one.
func requestID(r *http.Request) string {
	if id := requestInfo(r).RequestID; id != "" {
		return id
	}
	if id := r.Header.Get("X-Request-Id"); safeRequestID(id) {
		return id
	}
	return randomString(12)
}

func setSecurityHeaders(w http.ResponseWriter, r *http.Request, id string) {
	h := w.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// statusRecorder remembers the status for the log line.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) status() int {
	if !r.wrote {
		return http.StatusOK
	}
	return r.code
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
