package main

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/testkit/syncbuf"

	"github.com/forgelink/forgelink/shared/mototest"
)

// TestRunServesEverything starts the local runner the way `make run` does (on free ports)
// and checks what the README promises: health, the fake GitLab's sign-in page, the org,
// a working admin token and sign-in link, and a graceful stop.
func TestRunServesEverything(t *testing.T) {
	testRun(t, map[string]string{})
}

// TestRunOnAWS is the same with FORGELINK_STORE=aws against moto, configured only through
// the SDK's standard variables; the runner creates the table.
func TestRunOnAWS(t *testing.T) {
	moto := mototest.Start(t)
	t.Setenv("AWS_ENDPOINT_URL", moto.URL)
	t.Setenv("AWS_REGION", mototest.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	testRun(t, map[string]string{"FORGELINK_STORE": "aws", "FORGELINK_TABLE": "forgelink-localtest"})
	tables, err := moto.ListTables(context.Background())
	if err != nil || !slices.Contains(tables, "forgelink-localtest") {
		t.Errorf("tables %v (%v): the runner did not create forgelink-localtest", tables, err)
	}
}

// TestRunSeveralOrgs: FORGELINK_ORG and FORGELINK_ADMIN_TOKEN take comma-separated lists
// in the same order; each org gets its token (random where none is given) and a setup link.
func TestRunSeveralOrgs(t *testing.T) {
	const acmeToken = "acme-token-0123456789abcdefXYZ"
	st := testRun(t, map[string]string{"FORGELINK_ORG": "acme, beta", "FORGELINK_ADMIN_TOKEN": acmeToken})
	if len(st.Orgs) != 2 || st.Orgs[0].Org != "acme" || st.Orgs[1].Org != "beta" || st.Orgs[0].AdminToken != acmeToken {
		t.Fatalf("orgs: %+v", st.Orgs)
	}
	if st.Orgs[1].AdminToken == "" || st.Orgs[1].AdminToken == acmeToken || !strings.Contains(st.Orgs[1].SignInLink, "/orgs/beta/admin/sign-in?token=") {
		t.Errorf("beta: %+v", st.Orgs[1])
	}
}

func testRun(t *testing.T, extra map[string]string) Started {
	env := map[string]string{
		"FORGELINK_ADDR":        "127.0.0.1:0",
		"FORGELINK_FAKE_GITLAB": "127.0.0.1:0",
		"FORGELINK_LOG_LEVEL":   "error",
	}
	maps.Copy(env, extra)
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Started, 1)
	done := make(chan error, 1)
	var out syncbuf.Buffer
	go func() { done <- run(ctx, lookup, &out, io.Discard, ready) }()

	var st Started
	select {
	case st = <-ready:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("runner not ready after 30 s")
	}

	expect(t, st.BaseURL+"/healthz", "", http.StatusOK, "ok")
	expect(t, st.GitLabURL+"/users/sign_in", "", http.StatusOK, `name="user[login]"`)
	expect(t, st.BaseURL+"/api/v1/orgs/acme/integrations", st.AdminToken, http.StatusOK, `"integrations"`)
	expect(t, st.BaseURL+"/api/v1/orgs/acme/integrations", "", http.StatusUnauthorized, `"unauthorized"`)

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The setup link shows a Continue button; only its POST signs in.
	resp, err := client.Get(st.SignInLink)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("setup link page: %d", resp.StatusCode)
	}
	token := st.SignInLink[strings.Index(st.SignInLink, "token=")+len("token="):]
	resp, err = client.PostForm(st.BaseURL+"/orgs/acme/admin/sign-in", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/orgs/acme/settings/integrations" {
		t.Errorf("admin sign-in link: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	banner := out.String()
	for _, want := range []string{st.BaseURL, st.GitLabURL, st.AdminToken, st.SignInLink, st.RootToken, "store: " + orDefault(env["FORGELINK_STORE"], "memory")} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("runner did not stop")
	}
	if _, err := http.Get(st.BaseURL + "/healthz"); err == nil {
		t.Error("app still answers after shutdown")
	}
	return st
}

func expect(t *testing.T, url, token string, status int, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || !strings.Contains(string(b), body) {
		t.Errorf("GET %s: %d %q; want %d containing %q", url, resp.StatusCode, b, status, body)
	}
}

// TestServerTimeouts: the local runner's server bounds every phase of a connection, so a
// slow or silent client cannot hold it open (slowloris).
func TestServerTimeouts(t *testing.T) {
	s := newHTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 {
		t.Errorf("timeouts: header %v, read %v, write %v, idle %v", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
	}
}
