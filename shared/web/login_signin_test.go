package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// TestLoginLinkErrors: unknown org or integration, pending and disabled integrations each
// get a clear page, no redirect to GitLab and no state cookie.
func TestLoginLinkErrors(t *testing.T) {
	e := startEnv(t, envOptions{})
	active := e.integration(t, e.Org, "Main GitLab", forgelink.StatusActive)
	pending := e.integration(t, e.Org, "New GitLab", forgelink.StatusPending)
	e.createOrg(t, "globex")
	disabled := e.integration(t, "globex", "Old GitLab", forgelink.StatusDisabled)

	cases := []struct {
		name, path string
		status     int
		want       []string
	}{
		{"unknown org", "/orgs/nope/login/" + active.ID, http.StatusNotFound, []string{"This login link is not valid"}},
		{"unknown integration", "/orgs/" + e.Org + "/login/nope", http.StatusNotFound, []string{"This login link is not valid"}},
		{"integration of another org", "/orgs/" + e.Org + "/login/" + disabled.ID, http.StatusNotFound, []string{"This login link is not valid"}},
		{"pending", "/orgs/" + e.Org + "/login/" + pending.ID, http.StatusConflict, []string{"Sign-in through New GitLab is not set up yet", "ask your organization admin"}},
		{"disabled", "/orgs/globex/login/" + disabled.ID, http.StatusConflict, []string{"Sign-in through Old GitLab is turned off"}},
		// The callback checks the integration in its path before the state, so these get
		// their own pages rather than "expired" (DESIGN.md: unknown or pending integration).
		{"pending callback", "/orgs/" + e.Org + "/login/" + pending.ID + "/callback?code=x&state=y", http.StatusConflict, []string{"Sign-in through New GitLab is not set up yet"}},
		{"disabled callback", "/orgs/globex/login/" + disabled.ID + "/callback?code=x&state=y", http.StatusConflict, []string{"turned off"}},
		{"unknown integration callback", "/orgs/" + e.Org + "/login/nope/callback?code=x&state=y", http.StatusNotFound, []string{"This login link is not valid"}},
		{"unknown org callback", "/orgs/nope/login/" + active.ID + "/callback?code=x&state=y", http.StatusNotFound, []string{"This login link is not valid"}},
		{"unknown integration, cancelled", "/orgs/" + e.Org + "/login/nope/callback?error=access_denied&state=y", http.StatusNotFound, []string{"This login link is not valid"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.Store.snapshot()
			r := e.get(t, e.browser(t), tc.path)
			wantStatus(t, r, tc.status)
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(r.Body), strings.ToLower(w)) {
					t.Errorf("page lacks %q:\n%s", w, snippet(r.Body))
				}
			}
			if sc := setCookie(r, stateCookie); sc != nil && sc.MaxAge >= 0 {
				t.Errorf("state cookie set on a failed start")
			}
			if _, writes, calls := e.Store.snapshot(); writes != 0 {
				t.Errorf("%d writes: %v", writes, calls)
			}
		})
	}
}

// TestCallbackIntegrationGone: an integration deleted or turned off between the start
// and the callback is refused at the callback, which reads the integration fresh.
func TestCallbackIntegrationGone(t *testing.T) {
	e := startEnv(t, envOptions{})
	in := e.integration(t, e.Org, "GL", forgelink.StatusActive)
	c := e.browser(t)
	toCallback := e.toCallback(t, c, service.LoginURL(e.URL, e.Org, in.ID), "alice")

	cur, err := e.Mem.GetIntegration(t.Context(), e.Org, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur.Status = forgelink.StatusDisabled
	if _, err := e.Mem.UpdateIntegration(t.Context(), cur); err != nil {
		t.Fatal(err)
	}
	r := e.follow(t, c, toCallback)
	wantStatus(t, r, http.StatusConflict)
	wantBody(t, r, "turned off")
	if setCookie(r, sessionCookie) != nil {
		t.Errorf("session cookie for a disabled integration")
	}
}
