package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// groupsGitLab answers GroupAccessLevel from a table, as the fake GitLab's groups would:
// eng (alice 40, bob 30), eng/platform (inherited from eng), ops (alice 50).
type groupsGitLab struct {
	GitLab
	mu       sync.Mutex
	calls    []string
	inFlight int
	maxIn    int
	fail     map[string]error // path → error
	delay    time.Duration
}

var fakeLevels = map[string]map[int64]int{
	"eng":          {1: 40, 2: 30},
	"eng/platform": {1: 40, 2: 30},
	"ops":          {1: 50},
}

func (g *groupsGitLab) GroupAccessLevel(ctx context.Context, _ forgelink.Integration, token, group string, userID int64) (int, error) {
	g.mu.Lock()
	g.calls = append(g.calls, group)
	g.inFlight++
	g.maxIn = max(g.maxIn, g.inFlight)
	err := g.fail[strings.ToLower(group)]
	g.mu.Unlock()
	defer func() { g.mu.Lock(); g.inFlight--; g.mu.Unlock() }()
	if token != "tok" {
		return 0, errors.New("wrong token passed")
	}
	if g.delay > 0 {
		select {
		case <-time.After(g.delay):
		case <-ctx.Done():
			return 0, forgelink.Wrap(forgelink.EUPSTREAM, ctx.Err(), "Could not reach GitLab.")
		}
	}
	if err != nil {
		return 0, err
	}
	return fakeLevels[strings.ToLower(group)][userID], nil
}

var (
	alice = forgelink.GitLabUser{ID: 1, Username: "alice"}
	bob   = forgelink.GitLabUser{ID: 2, Username: "bob"}
	carol = forgelink.GitLabUser{ID: 3, Username: "carol"}
)

func accessBase(gl GitLab) *base {
	return newBase(Deps{GitLab: gl, Log: slog.New(slog.DiscardHandler)})
}

func groups(rules ...string) []forgelink.GroupRule {
	var out []forgelink.GroupRule
	for _, r := range rules {
		var g forgelink.GroupRule
		fmt.Sscanf(strings.Replace(r, ":", " ", 1), "%s %d", &g.Path, &g.MinAccessLevel)
		out = append(out, g)
	}
	return out
}

func TestDecideAccess(t *testing.T) {
	userRule := forgelink.AdminRule{ID: "r-user", IntegrationID: "i1", Username: "Carol"}
	engMaint := forgelink.AdminRule{ID: "r-eng40", IntegrationID: "i1", Group: "eng", MinAccessLevel: 40}
	platDev := forgelink.AdminRule{ID: "r-plat30", IntegrationID: "i1", Group: "eng/platform", MinAccessLevel: 30}
	otherInt := forgelink.AdminRule{ID: "r-other", IntegrationID: "i2", Username: "bob"}
	for _, tc := range []struct {
		name    string
		allowed []forgelink.GroupRule
		rules   []forgelink.AdminRule
		user    forgelink.GitLabUser
		want    string // "refused", "member", or "admin:<rule id>"
		calls   int
	}{
		{"no restriction, no rules", nil, nil, carol, "member", 0},
		{"username rule, any case", nil, []forgelink.AdminRule{userRule}, carol, "admin:r-user", 0},
		{"another integration's rule does not count", nil, []forgelink.AdminRule{otherInt}, bob, "member", 0},
		{"group rule at level", nil, []forgelink.AdminRule{engMaint}, alice, "admin:r-eng40", 1},
		{"group rule below level", nil, []forgelink.AdminRule{engMaint}, bob, "member", 1},
		{"inherited membership counts", nil, []forgelink.AdminRule{platDev}, bob, "admin:r-plat30", 1},
		{"not a member", nil, []forgelink.AdminRule{platDev}, carol, "member", 1},
		{"allowed group, member", groups("eng:30"), nil, bob, "member", 1},
		{"allowed group, below level", groups("eng:40"), nil, bob, "refused", 1},
		{"allowed subgroup, inherited", groups("eng/platform:10"), nil, bob, "member", 1},
		{"allowed groups, none of them", groups("eng:10", "ops:10"), nil, carol, "refused", 2},
		{"one of several suffices", groups("ops:10", "eng:30"), nil, bob, "member", 2},
		{"admin rule does not bypass allowed groups", groups("ops:10"), []forgelink.AdminRule{userRule}, carol, "refused", 1},
		{"one read per group, whatever names it", groups("eng:10", "ENG/platform:10"),
			[]forgelink.AdminRule{engMaint, platDev, {ID: "r-eng50", IntegrationID: "i1", Group: "Eng", MinAccessLevel: 50}}, alice, "admin:r-eng40", 2},
		{"first matching rule names the grant", nil, []forgelink.AdminRule{platDev, engMaint}, alice, "admin:r-plat30", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gl := &groupsGitLab{}
			in := forgelink.Integration{ID: "i1", URL: "https://gitlab.example.com", AllowedGroups: tc.allowed}
			d, err := accessBase(gl).decideAccess(context.Background(), in, tc.rules, tc.user, "tok")
			if err != nil {
				t.Fatal(err)
			}
			got := "refused"
			if d.Allowed {
				got = d.Role
				if d.Role == forgelink.RoleAdmin {
					got += ":" + d.RuleID
				}
			}
			if got != tc.want {
				t.Errorf("decision %s (%+v), want %s", got, d, tc.want)
			}
			if len(gl.calls) != tc.calls || len(d.Groups) != tc.calls {
				t.Errorf("GitLab calls %v, groups %+v; want %d each", gl.calls, d.Groups, tc.calls)
			}
			if got == "refused" && (!strings.Contains(d.RefusedReason, "@"+tc.user.Username) || d.Role != "") {
				t.Errorf("refused: role %q, reason %q", d.Role, d.RefusedReason)
			}
			if NeedsGroups(in, tc.rules) != (tc.calls > 0) {
				t.Errorf("NeedsGroups = %v with %d group reads", !(tc.calls > 0), tc.calls)
			}
		})
	}
}

