package sam_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/testkit/sam"
	"github.com/forgelink/forgelink/infra/testkit/tier"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/forgelink/forgelink/shared/dynamo"
	"github.com/forgelink/forgelink/shared/mototest"
)

// TestRIE builds each function's real bootstrap, runs it under the Lambda Runtime Interface
// Emulator (what sam local runs inside its container, here without Docker) and invokes every
// event of that function. The bootstraps run on moto (a function refuses the memory store
// under Lambda) with an empty table, so the answers are those of the empty-store table;
// the seeded answers are proven in process by TestEventsThroughLambdaHandlers.
func TestRIE(t *testing.T) {
	tier.Slow(t, "builds four binaries and runs the Lambda RIE")
	sam.RIEBinary(t) // build (or skip) once, before the parallel subtests
	tpl, _ := loadTemplate(t)
	files := loadEvents(t)
	byFunction := eventsByFunction(t, tpl, files)
	dir := t.TempDir()
	var functions []string
	for _, id := range tpl.FunctionIDs() {
		functions = append(functions, sam.FunctionName(id))
	}
	sam.BuildBootstraps(t, dir, functions...) // one go build for all: shared compilation
	moto := mototest.Start(t)                 // skips (fails under CI=true) when moto is missing
	vars := sam.EventEnv()
	vars["FORGELINK_STORE"] = "aws"
	vars["FORGELINK_TABLE"] = "forgelink-rie"
	if err := dynamo.EnsureTable(context.Background(), dynamo.New(dynamodb.NewFromConfig(moto.Config(t)), vars["FORGELINK_TABLE"], time.Now)); err != nil {
		t.Fatalf("create table: %v", err)
	}
	vars["AWS_ENDPOINT_URL"] = moto.URL
	vars["AWS_REGION"] = mototest.Region
	vars["AWS_ACCESS_KEY_ID"] = "testing"
	vars["AWS_SECRET_ACCESS_KEY"] = "testing"
	for _, id := range tpl.FunctionIDs() {
		function := sam.FunctionName(id)
		t.Run(function, func(t *testing.T) {
			t.Parallel()
			bootstrap := sam.BuildBootstrap(t, function, dir)
			env := []string{}
			for k, v := range vars {
				env = append(env, k+"="+v)
			}
			rie := sam.StartRIE(t, bootstrap, env)
			// healthz on every function (web.AnyFunction), then the function's own events.
			names := append([]string{"healthz.json"}, byFunction[id]...)
			seen := map[string]bool{}
			for _, name := range names {
				if seen[name] {
					continue
				}
				seen[name] = true
				resp, err := rie.InvokeHTTP(files[name])
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				checkRIEResponse(t, name, files[name], resp)
			}
			if d, ok := rie.InitDuration(); ok {
				t.Logf("%s: init duration %v (emulator INIT REPORT)", function, d)
			} else {
				t.Logf("%s: no INIT REPORT in the emulator log", function)
			}
		})
	}
}

// checkRIEResponse applies the empty-store expectation to a response decoded from the
// emulator's JSON (statusCode, headers, cookies as payload 2.0 has them).
func checkRIEResponse(t *testing.T, name string, raw []byte, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	want, ok := empty[name]
	if !ok {
		t.Errorf("%s: no empty-store expectation", name)
		return
	}
	t.Run(name, func(t *testing.T) { checkResponse(t, "RIE "+name, raw, resp, want) })
}

// TestRIEInitFailure: a function that cannot load its configuration fails its init with one
// clear log line (DESIGN.md), which the emulator reports instead of a response.
func TestRIEInitFailure(t *testing.T) {
	tier.Slow(t, "builds a binary and runs the Lambda RIE")
	sam.RIEBinary(t)
	bootstrap := sam.BuildBootstrap(t, "session", t.TempDir())
	rie := sam.StartRIE(t, bootstrap, []string{"FORGELINK_STORE=aws"}) // no cookie key: refused under Lambda
	body, err := rie.Invoke(loadEvents(t)["healthz.json"])
	if err == nil {
		var resp events.APIGatewayV2HTTPResponse
		json.Unmarshal(body, &resp)
		t.Fatalf("invoke succeeded without a cookie key: %s", body)
	}
	if !strings.Contains(rie.Logs(), "forgelink init failed") || !strings.Contains(rie.Logs(), "cookie key") {
		t.Errorf("no clear init failure line in the log:\n%s", rie.Logs())
	}
}
