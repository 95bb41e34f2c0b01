// Package awsrec records the AWS calls a test makes: a Recorder is the aws.HTTPClient of
// an aws.Config, so what it sees is exactly what AWS would bill, throttle and authorize.
package awsrec

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
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
