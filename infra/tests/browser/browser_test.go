package browser_test

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/apptest"
)

// signInAsAdmin opens a fresh one-time admin sign-in link in p, as the operator hands it
// to the org admin, and checks that it lands on the Integrations list.
func signInAsAdmin(t *testing.T, env *apptest.Env, p *Page) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	token, err := env.App.Services.SetupLinks.CreateAdminLink(ctx, env.Org, "")
	if err != nil {
		t.Fatalf("create admin sign-in link: %v", err)
	}
	p.Open("admin: one-time setup link", env.URL+"/orgs/"+env.Org+"/admin/sign-in?token="+url.QueryEscape(token))
	p.ClickAndWait("admin: Continue", Button("Continue"))
	if got, want := p.Location(), env.URL+"/orgs/"+env.Org+"/settings/integrations"; got != want {
		t.Fatalf("admin sign-in link landed on %s, want %s", got, want)
	}
	if h1 := p.Text(ByCSS("h1")); h1 != "Integrations" {
		t.Fatalf("admin sign-in link landed on a page titled %q, want Integrations", h1)
	}
}

// TestAdminJourney is DESIGN.md's admin journey in the browser: sign-in link →
// Integrations → Add Integration → server URL → setup page → create the application on
// (fake) GitLab with the callback URL the page shows → Application ID and Secret back
// into forgelink → Save Integration → active, with its Login link; then a member signs in
// through that link.
func TestAdminJourney(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	b := NewBrowser(t)
	b.AllowClipboard(env.URL)
	admin := b.NewPage("admin", false)
	signInAsAdmin(t, env, admin)
	if !strings.Contains(admin.BodyText(), "No integrations yet.") {
		t.Errorf("a new org's list should say it has no integrations; it shows:\n%s", admin.BodyText())
	}

	// Step 1: platform and server URL.
	admin.ClickAndWait("admin: Add Integration", Button("Add Integration"))
	if h1 := admin.Text(ByCSS("h1")); h1 != "Add Integration" {
		t.Fatalf("Add Integration leads to a page titled %q", h1)
	}
	admin.Choose("GitLab Self-Managed")
	admin.Fill(Control("Server URL"), env.GitLabURL)
	admin.ClickAndWait("admin: submit the server URL", Button("Continue"))

	// Step 2: the setup page of the pending integration.
	setupURL := admin.Location()
	prefix := env.URL + "/orgs/" + env.Org + "/settings/integrations/"
	if !strings.HasPrefix(setupURL, prefix) || strings.Contains(strings.TrimPrefix(setupURL, prefix), "/") {
		t.Fatalf("submitting the URL led to %s, want the integration's page under %s", setupURL, prefix)
	}
	id := path.Base(setupURL)
	callbackURL := admin.Value(ByID("callback_url"))
	if want := env.URL + "/orgs/" + env.Org + "/login/" + id + "/callback"; callbackURL != want {
		t.Errorf("setup page shows callback URL %q, want %q", callbackURL, want)
	}
	if body := admin.BodyText(); !strings.Contains(body, "Pending") || !strings.Contains(body, "api") || !strings.Contains(body, "read_user") {
		t.Errorf("setup page should show the integration as Pending and name the scopes api and read_user:\n%s", body)
	}
	if v := admin.Value(Control("Application ID")); v != "" {
		t.Errorf("Application ID starts as %q, want empty", v)
	}
	if v := admin.Value(Control("Secret")); v != "" {
		t.Errorf("Secret starts as %q, want empty", v)
	}
	checkCopyButton(t, admin, "Copy the callback URL", callbackURL)

	// Leaving now loses nothing: the pending integration is in the list with a way back.
	admin.ClickAndWait("admin: back to the list while pending", Link("‹ Integrations"))
	row := Containing("tbody", hostOf(env.GitLabURL))
	if text := admin.Text(row); !strings.Contains(text, "Pending") {
		t.Errorf("the list shows the new integration as %q, want Pending", text)
	}
	admin.ClickAndWait("admin: Finish setup", Button("Finish setup"))
	if got := admin.Location(); got != setupURL {
		t.Fatalf("Finish setup leads to %s, want %s", got, setupURL)
	}

	// On GitLab, in the tab the setup link opens.
	setupLink := admin.Attr(Link("Open GitLab application settings"), "href")
	if !strings.HasPrefix(setupLink, env.GitLabURL+"/") {
		t.Errorf("the GitLab link %q does not point at the server %s", setupLink, env.GitLabURL)
	}
	gitlab := admin.ClickNewTab("admin: open GitLab application settings", Link("Open GitLab application settings"), "gitlab")
	appID, secret := createGitLabApp(t, gitlab, "root", "forgelink "+env.Org, callbackURL, true)

	// Back in forgelink's tab, which kept the setup page.
	admin.Fill(Control("Application ID"), appID)
	admin.Fill(Control("Secret"), secret)
	if st := admin.ClickAndWait("admin: Save Integration", Button("Save Integration")); st != http.StatusOK {
		t.Errorf("saving ends on a page with status %d", st)
	}
	if got, want := withoutQuery(admin.Location()), env.URL+"/orgs/"+env.Org+"/settings/integrations"; got != want {
		t.Fatalf("Save Integration led to %s, want the list %s:\n%s", got, want, admin.BodyText())
	}
	if notice := admin.Text(ByCSS(".notice")); !strings.Contains(notice, "saved and active") {
		t.Errorf("the list's notice is %q, want one saying the integration is saved and active", notice)
	}
	if admin.Exists(ByID("not-confidential")) {
		t.Errorf("the list warns about a Confidential application: %s", admin.Text(ByID("not-confidential")))
	}
	if text := admin.Text(row); !strings.Contains(text, "Active") {
		t.Errorf("the list shows the integration as %q, want Active", text)
	}
	if strings.Contains(admin.Eval(`document.documentElement.outerHTML`), secret) {
		t.Errorf("the list page contains the client secret")
	}

	// The Login link button reveals the org's login URL.
	admin.Click("admin: Login link", Button("Login link"))
	loginURL := admin.Value(ByID("login-" + id))
	if want := env.URL + "/orgs/" + env.Org + "/login/" + id; loginURL != want {
		t.Errorf("Login link shows %q, want %q", loginURL, want)
	}
	checkCopyButton(t, admin, admin.Attr(ByCSS(`[data-copy="login-`+id+`"]`), "aria-label"), loginURL)

	// The edit page of an active integration shows the link too, and never the secret.
	admin.Open("admin: the active integration's page", setupURL)
	if got := admin.Value(ByID("login_url")); got != loginURL {
		t.Errorf("the integration's page shows login link %q, want %q", got, loginURL)
	}
	if strings.Contains(admin.Eval(`document.documentElement.outerHTML`), secret) {
		t.Errorf("the integration's page contains the client secret")
	}

	// The link works: a member signs in through it in a private window.
	member := b.NewPage("member", true)
	member.Open("member: open the login link", loginURL)
	member.ClickAndWait("member: Sign in with GitLab", Button("Sign in with GitLab"))
	signInToGitLab(t, member, "alice")
	member.ClickAndWait("member: Authorize", Button("Authorize"))
	if body := member.BodyText(); !strings.Contains(body, "Signed in as @alice") {
		t.Errorf("after Authorize the page says:\n%s", body)
	}
}

