package service

import (
	"context"
	"errors"
	"testing"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// TestCheckLoginState covers the state rules directly; the HTTP tests in shared/web walk
// the same cases through a browser.
func TestCheckLoginState(t *testing.T) {
	b, _, _, _, _ := newCacheService(t)
	s := &SignIn{b}
	good := LoginState{State: "s1", Verifier: "v1", Org: "acme", IntegrationID: "i1"}
	cases := []struct {
		name string
		cb   LoginCallback
		ok   bool
	}{
		{"match", LoginCallback{Org: "acme", IntegrationID: "i1", State: "s1", Cookie: good}, true},
		{"no cookie", LoginCallback{Org: "acme", IntegrationID: "i1", State: "s1"}, false},
		{"no state param", LoginCallback{Org: "acme", IntegrationID: "i1", Cookie: good}, false},
		{"state mismatch", LoginCallback{Org: "acme", IntegrationID: "i1", State: "s2", Cookie: good}, false},
		{"state prefix", LoginCallback{Org: "acme", IntegrationID: "i1", State: "s", Cookie: good}, false},
		{"other integration", LoginCallback{Org: "acme", IntegrationID: "i2", State: "s1", Cookie: good}, false},
		{"other org", LoginCallback{Org: "globex", IntegrationID: "i1", State: "s1", Cookie: good}, false},
		{"empty everything", LoginCallback{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.checkLoginState(context.Background(), tc.cb)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrLoginExpired) {
				t.Fatalf("err = %v, want ErrLoginExpired", err)
			}
		})
	}
}

func TestCleanReturnTo(t *testing.T) {
	for raw, want := range map[string]string{
		"":                               "/orgs/acme",
		"/orgs/acme/x?y=1":               "/orgs/acme/x?y=1",
		"//evil":                         "/orgs/acme",
		"https://evil":                   "/orgs/acme",
		`/\evil`:                         "/orgs/acme",
		"/%2F%2Fevil":                    "/orgs/acme",
		"%2F%2Fevil":                     "/orgs/acme",
		"/%5Cevil":                       "/orgs/acme",
		"javascript:alert(1)":            "/orgs/acme",
		"/" + string(make([]byte, 2000)): "/orgs/acme",
	} {
		if got := CleanReturnTo("acme", raw); got != want {
			t.Errorf("CleanReturnTo(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestGitLabRefusal: GitLab's error redirects for an active integration each map to their
// code; for an unknown integration the callback answers not-found first (its own page,
// like the login link), whatever GitLab's error says.
func TestGitLabRefusal(t *testing.T) {
	b, _, _, _, mem := newCacheService(t)
	s := &SignIn{b}
	if _, err := mem.CreateIntegration(context.Background(), forgelink.Integration{
		Org: "acme", ID: "i1", URL: "https://gitlab.example.com", Status: forgelink.StatusActive,
	}); err != nil {
		t.Fatal(err)
	}
	_, err := s.FinishLogin(context.Background(), LoginCallback{Org: "acme", IntegrationID: "gone", Error: "access_denied"})
	if forgelink.ErrorCode(err) != forgelink.ENOTFOUND {
		t.Errorf("unknown integration: %v, want %s", err, forgelink.ENOTFOUND)
	}
	for code, want := range map[string]string{
		"access_denied":           forgelink.EDENIED,
		"server_error":            forgelink.EUPSTREAM,
		"temporarily_unavailable": forgelink.EUPSTREAM,
		"invalid_scope":           forgelink.EMALFORMED,
		"<b>":                     forgelink.EMALFORMED,
	} {
		_, err := s.FinishLogin(context.Background(), LoginCallback{Org: "acme", IntegrationID: "i1", Error: code})
		if forgelink.ErrorCode(err) != want {
			t.Errorf("error=%s: %v, want %s", code, err, want)
		}
	}
}
