package web_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/forgelink"
)

// staleOnce serves one prepared read of an integration instead of the stored one: the
// read of a request that raced with another's write.
type staleOnce struct {
	forgelink.Store
	mu    sync.Mutex
	stale *forgelink.Integration
}

func (s *staleOnce) arm(in forgelink.Integration) { s.mu.Lock(); s.stale = &in; s.mu.Unlock() }

func (s *staleOnce) GetIntegration(ctx context.Context, org, id string) (forgelink.Integration, error) {
	s.mu.Lock()
	stale := s.stale
	s.stale = nil
	s.mu.Unlock()
	if stale != nil {
		return *stale, nil
	}
	return s.Store.GetIntegration(ctx, org, id)
}

// TestSaveFormSentTwice: the same Save form posted twice lands on the list as saved, not
// on "changed by someone else": after the first one finished (a reload, back and submit
// again) and while it was still at GitLab (a double click: both read the same version).
// A stale form that asks for something else is still a conflict.
func TestSaveFormSentTwice(t *testing.T) {
	var store *staleOnce
	e := apptest.Start(t, apptest.Options{WrapStore: func(s forgelink.Store) forgelink.Store {
		store = &staleOnce{Store: s}
		return store
	}})
	c := e.AdminClient(t)
	in := e.PendingIntegration(t, "Twice")
	creds := igNewApp(e, in.CallbackURL)
	page := igPath(e, in.ID)
	r := e.Get(t, c, page)
	form := map[string]string{"csrf_token": apptest.FormValue(r.Body, "csrf_token"), "version": apptest.FormValue(r.Body, "version"),
		"client_id": creds.ClientID, "client_secret": creds.Secret, "name": "Twice", "ca_bundle": ""}
	pending, err := e.App.Store.GetIntegration(context.Background(), e.Org, in.ID)
	if err != nil {
		t.Fatal(err)
	}

	saved := "/orgs/" + e.Org + "/settings/integrations?saved=" + in.ID
	for _, send := range []string{"first", "again after the first finished", "again, having read the version the first one read"} {
		if strings.HasPrefix(send, "again, having") {
			store.arm(pending)
		}
		r = e.PostForm(t, c, page, form)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != saved {
			t.Errorf("%s: %d %q, want 303 to %s\n%s", send, r.StatusCode, r.Header.Get("Location"), saved, r.Body)
			continue
		}
		if r = e.Follow(t, c, r); !strings.Contains(r.Body, "is saved and active") || strings.Contains(r.Body, "someone else") {
			t.Errorf("%s: the list says:\n%s", send, r.Body)
		}
	}
	if got := igStored(t, e)[0]; got.Status != forgelink.StatusActive || got.Version != 2 {
		t.Errorf("stored after three sends: %+v, want active at version 2 (saved once)", got)
	}

	// A stale form from another tab with another secret must not pass for saved: that
	// secret was never stored.
	other := igNewApp(e, in.CallbackURL)
	form["client_secret"] = other.Secret
	r = e.PostForm(t, c, page, form)
	if r.StatusCode == http.StatusSeeOther {
		t.Errorf("a stale form with another secret: %d to %q, want it refused", r.StatusCode, r.Header.Get("Location"))
	}
	form["client_secret"] = creds.Secret

	form["name"] = "Another name"
	r = e.PostForm(t, c, page, form)
	igWantStatus(t, r, http.StatusConflict)
	if !strings.Contains(r.Body, "changed by someone else") {
		t.Errorf("a stale form asking for another name:\n%s", r.Body)
	}
}
