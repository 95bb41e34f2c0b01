package fakegitlab

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Access levels, as GitLab's Gitlab::Access defines them.
const (
	NoAccess      = 0
	MinimalAccess = 5
	Guest         = 10
	Reporter      = 20
	Developer     = 30
	Maintainer    = 40
	Owner         = 50
)

// accessNames are the role names GitLab uses in messages.
var accessNames = map[int]string{
	MinimalAccess: "Minimal Access", Guest: "Guest", Reporter: "Reporter",
	Developer: "Developer", Maintainer: "Maintainer", Owner: "Owner",
}

// validAccessLevel reports whether GitLab 17.5 accepts level for a
// membership (Gitlab::Access.all_values; Planner 15 came in 17.7).
func validAccessLevel(level int) bool {
	_, ok := accessNames[level]
	return ok
}

// maxGroupDepth is GitLab's limit on nesting (Namespace::NUMBER_OF_ANCESTORS_ALLOWED).
const maxGroupDepth = 20

// Group is a GitLab group (a namespace of type Group).
type Group struct {
	ID       int
	Name     string
	Path     string // the last segment of FullPath
	FullPath string // "eng/platform"
	FullName string // "Engineering / Platform"
	ParentID int    // 0 for a top-level group
	// Visibility is "private", "internal" or "public".
	Visibility  string
	Description string
	CreatedAt   time.Time
}

// GroupSpec describes a group for CreateGroup and Options.ExtraGroups.
type GroupSpec struct {
	// FullPath such as "qa" or "eng/security"; the parent must exist.
	FullPath string
	// Name defaults to the last segment of FullPath.
	Name string
	// Visibility defaults to "private", GitLab's default for new groups.
	Visibility string
	// Members maps usernames to direct access levels (Guest ... Owner).
	Members map[string]int
}

// group is the stored form: the exported view plus direct memberships.
type group struct {
	Group
	members []*member
}

// member is a direct membership. CreatedBy is the user who added it (0:
// nobody, e.g. the creator of the group). IDs order the member lists.
type member struct {
	ID          int
	UserID      int
	AccessLevel int
	CreatedBy   int
	CreatedAt   time.Time
}

// fieldErrors are ActiveRecord validation errors, field to messages.
type fieldErrors map[string][]string

func (e fieldErrors) add(field, msg string) { e[field] = append(e[field], msg) }

