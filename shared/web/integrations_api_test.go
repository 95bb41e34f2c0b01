package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

func TestIntegrationsAPI(t *testing.T) { onBothStores(t, testIntegrationsAPI) }

func testIntegrationsAPI(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)

	// Create: 201, pending, every field of DESIGN.md.
	r := e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{"platform": "gitlab", "url": e.GitLabURL + "/", "name": "Our GitLab"})
	igWantStatus(t, r, http.StatusCreated)
	in := igDecode[igIntegration](t, r)
	wantCallback := e.URL + "/orgs/" + e.Org + "/login/" + in.ID + "/callback"
	if in.ID == "" || in.Platform != "gitlab" || in.Name != "Our GitLab" || in.URL != e.GitLabURL || in.Status != "pending" ||
		in.CallbackURL != wantCallback || in.LoginURL != e.URL+"/orgs/"+e.Org+"/login/"+in.ID ||
		in.SetupURL != e.GitLabURL+"/-/user_settings/applications" || in.ClientSecretSet || in.Version != 1 {
		t.Errorf("created: %+v", in)
	}
	for _, ts := range []string{in.CreatedAt, in.UpdatedAt} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil || !strings.HasSuffix(ts, "Z") {
			t.Errorf("timestamp %q is not RFC 3339 UTC", ts)
		}
	}
	for _, key := range []string{`"id"`, `"platform"`, `"name"`, `"url"`, `"status"`, `"callback_url"`, `"setup_url"`, `"login_url"`, `"created_at"`, `"updated_at"`, `"client_secret_set"`, `"ca_bundle_set"`, `"version"`} {
		if !strings.Contains(r.Body, key) {
			t.Errorf("create response lacks %s", key)
		}
	}
	if r.Header.Get("Location") != igAPIPath(e, "/"+in.ID) {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}

	// List and get.
	r = e.API(t, http.MethodGet, igAPIPath(e, ""), nil)
	igWantStatus(t, r, http.StatusOK)
	list := igDecode[struct {
		Integrations []igIntegration `json:"integrations"`
	}](t, r)
	if len(list.Integrations) != 1 || list.Integrations[0].ID != in.ID {
		t.Errorf("list: %s", r.Body)
	}
	r = e.API(t, http.MethodGet, igAPIPath(e, "/"+in.ID), nil)
	igWantStatus(t, r, http.StatusOK)
	if r.Header.Get("ETag") != `"1"` {
		t.Errorf("ETag %q", r.Header.Get("ETag"))
	}

	// Save credentials: 200 active, the secret never echoed.
	creds := igNewApp(e, in.CallbackURL)
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]string{"client_id": creds.ClientID, "client_secret": creds.Secret})
	igWantStatus(t, r, http.StatusOK)
	igNoSecretIn(t, r, creds.Secret)
	saved := igDecode[igIntegration](t, r)
	if saved.Status != "active" || !saved.ClientSecretSet || saved.SecretUpdatedAt == nil || saved.ClientID != creds.ClientID || saved.Version != 2 {
		t.Errorf("saved: %s", r.Body)
	}
	stored, _ := e.App.Store.GetIntegration(context.Background(), e.Org, in.ID)
	if got, err := e.App.Secrets.GetSecret(context.Background(), forgelink.SecretRef{ARN: stored.SecretARN, Version: stored.SecretVersion}); err != nil || got != creds.Secret {
		t.Errorf("stored secret: %v", err)
	}
	if names := igSecretNames(t, e); len(names) != 1 || names[0] != e.Prefix+e.Org+"/"+in.ID {
		t.Errorf("secret names %v", names)
	}

	// Name alone, CA bundle alone, version via If-Match.
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]string{"name": "Renamed"})
	igWantStatus(t, r, http.StatusOK)
	if got := igDecode[igIntegration](t, r); got.Name != "Renamed" || got.Status != "active" || got.Version != 3 {
		t.Errorf("renamed: %s", r.Body)
	}
	req := igBearer(e, http.MethodPatch, igAPIPath(e, "/"+in.ID), "application/json", `{"name":"Stale"}`)
	req.Header.Set("If-Match", `"2"`)
	r = apptest.Do(t, http.DefaultClient, req)
	igWantStatus(t, r, http.StatusConflict)
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]any{"name": "Stale", "version": 1})
	igWantStatus(t, r, http.StatusConflict)

	// Replace the secret: a second application's credentials.
	creds2 := igNewApp(e, in.CallbackURL)
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]any{"client_id": creds2.ClientID, "client_secret": creds2.Secret, "version": 3})
	igWantStatus(t, r, http.StatusOK)
	igNoSecretIn(t, r, creds.Secret, creds2.Secret)

	// Audit trail.
	r = e.API(t, http.MethodGet, igAPIPath(e, "/"+in.ID+"/audit"), nil)
	igWantStatus(t, r, http.StatusOK)
	audit := igDecode[struct {
		Audit []struct {
			Time, Action, IntegrationID, Detail string
			Actor                               struct{ Type, Name string }
		} `json:"audit"`
	}](t, r)
	var actions []string
	for _, a := range audit.Audit {
		actions = append(actions, a.Action)
		if a.Actor.Type != "api_token" || a.Actor.Name != "apptest" || a.Time == "" {
			t.Errorf("audit record %+v", a)
		}
	}
	if got := strings.Join(actions, ","); got != "integration.secret_replaced,integration.updated,integration.saved,integration.created" {
		t.Errorf("audit actions %s", got)
	}
	igNoSecretIn(t, r, creds.Secret, creds2.Secret)

	// Delete: 204, item and secret gone, trail still readable.
	r = e.API(t, http.MethodDelete, igAPIPath(e, "/"+in.ID), nil)
	igWantStatus(t, r, http.StatusNoContent)
	if len(igStored(t, e)) != 0 || len(igSecretNames(t, e)) != 0 {
		t.Errorf("delete left %v / %v", igStored(t, e), igSecretNames(t, e))
	}
	igWantStatus(t, e.API(t, http.MethodGet, igAPIPath(e, "/"+in.ID), nil), http.StatusNotFound)
	igWantStatus(t, e.API(t, http.MethodDelete, igAPIPath(e, "/"+in.ID), nil), http.StatusNotFound)
	r = e.API(t, http.MethodGet, igAPIPath(e, "/"+in.ID+"/audit"), nil)
	if !strings.Contains(r.Body, "integration.deleted") {
		t.Errorf("no delete record: %s", r.Body)
	}
	igWantStatus(t, e.API(t, http.MethodGet, igAPIPath(e, "/nosuchid/audit"), nil), http.StatusNotFound)
	igNoLeak(t, e, creds.Secret, creds2.Secret)
}

