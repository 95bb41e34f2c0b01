package fakegitlab

import (
	"net/http"
	"sync"
)

// requestLog remembers the paths the server was asked for, so tests can count the calls a
// client makes (forgelink reads one membership per group its rules name). Bounded: a
// long-running fake (make run) keeps only the latest maxLoggedRequests.
type requestLog struct {
	mu    sync.Mutex
	paths []string
}

const maxLoggedRequests = 10000

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		if len(l.paths) >= maxLoggedRequests {
			l.paths = l.paths[len(l.paths)/2:]
		}
		l.paths = append(l.paths, r.Method+" "+r.URL.EscapedPath())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Requests returns "METHOD /escaped/path" of every request served so far (the latest
// 10000), oldest first.
func (s *Server) Requests() []string {
	s.requests.mu.Lock()
	defer s.requests.mu.Unlock()
	return append([]string(nil), s.requests.paths...)
}
