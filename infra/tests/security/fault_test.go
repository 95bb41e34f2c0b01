package security_test

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/infra/testkit/tier"
	"github.com/forgelink/forgelink/shared/apptest"
)

// faultKind is how an injected AWS failure looks to the SDK.
type faultKind int

const (
	noFault     faultKind = iota
	connRefused           // the connection fails (no HTTP answer at all)
	serverError           // HTTP 500 from the service
	throttled             // HTTP 400 ThrottlingException
)

func (k faultKind) String() string {
	return [...]string{"none", "connection refused", "HTTP 500", "throttling"}[k]
}

// faultyAWS is an aws.HTTPClient that fails chosen operations, told apart by their
// X-Amz-Target ("DynamoDB_20120810.UpdateItem", "secretsmanager.CreateSecret"). A rule
// for "DynamoDB_20120810.*" matches every DynamoDB operation. Faults stay until cleared,
// so the SDK's retries fail too.
type faultyAWS struct {
	next  *http.Client
	mu    sync.Mutex
	rules map[string]faultKind
	hits  map[string]int
}

func newFaultyAWS() *faultyAWS {
	return &faultyAWS{next: &http.Client{Timeout: 30 * time.Second}, rules: map[string]faultKind{}, hits: map[string]int{}}
}

func (f *faultyAWS) set(kind faultKind, targets ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range targets {
		f.rules[t] = kind
	}
}

func (f *faultyAWS) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = map[string]faultKind{}
}

func (f *faultyAWS) hitCount(target string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[target]
}

