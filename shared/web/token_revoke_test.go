package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/service"
)

// TestRevokedTokenIsRefused: a revoked admin API token gets 401 from the JSON API on the
// very next request (bearer auth reads the store, no cache), and the org's other tokens
// keep working.
func TestRevokedTokenIsRefused(t *testing.T) { onBothStores(t, testRevokedTokenIsRefused) }

func testRevokedTokenIsRefused(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	ctx := context.Background()
	svc := e.App.Services.Tokens
	deploy, err := svc.CreateAdminToken(ctx, e.Org, "deploy", "")
	if err != nil {
		t.Fatal(err)
	}
	get := func(token string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, e.URL+igAPIPath(e, ""), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
	igWantStatus(t, apptest.Do(t, http.DefaultClient, get(e.AdminToken)), http.StatusOK)
	igWantStatus(t, apptest.Do(t, http.DefaultClient, get(deploy)), http.StatusOK)

	// Revoked by the token itself.
	if err := svc.RevokeAdminToken(ctx, service.Operator(e.Org), e.Org, e.AdminToken); err != nil {
		t.Fatal(err)
	}
	r := apptest.Do(t, http.DefaultClient, get(e.AdminToken))
	igWantStatus(t, r, http.StatusUnauthorized)
	if got := igDecode[igError](t, r).Error.Code; got != "unauthorized" {
		t.Errorf("code %q, want unauthorized", got)
	}
	igWantStatus(t, apptest.Do(t, http.DefaultClient, get(deploy)), http.StatusOK)

	// Revoked by its id, as the operator CLI lists it.
	tokens, err := svc.ListAdminTokens(ctx, e.Org)
	if err != nil || len(tokens) != 1 || tokens[0].Name != "deploy" {
		t.Fatalf("tokens left: %+v %v", tokens, err)
	}
	if err := svc.RevokeAdminToken(ctx, service.Operator(e.Org), e.Org, tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	igWantStatus(t, apptest.Do(t, http.DefaultClient, get(deploy)), http.StatusUnauthorized)
}
