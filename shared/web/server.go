// Package web is forgelink's HTTP layer: HTML pages and the JSON API over shared/service.
// Every Lambda function and the local runner serve Server.Handler; only the set of routes
// differs per function (routes.go).
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/forgelink/forgelink/shared/service"
	"github.com/forgelink/forgelink/shared/statecookie"
)

// Server holds what the handlers need. It has no globals and reads no environment.
type Server struct {
	svc     *service.Service
	sealer  *statecookie.Sealer
	log     *slog.Logger
	baseURL string // empty: derive from the request (API Gateway domain)
	now     func() time.Time
}

// Options configure a Server.
type Options struct {
	// BaseURL is the public base URL (FORGELINK_BASE_URL); empty under Lambda means
	// "https://" + the API Gateway domain of each request.
	BaseURL string
	Now     func() time.Time
}

// New returns a Server over svc. sealer seals state cookies and derives CSRF tokens.
func New(svc *service.Service, sealer *statecookie.Sealer, log *slog.Logger, opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{
		svc:     svc,
		sealer:  sealer,
		log:     log,
		baseURL: opts.BaseURL,
		now:     opts.Now,
	}
}

// Handler returns the handler of one Lambda function ("integrations", "login", "callback",
// "session"), or of all of them for function == "" (the local runner).
func (s *Server) Handler(function string) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		if function == "" || rt.Function == function || rt.Function == AnyFunction {
			mux.Handle(rt.Method+" "+rt.Path, rt.handler(s))
		}
	}
	return s.middleware(mux)
}