// Error renders the errors as Ruby inspects a hash, which is what GitLab
// puts in "Failed to save group {...}" messages.
func (e fieldErrors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		msgs := make([]string, 0, len(e[k]))
		for _, m := range e[k] {
			msgs = append(msgs, strconv.Quote(m))
		}
		parts = append(parts, ":"+k+"=>["+strings.Join(msgs, ", ")+"]")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// defaultGroups are the groups DESIGN.md promises: eng (alice Maintainer,
// bob Developer), its subgroup eng/platform with no direct members, and ops
// (alice Owner). carol is in none of them.
var defaultGroups = []GroupSpec{
	{FullPath: "eng", Name: "Engineering", Members: map[string]int{"alice": Maintainer, "bob": Developer}},
	{FullPath: "eng/platform", Name: "Platform"},
	{FullPath: "ops", Name: "Operations", Members: map[string]int{"alice": Owner}},
}

// firstGroupID keeps group ids apart from user ids, so a client that mixes
// them up fails in tests instead of passing by accident.
const firstGroupID = 100

// seedGroups creates the default groups and Options.ExtraGroups, backdated
// like the seeded users. A bad ExtraGroups entry is a test bug: it panics.
func (s *Server) seedGroups(created time.Time) {
	for _, spec := range append(append([]GroupSpec(nil), defaultGroups...), s.opts.ExtraGroups...) {
		g, err := s.createGroupFromSpecLocked(spec, created)
		if err != nil {
			panic("fakegitlab: group " + spec.FullPath + ": " + err.Error())
		}
		g.CreatedAt = created
		for _, m := range g.members {
			m.CreatedAt = created
		}
	}
}

// CreateGroup adds a group as root would, with spec.Members as direct
// members added by root. Validation follows GitLab's (path format and
// uniqueness, name format, visibility no wider than the parent's).
func (s *Server) CreateGroup(spec GroupSpec) (Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.createGroupFromSpecLocked(spec, s.now().UTC())
	if err != nil {
		return Group{}, err
	}
	return g.Group, nil
}

func (s *Server) createGroupFromSpecLocked(spec GroupSpec, now time.Time) (*group, error) {
	parentPath, path := "", spec.FullPath
	if i := strings.LastIndex(spec.FullPath, "/"); i >= 0 {
		parentPath, path = spec.FullPath[:i], spec.FullPath[i+1:]
	}
	var parent *group
	if parentPath != "" {
		if parent = s.groupByPathLocked(parentPath); parent == nil {
			return nil, fmt.Errorf("parent group %q does not exist", parentPath)
		}
	}
	name := spec.Name
	if name == "" {
		name = path
	}
	users := make([]string, 0, len(spec.Members))
	for username, level := range spec.Members {
		if s.userByUsernameLocked(username) == nil {
			return nil, fmt.Errorf("unknown user %q", username)
		}
		if !validAccessLevel(level) {
			return nil, fmt.Errorf("access level %d for %s is not one of GitLab's", level, username)
		}
		users = append(users, username)
	}
	g, errs := s.createGroupLocked(name, path, spec.Visibility, parent, now)
	if errs != nil {
		return nil, errs
	}
	sort.Strings(users)
	for _, username := range users {
		u := s.userByUsernameLocked(username)
		s.addMemberLocked(g, u.ID, spec.Members[username], 1, now)
	}
	return g, nil
}

// createGroupLocked validates and stores a group. An empty visibility is
// "private".
func (s *Server) createGroupLocked(name, path, visibility string, parent *group, now time.Time) (*group, fieldErrors) {
	if visibility == "" {
		visibility = "private"
	}
	errs := fieldErrors{}
	validateGroupName(errs, name)
	s.validateGroupPathLocked(errs, path, parent)
	if parent != nil {
		if len(s.ancestorsLocked(parent)) >= maxGroupDepth {
			errs.add("parent_id", "has too deep level of nesting")
		}
		if visibilityRank[visibility] > visibilityRank[parent.Visibility] {
			errs.add("visibility_level", visibility+" is not allowed since the parent group has a "+parent.Visibility+" visibility.")
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	g := &group{Group: Group{ID: s.nextGroup, Name: name, Path: path, FullPath: path, FullName: name,
		Visibility: visibility, CreatedAt: now}}
	if parent != nil {
		g.ParentID = parent.ID
		g.FullPath = parent.FullPath + "/" + path
		g.FullName = parent.FullName + " / " + name
	}
	s.nextGroup++
	s.groups = append(s.groups, g)
	return g, nil
}

var visibilityRank = map[string]int{"private": 0, "internal": 1, "public": 2}

// groupNameRe is Gitlab::Regex.group_name_regex: letters, digits, emoji,
// '_', '.', dash, space and parentheses, starting with a letter, digit,
// emoji or '_'. So a group name can never carry markup.
var groupNameRe = regexp.MustCompile(`^[\p{L}\p{M}\p{N}\x{00A9}-\x{1F9FF}_][\p{L}\p{M}\p{N}\p{Pd}\x{00A9}-\x{1F9FF}_(). ]*$`)

func validateGroupName(errs fieldErrors, name string) {
	switch {
	case strings.TrimSpace(name) == "":
		errs.add("name", "can't be blank")
	case utf8.RuneCountInString(name) > 255:
		errs.add("name", "is too long (maximum is 255 characters)")
	case !groupNameRe.MatchString(name):
		errs.add("name", "can contain only letters, digits, emoji, '_', '.', dash, space, parenthesis. It must start with letter, digit, emoji or '_'.")
	}
}

// namespacePathRe is Gitlab::PathRegex's namespace format: letters,
// digits, '_', '-' and '.', not starting with '-'; the endings are checked
// separately because Go's regexp has no look-behind.
var namespacePathRe = regexp.MustCompile(`^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*$`)

const namespacePathMessage = "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'."

// reservedTopLevel are some of GitLab's TOP_LEVEL_ROUTES: paths a user or
// top-level group cannot take because GitLab's own pages live there.
var reservedTopLevel = map[string]bool{
	"-": true, ".well-known": true, "admin": true, "api": true, "assets": true, "dashboard": true,
	"explore": true, "groups": true, "help": true, "import": true, "jwt": true, "login": true,
	"oauth": true, "profile": true, "projects": true, "public": true, "search": true,
	"uploads": true, "users": true, "v2": true,
}

// validNamespacePath checks the format GitLab requires of usernames and
// group paths alike; it returns the error message or "".
func validNamespacePath(path string) string {
	lower := strings.ToLower(path)
	switch {
	case path == "":
		return "can't be blank"
	case len(path) > 255:
		return "is too long (maximum is 255 characters)"
	case !namespacePathRe.MatchString(path) || strings.HasSuffix(path, ".") ||
		strings.HasSuffix(lower, ".git") || strings.HasSuffix(lower, ".atom"):
		return namespacePathMessage
	}
	return ""
}

func (s *Server) validateGroupPathLocked(errs fieldErrors, path string, parent *group) {
	if msg := validNamespacePath(path); msg != "" {
		errs.add("path", msg)
		return
	}
	if parent == nil && reservedTopLevel[strings.ToLower(path)] {
		errs.add("path", path+" is a reserved name")
		return
	}
	if !s.namespaceFreeLocked(path, parent, 0) {
		errs.add("path", "has already been taken")
	}
}

// namespaceFreeLocked reports whether path is free beside parent: no
// sibling group has it and, at the top level, no user either (users and
// top-level groups share one URL namespace). exceptUser is the user being
// renamed, if any.
func (s *Server) namespaceFreeLocked(path string, parent *group, exceptUser int) bool {
	parentID := 0
	if parent != nil {
		parentID = parent.ID
	}
	for _, g := range s.groups {
		if g.ParentID == parentID && strings.EqualFold(g.Path, path) {
			return false
		}
	}
	if parent == nil {
		for _, u := range s.users {
			if u.ID != exceptUser && strings.EqualFold(u.Username, path) {
				return false
			}
		}
	}
	return true
}

// SetGroupMember gives username a direct membership of the group with the
// given access level, replacing any it had; level NoAccess removes the
// direct membership (inherited access from parent groups remains). group
// is a full path or a numeric id.
func (s *Server) SetGroupMember(group, username string, level int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupByRefLocked(group)
	u := s.userByUsernameLocked(username)
	switch {
	case g == nil:
		return fmt.Errorf("fakegitlab: no group %q", group)
	case u == nil:
		return fmt.Errorf("fakegitlab: no user %q", username)
	case level != NoAccess && !validAccessLevel(level):
		return fmt.Errorf("fakegitlab: access level %d is not one of GitLab's", level)
	}
	for i, m := range g.members {
		if m.UserID == u.ID {
			if level == NoAccess {
				g.members = append(g.members[:i], g.members[i+1:]...)
			} else {
				m.AccessLevel = level
			}
			return nil
		}
	}
	if level != NoAccess {
		s.addMemberLocked(g, u.ID, level, 1, s.now().UTC())
	}
	return nil
}

func (s *Server) addMemberLocked(g *group, userID, level, createdBy int, now time.Time) *member {
	s.nextMember++
	m := &member{ID: s.nextMember, UserID: userID, AccessLevel: level, CreatedBy: createdBy, CreatedAt: now}
	g.members = append(g.members, m)
	return m
}

// Groups lists every group, in creation order.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g.Group)
	}
	return out
}

// GroupAccess is username's effective access level in the group: the
// highest of its direct memberships of the group and of every ancestor, as
// GitLab's members/all computes it. NoAccess when none (or no such group).
func (s *Server) GroupAccess(group, username string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupByRefLocked(group)
	u := s.userByUsernameLocked(username)
	if g == nil || u == nil {
		return NoAccess
	}
	if m, _ := s.effectiveMemberLocked(g, u.ID); m != nil {
		return m.AccessLevel
	}
	return NoAccess
}

func (s *Server) userByUsernameLocked(username string) *User {
	for _, u := range s.users {
		if strings.EqualFold(u.Username, username) {
			return u
		}
	}
	return nil
}

func (s *Server) groupByIDLocked(id int) *group {
	for _, g := range s.groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// groupByPathLocked finds a group by full path, case-insensitively as
// GitLab's Routable.find_by_full_path does.
func (s *Server) groupByPathLocked(fullPath string) *group {
	for _, g := range s.groups {
		if strings.EqualFold(g.FullPath, fullPath) {
			return g
		}
	}
	return nil
}

// integerIDRe is GitLab's INTEGER_ID_REGEX: such an :id is an id, anything
// else a full path (so an all-digit path can only be reached by id).
var integerIDRe = regexp.MustCompile(`^-?[0-9]+$`)

// groupByRefLocked resolves an API :id, a numeric id or a full path.
func (s *Server) groupByRefLocked(ref string) *group {
	if integerIDRe.MatchString(ref) {
		id, err := strconv.Atoi(ref)
		if err != nil {
			return nil
		}
		return s.groupByIDLocked(id)
	}
	return s.groupByPathLocked(ref)
}

// ancestorsLocked is g and its ancestors, nearest first.
func (s *Server) ancestorsLocked(g *group) []*group {
	var out []*group
	for cur := g; cur != nil && len(out) <= maxGroupDepth; cur = s.groupByIDLocked(cur.ParentID) {
		out = append(out, cur)
		if cur.ParentID == 0 {
			break
		}
	}
	return out
}

func (s *Server) isDescendantLocked(g, ancestor *group) bool {
	for _, a := range s.ancestorsLocked(g) {
		if a.ID == ancestor.ID {
			return true
		}
	}
	return false
}

func directMember(g *group, userID int) *member {
	for _, m := range g.members {
		if m.UserID == userID {
			return m
		}
	}
	return nil
}

// effectiveMemberLocked is the membership members/all reports for userID:
// the one with the highest access level among g and its ancestors (the
// nearest wins a tie), and the group holding it.
func (s *Server) effectiveMemberLocked(g *group, userID int) (*member, *group) {
	var best *member
	var from *group
	for _, a := range s.ancestorsLocked(g) {
		if m := directMember(a, userID); m != nil && (best == nil || m.AccessLevel > best.AccessLevel) {
			best, from = m, a
		}
	}
	return best, from
}

// canReadGroupLocked is GitLab's read_group for the API: admins, anyone
// for public groups, signed-in users for internal ones, members (direct or
// inherited) and members of a descendant group, who see their ancestors.
func (s *Server) canReadGroupLocked(u *User, g *group) bool {
	switch {
	case g.Visibility == "public":
		return true
	case u == nil:
		return false
	case u.Admin || g.Visibility == "internal":
		return true
	}
	for _, other := range s.groups {
		if directMember(other, u.ID) != nil && (s.isDescendantLocked(g, other) || s.isDescendantLocked(other, g)) {
			return true
		}
	}
	return false
}

// groupPathsLocked lists the full paths of the groups userID is a direct
// member of with at least minLevel, in id order; withSubgroups adds their
// descendants (GitLab's user.membership_groups).
func (s *Server) groupPathsLocked(userID, minLevel int, withSubgroups bool) []string {
	out := []string{}
	for _, g := range s.groups {
		for i, a := range s.ancestorsLocked(g) {
			if m := directMember(a, userID); m != nil && m.AccessLevel >= minLevel && (i == 0 || withSubgroups) {
				out = append(out, g.FullPath)
				break
			}
		}
	}
	return out
}

// userinfoGroupClaimsLocked adds the group claims GitLab's
// doorkeeper_openid_connect initializer puts in the userinfo answer:
// groups (direct groups and their subgroups) and, when not empty, the
// direct Owner, Maintainer and Developer groups under
// https://gitlab.org/claims/groups/<role>. (groups_direct is id_token only.)
func (s *Server) userinfoGroupClaimsLocked(userID int, claims map[string]any) {
	claims["groups"] = s.groupPathsLocked(userID, MinimalAccess, true)
	for level, role := range map[int]string{Owner: "owner", Maintainer: "maintainer", Developer: "developer"} {
		var paths []string
		for _, g := range s.groups {
			if m := directMember(g, userID); m != nil && m.AccessLevel == level {
				paths = append(paths, g.FullPath)
			}
		}
		if len(paths) > 0 {
			claims["https://gitlab.org/claims/groups/"+role] = paths
		}
	}
}
