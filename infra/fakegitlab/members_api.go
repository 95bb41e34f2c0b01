package fakegitlab

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The members API (GitLab's API::Members) for groups. Every route
// authenticates first (authenticate!: anonymous callers get 401), then
// finds the group by numeric id or URL-encoded full path (404 Group Not
// Found when it does not exist or the caller may not read it).

// memberScope tells the direct routes (/members) from the inherited ones
// (/members/all), which report each user's highest membership along the
// ancestor chain, as GroupMembersFinder with :inherited does.
type memberScope bool

const (
	directOnly    memberScope = false
	withInherited memberScope = true
)

// handleAPIGetMember is GET /groups/:id/members/:user_id (direct) and
// GET /groups/:id/members/all/:user_id (inherited too). A user who is no
// member gets ActiveRecord's 404 {"message":"404 Not found"}.
func (s *Server) handleAPIGetMember(scope memberScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.apiAuthFor(w, r, false, groupsScopes...)
		if !ok {
			return
		}
		userID, err := strconv.Atoi(r.PathValue("user_id"))
		if err != nil {
			badParams(w, []string{"user_id is invalid"})
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		g := s.findGroupLocked(w, u, r.PathValue("id"))
		if g == nil {
			return
		}
		m := directMember(g, userID)
		if scope == withInherited {
			m, _ = s.effectiveMemberLocked(g, userID)
		}
		if m == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not found"})
			return
		}
		writeJSON(w, http.StatusOK, s.toAPIMemberLocked(s.baseLocked(r), m))
	}
}

// handleAPIListMembers is GET /groups/:id/members and /members/all,
// ordered by membership id and paginated.
func (s *Server) handleAPIListMembers(scope memberScope) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.apiAuthFor(w, r, false, groupsScopes...)
		if !ok {
			return
		}
		var errs []string
		p := parsePager(r.URL.Query(), &errs)
		if len(errs) > 0 {
			badParams(w, errs)
			return
		}
		s.mu.Lock()
		g := s.findGroupLocked(w, u, r.PathValue("id"))
		if g == nil {
			s.mu.Unlock()
			return
		}
		members := s.groupMembersLocked(g, scope)
		lo, hi := p.window(len(members))
		base := s.baseLocked(r)
		out := make([]apiMember, 0, hi-lo)
		for _, m := range members[lo:hi] {
			out = append(out, s.toAPIMemberLocked(base, m))
		}
		s.mu.Unlock()
		// Grape's params include the route's id, so GitLab's Link URLs do.
		s.writePageHeaders(w, r, p, len(members), requestParams(r, map[string]string{"id": r.PathValue("id")}))
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) groupMembersLocked(g *group, scope memberScope) []*member {
	if scope == directOnly {
		return append([]*member(nil), g.members...)
	}
	seen := map[int]bool{}
	var out []*member
	for _, a := range s.ancestorsLocked(g) {
		for _, m := range a.members {
			if !seen[m.UserID] {
				seen[m.UserID] = true
				best, _ := s.effectiveMemberLocked(g, m.UserID)
				out = append(out, best)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// handleAPIAddMember is POST /groups/:id/members (user_id, access_level)
// in GitLab's order of checks: parameters (400), the group (404), the
// caller's right to manage members, Owner or admin (403), the user (404
// User Not Found), an existing direct membership (409 Member already
// exists), then the rule that a subgroup membership may not be lower than
// one inherited from a parent (400). Several comma-separated user ids, an
// invitation by e-mail and expires_at are not supported.
func (s *Server) handleAPIAddMember(w http.ResponseWriter, r *http.Request) {
	u, ok := s.apiAuthFor(w, r, false, groupsScopes...)
	if !ok {
		return
	}
	params, ok := readAPIParams(w, r)
	if !ok {
		return
	}
	level, userRef, errs := memberParams(params)
	if len(errs) > 0 {
		badParams(w, errs)
		return
	}
	if strings.Contains(userRef, ",") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "fakegitlab: adding several user_ids at once is not supported"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.findGroupLocked(w, u, r.PathValue("id"))
	if g == nil {
		return
	}
	if m, _ := s.effectiveMemberLocked(g, u.ID); !u.Admin && (m == nil || m.AccessLevel < Owner) {
		forbidden(w)
		return
	}
	id, err := strconv.Atoi(strings.TrimSpace(userRef))
	target := s.userByIDLocked(id)
	switch {
	case err != nil || target == nil:
		notFoundMessage(w, "User")
		return
	case directMember(g, id) != nil:
		writeJSON(w, http.StatusConflict, map[string]string{"message": "Member already exists"})
		return
	}
	if g.ParentID != 0 {
		parent := s.groupByIDLocked(g.ParentID)
		if inherited, from := s.effectiveMemberLocked(parent, id); inherited != nil && inherited.AccessLevel > level {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string][]string{"access_level": {
				"should be greater than or equal to " + accessNames[inherited.AccessLevel] +
					" inherited membership from group " + from.Name}}})
			return
		}
	}
	m := s.addMemberLocked(g, id, level, u.ID, s.now().UTC())
	writeJSON(w, http.StatusCreated, s.toAPIMemberLocked(s.baseLocked(r), m))
}

// memberParams validates as Grape does: access_level (required Integer,
// one of GitLab's levels), then user_id (required).
func memberParams(params map[string]string) (level int, userRef string, errs []string) {
	if v, ok := params["access_level"]; !ok {
		errs = append(errs, "access_level is missing")
	} else if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil {
		errs = append(errs, "access_level is invalid")
	} else if !validAccessLevel(n) {
		errs = append(errs, "access_level does not have a valid value")
	} else {
		level = n
	}
	userRef, ok := params["user_id"]
	if !ok {
		errs = append(errs, "user_id is missing")
	}
	return level, userRef, errs
}
