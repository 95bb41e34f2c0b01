// Command hellosdk is the "SDK hello-world" Lambda that forgelink's cold starts are held
// to (bench/coldstart_test.go): hello-world plus what every forgelink function builds
// before serving — the SDK's standard configuration and the DynamoDB and Secrets Manager
// clients — so the ratio measures forgelink's own init, not the AWS SDK's. Built exactly
// like forgelink's bootstraps.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "hellosdk:", err)
		os.Exit(1)
	}
	db, sm := dynamodb.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	lambda.Start(func(_ context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		_, _ = db, sm
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello"}, nil
	})
}