func (f *faultyAWS) Do(req *http.Request) (*http.Response, error) {
	target := req.Header.Get("X-Amz-Target")
	service, _, _ := strings.Cut(target, ".")
	f.mu.Lock()
	kind, ok := f.rules[target]
	if !ok {
		kind = f.rules[service+".*"]
	}
	if kind != noFault {
		f.hits[target]++
	}
	f.mu.Unlock()
	if kind == noFault {
		return f.next.Do(req)
	}
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	dynamo := strings.HasPrefix(target, "DynamoDB")
	switch kind {
	case connRefused:
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "refused", Name: "aws"}, Source: nil, Addr: nil}
	case serverError:
		body, ct := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`, "application/x-amz-json-1.0"
		if !dynamo {
			body, ct = `{"__type":"InternalServiceError","message":"Internal service error"}`, "application/x-amz-json-1.1"
		}
		return answer(req, http.StatusInternalServerError, ct, body), nil
	default:
		body, ct := `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}`, "application/x-amz-json-1.0"
		if !dynamo {
			body, ct = `{"__type":"ThrottlingException","message":"Rate exceeded"}`, "application/x-amz-json-1.1"
		}
		return answer(req, http.StatusBadRequest, ct, body), nil
	}
}

func answer(req *http.Request, status int, ct, body string) *http.Response {
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {ct}, "X-Amzn-Requestid": {"fault-injected"},
			"X-Amz-Crc32": {strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10)}},
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)), Request: req,
	}
}

var _ = syscall.ECONNREFUSED

const (
	ddbAll       = "DynamoDB_20120810.*"
	ddbUpdate    = "DynamoDB_20120810.UpdateItem"
	ddbTransact  = "DynamoDB_20120810.TransactWriteItems"
	smAll        = "secretsmanager.*"
	smCreate     = "secretsmanager.CreateSecret"
	smGet        = "secretsmanager.GetSecretValue"
	smDelete     = "secretsmanager.DeleteSecret"
	smPutVersion = "secretsmanager.PutSecretValue"
)

// want503 checks a JSON 503 with Retry-After and the error shape.
func want503(t testing.TB, what string, r apptest.Response) {
	t.Helper()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s: status %d, want 503: %s", what, r.StatusCode, clip(r.Body))
		return
	}
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
	wantAPIError(t, r, http.StatusServiceUnavailable)
}

// orphans returns secrets under e's prefix whose integration does not exist, and
// integrations that are active without a secret.
func checkConsistent(t testing.TB, e *apptest.Env, what string) {
	t.Helper()
	list := integrations(t, e, e.Org, e.AdminToken)
	ids := map[string]storedIntegration{}
	for _, in := range list {
		ids[in.ID] = in
	}
	names := secretNames(t, e)
	have := map[string]bool{}
	for _, n := range names {
		id := strings.TrimPrefix(n, e.Prefix+e.Org+"/")
		have[id] = true
		if _, ok := ids[id]; !ok {
			t.Errorf("%s: orphan secret %s", what, n)
		}
	}
	for _, in := range list {
		if in.Status == "active" && !have[in.ID] {
			t.Errorf("%s: active integration %s without its secret", what, in.ID)
		}
		if in.Status != "active" && have[in.ID] {
			t.Errorf("%s: pending integration %s with a secret", what, in.ID)
		}
	}
}

// TestAWSFaults makes DynamoDB and Secrets Manager fail (connection refused, 500,
// throttling) during create, save, delete and sign-in: every request answers 503 with
// Retry-After, nothing is half-made, no secret is orphaned, no update is lost, and the
// same request succeeds once the fault is gone.
func TestAWSFaults(t *testing.T) {
	t.Parallel()
	for _, kind := range []faultKind{connRefused, serverError, throttled} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			f := newFaultyAWS()
			e := apptest.Start(t, apptest.Options{AWS: true, AWSHTTPClient: f})
			body := map[string]string{"platform": "gitlab", "url": e.GitLabURL, "name": "Faulty"}

			// Create while DynamoDB is down (every operation) and while only the
			// transaction that writes the item fails.
			for _, target := range []string{ddbAll, ddbTransact} {
				f.set(kind, target)
				want503(t, "create, "+target, e.API(t, http.MethodPost, apiPath(e, ""), body))
				f.clear()
				if n := len(integrations(t, e, e.Org, e.AdminToken)); n != 0 {
					t.Fatalf("create under fault left %d integrations", n)
				}
			}
			r := e.API(t, http.MethodPost, apiPath(e, ""), body)
			if r.StatusCode != http.StatusCreated {
				t.Fatalf("create after the fault: %d %s", r.StatusCode, r.Body)
			}
			var in storedIntegration
			json.Unmarshal([]byte(r.Body), &in)
			app := e.GitLab.CreateApplication("forgelink", in.CallbackURL, []string{"api", "read_user"}, true, false)
			creds := map[string]string{"client_id": app.UID, "client_secret": app.Secret}

			// Save while Secrets Manager is down, and while the item write fails after the
			// secret was written (compensation must delete the new secret).
			for _, target := range []string{smCreate, ddbUpdate} {
				f.set(kind, target)
				want503(t, "save, "+target, e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), creds))
				f.clear()
				checkConsistent(t, e, "save under "+target)
				// A failed Save changes nothing, not even the version (a retry must work).
				if got := integrations(t, e, e.Org, e.AdminToken); got[0].Status != "pending" || got[0].ClientSecretSet || got[0].ClientID != "" || got[0].Name != "Faulty" || got[0].Version != 1 {
					t.Errorf("save under %s changed the item: %+v", target, got[0])
				}
			}
			if f.hitCount(ddbUpdate) == 0 || f.hitCount(smCreate) == 0 {
				t.Fatalf("faults were not hit: %v", f.hits)
			}
			r = e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), creds)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("save after the fault: %d %s", r.StatusCode, r.Body)
			}
			checkConsistent(t, e, "after save")

			// An edit under throttling is not applied, the retry is, exactly once: the
			// version moves by one and a stale version is still a conflict.
			v := integrations(t, e, e.Org, e.AdminToken)[0].Version
			f.set(kind, ddbUpdate)
			want503(t, "rename", e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]any{"name": "Renamed", "version": v}))
			f.clear()
			r = e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]any{"name": "Renamed", "version": v})
			if r.StatusCode != http.StatusOK {
				t.Fatalf("rename after the fault: %d %s", r.StatusCode, r.Body)
			}
			wantAPIError(t, e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), map[string]any{"name": "Lost", "version": v}), http.StatusConflict)
			if got := integrations(t, e, e.Org, e.AdminToken); got[0].Name != "Renamed" || got[0].Version != v+1 || got[0].Status != "active" {
				t.Errorf("after rename: %+v", got[0])
			}

			// Sign-in while Secrets Manager (secret not cached yet) and DynamoDB are down:
			// a clear 503 page; then it works.
			for _, target := range []string{smGet, ddbAll} {
				c := e.Client(t)
				var cb apptest.Response
				if target == ddbAll {
					f.set(kind, target)
					cb = e.StartLogin(t, c, in.LoginURL) // the login start reads the integration
					f.clear()
					if cb.StatusCode != http.StatusServiceUnavailable {
						// Served from the cache: fail the callback instead.
						toCB := toCallback(t, e, c, in.LoginURL, "alice")
						f.set(kind, target)
						cb = callback(t, e, c, toCB)
						f.clear()
					}
				} else {
					toCB := toCallback(t, e, c, in.LoginURL, "alice")
					f.set(kind, target)
					cb = callback(t, e, c, toCB)
					f.clear()
				}
				if cb.StatusCode != http.StatusServiceUnavailable || cb.Header.Get("Retry-After") == "" {
					t.Errorf("sign-in with %s down: %d (Retry-After %q), want 503: %s", target, cb.StatusCode, cb.Header.Get("Retry-After"), clip(cb.Body))
				}
				if !strings.Contains(cb.Body, "Try again") {
					t.Errorf("the 503 sign-in page offers no way back: %s", clip(cb.Body))
				}
				noInternals(t, "503 page", cb.Body)
				if got := e.SignIn(t, c, in.LoginURL, "alice"); !strings.Contains(got.Body, "Signed in as") {
					t.Errorf("sign-in after the fault: %d %s", got.StatusCode, clip(got.Body))
				}
			}

			// Delete while DynamoDB is down: nothing deleted. While Secrets Manager is down:
			// either refused, or the item goes and the secret is left for sweep-secrets,
			// which then removes it.
			f.set(kind, ddbAll)
			want503(t, "delete", e.API(t, http.MethodDelete, apiPath(e, "/"+in.ID), nil))
			f.clear()
			if len(integrations(t, e, e.Org, e.AdminToken)) != 1 || len(secretNames(t, e)) != 1 {
				t.Fatal("a failed delete removed something")
			}
			f.set(kind, smDelete)
			r = e.API(t, http.MethodDelete, apiPath(e, "/"+in.ID), nil)
			f.clear()
			switch r.StatusCode {
			case http.StatusServiceUnavailable:
				want503(t, "delete, secret store down", r)
				checkConsistent(t, e, "refused delete")
				if r := e.API(t, http.MethodDelete, apiPath(e, "/"+in.ID), nil); r.StatusCode != http.StatusNoContent {
					t.Fatalf("delete after the fault: %d %s", r.StatusCode, r.Body)
				}
			case http.StatusNoContent:
				res, err := e.App.Services.Integrations.SweepSecrets(context.Background(), false)
				if err != nil || len(res) != 1 || !res[0].Deleted {
					t.Errorf("sweep-secrets after a delete with the secret store down: %+v %v", res, err)
				}
			default:
				t.Fatalf("delete with the secret store down: %d %s", r.StatusCode, r.Body)
			}
			if n, s := len(integrations(t, e, e.Org, e.AdminToken)), secretNames(t, e); n != 0 || len(s) != 0 {
				t.Errorf("after delete: %d integrations, secrets %v", n, s)
			}
			noLeakInLogs(t, e, app.Secret, e.AdminToken)
		})
	}
}

// TestOneShotCreateCompensates: a create that carries credentials, whose item update fails
// after the secret was written, leaves neither an integration nor a secret.
func TestOneShotCreateCompensates(t *testing.T) {
	t.Parallel()
	f := newFaultyAWS()
	e := apptest.Start(t, apptest.Options{AWS: true, AWSHTTPClient: f})
	// The callback URL contains the id, unknown before the create: register the
	// application for a redirect URI GitLab does not check at the credential check.
	app := e.GitLab.CreateApplication("forgelink", e.URL+"/placeholder", []string{"api", "read_user"}, true, false)
	body := map[string]string{"platform": "gitlab", "url": e.GitLabURL, "client_id": app.UID, "client_secret": app.Secret}
	f.set(throttled, ddbUpdate)
	want503(t, "one-shot create", e.API(t, http.MethodPost, apiPath(e, ""), body))
	f.clear()
	if f.hitCount(ddbUpdate) == 0 {
		t.Fatal("the item update was never attempted")
	}
	if n, s := len(integrations(t, e, e.Org, e.AdminToken)), secretNames(t, e); n != 0 || len(s) != 0 {
		t.Errorf("failed one-shot create left %d integrations and secrets %v", n, s)
	}
	r := e.API(t, http.MethodPost, apiPath(e, ""), body)
	if r.StatusCode != http.StatusCreated || !strings.Contains(r.Body, `"status":"active"`) {
		t.Fatalf("one-shot create after the fault: %d %s", r.StatusCode, r.Body)
	}
	checkConsistent(t, e, "one-shot create")
}

// TestGitLabFaults: GitLab down, slow (past the 10 s timeout), answering 500 or
// malformed JSON, during Save (API and form) and during sign-in: a 502 that names the
// GitLab host, never a 500, nothing stored; it works again once GitLab is healthy.
func TestGitLabFaults(t *testing.T) {
	t.Parallel()
	faults := map[string]fakegitlab.Fault{
		"down":      {Down: true},
		"slow":      {Slow: 11 * time.Second},
		"500":       {Error500: true},
		"malformed": {Malformed: true},
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			if name == "slow" {
				tier.Slow(t, "waits out the 10 s GitLab timeout twice")
			}
			t.Parallel()
			e := apptest.Start(t, apptest.Options{})
			host := strings.TrimPrefix(e.GitLabURL, "http://")
			in := e.PendingIntegration(t, "")
			app := e.GitLab.CreateApplication("forgelink", in.CallbackURL, []string{"api", "read_user"}, true, false)
			creds := map[string]string{"client_id": app.UID, "client_secret": app.Secret}

			f := fault
			f.PathPrefix = "/oauth/token"
			e.GitLab.SetFault(f)
			r := e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), creds)
			got := wantAPIError(t, r, http.StatusBadGateway)
			if !strings.Contains(got.Error.Message, host) {
				t.Errorf("Save 502 does not name %s: %q", host, got.Error.Message)
			}
			if name != "slow" { // one timeout per subtest is enough
				admin := e.AdminClient(t)
				tok := apptest.FormValue(e.Get(t, admin, listPath(e.Org)+"/"+in.ID).Body, "csrf_token")
				form := e.PostForm(t, admin, listPath(e.Org)+"/"+in.ID, map[string]string{"csrf_token": tok, "client_id": app.UID, "client_secret": app.Secret, "version": "0"})
				if form.StatusCode != http.StatusBadGateway || !strings.Contains(form.Body, host) {
					t.Errorf("form Save: %d, names host %t", form.StatusCode, strings.Contains(form.Body, host))
				}
				noLeak(t, "form Save under fault", form, app.Secret)
			}
			if got := integrations(t, e, e.Org, e.AdminToken); got[0].Status != "pending" || got[0].ClientSecretSet {
				t.Errorf("Save under a GitLab fault stored something: %+v", got[0])
			}
			if s := secretNames(t, e); len(s) != 0 {
				t.Errorf("Save under a GitLab fault left secrets %v", s)
			}
			e.GitLab.SetFault(fakegitlab.Fault{})
			if r := e.API(t, http.MethodPatch, apiPath(e, "/"+in.ID), creds); r.StatusCode != http.StatusOK {
				t.Fatalf("Save after the fault: %d %s", r.StatusCode, r.Body)
			}

			// Sign-in: GitLab fails after the browser came back with a code.
			prefix := "/oauth/token"
			if name != "slow" && name != "down" {
				prefix = "/api/v4/user"
			}
			c := e.Client(t)
			toCB := toCallback(t, e, c, in.LoginURL, "alice")
			f.PathPrefix = prefix
			e.GitLab.SetFault(f)
			cb := callback(t, e, c, toCB)
			e.GitLab.SetFault(fakegitlab.Fault{})
			if cb.StatusCode != http.StatusBadGateway || !strings.Contains(cb.Body, host) {
				t.Errorf("callback with GitLab %s at %s: %d, names host %t: %s", name, prefix, cb.StatusCode, strings.Contains(cb.Body, host), clip(cb.Body))
			}
			noInternals(t, "callback 502", cb.Body)
			if w := whoami(t, e, c, e.Org); w.StatusCode != http.StatusUnauthorized {
				t.Errorf("signed in although GitLab failed: %d", w.StatusCode)
			}
			if got := e.SignIn(t, c, in.LoginURL, "alice"); !strings.Contains(got.Body, "Signed in as") {
				t.Errorf("sign-in after the fault: %d %s", got.StatusCode, clip(got.Body))
			}
			noLeakInLogs(t, e, app.Secret, e.AdminToken)
		})
	}
}

// TestSaveRetryAfterOutage is the admin's view of a Save that failed with 503 because
// Secrets Manager was throttling: the re-rendered form (and an API client repeating its
// If-Match request) must succeed once the outage is over: a failed Save must not move
// the item's version.
func TestSaveRetryAfterOutage(t *testing.T) {
	t.Parallel()
	f := newFaultyAWS()
	e := apptest.Start(t, apptest.Options{AWS: true, AWSHTTPClient: f})
	in := e.PendingIntegration(t, "Retry")
	app := e.GitLab.CreateApplication("forgelink", in.CallbackURL, []string{"api", "read_user"}, true, false)
	admin := e.AdminClient(t)
	page := e.Get(t, admin, listPath(e.Org)+"/"+in.ID)
	form := map[string]string{
		"csrf_token": apptest.FormValue(page.Body, "csrf_token"), "version": apptest.FormValue(page.Body, "version"),
		"client_id": app.UID, "client_secret": app.Secret, "name": "Retry",
	}
	f.set(throttled, smCreate)
	r := e.PostForm(t, admin, listPath(e.Org)+"/"+in.ID, form)
	f.clear()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("Save under throttling: %d", r.StatusCode)
	}
	// The admin presses Save again on the re-rendered page (its hidden version).
	form["version"] = apptest.FormValue(r.Body, "version")
	if r := e.PostForm(t, admin, listPath(e.Org)+"/"+in.ID, form); r.StatusCode != http.StatusSeeOther {
		t.Errorf("Save retried from the re-rendered form after the outage: %d, want 303", r.StatusCode)
	}

	// The API client repeating a PATCH with If-Match.
	betaToken := secondOrg(t, e, "beta")
	in2 := storedIntegration{}
	r = e.APIWithToken(t, betaToken, http.MethodPost, "/api/v1/orgs/beta/integrations", map[string]string{"platform": "gitlab", "url": e.GitLabURL})
	json.Unmarshal([]byte(r.Body), &in2)
	app2 := e.GitLab.CreateApplication("forgelink", in2.CallbackURL, []string{"api", "read_user"}, true, false)
	body := `{"client_id":"` + app2.UID + `","client_secret":"` + app2.Secret + `"}`
	f.set(throttled, smCreate)
	r = rawAPI(t, e, betaToken, http.MethodPatch, "/api/v1/orgs/beta/integrations/"+in2.ID, "application/json", strings.NewReader(body), "If-Match", `"1"`)
	f.clear()
	want503(t, "PATCH under throttling", r)
	r = rawAPI(t, e, betaToken, http.MethodPatch, "/api/v1/orgs/beta/integrations/"+in2.ID, "application/json", strings.NewReader(body), "If-Match", `"1"`)
	if r.StatusCode != http.StatusOK {
		t.Errorf("the same PATCH (If-Match \"1\") after the outage: %d %s, want 200", r.StatusCode, r.Body)
	}
}
