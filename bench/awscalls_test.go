package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/infra/testkit/awsrec"
	"github.com/forgelink/forgelink/infra/testkit/tier"
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/apptest"
)

// awsCalls classifies a phase's operations.
type awsCalls struct {
	Ops                 []string // operation names, "PutItem"
	DDBReads, DDBWrites int
	SMReads, SMWrites   int
	Other               int
}

var writeOps = map[string]bool{
	"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true,
	"TransactWriteItems": true, "CreateTable": true, "UpdateTable": true, "UpdateTimeToLive": true,
	"CreateSecret": true, "PutSecretValue": true, "UpdateSecret": true, "DeleteSecret": true,
	"TagResource": true, "UntagResource": true, "RestoreSecret": true, "RotateSecret": true,
}

func classify(calls []awsrec.Call) awsCalls {
	c := awsCalls{}
	for _, call := range calls {
		c.Ops = append(c.Ops, call.Op)
		w := writeOps[call.Op]
		switch {
		case call.Service == "dynamodb" && w:
			c.DDBWrites++
		case call.Service == "dynamodb":
			c.DDBReads++
		case call.Service == "secretsmanager" && w:
			c.SMWrites++
		case call.Service == "secretsmanager":
			c.SMReads++
		default:
			c.Other++
		}
	}
	return c
}

func (c awsCalls) Writes() int { return c.DDBWrites + c.SMWrites }

