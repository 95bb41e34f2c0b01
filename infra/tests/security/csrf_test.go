package security_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
)

// TestCSRFOnEveryForm posts every state-changing form of the app (create, save, delete,
// the Server URL, logout, …) with a missing, wrong, foreign (another admin session, a member session,
// another org's admin) and query-string token: each is a 403 and nothing changes, which
// the API then confirms. The right token works, so the 403s are the CSRF check's.
func TestCSRFOnEveryForm(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, aws bool) {
		e := apptest.Start(t, apptest.Options{AWS: aws})
		betaToken := secondOrg(t, e, "beta")
		active, creds := e.ActiveIntegration(t)
		_ = creds
		pendingResp := e.API(t, http.MethodPost, "/api/v1/orgs/"+e.Org+"/integrations", map[string]string{"platform": "gitlab", "url": e.GitLabURL + "/pending"})
		var pending struct{ ID string }
		if json.Unmarshal([]byte(pendingResp.Body), &pending) != nil || pending.ID == "" {
			t.Fatalf("pending integration: %d %s", pendingResp.StatusCode, clip(pendingResp.Body))
		}
		admin := e.AdminClient(t)
		list := listPath(e.Org)

		// Tokens an attacker could get hold of: none, garbage, one of another admin
		// session of the same org, one of another org's admin, one of a member session.
		otherAdmin := e.AdminClient(t)
		foreign := apptest.FormValue(e.Get(t, otherAdmin, list+"/new").Body, "csrf_token")
		betaAdmin := adminClientOf(t, e, "beta")
		betaTok := apptest.FormValue(e.Get(t, betaAdmin, listPath("beta")+"/new").Body, "csrf_token")
		member := e.Client(t)
		if r := e.SignIn(t, member, active.LoginURL, "alice"); r.StatusCode != http.StatusOK {
			t.Fatalf("member sign-in: %d %s", r.StatusCode, clip(r.Body))
		}
		memberTok := apptest.FormValue(e.Get(t, member, "/orgs/"+e.Org).Body, "csrf_token")
		own := apptest.FormValue(e.Get(t, admin, list+"/new").Body, "csrf_token")
		if foreign == "" || betaTok == "" || memberTok == "" || own == "" {
			t.Fatalf("no csrf_token on a page (foreign %t, beta %t, member %t, own %t)", foreign != "", betaTok != "", memberTok != "", own != "")
		}
		if own == foreign || own == memberTok || own == betaTok {
			t.Fatal("CSRF tokens are not bound to the session")
		}
		bad := map[string]string{
			"missing": "", "garbage": "x", "other admin session": foreign, "other org admin": betaTok,
			"member session": memberTok, "admin session": own,
			"truncated": own[:len(own)-1], "case-flipped": strings.ToUpper(own), "doubled": own + own,
		}

		before := integrations(t, e, e.Org, e.AdminToken)
		rule := e.API(t, http.MethodPost, "/api/v1/orgs/"+e.Org+"/admins", map[string]string{"integration_id": active.ID, "username": "carol"})
		var created struct{ ID string }
		var listed struct{ Members []struct{ ID string } }
		if json.Unmarshal([]byte(rule.Body), &created) != nil || created.ID == "" {
			t.Fatalf("admin rule: %d %s", rule.StatusCode, clip(rule.Body))
		}
		members := e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/members", nil)
		if json.Unmarshal([]byte(members.Body), &listed) != nil || len(listed.Members) != 1 {
			t.Fatalf("members: %d %s", members.StatusCode, clip(members.Body))
		}
		ruleID, memberID := created.ID, listed.Members[0].ID
		rulesBefore := e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/admins", nil).Body
		type form struct {
			name, path string
			c          *http.Client
			right      string
			fields     map[string]string
		}
		forms := []form{
			{"create", list, admin, own, map[string]string{"platform": "gitlab", "url": e.GitLabURL + "/csrf", "name": "CSRF"}},
			{"save", list + "/" + active.ID, admin, own, map[string]string{"name": "Hijacked", "client_id": creds.ClientID, "client_secret": creds.Secret}},
			{"delete", list + "/" + active.ID + "/delete", admin, own, map[string]string{}},
			{"logout", "/orgs/" + e.Org + "/logout", member, memberTok, map[string]string{}},
			{"add admin rule", "/orgs/" + e.Org + "/settings/admins", admin, own, map[string]string{"integration_id": active.ID, "kind": "username", "username": "bob"}},
			{"remove admin rule", "/orgs/" + e.Org + "/settings/admins/" + ruleID + "/delete", admin, own, map[string]string{}},
			{"sign a member out everywhere", "/orgs/" + e.Org + "/settings/members/" + memberID + "/sign-out", admin, own, map[string]string{}},
			{"test sign-in", list + "/" + active.ID + "/test", admin, own, map[string]string{}},
			{"change the Server URL", list + "/" + pending.ID + "/url", admin, own, map[string]string{"url": e.GitLabURL + "/moved"}},
		}
		for _, f := range forms {
			for what, tok := range bad {
				if tok == f.right {
					continue
				}
				fields := map[string]string{}
				for k, v := range f.fields {
					fields[k] = v
				}
				if tok != "" {
					fields["csrf_token"] = tok
				}
				r := e.PostForm(t, f.c, f.path, fields)
				if r.StatusCode != http.StatusForbidden {
					t.Errorf("%s with %s token: status %d, want 403", f.name, what, r.StatusCode)
				}
			}
			// The right token in the query string instead of the body does not count.
			r := e.PostForm(t, f.c, f.path+"?csrf_token="+url.QueryEscape(f.right), f.fields)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("%s with the token in the query string: status %d, want 403", f.name, r.StatusCode)
			}
			// A multipart body carrying the right token is not a way around the check.
			req, _ := http.NewRequest(http.MethodPost, e.URL+f.path, strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"+f.right+"\r\n--b--\r\n"))
			req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
			if r := apptest.Do(t, f.c, req); r.StatusCode != http.StatusUnsupportedMediaType && r.StatusCode != http.StatusForbidden {
				t.Errorf("%s as multipart: status %d, want 415 or 403", f.name, r.StatusCode)
			}
			// No session at all (a cross-site POST from a browser without cookies).
			if r := e.PostForm(t, e.Client(t), f.path, map[string]string{"csrf_token": f.right}); r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusForbidden {
				t.Errorf("%s without a session: status %d, want 401 or 403", f.name, r.StatusCode)
			}
		}

		// Nothing changed: same integrations, names, versions; the member is still in.
		after := integrations(t, e, e.Org, e.AdminToken)
		if len(after) != len(before) {
			t.Fatalf("refused forms changed the integrations: %d before, %d after", len(before), len(after))
		}
		for i := range after {
			if after[i] != before[i] {
				t.Errorf("refused forms changed an integration:\nbefore %+v\nafter  %+v", before[i], after[i])
			}
		}
		if r := whoami(t, e, member, e.Org); r.StatusCode != http.StatusOK {
			t.Errorf("a refused logout or sign-out everywhere ended the session: whoami %d", r.StatusCode)
		}
		if got := e.API(t, http.MethodGet, "/api/v1/orgs/"+e.Org+"/admins", nil).Body; got != rulesBefore {
			t.Errorf("refused forms changed the admin rules:\nbefore %s\nafter  %s", rulesBefore, got)
		}
		if got := integrations(t, e, "beta", betaToken); len(got) != 0 {
			t.Errorf("org beta got integrations: %+v", got)
		}

		// The right tokens do work (the 403s above were the CSRF check).
		r := e.PostForm(t, admin, list+"/"+active.ID, map[string]string{"csrf_token": own, "name": "Renamed", "version": "0"})
		if r.StatusCode != http.StatusSeeOther {
			t.Errorf("save with the right token: %d %s", r.StatusCode, clip(r.Body))
		}
		r = e.PostForm(t, admin, list+"/"+pending.ID+"/url", map[string]string{"csrf_token": own, "url": e.GitLabURL + "/moved"})
		if r.StatusCode != http.StatusSeeOther {
			t.Errorf("Server URL with the right token: %d %s", r.StatusCode, clip(r.Body))
		}
		r = e.PostForm(t, member, "/orgs/"+e.Org+"/logout", map[string]string{"csrf_token": memberTok})
		if r.StatusCode != http.StatusSeeOther {
			t.Errorf("logout with the right token: %d", r.StatusCode)
		}
		if r := whoami(t, e, member, e.Org); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("after logout whoami is %d, want 401", r.StatusCode)
		}
		// A CSRF token of a session that ended is worth nothing in a new session.
		again := e.Client(t)
		e.SignIn(t, again, active.LoginURL, "alice")
		if r := e.PostForm(t, again, "/orgs/"+e.Org+"/logout", map[string]string{"csrf_token": memberTok}); r.StatusCode != http.StatusForbidden {
			t.Errorf("logout with an old session's token: %d, want 403", r.StatusCode)
		}
		r = e.PostForm(t, admin, list+"/"+active.ID+"/delete", map[string]string{"csrf_token": own})
		if r.StatusCode != http.StatusSeeOther || len(integrations(t, e, e.Org, e.AdminToken)) != len(before)-1 {
			t.Errorf("delete with the right token: %d", r.StatusCode)
		}
	})
}