// checkCopyButton clicks a copy button and checks it causes no console error. Where the
// clipboard is usable, the button says "Copied" and the clipboard holds want; where it
// is not (headless), the page may fall back to selecting the text: both are fine.
func checkCopyButton(t *testing.T, p *Page, label, want string) {
	t.Helper()
	step := "click " + label
	p.Eval(`(() => { try { navigator.clipboard && navigator.clipboard.writeText(""); } catch (e) {} return ""; })()`)
	p.Click(step, Button(label))
	var said string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if said = p.Text(Button(label)); said == "Copied" {
			break
		}
	}
	p.CheckConsole(step)
	if said == "Copied" {
		if live := p.Eval(`(() => { const b = ` + string(Button(label)) + `; const l = document.getElementById(b.getAttribute("aria-describedby") || ""); return l && l.getAttribute("aria-live") ? l.textContent : "<no live region>"; })()`); live != "Copied" {
			t.Errorf("%s: the live region says %q, want “Copied” announced", step, live)
		}
	}
	if said != "Copied" {
		t.Logf("%s: the button still says %q (no clipboard here); no error, which is what counts", step, said)
		return
	}
	got := p.Eval(`(async () => { try { return await navigator.clipboard.readText(); } catch (e) { return "<unreadable: " + e.name + ">"; } })()`)
	if strings.HasPrefix(got, "<unreadable") {
		t.Logf("%s: clipboard %s", step, got)
		return
	}
	if got != want {
		t.Errorf("%s: the clipboard holds %q, want %q", step, got, want)
	}
}

