// Package awsrec records the AWS calls a test makes: a Recorder is the aws.HTTPClient of
// an aws.Config, so what it sees is exactly what AWS would bill, throttle and authorize.
// Containers builds the functions as under Lambda, each recorded on its own.
package awsrec

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/logging"
)

// Call is one AWS request: its service and operation as IAM names them
// ("dynamodb", "PutItem") and, for Secrets Manager, the secret it names.
type Call struct {
	Service, Op string
	SecretID    string
}

// Action is the IAM action of the call, "dynamodb:PutItem".
func (c Call) Action() string { return c.Service + ":" + c.Op }

// Recorder is an aws.HTTPClient that records every request before passing it on.
type Recorder struct {
	next  *http.Client
	mu    sync.Mutex
	calls []Call
}

// New returns a Recorder sending over its own keep-alive transport.
func New() *Recorder {
	return &Recorder{next: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 30 * time.Second}}
}

func (r *Recorder) Do(req *http.Request) (*http.Response, error) {
	c, err := callOf(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return r.next.Do(req)
}

// Take returns the calls since the last Take.
func (r *Recorder) Take() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls := r.calls
	r.calls = nil
	return calls
}

// callOf reads the operation from X-Amz-Target (DynamoDB_20120810.PutItem,
// secretsmanager.GetSecretValue), the JSON protocol both services speak, and the
// SecretId from a Secrets Manager body, which it puts back for the real send.
func callOf(req *http.Request) (Call, error) {
	target := req.Header.Get("X-Amz-Target")
	prefix, op, ok := strings.Cut(target, ".")
	if !ok {
		return Call{Service: "?", Op: req.Method + " " + req.URL.Path}, nil
	}
	c := Call{Service: strings.ToLower(strings.SplitN(prefix, "_", 2)[0]), Op: op}
	if c.Service == "secretsmanager" && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return Call{}, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		var body struct{ SecretId string }
		_ = json.Unmarshal(b, &body)
		c.SecretID = body.SecretId
	}
	return c, nil
}

// Container is one Lambda function's container: its handler and the AWS calls it made,
// its start-up included.
type Container struct {
	Handler http.Handler
	Calls   *Recorder
}

// StoreCookieKey puts env's cookie key into Secrets Manager on env's moto, as template.yaml's
// cookie key secret holds it, and returns the secret's name for FORGELINK_COOKIE_KEY_SECRET.
func StoreCookieKey(t testing.TB, env *apptest.Env) string {
	t.Helper()
	name := env.Prefix + "cookie-key"
	key, _ := json.Marshal(map[string]string{"key": env.App.Config.CookieKey})
	if _, err := secretsmanager.NewFromConfig(env.Moto.Config(t)).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(string(key)),
	}); err != nil {
		t.Fatalf("create cookie key secret: %v", err)
	}
	return name
}

// Containers builds each function as its main.go does under Lambda (app.FromAWSConfig
// over cfg, then its constructor), each in a container of its own over env's moto with
// its own Recorder. Logs are discarded at cfg.LogLevel.
func Containers(t testing.TB, env *apptest.Env, cfg config.Config, builds map[string]func(app.Deps) (http.Handler, error)) map[string]Container {
	t.Helper()
	out := map[string]Container{}
	for fn, build := range builds {
		rec := New()
		awsCfg := env.Moto.Config(t)
		awsCfg.HTTPClient = rec
		d, err := app.FromAWSConfig(context.Background(), cfg, logging.New(io.Discard, cfg.LogLevel), awsCfg)
		if err != nil {
			t.Fatalf("container for %s: %v", fn, err)
		}
		h, err := build(d)
		if err != nil {
			t.Fatalf("container for %s: %v", fn, err)
		}
		out[fn] = Container{Handler: h, Calls: rec}
	}
	return out
}