func TestIntegrationsAPIOneShotCreate(t *testing.T) {
	onBothStores(t, testIntegrationsAPIOneShotCreate)
}

func testIntegrationsAPIOneShotCreate(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	// GitLab checks the redirect URI only with a real code, so an application registered
	// before the integration id is known passes the credential check, as on real GitLab.
	creds := igNewApp(e, e.URL+"/orgs/"+e.Org+"/login/pending/callback")
	create := func(secret string) apptest.Response {
		return e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{
			"platform": "gitlab", "url": e.GitLabURL, "client_id": creds.ClientID, "client_secret": secret,
		})
	}

	// A failed one-shot create leaves nothing: wrong secret, GitLab down.
	r := create("wrong-secret-value")
	igWantStatus(t, r, http.StatusUnprocessableEntity)
	if f := igDecode[igError](t, r).Error.Fields; f["client_secret"] == "" {
		t.Errorf("fields %v", f)
	}
	igNoSecretIn(t, r, "wrong-secret-value")
	e.GitLab.SetFault(igDown())
	r = create(creds.Secret)
	e.GitLab.SetFault(igHealthy())
	igWantStatus(t, r, http.StatusBadGateway)
	if msg := igDecode[igError](t, r).Error.Message; !strings.Contains(msg, e.GitLabURL) {
		t.Errorf("502 message does not name the URL: %q", msg)
	}
	if n, names := len(igStored(t, e)), igSecretNames(t, e); n != 0 || len(names) != 0 {
		t.Errorf("failed creates left %d integrations and secrets %v", n, names)
	}

	// Success: 201 active at once; the URL was free again.
	r = create(creds.Secret)
	igWantStatus(t, r, http.StatusCreated)
	in := igDecode[igIntegration](t, r)
	if in.Status != "active" || !in.ClientSecretSet || in.Name != strings.TrimPrefix(e.GitLabURL, "http://") {
		t.Errorf("one-shot create: %s", r.Body)
	}
	igNoSecretIn(t, r, creds.Secret)
	if n, names := len(igStored(t, e)), igSecretNames(t, e); n != 1 || len(names) != 1 {
		t.Errorf("%d integrations, secrets %v", n, names)
	}
	r = e.API(t, http.MethodGet, igAPIPath(e, "/"+in.ID+"/audit"), nil)
	if !strings.Contains(r.Body, "integration.created") || !strings.Contains(r.Body, "integration.saved") {
		t.Errorf("audit: %s", r.Body)
	}
	igNoLeak(t, e, creds.Secret, "wrong-secret-value")
}

