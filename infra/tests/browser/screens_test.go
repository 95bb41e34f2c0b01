package browser_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/apptest"
)

// addIntegration fills the Add Integration form and clicks Continue; it returns the
// status of the page that follows.
func addIntegration(t *testing.T, admin *Page, env *apptest.Env, url, name string) int64 {
	t.Helper()
	admin.Open("admin: Add Integration for "+url, env.URL+"/orgs/"+env.Org+"/settings/integrations/new")
	admin.Fill(Control("Server URL"), url)
	if name != "" {
		admin.Fill(Control("Display name"), name)
	}
	return admin.ClickAndWait("admin: Continue with "+url, Button("Continue"))
}

// TestAdminServerURLChecks: the Server URL is checked at Continue, as a GitLab admin
// expects: a typo is a field error with the input kept; a pasted page address is cut
// back to the server and the page says so; a server whose OpenID issuer is not the URL
// is created with a warning; a URL already in use links to its integration; two
// integrations with one display name are warned about.
func TestAdminServerURLChecks(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	b := NewBrowser(t)
	admin := b.NewPage("admin", false)
	signInAsAdmin(t, env, admin)

	// A typo: nothing answers there.
	const typo = "https://gitlab.invalid"
	admin.AllowHTTPError(http.StatusUnprocessableEntity)
	if st := addIntegration(t, admin, env, typo, ""); st != http.StatusUnprocessableEntity {
		t.Errorf("a server that does not exist answers %d, want 422", st)
	}
	if got := admin.Text(ByID("url-error")); !strings.Contains(got, "No server answered at "+typo+": host not found") {
		t.Errorf("the Server URL's error says %q, want it to say no server answered, host not found", got)
	}
	if got := admin.Value(Control("Server URL")); got != typo {
		t.Errorf("the Server URL holds %q after the error, want %q kept", got, typo)
	}
	if n := strings.Count(admin.BodyText(), "There is a problem"); n != 1 {
		t.Errorf("the page says “There is a problem” %d times, want once", n)
	}
	if n := strings.Count(admin.BodyText(), "host not found"); n != 2 {
		t.Errorf("the error is shown %d times, want twice: in the summary and on its field", n)
	}

	// A pasted page address: cut back, and said so.
	addIntegration(t, admin, env, env.GitLabURL+"/-/user_settings/applications", "")
	if got := admin.Text(ByCSS(".warning")); !strings.Contains(got, "forgelink uses the server's URL, "+env.GitLabURL) {
		t.Errorf("the setup page's warning says %q, want it to say the page address was cut back", got)
	}
	if body := admin.BodyText(); !strings.Contains(body, "GitLab Self-Managed at "+env.GitLabURL+" ") {
		t.Errorf("the integration's URL is not the server's:\n%s", body)
	}
	first := admin.Location()

	// The same server again: 409, with a link to the one that exists.
	admin.AllowHTTPError(http.StatusConflict)
	if st := addIntegration(t, admin, env, env.GitLabURL+"/", ""); st != http.StatusConflict {
		t.Errorf("a second integration for one URL answers %d, want 409", st)
	}
	admin.ClickAndWait("admin: Open it", Link("Open it"))
	if got := admin.Location(); got != first {
		t.Errorf("Open it leads to %s, want the existing integration %s", got, first)
	}

	// A server that answers, but not as GitLab at that URL; and the same display name.
	addIntegration(t, admin, env, env.GitLabURL+"/gitlab", hostOf(env.GitLabURL))
	warnings := admin.Eval(`[...document.querySelectorAll(".warning")].map(e => e.textContent).join(" | ")`)
	if !strings.Contains(warnings, "no GitLab OpenID configuration") {
		t.Errorf("the setup page should warn that the server has no GitLab at that path; warnings: %q", warnings)
	}
	if !strings.Contains(warnings, "is also called") {
		t.Errorf("the setup page should warn about two integrations with one display name; warnings: %q", warnings)
	}
}