func TestDecideAccessGroupsFound(t *testing.T) {
	in := forgelink.Integration{ID: "i1", AllowedGroups: groups("ops:10", "eng/platform:30")}
	d, err := accessBase(&groupsGitLab{}).decideAccess(context.Background(), in,
		[]forgelink.AdminRule{{IntegrationID: "i1", Group: "eng", MinAccessLevel: 50}}, bob, "tok")
	if err != nil {
		t.Fatal(err)
	}
	want := []GroupFound{{"ops", 0}, {"eng/platform", 30}, {"eng", 30}}
	if fmt.Sprint(d.Groups) != fmt.Sprint(want) || !d.Allowed || d.Role != forgelink.RoleMember {
		t.Errorf("decision %+v, want groups %v, member", d, want)
	}
}

func TestDecideAccessFailures(t *testing.T) {
	in := forgelink.Integration{ID: "i1", URL: "https://gitlab.example.com", AllowedGroups: groups("eng:10", "ops:10")}
	rules := []forgelink.AdminRule{{IntegrationID: "i1", Group: "eng/platform", MinAccessLevel: 30}}
	down := forgelink.Errorf(forgelink.EUPSTREAM, "Could not reach GitLab at https://gitlab.example.com.")
	scope := forgelink.Wrap(forgelink.EUPSTREAM, fmt.Errorf("%w: 403", forgelink.ErrInsufficientScope), "GitLab refused.")

	t.Run("GitLab down fails the decision", func(t *testing.T) {
		_, err := accessBase(&groupsGitLab{fail: map[string]error{"ops": down}}).decideAccess(context.Background(), in, rules, alice, "tok")
		if !errors.Is(err, down) {
			t.Fatalf("err = %v, want the GitLab error", err)
		}
	})
	t.Run("a failing admin-rule group is not skipped", func(t *testing.T) {
		_, err := accessBase(&groupsGitLab{fail: map[string]error{"eng/platform": down}}).decideAccess(context.Background(), in, rules, alice, "tok")
		if forgelink.ErrorCode(err) != forgelink.EUPSTREAM {
			t.Fatalf("err = %v, want EUPSTREAM", err)
		}
	})
	t.Run("missing scope is a setup problem", func(t *testing.T) {
		_, err := accessBase(&groupsGitLab{fail: map[string]error{"eng": scope}}).decideAccess(context.Background(), in, rules, alice, "tok")
		if !errors.Is(err, forgelink.ErrInsufficientScope) || forgelink.ErrorCode(err) != forgelink.EUPSTREAM ||
			!strings.Contains(forgelink.ErrorMessage(err), "api scope") {
			t.Fatalf("err = %v (%q), want EUPSTREAM wrapping ErrInsufficientScope, naming the api scope", err, forgelink.ErrorMessage(err))
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := accessBase(&groupsGitLab{delay: time.Second}).decideAccess(ctx, in, rules, alice, "tok")
		if forgelink.ErrorCode(err) != forgelink.EUPSTREAM || time.Since(start) > 500*time.Millisecond {
			t.Fatalf("err = %v after %v, want EUPSTREAM within the deadline", err, time.Since(start))
		}
	})
	t.Run("no deadline: the GitLab budget applies", func(t *testing.T) {
		b := newBase(Deps{GitLab: &groupsGitLab{delay: time.Second}, GitLabBudget: 50 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
		if _, err := b.decideAccess(context.Background(), in, rules, alice, "tok"); forgelink.ErrorCode(err) != forgelink.EUPSTREAM {
			t.Fatalf("err = %v, want EUPSTREAM", err)
		}
	})
}

func TestDecideAccessBoundedParallel(t *testing.T) {
	var allowed []forgelink.GroupRule
	for i := range MaxAllowedGroups {
		allowed = append(allowed, forgelink.GroupRule{Path: fmt.Sprintf("g%d", i), MinAccessLevel: 10})
	}
	gl := &groupsGitLab{delay: 20 * time.Millisecond}
	start := time.Now()
	d, err := accessBase(gl).decideAccess(context.Background(), forgelink.Integration{ID: "i1", AllowedGroups: allowed}, nil, alice, "tok")
	if err != nil || d.Allowed {
		t.Fatalf("decision %+v, %v; want refused (no such groups)", d, err)
	}
	if len(gl.calls) != MaxAllowedGroups || gl.maxIn > groupReadsInParallel || gl.maxIn < 2 {
		t.Errorf("%d calls, at most %d at once; want %d calls, 2..%d at once", len(gl.calls), gl.maxIn, MaxAllowedGroups, groupReadsInParallel)
	}
	if el := time.Since(start); el > time.Duration(MaxAllowedGroups)*20*time.Millisecond {
		t.Errorf("took %v: not in parallel", el)
	}
}