func TestIntegrationsAPIErrors(t *testing.T) {
	e := apptest.Start(t, apptest.Options{AdminWrites: service.WriteLimit{Off: true}})
	pending := e.PendingIntegration(t, "")
	ctx := context.Background()
	if _, err := e.App.Services.Orgs.EnsureOrg(ctx, "beta", "Beta"); err != nil {
		t.Fatal(err)
	}
	betaToken, err := e.App.Services.Tokens.CreateAdminToken(ctx, "beta", "test", "")
	if err != nil {
		t.Fatal(err)
	}

	type check struct {
		name        string
		method      string
		path        string
		token       string // "" = the org's token; "-" = none
		contentType string
		body        string
		status      int
		code        string
	}
	big := `{"name":"` + strings.Repeat("a", 70<<10) + `"}`
	checks := []check{
		{"malformed JSON", "POST", "", "", "application/json", `{"platform":`, 400, "malformed"},
		{"wrong JSON type", "POST", "", "", "application/json", `{"url":42}`, 400, "malformed"},
		{"no token", "GET", "", "-", "", "", 401, "unauthorized"},
		{"bad token", "GET", "", "not-a-token", "", "", 401, "unauthorized"},
		{"other org's token", "GET", "", betaToken, "", "", 403, "forbidden"},
		{"other org's token on an id", "PATCH", "/" + pending.ID, betaToken, "application/json", `{"name":"x"}`, 403, "forbidden"},
		{"unknown id", "GET", "/nosuchid", "", "", "", 404, "not_found"},
		{"unknown id patch", "PATCH", "/nosuchid", "", "application/json", `{"name":"x"}`, 404, "not_found"},
		{"duplicate URL", "POST", "", "", "application/json", `{"platform":"gitlab","url":"` + e.GitLabURL + `/"}`, 409, "conflict"},
		{"stale version", "PATCH", "/" + pending.ID, "", "application/json", `{"name":"x","version":7}`, 409, "conflict"},
		{"too large", "POST", "", "", "application/json", big, 413, "too_large"},
		{"form body", "POST", "", "", "application/x-www-form-urlencoded", "url=x", 415, "unsupported"},
		{"no content type", "PATCH", "/" + pending.ID, "", "", `{"name":"x"}`, 415, "unsupported"},
		{"empty patch", "PATCH", "/" + pending.ID, "", "application/json", `{}`, 422, "invalid"},
		{"url refused", "PATCH", "/" + pending.ID, "", "application/json", `{"url":"https://127.0.0.1"}`, 422, "invalid"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.URL+igAPIPath(e, c.path), strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			switch c.token {
			case "":
				req.Header.Set("Authorization", "Bearer "+e.AdminToken)
			case "-":
			default:
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			r := apptest.Do(t, http.DefaultClient, req)
			igWantStatus(t, r, c.status)
			if got := igDecode[igError](t, r).Error.Code; got != c.code {
				t.Errorf("code %q, want %q", got, c.code)
			}
			if c.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}

	// A browser's admin cookie does not authenticate the API.
	c := e.AdminClient(t)
	req, _ := http.NewRequest(http.MethodGet, e.URL+igAPIPath(e, ""), nil)
	igWantStatus(t, apptest.Do(t, c, req), http.StatusUnauthorized)

	// 422 with the field of every validation rule.
	ok := e.GitLabURL + "/v"
	longSecret := strings.Repeat("s", 257)
	invalid := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"platform missing", map[string]any{"url": ok}, "platform"},
		{"platform github", map[string]any{"platform": "github", "url": ok}, "platform"},
		{"url missing", map[string]any{"platform": "gitlab"}, "url"},
		{"url empty", map[string]any{"platform": "gitlab", "url": ""}, "url"},
		{"url not http", map[string]any{"platform": "gitlab", "url": "ftp://gitlab.example.com"}, "url"},
		{"loopback", map[string]any{"platform": "gitlab", "url": "https://127.0.0.1"}, "url"},
		{"decimal loopback", map[string]any{"platform": "gitlab", "url": "https://2130706433"}, "url"},
		{"hex loopback", map[string]any{"platform": "gitlab", "url": "https://0x7f.1"}, "url"},
		{"ipv6 loopback", map[string]any{"platform": "gitlab", "url": "https://[::1]"}, "url"},
		{"metadata", map[string]any{"platform": "gitlab", "url": "https://169.254.169.254"}, "url"},
		{"private", map[string]any{"platform": "gitlab", "url": "https://10.0.0.1"}, "url"},
		{"localhost", map[string]any{"platform": "gitlab", "url": "https://localhost"}, "url"},
		{"plain http", map[string]any{"platform": "gitlab", "url": "http://gitlab.example.com"}, "url"},
		{"userinfo", map[string]any{"platform": "gitlab", "url": "https://user:pw@gitlab.example.com"}, "url"},
		{"query", map[string]any{"platform": "gitlab", "url": "https://gitlab.example.com/?a=b"}, "url"},
		{"fragment", map[string]any{"platform": "gitlab", "url": "https://gitlab.example.com/#x"}, "url"},
		{"name too long", map[string]any{"platform": "gitlab", "url": ok, "name": strings.Repeat("n", 101)}, "name"},
		{"name markup", map[string]any{"platform": "gitlab", "url": ok, "name": "<script>"}, "name"},
		{"name control", map[string]any{"platform": "gitlab", "url": ok, "name": "a\x07b"}, "name"},
		{"client_id odd", map[string]any{"platform": "gitlab", "url": ok, "client_id": "bad id!", "client_secret": "abc"}, "client_id"},
		{"client_id long", map[string]any{"platform": "gitlab", "url": ok, "client_id": strings.Repeat("a", 129), "client_secret": "abc"}, "client_id"},
		{"client_id alone", map[string]any{"platform": "gitlab", "url": ok, "client_id": "abc"}, "client_secret"},
		{"secret alone", map[string]any{"platform": "gitlab", "url": ok, "client_secret": "abc"}, "client_id"},
		{"secret with space", map[string]any{"platform": "gitlab", "url": ok, "client_id": "abc", "client_secret": "a b c"}, "client_secret"},
		{"secret long", map[string]any{"platform": "gitlab", "url": ok, "client_id": "abc", "client_secret": longSecret}, "client_secret"},
		{"ca bundle", map[string]any{"platform": "gitlab", "url": ok, "ca_bundle": "not a certificate"}, "ca_bundle"},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			r := e.API(t, http.MethodPost, igAPIPath(e, ""), c.body)
			igWantStatus(t, r, http.StatusUnprocessableEntity)
			if f := igDecode[igError](t, r).Error.Fields; f[c.field] == "" {
				t.Errorf("no message for %s: %s", c.field, r.Body)
			}
			igNoSecretIn(t, r, "a b c", longSecret)
		})
	}
	// The same rules on PATCH.
	r := e.API(t, http.MethodPatch, igAPIPath(e, "/"+pending.ID), map[string]any{"client_id": "abc", "client_secret": ""})
	igWantStatus(t, r, http.StatusUnprocessableEntity)
	if len(igStored(t, e)) != 1 {
		t.Errorf("validation failures created integrations")
	}
}