// TestMemberSignInAndOut: from the org's home page, a member signs in through the org's
// login link at (fake) GitLab as alice, approves, is signed in, and signs out.
func TestMemberSignInAndOut(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	in, _ := env.ActiveIntegration(t)
	b := NewBrowser(t)
	p := b.NewPage("member", true)
	home := env.URL + "/orgs/" + env.Org

	p.Open("member: org home, signed out", home)
	signIn := LinkContaining("Sign in with")
	if got := p.Attr(signIn, "href"); got != in.LoginURL && env.URL+got != in.LoginURL {
		t.Errorf("the home page's sign-in button goes to %q, want the login link %q", got, in.LoginURL)
	}
	p.ClickAndWait("member: the org's sign-in link", signIn)
	p.ClickAndWait("member: Sign in with GitLab", Button("Sign in with GitLab"))
	if loc := p.Location(); !strings.HasPrefix(loc, env.GitLabURL+"/users/sign_in") {
		t.Fatalf("the login link led to %s, want GitLab's sign-in page", loc)
	}
	signInToGitLab(t, p, "alice")
	if loc := p.Location(); !strings.HasPrefix(loc, env.GitLabURL+"/oauth/authorize") {
		t.Fatalf("after GitLab sign-in the tab is at %s, want the consent page", loc)
	}
	// Sign-in asks GitLab for no more than it needs: read_user (DESIGN.md).
	scopes := p.Eval(`[...document.querySelectorAll("main ul li")].map(li => li.textContent.trim()).join(" ")`)
	if scopes != "read_user" {
		t.Errorf("GitLab's consent page lists the scopes %q, want only read_user", scopes)
	}
	p.ClickAndWait("member: Authorize", Button("Authorize"))
	if loc := p.Location(); loc != home {
		t.Errorf("after Authorize the tab is at %s, want the org home %s", loc, home)
	}
	body := p.BodyText()
	if !strings.Contains(body, "Signed in as @alice") || !strings.Contains(body, hostOf(env.GitLabURL)) {
		t.Errorf("the org home page should say who is signed in, and through which GitLab:\n%s", body)
	}

	// Every forgelink cookie is HttpOnly: the page's scripts see none of them.
	if c := p.Eval(`document.cookie`); c != "" {
		t.Errorf("scripts of the org home page can read cookies: %q", c)
	}

	p.ClickAndWait("member: Sign out", Button("Sign out"))
	if loc := p.Location(); loc != home {
		t.Errorf("Sign out led to %s, want %s", loc, home)
	}
	if body := p.BodyText(); strings.Contains(body, "Signed in as") || !p.Exists(signIn) {
		t.Errorf("after Sign out the home page should offer sign-in again:\n%s", body)
	}
	want := "You signed out of acme. You are still signed in to GitLab at " + hostOf(env.GitLabURL) + "; sign out there too on a shared computer."
	if got := p.Text(ByCSS(".notice")); got != want {
		t.Errorf("after Sign out the home page says %q, want %q", got, want)
	}
}

// TestMemberDeniesConsent: Deny on GitLab's consent page brings the member back to a
// "cancelled" page (403) whose Try again link restarts the sign-in, which then works.
func TestMemberDeniesConsent(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	in, _ := env.ActiveIntegration(t)
	b := NewBrowser(t)
	p := b.NewPage("member", true)

	p.Open("member: open the login link", in.LoginURL)
	p.ClickAndWait("member: Sign in with GitLab", Button("Sign in with GitLab"))
	signInToGitLab(t, p, "alice")
	p.AllowHTTPError(http.StatusForbidden)
	if st := p.ClickAndWait("member: Deny", Button("Deny")); st != http.StatusForbidden {
		t.Errorf("the cancelled page answered %d, want 403", st)
	}
	if loc := p.Location(); !strings.HasPrefix(loc, in.LoginURL+"/callback?") {
		t.Errorf("Deny led to %s, want the integration's callback", loc)
	}
	if h1 := p.Text(ByCSS("h1")); !strings.Contains(strings.ToLower(h1), "cancelled") {
		t.Errorf("the page after Deny is titled %q, want a cancelled page", h1)
	}
	if strings.Contains(p.BodyText(), "Signed in as") {
		t.Errorf("a denied sign-in must not sign anyone in")
	}
	tryAgain := Link("Try again")
	if got := p.Attr(tryAgain, "href"); got != strings.TrimPrefix(in.LoginURL, env.URL) && got != in.LoginURL {
		t.Errorf("Try again goes to %q, want the login link %q", got, in.LoginURL)
	}
	p.ClickAndWait("member: Try again", tryAgain)
	p.ClickAndWait("member: Sign in with GitLab again", Button("Sign in with GitLab"))
	if loc := p.Location(); !strings.HasPrefix(loc, env.GitLabURL+"/oauth/authorize") {
		t.Fatalf("Try again led to %s, want GitLab's consent page (alice is still signed in at GitLab)", loc)
	}
	p.ClickAndWait("member: Authorize", Button("Authorize"))
	if body := p.BodyText(); !strings.Contains(body, "Signed in as @alice") {
		t.Errorf("signing in after a cancelled attempt should work; the page says:\n%s", body)
	}
}

