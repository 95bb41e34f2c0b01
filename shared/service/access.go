package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// GroupFound is one group membership read from GitLab at sign-in; AccessLevel 0 means not
// a member (or a membership that grants nothing yet).
type GroupFound struct {
	Path        string
	AccessLevel int
}

// Decision is the outcome of decideAccess: whether the person may sign in and with which
// role. A refused person has Role "" and RefusedReason says why in words fit for them.
type Decision struct {
	Allowed       bool
	Role          string // forgelink.RoleAdmin or forgelink.RoleMember when Allowed
	RuleID        string // the admin rule that made the person admin
	Groups        []GroupFound
	RefusedReason string
}

// groupReadsInParallel bounds the GitLab calls of one sign-in in flight at once: fast
// enough for 20 allowed groups plus rules within the callback's budget, gentle on GitLab.
const groupReadsInParallel = 4

// NeedsGroups reports whether signing in through in needs group memberships (and so the
// api scope): when it restricts sign-in to groups, or one of its admin rules names a group.
// rules may hold other integrations' rules; they do not count.
func NeedsGroups(in forgelink.Integration, rules []forgelink.AdminRule) bool {
	return len(groupsToRead(in, rules)) > 0
}

// groupsToRead returns the distinct groups (compared case-insensitively, as GitLab does)
// named by in's allowed_groups and in's group admin rules, in the order first named.
func groupsToRead(in forgelink.Integration, rules []forgelink.AdminRule) []string {
	var paths []string
	seen := map[string]bool{}
	add := func(p string) {
		if k := strings.ToLower(p); !seen[k] {
			seen[k] = true
			paths = append(paths, p)
		}
	}
	for _, g := range in.AllowedGroups {
		add(g.Path)
	}
	for _, r := range rules {
		if r.IntegrationID == in.ID && r.Group != "" {
			add(r.Group)
		}
	}
	return paths
}

// decideAccess decides, at sign-in, whether user may sign in through in and whether as
// admin, from the integration's allowed_groups and the org's admin rules (only in's
// count). It reads each group named there once from GitLab with the person's fresh token,
// a few at a time, within ctx (the caller's budget; s.gitlabBudget when ctx has no
// deadline). Any failed read fails the decision: a rule is never skipped, since skipping
// could refuse an allowed person or, worse, let a refused one in. An error wrapping
// forgelink.ErrInsufficientScope means the token lacks api: a setup problem for an admin.
func (s *base) decideAccess(ctx context.Context, in forgelink.Integration, rules []forgelink.AdminRule,
	user forgelink.GitLabUser, accessToken string) (Decision, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.gitlabBudget)
		defer cancel()
	}
	levels, err := s.readGroupLevels(ctx, in, accessToken, user.ID, groupsToRead(in, rules))
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Groups: levels}
	if !allowedIn(in.AllowedGroups, levels) {
		d.RefusedReason = refusedReason(user, in.AllowedGroups)
		return d, nil
	}
	d.Allowed, d.Role = true, forgelink.RoleMember
	for _, r := range rules {
		if r.IntegrationID == in.ID && ruleMatches(r, user, levels) {
			d.Role, d.RuleID = forgelink.RoleAdmin, r.ID
			break
		}
	}
	return d, nil
}

// allowedIn: no allowed groups means everyone; otherwise one group at its level suffices.
func allowedIn(allowed []forgelink.GroupRule, levels []GroupFound) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, g := range allowed {
		if lvl := levelIn(levels, g.Path); lvl > 0 && lvl >= g.MinAccessLevel {
			return true
		}
	}
	return false
}

func ruleMatches(r forgelink.AdminRule, user forgelink.GitLabUser, levels []GroupFound) bool {
	if r.Username != "" {
		return strings.EqualFold(r.Username, user.Username)
	}
	lvl := levelIn(levels, r.Group)
	return lvl > 0 && lvl >= r.MinAccessLevel
}

func levelIn(levels []GroupFound, path string) int {
	for _, g := range levels {
		if strings.EqualFold(g.Path, path) {
			return g.AccessLevel
		}
	}
	return 0
}

// refusedReason tells a refused person what to ask their admin for.
func refusedReason(user forgelink.GitLabUser, allowed []forgelink.GroupRule) string {
	words := make([]string, len(allowed))
	for i, g := range allowed {
		words[i] = DescribeGroupRule(g)
	}
	return fmt.Sprintf("GitLab user @%s is not in a group allowed to sign in here (%s). "+
		"Ask an admin of this organization to add you to one of these groups, or to allow one of yours.",
		user.Username, strings.Join(words, "; "))
}

// readGroupLevels reads the user's access level in each group, groupReadsInParallel at a
// time. The first failure cancels the reads still running and is the one returned (not
// the cancellations it caused).
func (s *base) readGroupLevels(ctx context.Context, in forgelink.Integration, token string, userID int64,
	paths []string) ([]GroupFound, error) {
	out := make([]GroupFound, len(paths))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, groupReadsInParallel)
	)
	for i, p := range paths {
		out[i].Path = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			if ctx.Err() != nil {
				return
			}
			lvl, err := s.gitlab.GroupAccessLevel(ctx, in, token, p, userID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
			out[i].AccessLevel = lvl
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil { // the caller's deadline passed between reads
		firstErr = forgelink.Wrap(forgelink.EUPSTREAM, ctx.Err(), "GitLab at %s took too long to answer.", in.URL)
	}
	if firstErr != nil {
		return nil, groupReadError(in, firstErr)
	}
	return out, nil
}

// groupReadError words a failed group read; a missing scope becomes a setup problem.
func groupReadError(in forgelink.Integration, err error) error {
	if errors.Is(err, forgelink.ErrInsufficientScope) {
		return &forgelink.Error{Code: forgelink.EUPSTREAM, Err: err, Message: "forgelink could not read your GitLab group " +
			"memberships: the GitLab application of this sign-in lacks the api scope. An admin must add the api scope " +
			"to the application on " + in.Host() + "; signing in again will not help."}
	}
	return err
}
