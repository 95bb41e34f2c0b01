package web_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/infra/fakegitlab"
	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// igWarnings is the warnings part of the JSON view of an integration.
type igWarnings struct {
	Status   string `json:"status"`
	Warnings []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"warnings"`
}

// TestSaveNotConfidentialHTML: saving the credentials of a GitLab application that is not
// Confidential activates the integration and warns, on the list after the Save and on
// the integration's page, with links to where the application lives on GitLab; once
// Confidential is ticked on GitLab, Save without the Secret clears the warning.
func TestSaveNotConfidentialHTML(t *testing.T) { onBothStores(t, testSaveNotConfidentialHTML) }

func testSaveNotConfidentialHTML(t *testing.T, opts apptest.Options) {
	e := apptest.Start(t, opts)
	c := e.AdminClient(t)
	in := e.PendingIntegration(t, "Public app")
	app := e.GitLab.CreateApplication("forgelink", in.CallbackURL, []string{"api", "read_user"}, false, false)
	page := igPath(e, in.ID)

	r := e.Get(t, c, page)
	form := map[string]string{"csrf_token": apptest.FormValue(r.Body, "csrf_token"), "version": apptest.FormValue(r.Body, "version"),
		"client_id": app.UID, "client_secret": app.Secret, "name": "Public app", "ca_bundle": ""}
	r = e.PostForm(t, c, page, form)
	igWantStatus(t, r, http.StatusSeeOther)
	r = e.Follow(t, c, r)
	igWantStatus(t, r, http.StatusOK)
	body := html.UnescapeString(r.Body)
	for _, want := range []string{"is saved and active", `class="warning"`, "not marked Confidential",
		"anyone who has the Application ID", "tick <strong>Confidential</strong>",
		`href="` + e.GitLabURL + `/-/user_settings/applications"`, `href="` + e.GitLabURL + `/admin/applications"`,
		`href="` + page + `">open “Public app”</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("list after the Save lacks %q", want)
		}
	}
	igNoSecretIn(t, r, app.Secret)

	// The warning stays on the integration's page, and the audit trail says why.
	r = e.Get(t, c, page)
	body = html.UnescapeString(r.Body)
	for _, want := range []string{"not marked Confidential", "without pasting the Secret", "application is not Confidential"} {
		if !strings.Contains(body, want) {
			t.Errorf("integration page lacks %q", want)
		}
	}
	if got := igDecode[igWarnings](t, e.API(t, http.MethodGet, igAPIPath(e, "/"+in.ID), nil)); len(got.Warnings) != 1 ||
		got.Warnings[0].Code != service.WarningNotConfidential || got.Status != "active" {
		t.Errorf("JSON of the integration: %+v", got)
	}

	// Confidential ticked on GitLab; Save (a rename, no Secret) checks again.
	e.GitLab.UpdateApplication(app.UID, func(a *fakegitlab.Application) { a.Confidential = true })
	form = map[string]string{"csrf_token": apptest.FormValue(r.Body, "csrf_token"), "version": apptest.FormValue(r.Body, "version"),
		"client_id": app.UID, "client_secret": "", "name": "Public app", "ca_bundle": ""}
	r = e.PostForm(t, c, page, form)
	igWantStatus(t, r, http.StatusSeeOther)
	if r = e.Follow(t, c, r); strings.Contains(r.Body, "not marked Confidential") || !strings.Contains(r.Body, "is saved and active") {
		t.Errorf("list after Confidential was ticked still warns, or does not say saved:\n%s", r.Body)
	}
	r = e.Get(t, c, page)
	if strings.Contains(r.Body, "not marked Confidential") || !strings.Contains(r.Body, "application is Confidential now") {
		t.Errorf("integration page after Confidential was ticked:\n%s", r.Body)
	}
	if got := igStored(t, e)[0]; got.NotConfidential || got.ClientID != app.UID || got.Status != forgelink.StatusActive {
		t.Errorf("stored: %+v", got)
	}
	igNoLeak(t, e, app.Secret)
}

// TestSaveNotConfidentialAPI: PATCH and the one-shot create answer 200/201 with the
// integration active and a not_confidential warning; a Confidential application has
// an empty list.
func TestSaveNotConfidentialAPI(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	in := e.PendingIntegration(t, "")
	public := e.GitLab.CreateApplication("public", in.CallbackURL, []string{"api", "read_user"}, false, false)
	r := e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]string{"client_id": public.UID, "client_secret": public.Secret})
	igWantStatus(t, r, http.StatusOK)
	got := igDecode[igWarnings](t, r)
	if got.Status != "active" || len(got.Warnings) != 1 || got.Warnings[0].Code != "not_confidential" ||
		got.Warnings[0].Message != service.NotConfidentialWarning {
		t.Errorf("PATCH with a public application: %s", r.Body)
	}
	igNoSecretIn(t, r, public.Secret)

	confidential := e.GitLab.CreateApplication("confidential", in.CallbackURL, []string{"api", "read_user"}, true, false)
	r = e.API(t, http.MethodPatch, igAPIPath(e, "/"+in.ID), map[string]string{"client_id": confidential.UID, "client_secret": confidential.Secret})
	igWantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, `"warnings":[]`) {
		t.Errorf("PATCH with a Confidential application: %s", r.Body)
	}

	// One-shot create, in another org (one integration per URL per org).
	ctx := context.Background()
	if _, err := e.App.Services.Orgs.EnsureOrg(ctx, "beta", "Beta"); err != nil {
		t.Fatal(err)
	}
	other, err := e.App.Services.Tokens.CreateAdminToken(ctx, "beta", "confidential", "")
	if err != nil {
		t.Fatal(err)
	}
	r = e.APIWithToken(t, other, http.MethodPost, "/api/v1/orgs/beta/integrations",
		map[string]string{"platform": "gitlab", "url": e.GitLabURL, "client_id": public.UID, "client_secret": public.Secret})
	igWantStatus(t, r, http.StatusCreated)
	if got := igDecode[igWarnings](t, r); got.Status != "active" || len(got.Warnings) != 1 || got.Warnings[0].Code != "not_confidential" {
		t.Errorf("one-shot create with a public application: %s", r.Body)
	}
	igNoLeak(t, e, public.Secret, confidential.Secret)
}
