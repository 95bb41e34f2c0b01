// Package lambdahttp runs one forgelink function under AWS Lambda: it builds the app from
// the environment at init and adapts its http.Handler to API Gateway HTTP API (payload
// 2.0) events with aws-lambda-go-api-proxy.
package lambdahttp

import (
	"context"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/logging"
)

// HandlerFunc is a Lambda handler for HTTP API events.
type HandlerFunc func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler adapts the app's handler for function to Lambda. ProxyWithContext (not Proxy)
// keeps the API Gateway request context (request id, domain) reachable from the request.
func Handler(a *app.App, function string) HandlerFunc {
	adapter := httpadapter.NewV2(a.Handler(function))
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		resp, err := adapter.ProxyWithContext(ctx, ev)
		if err != nil {
			// The adapter could not make a request of the event (a body marked base64 that
			// is not, a path that is no URL). Returning the error would make API Gateway
			// answer a bare 500; the contract is a 400 with the JSON error shape.
			a.Log.WarnContext(ctx, "unreadable event", "route", ev.RouteKey, "error", err.Error())
			return unreadableEvent, nil
		}
		return resp, nil
	}
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

// Start builds the app from the environment and serves function until Lambda stops it.
// A configuration error fails the init with one clear log line, not the first request.
func Start(function string) {
	ctx := context.Background()
	cfg, err := config.FromEnv(os.Getenv)
	log := logging.New(os.Stdout, cfg.LogLevel)
	if err != nil {
		log.Error("forgelink init failed", "function", function, "error", err.Error())
		os.Exit(1)
	}
	a, err := app.New(ctx, cfg, log, app.Options{RequireCookieKey: true})
	if err != nil {
		log.Error("forgelink init failed", "function", function, "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(Handler(a, function))
}