// TestAdminDeletesIntegration: Delete asks in the page, naming the integration, with a
// red button; afterwards the list names what was deleted and links to its application on
// GitLab, which forgelink cannot delete.
func TestAdminDeletesIntegration(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	env.PendingIntegration(t, "Doomed GitLab")
	b := NewBrowser(t)
	admin := b.NewPage("admin", false)
	signInAsAdmin(t, env, admin)
	admin.ClickAndWait("admin: Finish setup", Button("Finish setup"))

	admin.Click("admin: Delete integration", Button("Delete integration"))
	confirm := ByCSS(".confirm[role=alertdialog]")
	if !admin.Exists(confirm) {
		t.Fatalf("Delete integration asks nothing in the page")
	}
	if got := admin.Text(confirm); !strings.Contains(got, "Doomed GitLab") {
		t.Errorf("the confirmation says %q, want it to name the integration", got)
	}
	yes := Button("Delete “Doomed GitLab”")
	if bg := admin.Eval(`getComputedStyle(` + string(yes) + `).backgroundColor`); bg != "rgb(207, 34, 46)" {
		t.Errorf("the confirming button's background is %s, want red", bg)
	}
	if focused := admin.Eval(`document.activeElement.textContent`); focused != "Delete “Doomed GitLab”" {
		t.Errorf("focus is on %q, want the confirming button", focused)
	}
	admin.ClickAndWait("admin: confirm the delete", yes)
	notice := admin.Text(ByCSS(".notice"))
	if !strings.Contains(notice, "“Doomed GitLab”") || !strings.Contains(notice, "was deleted") {
		t.Errorf("the notice after delete says %q, want it to name the integration", notice)
	}
	if href := admin.Attr(LinkContaining("delete it on"), "href"); href != env.GitLabURL+"/-/user_settings/applications" {
		t.Errorf("the notice links to %q, want the applications page on GitLab", href)
	}
}

// TestAdminPeopleScreens walks the Admins and Members pages with a rule and a member on
// them, so that every settings page gets the checks at both widths (no sideways
// scrolling on a phone: their tables become cards).
func TestAdminPeopleScreens(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	in, _ := env.ActiveIntegration(t)
	b := NewBrowser(t)
	member := b.NewPage("member", true)
	member.Open("member: open the login link", in.LoginURL)
	member.ClickAndWait("member: Sign in with GitLab", Button("Sign in with GitLab"))
	signInToGitLab(t, member, "alice")
	member.ClickAndWait("member: Authorize", Button("Authorize"))

	admin := b.NewPage("admin", false)
	signInAsAdmin(t, env, admin)
	admin.ClickAndWait("admin: Admins", Link("Admins"))
	admin.Fill(Control("GitLab username"), "alice")
	admin.ClickAndWait("admin: Add admin rule", Button("Add admin rule"))
	if body := admin.BodyText(); !strings.Contains(body, "alice") {
		t.Errorf("the Admins page does not list the new rule:\n%s", body)
	}
	admin.ClickAndWait("admin: Members", Link("Members"))
	if text := admin.Text(Containing("tr", "@alice")); !strings.Contains(text, "Member") {
		t.Errorf("the Members page shows alice as %q", text)
	}
}