func TestIntegrationsAPIGitLabUnreachable(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	in := e.PendingIntegration(t, "")
	creds := igNewApp(e, in.CallbackURL)
	for _, fault := range []string{"down", "error500", "malformed"} {
		t.Run(fault, func(t *testing.T) {
			f := igDown()
			switch fault {
			case "error500":
				f = igFault500()
			case "malformed":
				f = igFaultMalformed()
			}
			e.GitLab.SetFault(f)
			defer e.GitLab.SetFault(igHealthy())
			r := e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]string{"client_id": creds.ClientID, "client_secret": creds.Secret})
			igWantStatus(t, r, http.StatusBadGateway)
			if msg := igDecode[igError](t, r).Error.Message; !strings.Contains(msg, e.GitLabURL) {
				t.Errorf("502 message does not name the server: %q", msg)
			}
			igNoSecretIn(t, r, creds.Secret)
		})
	}
	if got := igStored(t, e)[0]; got.Status != forgelink.StatusPending || len(igSecretNames(t, e)) != 0 {
		t.Errorf("failed checks stored something: %+v", got)
	}
	igNoLeak(t, e, creds.Secret)
}

// TestIntegrationsAPICompensation injects failures between the secret write and the item
// write and checks that nothing half-made stays behind.
func TestIntegrationsAPICompensation(t *testing.T) {
	t.Run("save: item write fails after a new secret", func(t *testing.T) {
		e, f := igStartFaulty(t)
		in := e.PendingIntegration(t, "")
		creds := igNewApp(e, in.CallbackURL)
		f.arm("UpdateIntegration", 1)
		r := e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]string{"client_id": creds.ClientID, "client_secret": creds.Secret})
		igWantStatus(t, r, http.StatusServiceUnavailable)
		if r.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		if got := igStored(t, e)[0]; got.Status != forgelink.StatusPending || got.SecretARN != "" {
			t.Errorf("item %+v", got)
		}
		if names := igSecretNames(t, e); len(names) != 0 {
			t.Errorf("orphan secrets %v", names)
		}
		// Retrying works.
		r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]string{"client_id": creds.ClientID, "client_secret": creds.Secret})
		igWantStatus(t, r, http.StatusOK)
	})
	t.Run("save: secret write fails, nothing is activated", func(t *testing.T) {
		e, f := igStartFaulty(t)
		in := e.PendingIntegration(t, "")
		creds := igNewApp(e, in.CallbackURL)
		f.arm("PutSecret", 1)
		r := e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]string{"client_id": creds.ClientID, "client_secret": creds.Secret})
		igWantStatus(t, r, http.StatusServiceUnavailable)
		if got := igStored(t, e)[0]; got.Status != forgelink.StatusPending || got.SecretARN != "" || len(igSecretNames(t, e)) != 0 {
			t.Errorf("item %+v, secrets %v", got, igSecretNames(t, e))
		}
	})
	for _, method := range []string{"PutSecret", "UpdateIntegration"} {
		t.Run("one-shot create: "+method+" fails", func(t *testing.T) {
			e, f := igStartFaulty(t)
			creds := igNewApp(e, e.URL+"/cb")
			f.arm(method, 1)
			r := e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{"platform": "gitlab", "url": e.GitLabURL, "client_id": creds.ClientID, "client_secret": creds.Secret})
			igWantStatus(t, r, http.StatusServiceUnavailable)
			if n, names := len(igStored(t, e)), igSecretNames(t, e); n != 0 || len(names) != 0 {
				t.Errorf("left %d items and secrets %v", n, names)
			}
			// The URL is free again.
			r = e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{"platform": "gitlab", "url": e.GitLabURL, "client_id": creds.ClientID, "client_secret": creds.Secret})
			igWantStatus(t, r, http.StatusCreated)
		})
	}
	t.Run("replace: item write fails, sign-ins keep the old secret", func(t *testing.T) {
		e, f := igStartFaulty(t)
		in, creds := e.ActiveIntegration(t)
		before, _ := e.App.Store.GetIntegration(context.Background(), e.Org, in.ID)
		creds2 := igNewApp(e, in.CallbackURL)
		f.arm("UpdateIntegration", 1)
		r := e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]string{"client_id": creds2.ClientID, "client_secret": creds2.Secret})
		igWantStatus(t, r, http.StatusServiceUnavailable)
		after, _ := e.App.Store.GetIntegration(context.Background(), e.Org, in.ID)
		if after.SecretVersion != before.SecretVersion || after.ClientID != creds.ClientID {
			t.Errorf("item moved: %+v", after)
		}
		got, err := e.App.Secrets.GetSecret(context.Background(), forgelink.SecretRef{ARN: after.SecretARN, Version: after.SecretVersion})
		if err != nil || got != creds.Secret {
			t.Errorf("the item's secret version is no longer readable: %v", err)
		}
	})
	t.Run("delete: secret delete fails, sweep removes it", func(t *testing.T) {
		e, f := igStartFaulty(t)
		in, _ := e.ActiveIntegration(t)
		f.arm("DeleteSecret", 1)
		r := e.API(t, http.MethodDelete, igAPIPath(e, "/"+in.ID), nil)
		igWantStatus(t, r, http.StatusNoContent)
		if len(igStored(t, e)) != 0 || len(igSecretNames(t, e)) != 1 {
			t.Fatalf("want the item gone and the secret left")
		}
		res, err := e.App.Services.Integrations.SweepSecrets(context.Background(), false)
		if err != nil || len(res) != 1 || !res[0].Deleted || len(igSecretNames(t, e)) != 0 {
			t.Errorf("sweep: %+v %v, left %v", res, err, igSecretNames(t, e))
		}
	})
	t.Run("delete: item delete fails, nothing changes", func(t *testing.T) {
		e, f := igStartFaulty(t)
		in, _ := e.ActiveIntegration(t)
		f.arm("DeleteIntegration", 1)
		r := e.API(t, http.MethodDelete, igAPIPath(e, "/"+in.ID), nil)
		igWantStatus(t, r, http.StatusServiceUnavailable)
		if len(igStored(t, e)) != 1 || len(igSecretNames(t, e)) != 1 {
			t.Errorf("a failed delete removed something")
		}
	})
	t.Run("crash between secret and item: delete and sweep clean up", func(t *testing.T) {
		e, _ := igStartFaulty(t)
		in := e.PendingIntegration(t, "")
		// A crash after PutSecret: the secret exists, the item is still pending.
		if _, err := e.App.Secrets.PutSecret(context.Background(), e.Prefix+e.Org+"/"+in.ID, "orphan-value", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.App.Secrets.PutSecret(context.Background(), e.Prefix+e.Org+"/gone", "orphan-value", nil); err != nil {
			t.Fatal(err)
		}
		res, err := e.App.Services.Integrations.SweepSecrets(context.Background(), true)
		if err != nil || len(res) != 1 || res[0].Name != e.Prefix+e.Org+"/gone" || res[0].Deleted {
			t.Errorf("dry run: %+v %v", res, err)
		}
		igWantStatus(t, e.API(t, http.MethodDelete, igAPIPath(e, "/"+in.ID), nil), http.StatusNoContent)
		if _, err := e.App.Services.Integrations.SweepSecrets(context.Background(), false); err != nil {
			t.Fatal(err)
		}
		if names := igSecretNames(t, e); len(names) != 0 {
			t.Errorf("left %v", names)
		}
	})
}

