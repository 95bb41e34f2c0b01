package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// signInToGitLab fills the fake GitLab's sign-in form when the tab shows it.
func signInToGitLab(t *testing.T, p *Page, user string) {
	t.Helper()
	if !strings.Contains(p.Location(), "/users/sign_in") {
		t.Fatalf("expected GitLab's sign-in page, tab is at %s", p.Location())
	}
	p.Fill(Control("Username or primary email"), user)
	p.Fill(Control("Password"), "password")
	p.ClickAndWait("GitLab: sign in as "+user, Button("Sign in"))
}

// createGitLabApp registers an OAuth application on the fake GitLab's applications page
// (user settings or admin area) the tab shows or leads to through sign-in, as a person
// does: name, redirect URI, scopes api and read_user, Confidential as asked (the setup
// page says to keep it ticked), Trusted off. It returns the Application ID and the Secret
// read from the result page.
func createGitLabApp(t *testing.T, p *Page, user, name, redirectURI string, confidential bool) (appID, secret string) {
	t.Helper()
	if strings.Contains(p.Location(), "/users/sign_in") {
		signInToGitLab(t, p, user)
	}
	if !p.Exists(ByID("new_doorkeeper_application")) {
		t.Fatalf("expected GitLab's new-application form, tab is at %s:\n%s", p.Location(), p.BodyText())
	}
	p.Fill(Control("Name"), name)
	p.Fill(Control("Redirect URI"), redirectURI)
	p.SetChecked(Control("api"), true)
	p.SetChecked(Control("read_user"), true)
	if !p.Checked(Control("Confidential")) {
		t.Errorf("GitLab's form should start with Confidential checked")
	}
	p.SetChecked(Control("Confidential"), confidential)
	if p.Exists(Control("Trusted")) {
		p.SetChecked(Control("Trusted"), false)
	}
	p.ClickAndWait("GitLab: save application", Button("Save application"))
	if p.Exists(ByCSS(".flash-alert")) {
		t.Fatalf("GitLab refused the application: %s", p.Text(ByCSS(".flash-alert")))
	}
	appID, secret = p.Text(ByID("application_id")), p.Text(ByID("secret"))
	if appID == "" || secret == "" || strings.Contains(secret, " ") {
		t.Fatalf("GitLab's application page shows id %q, secret %q", appID, secret)
	}
	if got := p.Text(ByID("callback_url")); got != redirectURI {
		t.Errorf("GitLab stored callback %q, want %q", got, redirectURI)
	}
	if got := p.Text(ByID("scopes")); got != "api read_user" {
		t.Errorf("GitLab stored scopes %q, want %q", got, "api read_user")
	}
	if got, want := p.Text(ByID("confidential")), map[bool]string{true: "Y", false: "N"}[confidential]; got != want {
		t.Errorf("GitLab stored Confidential %q, want %q", got, want)
	}
	return appID, secret
}

// runNavigate loads url without the page checks (for tests of the checks themselves).
func runNavigate(ctx context.Context, url string) (*network.Response, error) {
	return chromedp.Run(ctx, chromedp.NavigateResponse(url))
}

// waitErrors waits up to 3 s for at least n console errors and returns those seen.
func waitErrors(p *Page, n int) []string {
	var all []string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		all = append(all, p.ConsoleErrors()...)
		if len(all) >= n {
			break
		}
	}
	return all
}