// TestAdminFixesServerURL: an admin who typed the address of the wrong GitLab (here a
// mistyped port: another server that answers) fixes it on the setup page instead of
// deleting the integration. A URL where nothing answers is a field error with the input
// kept; the right one keeps the integration and its callback URL, the page says what
// changed and GitLab's link leads to the right server, where the setup finishes. Once
// active, the page shows the URL read-only and says how to move to another server.
func TestAdminFixesServerURL(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{SecondGitLab: true})
	b := NewBrowser(t)
	admin := b.NewPage("admin", false)
	signInAsAdmin(t, env, admin)

	addIntegration(t, admin, env, env.GitLab2URL, "Team GitLab")
	setupURL := admin.Location()
	callbackURL := admin.Value(ByID("callback_url"))
	if got := admin.Attr(Link("Open GitLab application settings"), "href"); !strings.HasPrefix(got, env.GitLab2URL+"/") {
		t.Fatalf("the setup page's GitLab link is %q, want one on the server typed, %s", got, env.GitLab2URL)
	}

	// Wrong server: the form starts with the current URL.
	admin.Click("admin: Wrong server?", Button("Wrong server? Change the Server URL"))
	if got := admin.Value(Control("Server URL")); got != env.GitLab2URL {
		t.Errorf("the Server URL field starts as %q, want the current URL %s", got, env.GitLab2URL)
	}
	const nowhere = "https://gitlab.invalid"
	admin.Fill(Control("Server URL"), nowhere)
	admin.AllowHTTPError(http.StatusUnprocessableEntity)
	if st := admin.ClickAndWait("admin: Change Server URL to a server that does not exist", Button("Change Server URL")); st != http.StatusUnprocessableEntity {
		t.Errorf("a server that does not exist answers %d, want 422", st)
	}
	if got := admin.Text(ByID("url-error")); !strings.Contains(got, "No server answered at "+nowhere+": host not found") {
		t.Errorf("the Server URL's error says %q, want it to say no server answered, host not found", got)
	}
	if got := admin.Value(Control("Server URL")); got != nowhere {
		t.Errorf("the Server URL holds %q after the error, want %q kept", got, nowhere)
	}
	if n := strings.Count(admin.BodyText(), "There is a problem"); n != 1 {
		t.Errorf("the page says “There is a problem” %d times, want once", n)
	}
	if body := admin.BodyText(); !strings.Contains(body, "GitLab Self-Managed at "+env.GitLab2URL+" ") {
		t.Errorf("a refused URL changed the integration:\n%s", body)
	}

	// The right server.
	admin.Fill(Control("Server URL"), env.GitLabURL)
	admin.ClickAndWait("admin: Change Server URL", Button("Change Server URL"))
	if got := admin.Location(); got != setupURL {
		t.Fatalf("changing the URL led to %s, want the same setup page %s", got, setupURL)
	}
	want := "The Server URL is now " + env.GitLabURL + " (it was " + env.GitLab2URL + "). The Callback URL stays the same."
	if got := admin.Text(ByCSS(".notice")); got != want {
		t.Errorf("the page says %q, want %q", got, want)
	}
	if got := admin.Value(ByID("callback_url")); got != callbackURL {
		t.Errorf("the callback URL is %q after the change, want it unchanged: %q", got, callbackURL)
	}
	if body := admin.BodyText(); !strings.Contains(body, "GitLab Self-Managed at "+env.GitLabURL+" ") || !strings.Contains(body, "Pending") {
		t.Errorf("the page should show the integration pending at the new URL:\n%s", body)
	}

	// The setup finishes on the right server.
	gitlab := admin.ClickNewTab("admin: open GitLab application settings", Link("Open GitLab application settings"), "gitlab")
	if loc := gitlab.Location(); !strings.HasPrefix(loc, env.GitLabURL+"/") {
		t.Fatalf("GitLab's link opened %s, want the server %s", loc, env.GitLabURL)
	}
	appID, secret := createGitLabApp(t, gitlab, "root", "forgelink "+env.Org, callbackURL, true)
	admin.Fill(Control("Application ID"), appID)
	admin.Fill(Control("Secret"), secret)
	admin.ClickAndWait("admin: Save Integration", Button("Save Integration"))
	if notice := admin.Text(ByCSS(".notice")); !strings.Contains(notice, "saved and active") {
		t.Fatalf("after Save the notice is %q:\n%s", notice, admin.BodyText())
	}

	// Active: the URL read-only, and how to move.
	admin.Open("admin: the active integration's page", setupURL)
	if admin.Exists(Button("Wrong server? Change the Server URL")) || admin.Exists(Control("Server URL")) {
		t.Errorf("an active integration's page still offers to change the Server URL")
	}
	if body := admin.BodyText(); !strings.Contains(body, "GitLab Self-Managed at "+env.GitLabURL+" ") {
		t.Errorf("the active integration's page does not show its URL:\n%s", body)
	}
	if got := admin.Text(ByID("url")); !strings.Contains(got, "to move to another GitLab server, add an integration for its URL, then delete this one") {
		t.Errorf("the active integration's page says %q, want how to move to another server", got)
	}
}

