// Command barelambda is the bare handler of the Lambda-shaped login start
// (bench/warm_test.go): it answers every API Gateway event with the response in
// FORGELINK_BENCH_BARE_RESPONSE (forgelink's captured 302) and does no work of its own. It is
// built like forgelink's bootstraps and runs with Go's defaults, as anyone's would.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal([]byte(os.Getenv("FORGELINK_BENCH_BARE_RESPONSE")), &resp); err != nil {
		fmt.Fprintln(os.Stderr, "barelambda: FORGELINK_BENCH_BARE_RESPONSE:", err)
		os.Exit(1)
	}
	lambda.Start(func(_ context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return resp, nil
	})
}
