package fakegitlab

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ---- entities ----

// apiGroup is GitLab's Entities::Group (17.5, EE fields included).
type apiGroup struct {
	ID                              int            `json:"id"`
	WebURL                          string         `json:"web_url"`
	Name                            string         `json:"name"`
	Path                            string         `json:"path"`
	Description                     string         `json:"description"`
	Visibility                      string         `json:"visibility"`
	ShareWithGroupLock              bool           `json:"share_with_group_lock"`
	RequireTwoFactorAuthentication  bool           `json:"require_two_factor_authentication"`
	TwoFactorGracePeriod            int            `json:"two_factor_grace_period"`
	ProjectCreationLevel            string         `json:"project_creation_level"`
	AutoDevopsEnabled               *bool          `json:"auto_devops_enabled"`
	SubgroupCreationLevel           string         `json:"subgroup_creation_level"`
	EmailsDisabled                  bool           `json:"emails_disabled"`
	EmailsEnabled                   bool           `json:"emails_enabled"`
	MentionsDisabled                *bool          `json:"mentions_disabled"`
	LFSEnabled                      bool           `json:"lfs_enabled"`
	MathRenderingLimitsEnabled      bool           `json:"math_rendering_limits_enabled"`
	LockMathRenderingLimitsEnabled  bool           `json:"lock_math_rendering_limits_enabled"`
	DefaultBranch                   *string        `json:"default_branch"`
	DefaultBranchProtection         int            `json:"default_branch_protection"`
	DefaultBranchProtectionDefaults map[string]any `json:"default_branch_protection_defaults"`
	AvatarURL                       *string        `json:"avatar_url"`
	RequestAccessEnabled            bool           `json:"request_access_enabled"`
	FullName                        string         `json:"full_name"`
	FullPath                        string         `json:"full_path"`
	CreatedAt                       string         `json:"created_at"`
	ParentID                        *int           `json:"parent_id"`
	OrganizationID                  int            `json:"organization_id"`
	SharedRunnersSetting            string         `json:"shared_runners_setting"`
	LDAPCN                          *string        `json:"ldap_cn"`
	LDAPAccess                      *int           `json:"ldap_access"`
	WikiAccessLevel                 string         `json:"wiki_access_level"`
	MarkedForDeletionOn             *string        `json:"marked_for_deletion_on"`
}

// apiGroupDetail is Entities::GroupDetail: the group plus its (here always
// empty) projects and shares.
type apiGroupDetail struct {
	apiGroup
	SharedWithGroups                     []any `json:"shared_with_groups"`
	PreventSharingGroupsOutsideHierarchy bool  `json:"prevent_sharing_groups_outside_hierarchy"`
	Projects                             []any `json:"projects"`
	SharedProjects                       []any `json:"shared_projects"`
}

func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func toAPIGroup(base string, g *group) apiGroup {
	out := apiGroup{
		ID: g.ID, WebURL: base + "/groups/" + g.FullPath, Name: g.Name, Path: g.Path,
		Description: g.Description, Visibility: g.Visibility, TwoFactorGracePeriod: 48,
		ProjectCreationLevel: "developer", SubgroupCreationLevel: "maintainer", EmailsEnabled: true,
		LFSEnabled: true, MathRenderingLimitsEnabled: true, DefaultBranchProtection: 2,
		DefaultBranchProtectionDefaults: map[string]any{
			"allowed_to_push":  []map[string]int{{"access_level": Maintainer}},
			"allow_force_push": false,
			"allowed_to_merge": []map[string]int{{"access_level": Maintainer}},
		},
		RequestAccessEnabled: true, FullName: g.FullName, FullPath: g.FullPath,
		CreatedAt: apiTime(g.CreatedAt), OrganizationID: 1, SharedRunnersSetting: "enabled",
		WikiAccessLevel: "enabled",
	}
	if g.ParentID != 0 {
		id := g.ParentID
		out.ParentID = &id
	}
	return out
}

func toAPIGroupDetail(base string, g *group) apiGroupDetail {
	return apiGroupDetail{apiGroup: toAPIGroup(base, g),
		SharedWithGroups: []any{}, Projects: []any{}, SharedProjects: []any{}}
}