// TestAdminSavesPublicApplication: the admin creates the GitLab application without
// ticking Confidential and saves its credentials. forgelink saves it (active) and warns on
// the list after the Save, saying why it matters and what to do, with links to where the
// application lives on GitLab; the integration's page keeps warning. Once Confidential
// is ticked on GitLab, Save without the Secret clears the warning.
func TestAdminSavesPublicApplication(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	in := env.PendingIntegration(t, "Public app")
	b := NewBrowser(t)
	admin := b.NewPage("admin", false)
	signInAsAdmin(t, env, admin)
	admin.ClickAndWait("admin: Finish setup", Button("Finish setup"))
	setupURL := admin.Location()
	gitlab := admin.ClickNewTab("admin: open GitLab application settings", Link("Open GitLab application settings"), "gitlab")
	appID, secret := createGitLabApp(t, gitlab, "root", "forgelink "+env.Org, in.CallbackURL, false)

	admin.Fill(Control("Application ID"), appID)
	admin.Fill(Control("Secret"), secret)
	if st := admin.ClickAndWait("admin: Save Integration of an application that is not Confidential", Button("Save Integration")); st != http.StatusOK {
		t.Errorf("saving ends on a page with status %d", st)
	}
	if notice := admin.Text(ByCSS(".notice")); !strings.Contains(notice, "“Public app” is saved and active") {
		t.Errorf("the list's notice is %q, want the integration saved and active", notice)
	}
	warning := admin.Text(ByID("not-confidential"))
	for _, want := range []string{"The application on GitLab is not marked Confidential.", "does not require its Secret",
		"anyone who has the Application ID", "tick Confidential and save the application", "press Save Integration again, without pasting the Secret"} {
		if !strings.Contains(warning, want) {
			t.Errorf("the warning after Save says %q, want it to say %q", warning, want)
		}
	}
	if got := admin.Attr(ByID("not-confidential"), "class"); got != "warning" {
		t.Errorf("the notice has class %q, want the setup page's warning style", got)
	}
	links := admin.Eval(`[...document.querySelectorAll("#not-confidential a")].map(a => a.getAttribute("href")).join(" ")`)
	if want := env.GitLabURL + "/-/user_settings/applications " + env.GitLabURL + "/admin/applications " + setupURL[len(env.URL):]; links != want {
		t.Errorf("the warning links to %q, want %q", links, want)
	}
	if strings.Contains(admin.Eval(`document.documentElement.outerHTML`), secret) {
		t.Errorf("the list page contains the client secret")
	}

	admin.ClickAndWait("admin: open the integration from the warning", Link("open “Public app”"))
	if got := admin.Location(); got != setupURL {
		t.Errorf("the warning's link leads to %s, want %s", got, setupURL)
	}
	if !admin.Exists(ByID("not-confidential")) || !strings.Contains(admin.BodyText(), "application is not Confidential") {
		t.Errorf("the integration's page should keep warning, and its audit trail say why:\n%s", admin.BodyText())
	}

	// On GitLab its owner ticks Confidential (the fake GitLab has no edit page).
	env.GitLab.UpdateApplication(appID, func(a *fakegitlab.Application) { a.Confidential = true })
	admin.ClickAndWait("admin: Save Integration after ticking Confidential", Button("Save Integration"))
	if notice := admin.Text(ByCSS(".notice")); !strings.Contains(notice, "saved and active") || admin.Exists(ByID("not-confidential")) {
		t.Errorf("after Confidential was ticked the list says %q and warns: %v", notice, admin.Exists(ByID("not-confidential")))
	}
	admin.Open("admin: the integration's page after the warning went", setupURL)
	if admin.Exists(ByID("not-confidential")) || !strings.Contains(admin.BodyText(), "application is Confidential now") {
		t.Errorf("the integration's page after Confidential was ticked:\n%s", admin.BodyText())
	}
}

