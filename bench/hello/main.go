// Command hello is the hello-world Go Lambda that forgelink's cold start is compared
// with (bench/coldstart_test.go): the smallest aws-lambda-go function, built exactly like
// forgelink's bootstraps (CGO_ENABLED=0, -tags lambda.norpc, -trimpath -ldflags "-s -w").
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello"}, nil
}

func main() { lambda.Start(handle) }
