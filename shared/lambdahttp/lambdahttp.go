// Package lambdahttp runs one forgelink function under AWS Lambda: it reads the
// configuration at init, lets the function build its http.Handler, and adapts that handler
// to API Gateway HTTP API (payload 2.0) events with aws-lambda-go-api-proxy. It is the
// only package that knows Lambda.
package lambdahttp

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/logging"
	"github.com/forgelink/forgelink/shared/runtimetune"
	"github.com/forgelink/forgelink/shared/web"
)

// HandlerFunc is a Lambda handler for HTTP API events.
type HandlerFunc func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler adapts h to Lambda. ProxyWithContext (not Proxy) keeps the API Gateway request
// context reachable from the request; its request id and domain are handed to the web
// layer as web.RequestInfo.
func Handler(h http.Handler, log *slog.Logger) HandlerFunc {
	adapter := httpadapter.NewV2(withRequestInfo(h))
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		resp, err := adapter.ProxyWithContext(ctx, ev)
		if err != nil {
			// The adapter could not make a request of the event (a body marked base64 that
			// is not, a path that is no URL). Returning the error would make API Gateway
			// answer a bare 500; the contract is a 400 with the JSON error shape.
			log.WarnContext(ctx, "unreadable event", "route", ev.RouteKey, "error", err.Error())
			return unreadableEvent, nil
		}
		return resp, nil
	}
}

func withRequestInfo(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gw, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
			r = r.WithContext(web.WithRequestInfo(r.Context(), web.RequestInfo{RequestID: gw.RequestID, Domain: gw.DomainName}))
		}
		h.ServeHTTP(w, r)
	})
}

var unreadableEvent = events.APIGatewayV2HTTPResponse{
	StatusCode: http.StatusBadRequest,
	Headers: map[string]string{
		"Content-Type":           "application/json; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	},
	Body: `{"error":{"code":"malformed","message":"The request could not be read."}}` + "\n",
}

// Build makes a function's handler from its configuration.
type Build func(ctx context.Context, cfg config.Config, log *slog.Logger) (http.Handler, error)

// Start reads the configuration, builds function's handler and serves it until Lambda
// stops it. A configuration error fails the init with one clear log line, not the first
// request.
func Start(function string, build Build) {
	ctx := context.Background()
	cfg, err := config.FromEnv(os.Getenv)
	log := logging.New(os.Stdout, cfg.LogLevel)
	if err != nil {
		log.Error("forgelink init failed", "function", function, "error", err.Error())
		os.Exit(1)
	}
	// One invocation at a time unless Lambda Managed Instances say otherwise.
	runtimetune.Apply(os.Getenv, lambdacontext.MaxConcurrency() == 1)
	h, err := build(ctx, cfg, log)
	if err != nil {
		log.Error("forgelink init failed", "function", function, "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(Handler(h, log))
}