// TestAdminSavesTwice: the same Save form sent twice is not "changed by someone else".
// A double click sends it twice at once (here from two tabs of the admin, so that the
// browser cannot cancel the first request); a form sent again after the Save finished,
// as back and resubmit does, still names the version it was read at (here a third tab
// that read the page before the Save). Every send lands on the list as saved.
func TestAdminSavesTwice(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	in := env.PendingIntegration(t, "Saved twice")
	app := env.GitLab.CreateApplication("forgelink", in.CallbackURL, []string{"api", "read_user"}, true, false)
	b := NewBrowser(t)
	first := b.NewPage("admin", false)
	signInAsAdmin(t, env, first)
	first.ClickAndWait("admin: Finish setup", Button("Finish setup"))
	setupURL := first.Location()
	second, again := b.NewPage("admin, second tab", false), b.NewPage("admin, third tab", false)
	second.Open("admin: the setup page in a second tab", setupURL)
	again.Open("admin: the setup page in a third tab", setupURL)
	for _, p := range []*Page{first, second, again} {
		p.Fill(Control("Application ID"), app.UID)
		p.Fill(Control("Secret"), app.Secret)
	}

	first.Click("admin: Save Integration (first click)", Button("Save Integration"))
	second.ClickAndWait("admin: Save Integration (second click)", Button("Save Integration"))
	waitForSaved(t, first)
	again.ClickAndWait("admin: Save Integration again with the form read before", Button("Save Integration"))
	for _, p := range []*Page{first, second, again} {
		body := p.BodyText()
		if !strings.Contains(withoutQuery(p.Location()), "/settings/integrations") || !strings.Contains(body, "“Saved twice” is saved and active") ||
			strings.Contains(body, "someone else") || strings.Contains(body, "There is a problem") {
			t.Errorf("tab %s is at %s and says:\n%s", p.name, p.Location(), body)
		}
	}
}

// waitForSaved waits until p, whose Save was clicked without waiting, shows the list.
func waitForSaved(t *testing.T, p *Page) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(p.Location(), "?saved=") && p.Eval(`document.readyState`) == "complete" {
			return
		}
		if strings.Contains(p.BodyText(), "There is a problem") {
			break
		}
	}
	t.Errorf("tab %s did not land on the saved list; it is at %s:\n%s", p.name, p.Location(), p.BodyText())
}

// TestMemberSignInNotFinishedHere: a sign-in started in one browser and finished in
// another (its state cookie is not there) ends on a page that says a sign-in must be
// finished within 10 minutes in the same browser, with a way to start again that works.
func TestMemberSignInNotFinishedHere(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	in, _ := env.ActiveIntegration(t)
	b := NewBrowser(t)
	started := b.NewPage("member, first browser", true)
	started.Open("member: open the login link", in.LoginURL)
	started.ClickAndWait("member: Sign in with GitLab", Button("Sign in with GitLab"))
	signInToGitLab(t, started, "alice")
	toGitLab := started.Location() // GitLab's consent page, which the other browser opens
	if !strings.HasPrefix(toGitLab, env.GitLabURL+"/oauth/authorize?") {
		t.Fatalf("the first browser is at %s, want GitLab's consent page", toGitLab)
	}

	elsewhere := b.NewPage("member, other browser", true)
	elsewhere.Open("member: GitLab's sign-in in another browser", toGitLab)
	signInToGitLab(t, elsewhere, "alice")
	elsewhere.AllowHTTPError(http.StatusBadRequest)
	if st := elsewhere.ClickAndWait("member: Authorize in the other browser", Button("Authorize")); st != http.StatusBadRequest {
		t.Errorf("the callback without its state cookie answered %d, want 400", st)
	}
	if h1 := elsewhere.Text(ByCSS("h1")); h1 != "Your sign-in attempt expired or was not started here" {
		t.Errorf("the page is titled %q", h1)
	}
	if msg := elsewhere.Text(ByCSS("main p")); !strings.HasPrefix(msg, "A sign-in must be finished within 10 minutes in the same browser.") ||
		!strings.Contains(msg, "Press Start again") {
		t.Errorf("the page says %q, want it to say a sign-in must be finished within 10 minutes in the same browser, and to start again", msg)
	}
	startAgain := Link("Start again")
	if got := elsewhere.Attr(startAgain, "href"); got != strings.TrimPrefix(in.LoginURL, env.URL) && got != in.LoginURL {
		t.Errorf("Start again goes to %q, want the login link %q", got, in.LoginURL)
	}
	elsewhere.ClickAndWait("member: Start again", startAgain)
	elsewhere.ClickAndWait("member: Sign in with GitLab again", Button("Sign in with GitLab"))
	elsewhere.ClickAndWait("member: Authorize", Button("Authorize"))
	if body := elsewhere.BodyText(); !strings.Contains(body, "Signed in as @alice") {
		t.Errorf("starting again should sign alice in; the page says:\n%s", body)
	}
}
