package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/forgelink"
)

// igIntegration is the full JSON view of an integration.
type igIntegration struct {
	ID              string  `json:"id"`
	Platform        string  `json:"platform"`
	Name            string  `json:"name"`
	URL             string  `json:"url"`
	Status          string  `json:"status"`
	CallbackURL     string  `json:"callback_url"`
	SetupURL        string  `json:"setup_url"`
	LoginURL        string  `json:"login_url"`
	ClientID        string  `json:"client_id"`
	ClientSecretSet bool    `json:"client_secret_set"`
	SecretUpdatedAt *string `json:"secret_updated_at"`
	CABundleSet     bool    `json:"ca_bundle_set"`
	Version         int64   `json:"version"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
}

type igError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

func igDecode[T any](t testing.TB, r apptest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("decode %d %q: %v", r.StatusCode, r.Body, err)
	}
	return v
}

func igWantStatus(t testing.TB, r apptest.Response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.Body)
	}
}

func igAPIPath(e *apptest.Env, rest string) string {
	return "/api/v1/orgs/" + e.Org + "/integrations" + rest
}

// igPath is the page of an integration.
func igPath(e *apptest.Env, id string) string {
	return "/orgs/" + e.Org + "/settings/integrations/" + id
}

// igNewApp creates an application on the fake GitLab for an integration's callback URL.
func igNewApp(e *apptest.Env, callback string) apptest.Credentials {
	app := e.GitLab.CreateApplication("forgelink", callback, []string{"api", "read_user"}, true, false)
	return apptest.Credentials{ClientID: app.UID, Secret: app.Secret}
}

// igNoLeak fails when any secret shows up in the application's logs.
func igNoLeak(t testing.TB, e *apptest.Env, secrets ...string) {
	t.Helper()
	logs := e.Logs.String()
	for _, s := range append(secrets, e.AdminToken) {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("a secret (%.6s…) appears in the logs", s)
		}
	}
}

// igNoSecretIn fails when a secret shows up in a response body.
func igNoSecretIn(t testing.TB, r apptest.Response, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(r.Body, s) {
			t.Errorf("%s %s: the secret (%.6s…) appears in the response body", r.Request.Method, r.Request.URL.Path, s)
		}
	}
}

var igLocationID = regexp.MustCompile(`/settings/integrations/([a-z0-9]+)$`)

// igSecretNames lists the client secrets the application holds.
func igSecretNames(t testing.TB, e *apptest.Env) []string {
	t.Helper()
	names, err := e.App.Secrets.ListSecrets(context.Background(), e.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func igStored(t testing.TB, e *apptest.Env) []forgelink.Integration {
	t.Helper()
	list, err := e.App.Store.ListIntegrations(context.Background(), e.Org)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// igFaults injects failures into the stores: arm(method, n) fails the n-th next call.
type igFaults struct {
	mu     sync.Mutex
	calls  map[string]int
	failAt map[string]int
}

func igNewFaults() *igFaults { return &igFaults{calls: map[string]int{}, failAt: map[string]int{}} }

func (f *igFaults) arm(method string, nth int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt[method] = f.calls[method] + nth
}

func (f *igFaults) hit(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if n, ok := f.failAt[method]; ok && f.calls[method] == n {
		delete(f.failAt, method)
		return forgelink.Errorf(forgelink.EUNAVAILABLE, "injected failure of %s", method)
	}
	return nil
}

type igFaultyStore struct {
	forgelink.Store
	f *igFaults
}

func (s igFaultyStore) CreateIntegration(ctx context.Context, in forgelink.Integration) (forgelink.Integration, error) {
	if err := s.f.hit("CreateIntegration"); err != nil {
		return forgelink.Integration{}, err
	}
	return s.Store.CreateIntegration(ctx, in)
}

func (s igFaultyStore) UpdateIntegration(ctx context.Context, in forgelink.Integration) (forgelink.Integration, error) {
	if err := s.f.hit("UpdateIntegration"); err != nil {
		return forgelink.Integration{}, err
	}
	return s.Store.UpdateIntegration(ctx, in)
}

func (s igFaultyStore) DeleteIntegration(ctx context.Context, org, id string, version int64) error {
	if err := s.f.hit("DeleteIntegration"); err != nil {
		return err
	}
	return s.Store.DeleteIntegration(ctx, org, id, version)
}

type igFaultySecrets struct {
	forgelink.Secrets
	f *igFaults
}

func (s igFaultySecrets) PutSecret(ctx context.Context, name, value string, tags map[string]string) (forgelink.SecretRef, error) {
	if err := s.f.hit("PutSecret"); err != nil {
		return forgelink.SecretRef{}, err
	}
	return s.Secrets.PutSecret(ctx, name, value, tags)
}

func (s igFaultySecrets) DeleteSecret(ctx context.Context, name string) error {
	if err := s.f.hit("DeleteSecret"); err != nil {
		return err
	}
	return s.Secrets.DeleteSecret(ctx, name)
}

func igStartFaulty(t *testing.T) (*apptest.Env, *igFaults) {
	f := igNewFaults()
	e := apptest.Start(t, apptest.Options{
		WrapStore:   func(s forgelink.Store) forgelink.Store { return igFaultyStore{s, f} },
		WrapSecrets: func(s forgelink.Secrets) forgelink.Secrets { return igFaultySecrets{s, f} },
	})
	return e, f
}

func igBearer(e *apptest.Env, method, path, contentType, body string) *http.Request {
	req, _ := http.NewRequest(method, e.URL+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+e.AdminToken)
	return req
}

func igDown() fakegitlab.Fault           { return fakegitlab.Fault{Down: true} }
func igHealthy() fakegitlab.Fault        { return fakegitlab.Fault{} }
func igFault500() fakegitlab.Fault       { return fakegitlab.Fault{Error500: true} }
func igFaultMalformed() fakegitlab.Fault { return fakegitlab.Fault{Malformed: true} }