// TestIntegrationsAPIConcurrentEdits: concurrent PATCHes based on one version, exactly one
// wins; without a version, every success is serialised and none is lost.
func TestIntegrationsAPIConcurrentEdits(t *testing.T) {
	e := apptest.Start(t, apptest.Options{AdminWrites: service.WriteLimit{Off: true}})
	in := e.PendingIntegration(t, "")

	const n = 12
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]any{"name": fmt.Sprint("name-", i), "version": 1})
			statuses[i] = r.StatusCode
		}()
	}
	wg.Wait()
	wins := 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			wins++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", s)
		}
	}
	if wins != 1 {
		t.Errorf("%d PATCHes on version 1 won, want exactly 1", wins)
	}
	got, _ := e.App.Store.GetIntegration(context.Background(), e.Org, in.ID)
	if got.Version != 2 {
		t.Errorf("version %d, want 2", got.Version)
	}

	// Concurrent credential saves on one version: one wins, its secret is the stored one.
	cur := got.Version
	creds := make([]apptest.Credentials, 4)
	for i := range creds {
		creds[i] = igNewApp(e, in.CallbackURL)
	}
	results := make([]int, len(creds))
	for i := range creds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]any{"client_id": creds[i].ClientID, "client_secret": creds[i].Secret, "version": cur})
			results[i] = r.StatusCode
		}()
	}
	wg.Wait()
	winner := -1
	for i, s := range results {
		if s == http.StatusOK {
			if winner >= 0 {
				t.Errorf("two saves won")
			}
			winner = i
		} else if s != http.StatusConflict {
			t.Errorf("status %d", s)
		}
	}
	if winner < 0 {
		t.Fatal("no save won")
	}
	got, _ = e.App.Store.GetIntegration(context.Background(), e.Org, in.ID)
	secret, err := e.App.Secrets.GetSecret(context.Background(), forgelink.SecretRef{ARN: got.SecretARN, Version: got.SecretVersion})
	if err != nil || secret != creds[winner].Secret || got.ClientID != creds[winner].ClientID {
		t.Errorf("stored credentials are not the winner's: %v", err)
	}
	if names := igSecretNames(t, e); len(names) != 1 {
		t.Errorf("secrets %v", names)
	}
}

