package security_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
)

// TestCrossOrgIsolation: nothing of org acme is reachable with org beta's token, admin
// session, member session or paths, and the other way round.
func TestCrossOrgIsolation(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, aws bool) {
		e := apptest.Start(t, apptest.Options{AWS: aws})
		betaToken := secondOrg(t, e, "beta")
		a, _ := e.ActiveIntegration(t)
		b, _ := activeIn(t, e, "beta", betaToken, "Beta GitLab")
		beforeA := integrations(t, e, e.Org, e.AdminToken)
		beforeB := integrations(t, e, "beta", betaToken)

		// Tokens of one org on the other org's API: 403, error shape, nothing changed.
		calls := []struct {
			token, org, id string
		}{{betaToken, e.Org, a.ID}, {e.AdminToken, "beta", b.ID}}
		for _, c := range calls {
			base := "/api/v1/orgs/" + c.org + "/integrations"
			for _, req := range []struct {
				method, path string
				body         any
			}{
				{http.MethodGet, base, nil},
				{http.MethodPost, base, map[string]string{"platform": "gitlab", "url": e.GitLabURL + "/x"}},
				{http.MethodGet, base + "/" + c.id, nil},
				{http.MethodPatch, base + "/" + c.id, map[string]string{"name": "Owned"}},
				{http.MethodDelete, base + "/" + c.id, nil},
				{http.MethodGet, base + "/" + c.id + "/audit", nil},
			} {
				r := e.APIWithToken(t, c.token, req.method, req.path, req.body)
				wantAPIError(t, r, http.StatusForbidden)
			}
		}
		// A token on an org that does not exist is refused the same way.
		wantAPIError(t, e.API(t, http.MethodGet, "/api/v1/orgs/nope/integrations", nil), http.StatusForbidden)

		// Org acme's integration id under org beta's paths, with beta's own credentials:
		// 404 everywhere (never acme's data, never a change).
		betaBase := "/api/v1/orgs/beta/integrations/" + a.ID
		for _, m := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
			var body any
			if m == http.MethodPatch {
				body = map[string]string{"name": "Owned"}
			}
			wantAPIError(t, e.APIWithToken(t, betaToken, m, betaBase, body), http.StatusNotFound)
		}
		wantAPIError(t, e.APIWithToken(t, betaToken, http.MethodGet, betaBase+"/audit", nil), http.StatusNotFound)
		betaAdmin := adminClientOf(t, e, "beta")
		page := e.Get(t, betaAdmin, listPath("beta")+"/new")
		tok := apptest.FormValue(page.Body, "csrf_token")
		if r := e.Get(t, betaAdmin, listPath("beta")+"/"+a.ID); r.StatusCode != http.StatusNotFound {
			t.Errorf("beta admin opened acme's integration under beta: %d", r.StatusCode)
		}
		if r := e.PostForm(t, betaAdmin, listPath("beta")+"/"+a.ID, map[string]string{"csrf_token": tok, "name": "Owned"}); r.StatusCode != http.StatusNotFound {
			t.Errorf("beta admin saved acme's integration under beta: %d", r.StatusCode)
		}
		if r := e.PostForm(t, betaAdmin, listPath("beta")+"/"+a.ID+"/delete", map[string]string{"csrf_token": tok}); r.StatusCode != http.StatusNotFound {
			t.Errorf("beta admin deleted acme's integration under beta: %d", r.StatusCode)
		}
		if r := e.PostForm(t, betaAdmin, listPath("beta")+"/"+a.ID+"/url", map[string]string{"csrf_token": tok, "url": e.GitLabURL + "/y"}); r.StatusCode != http.StatusNotFound {
			t.Errorf("beta admin changed the URL of acme's integration under beta: %d", r.StatusCode)
		}
		if r := e.Get(t, e.Client(t), "/orgs/beta/login/"+a.ID); r.StatusCode != http.StatusNotFound {
			t.Errorf("acme's integration starts a login under beta: %d", r.StatusCode)
		}
		// Beta's admin session on acme's pages and forms: refused.
		for _, p := range []string{listPath(e.Org), listPath(e.Org) + "/new", listPath(e.Org) + "/" + a.ID} {
			if r := e.Get(t, betaAdmin, p); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusUnauthorized {
				t.Errorf("beta admin GET %s: %d", p, r.StatusCode)
			}
		}
		for _, p := range []string{listPath(e.Org), listPath(e.Org) + "/" + a.ID, listPath(e.Org) + "/" + a.ID + "/delete", listPath(e.Org) + "/" + a.ID + "/url"} {
			if r := e.PostForm(t, betaAdmin, p, map[string]string{"csrf_token": tok, "name": "Owned", "platform": "gitlab", "url": e.GitLabURL + "/y"}); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusUnauthorized {
				t.Errorf("beta admin POST %s: %d", p, r.StatusCode)
			}
		}

		// A member session of acme is worth nothing at beta.
		member := e.Client(t)
		if r := e.SignIn(t, member, a.LoginURL, "alice"); !strings.Contains(r.Body, "Signed in as") {
			t.Fatalf("member sign-in: %d %s", r.StatusCode, clip(r.Body))
		}
		if r := whoami(t, e, member, "beta"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("acme member session on beta's whoami: %d %s", r.StatusCode, r.Body)
		} else {
			wantAPIError(t, r, http.StatusUnauthorized)
		}

		// Admin rules and members: acme's ids are nothing under beta, whatever beta holds.
		rule := e.API(t, http.MethodPost, "/api/v1/orgs/"+e.Org+"/admins", map[string]string{"integration_id": a.ID, "username": "bob"})
		var created struct{ ID string }
		var listed struct{ Members []struct{ ID string } }
		if json.Unmarshal([]byte(rule.Body), &created) != nil || created.ID == "" {
			t.Fatalf("admin rule: %d %s", rule.StatusCode, clip(rule.Body))
		}
		if json.Unmarshal([]byte(e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/members", nil).Body), &listed) != nil || len(listed.Members) == 0 {
			t.Fatal("no acme member listed")
		}
		acmeMember := listed.Members[0].ID
		wantAPIError(t, e.APIWithToken(t, betaToken, http.MethodDelete, "/api/v1/orgs/beta/admins/"+created.ID, nil), http.StatusNotFound)
		wantAPIError(t, e.APIWithToken(t, betaToken, http.MethodDelete, "/api/v1/orgs/beta/members/"+acmeMember+"/sessions", nil), http.StatusNotFound)
		wantAPIError(t, e.APIWithToken(t, betaToken, http.MethodPost, "/api/v1/orgs/beta/admins", map[string]string{"integration_id": a.ID, "username": "eve"}), http.StatusUnprocessableEntity)
		wantAPIError(t, e.APIWithToken(t, betaToken, http.MethodGet, "/api/v1/orgs/"+e.Org+"/members", nil), http.StatusForbidden)
		adminsTok := apptest.FormValue(e.Get(t, betaAdmin, "/orgs/beta/settings/admins").Body, "csrf_token")
		if r := e.PostForm(t, betaAdmin, "/orgs/beta/settings/admins/"+created.ID+"/delete", map[string]string{"csrf_token": adminsTok}); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusSeeOther {
			t.Errorf("beta admin removing acme's rule under beta: %d", r.StatusCode)
		}
		if r := e.PostForm(t, betaAdmin, "/orgs/beta/settings/members/"+acmeMember+"/sign-out", map[string]string{"csrf_token": adminsTok}); r.StatusCode != http.StatusNotFound {
			t.Errorf("beta admin signing out acme's member under beta: %d", r.StatusCode)
		}
		if r := whoami(t, e, member, e.Org); r.StatusCode != http.StatusOK {
			t.Errorf("beta's attempts ended acme's member session: %d", r.StatusCode)
		}
		if got := e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/admins", nil); !strings.Contains(got.Body, created.ID) {
			t.Errorf("acme's rule is gone after beta's attempts: %s", got.Body)
		}
		if r := e.Get(t, member, "/orgs/beta"); r.StatusCode != http.StatusOK || strings.Contains(r.Body, "Signed in as") {
			t.Errorf("acme member session on beta's home: %d, signed in %t", r.StatusCode, strings.Contains(r.Body, "Signed in as"))
		}
		if r := e.PostForm(t, member, "/orgs/beta/logout", map[string]string{"csrf_token": apptest.FormValue(e.Get(t, member, "/orgs/"+e.Org).Body, "csrf_token")}); r.StatusCode != http.StatusForbidden {
			t.Errorf("acme member logs out of beta: %d", r.StatusCode)
		}
		// A setup-link session is beta's admin, and says so; a member session is signed
		// in, but no admin.
		if r := whoami(t, e, betaAdmin, "beta"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `"role":"admin"`) {
			t.Errorf("setup-link session's whoami: %d %s", r.StatusCode, r.Body)
		}
		if r := e.Get(t, member, listPath(e.Org)); r.StatusCode != http.StatusForbidden {
			t.Errorf("member session opens the admin list: %d", r.StatusCode)
		}
		// The admin API ignores cookies: a browser with sessions but no token gets 401.
		req, _ := http.NewRequest(http.MethodGet, e.URL+apiPath(e, ""), nil)
		if r := apptest.Do(t, adminClientOf(t, e, e.Org), req); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("admin API with only an admin session cookie: %d", r.StatusCode)
		}

		afterA := integrations(t, e, e.Org, e.AdminToken)
		afterB := integrations(t, e, "beta", betaToken)
		if len(afterA) != len(beforeA) || len(afterB) != len(beforeB) || afterA[0] != beforeA[0] || afterB[0] != beforeB[0] {
			t.Errorf("cross-org requests changed something:\nacme %+v → %+v\nbeta %+v → %+v", beforeA, afterA, beforeB, afterB)
		}
	})
}