// TestAdminWrongSecret: a wrong secret is a field error on the setup page, which keeps
// the Application ID and never puts the secret back into the form; the right one then
// activates the integration.
func TestAdminWrongSecret(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	in := env.PendingIntegration(t, "Wrong secret test")
	app := env.GitLab.CreateApplication("forgelink", in.CallbackURL, []string{"api", "read_user"}, true, false)

	b := NewBrowser(t)
	admin := b.NewPage("admin", false)
	signInAsAdmin(t, env, admin)
	admin.ClickAndWait("admin: Finish setup", Button("Finish setup"))
	setupURL := admin.Location()

	const wrong = "gloas-this-is-not-the-secret"
	admin.Fill(Control("Application ID"), app.UID)
	admin.Fill(Control("Secret"), wrong)
	admin.AllowHTTPError(http.StatusUnprocessableEntity)
	st := admin.ClickAndWait("admin: Save Integration with a wrong secret", Button("Save Integration"))
	if st != http.StatusUnprocessableEntity {
		t.Errorf("a wrong secret answers %d, want 422", st)
	}
	if loc := admin.Location(); loc != setupURL {
		t.Errorf("after a wrong secret the tab is at %s, want the setup page %s", loc, setupURL)
	}
	msg := admin.Text(ByID("client_secret-error"))
	if msg != "Application ID or Secret is wrong" {
		t.Errorf("the Secret field's error says %q, want %q", msg, "Application ID or Secret is wrong")
	}
	if !strings.Contains(admin.Eval(`(() => { const e = document.querySelector("[role=alert]"); return e ? e.textContent : ""; })()`), "Secret") {
		t.Errorf("the error summary should name the Secret field")
	}
	// What to do next: the Secret GitLab showed once may be gone; Renew secret makes one.
	hint := admin.Text(Containing("p.hint", "Renew secret"))
	for _, want := range []string{"GitLab shows an application's Secret only once", "click Renew secret: that makes a new Secret"} {
		if !strings.Contains(hint, want) {
			t.Errorf("after wrong credentials the page says %q, want it to say %q", hint, want)
		}
	}
	if got := admin.Attr(Control("Secret"), "aria-invalid"); got != "true" {
		t.Errorf("the Secret field has aria-invalid=%q, want true", got)
	}
	if got := admin.Value(Control("Application ID")); got != app.UID {
		t.Errorf("the Application ID field holds %q after the error, want %q kept", got, app.UID)
	}
	if got := admin.Value(Control("Secret")); got != "" {
		t.Errorf("the Secret field holds %q after the error, want it empty", got)
	}
	if strings.Contains(admin.Eval(`document.documentElement.outerHTML`), wrong) {
		t.Errorf("the page echoes the submitted secret")
	}
	if !strings.Contains(admin.BodyText(), "Pending") {
		t.Errorf("after a wrong secret the integration should still be pending")
	}

	admin.Fill(Control("Secret"), app.Secret)
	admin.ClickAndWait("admin: Save Integration with the right secret", Button("Save Integration"))
	if notice := admin.Text(ByCSS(".notice")); !strings.Contains(notice, "saved and active") {
		t.Errorf("after the right secret the notice is %q", notice)
	}
	if text := admin.Text(Containing("tbody", "Wrong secret test")); !strings.Contains(text, "Active") {
		t.Errorf("the list shows %q, want Active", text)
	}
}

func withoutQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}