func TestIntegrationsAPIRateLimit(t *testing.T) {
	e := apptest.Start(t, apptest.Options{AdminWrites: service.WriteLimit{Burst: 3, PerMinute: 1}})
	for i := range 3 {
		r := e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{"platform": "gitlab", "url": e.GitLabURL + "/p" + strconv.Itoa(i)})
		igWantStatus(t, r, http.StatusCreated)
	}
	r := e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{"platform": "gitlab", "url": e.GitLabURL + "/p9"})
	igWantStatus(t, r, http.StatusTooManyRequests)
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Reads are not limited.
	igWantStatus(t, e.API(t, http.MethodGet, igAPIPath(e, ""), nil), http.StatusOK)
	// Nor is a delete of an unknown id: 404, not 429 (it used to take a token first).
	igWantStatus(t, e.API(t, http.MethodDelete, igAPIPath(e, "/nosuchid"), nil), http.StatusNotFound)
}

// TestIntegrationsAPIBodyNotAnObject: every request body is one JSON object in UTF-8.
// A bare null used to pass as "no fields" (422 about missing fields, or "nothing to
// change") and invalid UTF-8 was stored as U+FFFD; both are malformed input, 400.
func TestIntegrationsAPIBodyNotAnObject(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	pending := e.PendingIntegration(t, "Keep me")
	for _, body := range []string{"", "   ", "null", " null ", "[]", `"x"`, "42", "true",
		"{\"platform\":\"gitlab\",\"url\":\"" + e.GitLabURL + "/u\",\"name\":\"\xff\"}"} {
		for _, rc := range []struct{ method, path string }{{"POST", ""}, {"PATCH", "/" + pending.ID}} {
			r := apptest.Do(t, http.DefaultClient, igBearer(e, rc.method, igAPIPath(e, rc.path), "application/json", body))
			igWantStatus(t, r, http.StatusBadRequest)
			if got := igDecode[igError](t, r).Error.Code; got != "malformed" {
				t.Errorf("%s %q: code %q, want malformed", rc.method, body, got)
			}
		}
	}
	if got := igStored(t, e); len(got) != 1 || got[0].Name != "Keep me" || got[0].Version != 1 {
		t.Errorf("a malformed body changed something: %+v", got)
	}
	// Whitespace before the object and a charset parameter are fine.
	r := apptest.Do(t, http.DefaultClient, igBearer(e, "PATCH", igAPIPath(e, "/"+pending.ID), "application/json; charset=utf-8", "\n {\"name\":\"Renamed\"}"))
	igWantStatus(t, r, http.StatusOK)
}