// apiUserBasic is Entities::UserBasic.
type apiUserBasic struct {
	ID        int    `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Locked    bool   `json:"locked"`
	AvatarURL string `json:"avatar_url"`
	WebURL    string `json:"web_url"`
}

func (s *Server) toAPIUserBasic(base string, u *User) apiUserBasic {
	return apiUserBasic{ID: u.ID, Username: u.Username, Name: u.Name, State: u.State,
		AvatarURL: s.avatarURL(base, u), WebURL: base + "/" + u.Username}
}

// apiMember is Entities::Member: the user merged in, then the membership.
// created_by is left out when nobody added the member (GitLab's
// expose_nil: false); email and group_saml_identity only appear for SSO
// and enterprise users, which the fake has none of.
type apiMember struct {
	apiUserBasic
	AccessLevel     int           `json:"access_level"`
	CreatedAt       string        `json:"created_at"`
	CreatedBy       *apiUserBasic `json:"created_by,omitempty"`
	ExpiresAt       *string       `json:"expires_at"`
	MembershipState string        `json:"membership_state"`
}

func (s *Server) toAPIMemberLocked(base string, m *member) apiMember {
	out := apiMember{apiUserBasic: s.toAPIUserBasic(base, s.userByIDLocked(m.UserID)),
		AccessLevel: m.AccessLevel, CreatedAt: apiTime(m.CreatedAt), MembershipState: "active"}
	if by := s.userByIDLocked(m.CreatedBy); by != nil {
		b := s.toAPIUserBasic(base, by)
		out.CreatedBy = &b
	}
	return out
}

// ---- shared answers ----

// badParams is Grape's answer to parameters that fail validation.
func badParams(w http.ResponseWriter, errs []string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": strings.Join(errs, ", ")})
}

func notFoundMessage(w http.ResponseWriter, what string) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 " + what + " Not Found"})
}

func forbidden(w http.ResponseWriter) {
	writeJSON(w, http.StatusForbidden, map[string]string{"message": "403 Forbidden"})
}

// readAPIParams reads form, query or JSON parameters. GitLab's
// HandleMalformedStrings middleware answers a plain 400 "Bad Request" to
// parameters with a NUL byte or invalid UTF-8, before any endpoint runs.
func readAPIParams(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	params, err := apiParams(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "The request body could not be parsed"})
		return nil, false
	}
	for k, v := range params {
		if !utf8.ValidString(k+v) || strings.ContainsRune(k+v, 0) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte("Bad Request"))
			return nil, false
		}
	}
	return params, true
}

// intParam reads an optional Grape Integer parameter; present reports
// whether it was sent, and a value that is not an integer adds
// "<name> is invalid".
func intParam(params map[string]string, name string, errs *[]string) (n int, present bool) {
	v, ok := params[name]
	if !ok || v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		*errs = append(*errs, name+" is invalid")
		return 0, false
	}
	return n, true
}

// boolParam reads an optional Grape Boolean parameter.
func boolParam(q url.Values, name string, errs *[]string) (val, present bool) {
	if !q.Has(name) {
		return false, false
	}
	switch strings.ToLower(q.Get(name)) {
	case "1", "on", "t", "true", "y", "yes":
		return true, true
	case "0", "off", "f", "false", "n", "no":
		return false, true
	}
	*errs = append(*errs, name+" is invalid")
	return false, false
}

// findGroupLocked is GitLab's find_group!: the group by numeric id or full
// path, if the caller may read it. Anything else is 404 Group Not Found,
// so a private group's existence does not leak.
func (s *Server) findGroupLocked(w http.ResponseWriter, u *User, ref string) *group {
	g := s.groupByRefLocked(ref)
	if g == nil || !s.canReadGroupLocked(u, g) {
		notFoundMessage(w, "Group")
		return nil
	}
	return g
}

// ---- GET /api/v4/groups ----

type groupFilter struct {
	minAccess     int
	orderBy, sort string
	topLevelOnly  bool
	allAvailable  *bool
	search        string
}

// groupListDefaults are the Grape defaults of GET /groups' declared
// parameters; GitLab's Link URLs carry them.
var groupListDefaults = map[string]string{"order_by": "name", "sort": "asc", "owned": "false",
	"statistics": "false", "with_custom_attributes": "false"}

func parseGroupFilter(q url.Values, errs *[]string) groupFilter {
	f := groupFilter{orderBy: "name", sort: "asc", search: q.Get("search")}
	if v := q.Get("min_access_level"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			*errs = append(*errs, "min_access_level is invalid")
		case !validAccessLevel(n):
			*errs = append(*errs, "min_access_level does not have a valid value")
		default:
			f.minAccess = n
		}
	}
	if v := q.Get("order_by"); v != "" {
		if v != "name" && v != "path" && v != "id" && v != "similarity" {
			*errs = append(*errs, "order_by does not have a valid value")
		}
		f.orderBy = v
	}
	if v := q.Get("sort"); v != "" {
		if v != "asc" && v != "desc" {
			*errs = append(*errs, "sort does not have a valid value")
		}
		f.sort = v
	}
	f.topLevelOnly, _ = boolParam(q, "top_level_only", errs)
	if v, ok := boolParam(q, "all_available", errs); ok {
		f.allAvailable = &v
	}
	return f
}

// handleAPIListGroups is GET /api/v4/groups as GitLab's GroupsFinder
// answers it: with min_access_level, the groups where the user is a direct
// member with at least that level and all their subgroups; otherwise the
// groups the user is a member of with their ancestors and descendants
// (admins: every group, unless all_available=false); all_available=true
// adds internal and public groups; anonymous callers see public groups.
func (s *Server) handleAPIListGroups(w http.ResponseWriter, r *http.Request) {
	u, ok := s.apiAuthFor(w, r, true, groupsScopes...)
	if !ok {
		return
	}
	q := r.URL.Query()
	var errs []string
	f := parseGroupFilter(q, &errs)
	p := parsePager(q, &errs)
	if len(errs) > 0 {
		badParams(w, errs)
		return
	}
	s.mu.Lock()
	groups := s.listGroupsLocked(u, f)
	lo, hi := p.window(len(groups))
	base := s.baseLocked(r)
	out := make([]apiGroup, 0, hi-lo)
	for _, g := range groups[lo:hi] {
		out = append(out, toAPIGroup(base, g))
	}
	s.mu.Unlock()
	s.writePageHeaders(w, r, p, len(groups), requestParams(r, groupListDefaults))
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listGroupsLocked(u *User, f groupFilter) []*group {
	var out []*group
	for _, g := range s.groups {
		if s.groupListedLocked(u, f, g) && (!f.topLevelOnly || g.ParentID == 0) &&
			(f.search == "" || containsFold(g.Name, f.search) || containsFold(g.Path, f.search)) {
			out = append(out, g)
		}
	}
	sortGroups(out, f)
	return out
}

func (s *Server) groupListedLocked(u *User, f groupFilter, g *group) bool {
	if u == nil {
		return g.Visibility == "public"
	}
	if f.minAccess > 0 {
		for _, a := range s.ancestorsLocked(g) {
			if m := directMember(a, u.ID); m != nil && m.AccessLevel >= f.minAccess {
				return true
			}
		}
		return false
	}
	allAvailable := u.Admin
	if f.allAvailable != nil {
		allAvailable = *f.allAvailable
	}
	switch {
	case allAvailable && u.Admin:
		return true
	case allAvailable && g.Visibility != "private":
		return true
	}
	return s.memberRelatedLocked(u, g)
}

// memberRelatedLocked: u is a direct member of g, of an ancestor or of a
// descendant of g.
func (s *Server) memberRelatedLocked(u *User, g *group) bool {
	for _, other := range s.groups {
		if directMember(other, u.ID) != nil && (s.isDescendantLocked(g, other) || s.isDescendantLocked(other, g)) {
			return true
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// sortGroups orders as GitLab does: by order_by in sort direction, then
// by id ascending (by id alone when order_by is id).
func sortGroups(groups []*group, f groupFilter) {
	key := func(g *group) string {
		if f.orderBy == "path" {
			return g.Path
		}
		return g.Name
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if f.orderBy != "id" && key(a) != key(b) {
			return (key(a) < key(b)) == (f.sort == "asc")
		}
		if f.orderBy == "id" && f.sort == "desc" {
			return a.ID > b.ID
		}
		return a.ID < b.ID
	})
}

// ---- POST /api/v4/groups, GET /api/v4/groups/:id ----

// handleAPICreateGroup creates a group as Groups::CreateService does: any
// user with scope api may create a top-level group (can_create_group is
// true for everyone here); a subgroup needs admin or at least Maintainer in
// the parent (subgroup_creation_level "maintainer"). The creator becomes
// the new group's Owner, even when it is root.
func (s *Server) handleAPICreateGroup(w http.ResponseWriter, r *http.Request) {
	u, ok := s.apiAuthFor(w, r, false, groupsScopes...)
	if !ok {
		return
	}
	params, ok := readAPIParams(w, r)
	if !ok {
		return
	}
	var errs []string
	for _, k := range []string{"name", "path"} {
		if _, ok := params[k]; !ok {
			errs = append(errs, k+" is missing")
		}
	}
	parentID, hasParent := intParam(params, "parent_id", &errs)
	if v := params["visibility"]; v != "" && visibilityRank[v] == 0 && v != "private" {
		errs = append(errs, "visibility does not have a valid value")
	}
	if len(errs) > 0 {
		badParams(w, errs)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var parent *group
	if hasParent {
		if parent = s.findGroupLocked(w, u, strconv.Itoa(parentID)); parent == nil {
			return
		}
		if m, _ := s.effectiveMemberLocked(parent, u.ID); !u.Admin && (m == nil || m.AccessLevel < Maintainer) {
			forbidden(w)
			return
		}
	}
	now := s.now().UTC()
	g, ferrs := s.createGroupLocked(params["name"], params["path"], params["visibility"], parent, now)
	if ferrs != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Failed to save group " + ferrs.Error()})
		return
	}
	g.Description = params["description"]
	s.addMemberLocked(g, u.ID, Owner, 0, now)
	writeJSON(w, http.StatusCreated, toAPIGroupDetail(s.baseLocked(r), g))
}

// handleAPIGetGroup is GET /api/v4/groups/:id; anonymous callers may read
// public groups.
func (s *Server) handleAPIGetGroup(w http.ResponseWriter, r *http.Request) {
	u, ok := s.apiAuthFor(w, r, true, groupsScopes...)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.findGroupLocked(w, u, r.PathValue("id")); g != nil {
		writeJSON(w, http.StatusOK, toAPIGroupDetail(s.baseLocked(r), g))
	}
}