// opsSummary is "GetItem, PutItem×2" without service prefixes.
func (c awsCalls) opsSummary() string {
	counts := map[string]int{}
	var order []string
	for _, name := range c.Ops {
		if counts[name] == 0 {
			order = append(order, name)
		}
		counts[name]++
	}
	var parts []string
	for _, n := range order {
		if counts[n] > 1 {
			parts = append(parts, fmt.Sprintf("%s×%d", n, counts[n]))
		} else {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}

// awsPhases are the counted phases of one sign-in.
var awsPhases = []string{"start", "callback", "home"}

// awsReport is what measureAWSCalls found.
type awsReport struct {
	Init   map[string]awsCalls            // per function container: login, callback, session
	Passes []string                       // "cold", "warm", "warm, same browser"
	Calls  map[string]map[string]awsCalls // pass → phase → calls
}

// measureAWSCalls runs forgelink on DynamoDB + Secrets Manager in moto. apptest's
// application (the integrations function, so to speak) sets up an active integration;
// then, as under Lambda, the login, callback and session functions each get their own
// fresh container (its own constructor, app.Login and so on, over the same table, with the cookie key read from Secrets
// Manager as template.yaml configures it), whose AWS calls are counted per phase: the
// first sign-in after start (cold), a second one in a new browser (warm), and a third in
// the second's browser (warm, with session rotation).
func measureAWSCalls(t testing.TB) awsReport {
	t.Helper()
	ctx := context.Background()
	env := apptest.Start(t, apptest.Options{AWS: true, GitLab: fakegitlab.Options{AutoApprove: "alice"}})
	in, _ := env.ActiveIntegration(t)
	cfg := env.App.Config
	cfg.CookieKey, cfg.CookieKeySecret, cfg.LogLevel = "", awsrec.StoreCookieKey(t, env), "info"

	rep := awsReport{Init: map[string]awsCalls{}, Calls: map[string]map[string]awsCalls{}}
	containers := awsrec.Containers(t, env, cfg, map[string]func(app.Deps) (http.Handler, error){
		"login": app.Login, "callback": app.Callback, "session": app.Session})
	for fn, c := range containers {
		rep.Init[fn] = classify(c.Calls.Take())
	}
	phaseFn := map[string]string{"start": "login", "callback": "callback", "home": "session"}

	loginURL := in.LoginURL
	if strings.HasPrefix(loginURL, "/") {
		loginURL = env.URL + loginURL
	}
	glClient := env.GitLab.Client()
	var jar *cookiejar.Jar
	for i, pass := range []string{"cold", "warm", "warm, same browser"} {
		if i < 2 {
			jar, _ = cookiejar.New(nil) // a new browser
		}
		glClient.Jar, _ = cookiejar.New(nil)
		rep.Passes = append(rep.Passes, pass)
		rep.Calls[pass] = map[string]awsCalls{}
		for _, c := range containers {
			c.Calls.Take()
		}
		serve := func(phase, u string, want int) *http.Response {
			fn := phaseFn[phase]
			req := httptest.NewRequest(startMethod(u), u, nil)
			pu, _ := url.Parse(u)
			for _, c := range jar.Cookies(pu) {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			containers[fn].Handler.ServeHTTP(rec, req)
			resp := rec.Result()
			jar.SetCookies(pu, resp.Cookies())
			rep.Calls[pass][phase] = classify(containers[fn].Calls.Take())
			if resp.StatusCode != want {
				t.Fatalf("%s %s (%s): status %d, want %d: %s", pass, phase, u, resp.StatusCode, want, tail(rec.Body.String(), 400))
			}
			return resp
		}
		resp := serve("start", loginURL, http.StatusFound)
		// The browser at GitLab: auto-approve answers with the redirect to the callback.
		glResp, _, err := get(ctx, glClient, resp.Header.Get("Location"))
		if err != nil || glResp.StatusCode != http.StatusFound {
			t.Fatalf("%s: GitLab authorize: %v %v", pass, err, glResp)
		}
		resp = serve("callback", glResp.Header.Get("Location"), http.StatusSeeOther)
		home, _ := url.Parse(loginURL)
		home, _ = home.Parse(resp.Header.Get("Location"))
		serve("home", home.String(), http.StatusOK)
	}
	return rep
}

// TestAWSCalls is the AWS-call count on its own (moto required; skipped without it).
func TestAWSCalls(t *testing.T) {
	tier.Slow(t, "starts moto")
	rep := measureAWSCalls(t)
	t.Log("\n" + awsTable(rep))
	checkAWSTargets(t, rep)
}

// checkAWSTargets enforces DESIGN.md's promises: nothing written at login start, at most
// three writes at the callback, no Secrets Manager call when warm.
func checkAWSTargets(t testing.TB, rep awsReport) {
	t.Helper()
	for _, pass := range rep.Passes {
		if w := rep.Calls[pass]["start"].Writes(); w != 0 {
			t.Errorf("%s login start: %d AWS writes, want 0 (%s)", pass, w, rep.Calls[pass]["start"].opsSummary())
		}
		if pass != "cold" {
			for _, ph := range awsPhases {
				if c := rep.Calls[pass][ph]; c.SMReads+c.SMWrites != 0 {
					t.Errorf("%s %s: %d Secrets Manager calls, want 0 (%s)", pass, ph, c.SMReads+c.SMWrites, c.opsSummary())
				}
			}
		}
	}
	if w := rep.Calls["cold"]["callback"].Writes(); w > 3 {
		t.Errorf("cold callback: %d AWS writes, want ≤ 3 (%s)", w, rep.Calls["cold"]["callback"].opsSummary())
	}
	if w := rep.Calls["warm"]["callback"].Writes(); w > 3 {
		t.Errorf("warm callback: %d AWS writes, want ≤ 3 (%s)", w, rep.Calls["warm"]["callback"].opsSummary())
	}
}

// awsTable renders the counts as a Markdown table.
func awsTable(rep awsReport) string {
	var b strings.Builder
	b.WriteString("| pass | phase | DynamoDB reads | DynamoDB writes | Secrets Manager reads | Secrets Manager writes | operations |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|---|\n")
	fns := slices.Sorted(func(yield func(string) bool) {
		for k := range rep.Init {
			if !yield(k) {
				return
			}
		}
	})
	for _, fn := range fns {
		c := rep.Init[fn]
		fmt.Fprintf(&b, "| container init | %s function | %d | %d | %d | %d | %s |\n", fn, c.DDBReads, c.DDBWrites, c.SMReads, c.SMWrites, c.opsSummary())
	}
	for _, pass := range rep.Passes {
		for _, ph := range awsPhases {
			c := rep.Calls[pass][ph]
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %s |\n", pass, ph, c.DDBReads, c.DDBWrites, c.SMReads, c.SMWrites, c.opsSummary())
		}
	}
	return b.String()
}