// TestIntegrationsAPIStableKeys: responses have the same keys whatever the status;
// client_id and secret_updated_at are null until credentials are saved (they used to be
// left out of a pending integration), then a string and an RFC 3339 time.
func TestIntegrationsAPIStableKeys(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	keys := func(r apptest.Response) map[string]any {
		t.Helper()
		return igDecode[map[string]any](t, r)
	}
	r := e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{"platform": "gitlab", "url": e.GitLabURL + "/pending"})
	igWantStatus(t, r, http.StatusCreated)
	got := keys(r)
	for _, k := range []string{"client_id", "secret_updated_at"} {
		if v, ok := got[k]; !ok || v != nil {
			t.Errorf("pending %s: %v (present %v), want null", k, v, ok)
		}
	}
	if got["client_secret_set"] != false {
		t.Errorf("pending client_secret_set %v", got["client_secret_set"])
	}

	active, creds := e.ActiveIntegration(t)
	r = e.API(t, http.MethodGet, igAPIPath(e, "/"+active.ID), nil)
	got = keys(r)
	if got["client_id"] != creds.ClientID || got["client_secret_set"] != true {
		t.Errorf("active: %s", r.Body)
	}
	if ts, _ := got["secret_updated_at"].(string); ts == "" {
		t.Errorf("active secret_updated_at: %v", got["secret_updated_at"])
	} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("secret_updated_at %q: %v", ts, err)
	}
	igNoSecretIn(t, r, creds.Secret)
}

