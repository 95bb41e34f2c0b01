package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// Moves: a pending integration's URL changes together with the org's claim on it.

const (
	urlA = "https://gitlab.example.com"
	urlB = "https://gitlab.example.org"
	urlC = "https://git.example.net/gitlab"
)

// wantFree fails unless url is free in org: a new integration can take it (and is
// deleted again).
func wantFree(t *testing.T, e *env, org, url, what string) {
	t.Helper()
	probe := newIntegration(org, "probe"+randomHex(4), url, e.clock.Now())
	_, err := e.CreateIntegration(e.ctx, probe)
	wantCode(t, err, "", what+": create at "+url)
	wantCode(t, e.DeleteIntegration(e.ctx, org, probe.ID, 1), "", what+": delete the probe")
}

// wantTaken fails unless url is claimed in org: a new integration there is a duplicate.
func wantTaken(t *testing.T, e *env, org, url, what string) {
	t.Helper()
	_, err := e.CreateIntegration(e.ctx, newIntegration(org, "probe"+randomHex(4), url, e.clock.Now()))
	wantCode(t, err, forgelink.ECONFLICT, what+": create at "+url)
}

func testIntegrationMove(t *testing.T, e *env) {
	created, err := e.CreateIntegration(e.ctx, newIntegration("acme", "int1", urlA, e.clock.Now()))
	wantCode(t, err, "", "create")

	// The move writes the URL and the other edits, with the next version.
	e.clock.Advance(time.Minute)
	edit := created
	edit.URL, edit.Name = urlB, "Moved"
	moved, err := e.MoveIntegration(e.ctx, edit, urlA)
	wantCode(t, err, "", "move")
	want := edit
	want.Version, want.UpdatedAt = 2, e.clock.Now()
	same(t, moved, want, "moved integration")
	got, _ := e.GetIntegration(e.ctx, "acme", "int1")
	same(t, got, want, "moved integration read back")

	// The old URL is free at once, the new one taken.
	wantFree(t, e, "acme", urlA, "old URL after the move")
	wantTaken(t, e, "acme", urlB, "new URL after the move")
	wantFree(t, e, "globex", urlB, "the same URL in another org")

	// Moving and activating in one write (credentials saved with a new URL).
	e.clock.Advance(time.Minute)
	edit = moved
	edit.URL, edit.Status, edit.ClientID = urlC, forgelink.StatusActive, "app-id"
	edit.SecretARN, edit.SecretVersion, edit.SecretUpdatedAt = "arn:aws:secretsmanager:x:1:secret:s-abcdef", "v1", e.clock.Now()
	active, err := e.MoveIntegration(e.ctx, edit, urlB)
	wantCode(t, err, "", "move and activate")
	want = edit
	want.Version, want.UpdatedAt = 3, e.clock.Now()
	same(t, active, want, "moved and activated")
	got, _ = e.GetIntegration(e.ctx, "acme", "int1")
	same(t, got, want, "moved and activated, read back")
	wantFree(t, e, "acme", urlB, "URL left by the move that activated")

	// UpdateIntegration still refuses a URL change; a delete frees the moved-to URL.
	edit = active
	edit.URL = urlA
	_, err = e.UpdateIntegration(e.ctx, edit)
	wantCode(t, err, forgelink.EINVALID, "update that changes the URL")
	wantCode(t, e.DeleteIntegration(e.ctx, "acme", "int1", 3), "", "delete after moves")
	wantFree(t, e, "acme", urlC, "URL of the deleted integration")
}

