package fakegitlab

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Fault makes the server misbehave the way a real GitLab in trouble does.
// The zero Fault is a healthy server. Several switches may be combined: Slow
// delays first, then Down, Error500 or Malformed decide the answer.
type Fault struct {
	// Slow delays every response by this long (a GitLab under load). The
	// delay ends early when the client gives up.
	Slow time.Duration `json:"-"`
	// Down cuts the connection without any response, as a crashed or
	// restarting server behind a TCP proxy does: clients see EOF / reset.
	Down bool `json:"down"`
	// Malformed answers JSON endpoints with 200 and a truncated, invalid JSON
	// body (a broken proxy or a half-written response). HTML pages and
	// redirects are unaffected.
	Malformed bool `json:"malformed"`
	// Error500 answers 500 Internal Server Error: GitLab's JSON
	// {"message":"500 Internal Server Error"} under /api/, its HTML error
	// page elsewhere.
	Error500 bool `json:"error500"`
	// PathPrefix limits the fault to paths starting with it, e.g.
	// "/oauth/token" or "/api/v4/groups". It is compared with both the
	// decoded and the escaped path, so a group can be named as clients send
	// it: "/api/v4/groups/eng%2Fplatform/" fails only that group's reads.
	// Empty: every path.
	PathPrefix string `json:"path_prefix"`
}

// faultJSON is the wire form of POST /-/fake/fault; slow is a Go duration
// string such as "1.5s".
type faultJSON struct {
	Fault
	Slow string `json:"slow,omitempty"`
}

// SetFault replaces the current fault; SetFault(Fault{}) heals the server.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// CurrentFault returns the fault in force.
func (s *Server) CurrentFault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

const faultPath = "/-/fake/fault"

// withFaults applies the current fault to every request except the fault
// control endpoint itself, so a "down" server can still be healed over HTTP.
func (s *Server) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := s.CurrentFault()
		if r.URL.Path == faultPath || !(strings.HasPrefix(r.URL.Path, f.PathPrefix) || strings.HasPrefix(r.URL.EscapedPath(), f.PathPrefix)) {
			next.ServeHTTP(w, r)
			return
		}
		if f.Slow > 0 {
			t := time.NewTimer(f.Slow)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case f.Down:
			dropConnection(w)
		case f.Error500:
			s.internalError(w, r)
		case f.Malformed:
			buf := &bufferedWriter{header: w.Header(), status: http.StatusOK}
			next.ServeHTTP(buf, r)
			buf.flushMalformed(w)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// dropConnection closes the TCP connection without writing a byte. HTTP/2
// cannot hijack, so there the stream is reset instead.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "500 Internal Server Error"})
		return
	}
	s.render(w, r, http.StatusInternalServerError, "error", pageData{
		Title:   "Something went wrong (500)",
		Heading: "500: We're sorry, something went wrong on our end",
		Message: "Try refreshing the page, or going back and attempting the action again.",
	})
}

// bufferedWriter holds a response so Malformed can rewrite JSON bodies.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedWriter) flushMalformed(w http.ResponseWriter) {
	body := b.body.Bytes()
	if !strings.Contains(b.header.Get("Content-Type"), "json") {
		w.WriteHeader(b.status)
		w.Write(body)
		return
	}
	// Half of a JSON document is never valid JSON; a body too short to
	// halve gets an opening brace only.
	cut := body[:len(body)/2]
	if len(cut) < 2 {
		cut = []byte("{")
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	w.Write(cut)
}

// handleFault is the control endpoint for a server run as a command:
// GET shows the fault, POST sets it (JSON), DELETE heals. Root token only.
func (s *Server) handleFault(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("PRIVATE-TOKEN")
	if tok == "" {
		tok = bearerToken(r)
	}
	if tok == "" || tok != s.rootToken {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodDelete:
		s.SetFault(Fault{})
	case http.MethodPost, http.MethodPut:
		var in faultJSON
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "invalid fault JSON: " + err.Error()})
			return
		}
		f := in.Fault
		if in.Slow != "" {
			d, err := time.ParseDuration(in.Slow)
			if err != nil || d < 0 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"message": "slow must be a duration such as 1.5s"})
				return
			}
			f.Slow = d
		}
		s.SetFault(f)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "405 Method Not Allowed"})
		return
	}
	f := s.CurrentFault()
	out := faultJSON{Fault: f}
	if f.Slow > 0 {
		out.Slow = f.Slow.String()
	}
	writeJSON(w, http.StatusOK, out)
}