// TestIntegrationsAPIURLEdit: PATCH url moves a pending integration (alone, or with its
// credentials, which are then checked on the new server) and frees the old URL; a URL
// in use is 409, a stale version 409, the current URL no change; an active integration
// answers 422 on url, saying how to move.
func TestIntegrationsAPIURLEdit(t *testing.T) { onBothStores(t, testIntegrationsAPIURLEdit) }

func testIntegrationsAPIURLEdit(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	typo := e.GitLabURL + "/typo"
	r := e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{"platform": "gitlab", "url": typo})
	igWantStatus(t, r, http.StatusCreated)
	a := igDecode[igIntegration](t, r)

	// The fake GitLab has no server under /typo: the credentials pass only where the new URL points.
	creds := igNewApp(e, a.CallbackURL)
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+a.ID), map[string]string{"url": e.GitLabURL + "/", "client_id": creds.ClientID, "client_secret": creds.Secret})
	igWantStatus(t, r, http.StatusOK)
	got := igDecode[igIntegration](t, r)
	if got.URL != e.GitLabURL || got.Status != "active" || got.CallbackURL != a.CallbackURL || got.SetupURL != e.GitLabURL+"/-/user_settings/applications" {
		t.Errorf("moved and saved: %s", r.Body)
	}
	igNoSecretIn(t, r, creds.Secret)

	// The old URL is free again; the new one is taken.
	r = e.API(t, http.MethodPost, igAPIPath(e, ""), map[string]string{"platform": "gitlab", "url": typo})
	igWantStatus(t, r, http.StatusCreated)
	b := igDecode[igIntegration](t, r)
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+b.ID), map[string]string{"url": e.GitLabURL})
	igWantStatus(t, r, http.StatusConflict)
	if f := igDecode[igError](t, r).Error.Fields; f["url"] != service.DuplicateURLMessage {
		t.Errorf("duplicate URL fields %v", f)
	}

	// A pending move with If-Match: 200, version 2, same callback; then stale; then a no-op.
	req := igBearer(e, http.MethodPatch, igAPIPath(e, "/"+b.ID), "application/json", `{"url":"`+e.GitLabURL+`/b"}`)
	req.Header.Set("If-Match", `"1"`)
	r = apptest.Do(t, http.DefaultClient, req)
	igWantStatus(t, r, http.StatusOK)
	if got := igDecode[igIntegration](t, r); got.URL != e.GitLabURL+"/b" || got.Version != 2 || got.CallbackURL != b.CallbackURL || got.Status != "pending" {
		t.Errorf("moved: %s", r.Body)
	}
	igWantStatus(t, e.API(t, http.MethodPatch, igAPIPath(e, "/"+b.ID), map[string]any{"url": e.GitLabURL + "/c", "version": 1}), http.StatusConflict)
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+b.ID), map[string]any{"url": e.GitLabURL + "/b/"})
	igWantStatus(t, r, http.StatusOK)
	if got := igDecode[igIntegration](t, r); got.Version != 2 {
		t.Errorf("the current URL changed something: %s", r.Body)
	}

	// Active: 422 on url, with how to move; its own URL is fine.
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+a.ID), map[string]string{"url": e.GitLabURL + "/c"})
	igWantStatus(t, r, http.StatusUnprocessableEntity)
	if msg := igDecode[igError](t, r).Error.Fields["url"]; !strings.Contains(msg, "only be changed while the integration is pending") ||
		!strings.Contains(msg, "add an integration for the new URL, then delete this one") {
		t.Errorf("active url message %q", msg)
	}
	igWantStatus(t, e.API(t, http.MethodPatch, igAPIPath(e, "/"+a.ID), map[string]string{"url": e.GitLabURL, "name": "Kept"}), http.StatusOK)
	if stored := igStored(t, e); len(stored) != 2 {
		t.Errorf("stored %+v", stored)
	}

	// The audit trail names old and new URL.
	for id, want := range map[string]string{
		a.ID: "changed url (" + typo + " → " + e.GitLabURL + ")",
		b.ID: "changed url (" + typo + " → " + e.GitLabURL + "/b)",
	} {
		if r := e.API(t, http.MethodGet, igAPIPath(e, "/"+id+"/audit"), nil); !strings.Contains(r.Body, want) {
			t.Errorf("audit of %s lacks %q: %s", id, want, r.Body)
		}
	}
}