func testIntegrationMoveRefused(t *testing.T, e *env) {
	a, err := e.CreateIntegration(e.ctx, newIntegration("acme", "a", urlA, e.clock.Now()))
	wantCode(t, err, "", "create a")
	b, err := e.CreateIntegration(e.ctx, newIntegration("acme", "b", urlB, e.clock.Now()))
	wantCode(t, err, "", "create b")
	unchanged := func(what string) {
		t.Helper()
		for _, in := range []forgelink.Integration{a, b} {
			got, err := e.GetIntegration(e.ctx, "acme", in.ID)
			wantCode(t, err, "", what+": get "+in.ID)
			same(t, got, in, what+": integration "+in.ID)
			wantTaken(t, e, "acme", in.URL, what+": URL of "+in.ID)
		}
	}

	to := func(in forgelink.Integration, url string) forgelink.Integration { in.URL = url; return in }
	_, err = e.MoveIntegration(e.ctx, to(a, urlB), urlA)
	wantCode(t, err, forgelink.ECONFLICT, "move to another integration's URL")
	if msg, fields := forgelink.ErrorMessage(err), forgelink.ErrorFields(err); msg != "an integration for this GitLab URL already exists in this org" || fields["url"] == "" {
		t.Errorf("duplicate URL: message %q, fields %v; want the duplicate message on field url", msg, fields)
	}
	unchanged("after a move to a taken URL")

	stale := to(a, urlC)
	stale.Version = 7
	_, err = e.MoveIntegration(e.ctx, stale, urlA)
	wantCode(t, err, forgelink.ECONFLICT, "move with a stale version")
	if f := forgelink.ErrorFields(err); f["url"] != "" {
		t.Errorf("a stale move names field url (%v): it would read as a duplicate", f)
	}
	_, err = e.MoveIntegration(e.ctx, to(a, urlC), "https://not-its-url.example.com")
	wantCode(t, err, forgelink.ECONFLICT, "move from a URL that is not the integration's")
	ghost := to(a, urlC)
	ghost.ID = "ghost"
	_, err = e.MoveIntegration(e.ctx, ghost, urlA)
	wantCode(t, err, forgelink.ENOTFOUND, "move a missing integration")
	_, err = e.MoveIntegration(e.ctx, a, urlA)
	wantCode(t, err, forgelink.EINVALID, "move to the URL it has")
	unchanged("after refused moves")
	wantFree(t, e, "acme", urlC, "URL of refused moves")

	// Active: its GitLab application lives on its server; the URL stays.
	act := b
	act.Status, act.ClientID, act.SecretARN = forgelink.StatusActive, "app-id", "arn:aws:secretsmanager:x:1:secret:s-abcdef"
	b, err = e.UpdateIntegration(e.ctx, act)
	wantCode(t, err, "", "activate b")
	_, err = e.MoveIntegration(e.ctx, to(b, urlC), urlB)
	wantCode(t, err, forgelink.EINVALID, "move an active integration")
	if f := forgelink.ErrorFields(err); f["url"] == "" {
		t.Errorf("moving an active integration: fields %v, want a message on url", f)
	}
	unchanged("after moving an active integration")
	wantFree(t, e, "acme", urlC, "URL an active integration did not move to")
}

// testConcurrentMoveSameURL moves pending integrations to one URL at the same time:
// exactly one gets it, the others keep their own URL and claim.
func testConcurrentMoveSameURL(t *testing.T, e *env) {
	const n = 4
	ins := make([]forgelink.Integration, n)
	for i := range n {
		var err error
		ins[i], err = e.CreateIntegration(e.ctx, newIntegration("acme", fmt.Sprintf("id%d", i), fmt.Sprintf("%s/p%d", urlA, i), e.clock.Now()))
		wantCode(t, err, "", "create")
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			in := ins[i]
			in.URL = urlB
			_, errs[i] = e.MoveIntegration(e.ctx, in, ins[i].URL)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch forgelink.ErrorCode(err) {
		case "":
			if winner >= 0 {
				t.Fatalf("moves %d and %d both won", winner, i)
			}
			winner = i
		case forgelink.ECONFLICT:
		default:
			t.Fatalf("concurrent move: %v", err)
		}
	}
	if winner < 0 {
		t.Fatal("no move won")
	}
	for i, in := range ins {
		got, _ := e.GetIntegration(e.ctx, "acme", in.ID)
		if i == winner {
			same(t, got.URL, urlB, "the winner's URL")
			wantFree(t, e, "acme", in.URL, "the winner's old URL")
			continue
		}
		same(t, got, in, fmt.Sprintf("loser %d", i))
		wantTaken(t, e, "acme", in.URL, fmt.Sprintf("loser %d's URL", i))
	}
	wantTaken(t, e, "acme", urlB, "the URL moved to")
}
