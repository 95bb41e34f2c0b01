package fakegitlab

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// handleAPIListUsers is GET /api/v4/users. Anonymous callers are allowed
// (GitLab's authenticate_non_get!); username filters case-insensitively on
// the exact name. Admins get UserWithAdmin entities, everyone else
// UserBasic. Newest first (order_by id, sort desc, GitLab's defaults);
// other filters (search, active, blocked, ...) are ignored.
func (s *Server) handleAPIListUsers(w http.ResponseWriter, r *http.Request) {
	caller, ok := s.apiAuthFor(w, r, true, usersScopes...)
	if !ok {
		return
	}
	q := r.URL.Query()
	var errs []string
	p := parsePager(q, &errs)
	if len(errs) > 0 {
		badParams(w, errs)
		return
	}
	s.mu.Lock()
	var users []*User
	for _, u := range s.users {
		if !q.Has("username") || strings.EqualFold(u.Username, q.Get("username")) {
			users = append(users, u)
		}
	}
	sort.Slice(users, func(i, j int) bool { return users[i].ID > users[j].ID })
	lo, hi := p.window(len(users))
	base := s.baseLocked(r)
	out := make([]any, 0, hi-lo)
	for _, u := range users[lo:hi] {
		if caller != nil && caller.Admin {
			out = append(out, s.toAPIUser(base, u, true))
		} else {
			out = append(out, s.toAPIUserBasic(base, u))
		}
	}
	s.mu.Unlock()
	s.writePageHeaders(w, r, p, len(users), requestParams(r, map[string]string{"order_by": "id", "sort": "desc"}))
	writeJSON(w, http.StatusOK, out)
}

// profileLimits are the longest values (in characters, as Rails counts)
// PUT /api/v4/users/:id accepts, from GitLab's User validations. Anything
// within them is stored as sent: markup, quotes, RTL marks, emoji and
// control characters other than NUL (which GitLab's middleware refuses)
// are all valid in a GitLab profile, so tests can set hostile ones.
var profileLimits = map[string]int{
	"name": 255, "username": 255, "email": 255, "bio": 255, "location": 255,
	"organization": 255, "job_title": 200, "pronouns": 50, "website_url": 255,
	"password": 128,
}

// profileFields maps the accepted parameters to the User fields they set.
func profileFields(u *User) map[string]*string {
	return map[string]*string{
		"name": &u.Name, "username": &u.Username, "email": &u.Email, "bio": &u.Bio,
		"location": &u.Location, "organization": &u.Organization, "job_title": &u.JobTitle,
		"pronouns": &u.Pronouns, "website_url": &u.WebsiteURL, "password": &u.Password,
	}
}

// handleAPIUpdateUser is PUT /api/v4/users/:id, admins only, in GitLab's
// order: parameters (400 id is invalid), admin (403), the user (404 User
// Not Found), e-mail then username taken by someone else (409), then model
// validations (400 {"message":{"field":[...]}}). It answers 200 with the
// UserWithAdmin entity. Parameters other than those in profileLimits are
// ignored; state changes go through SetUserState.
func (s *Server) handleAPIUpdateUser(w http.ResponseWriter, r *http.Request) {
	caller, ok := s.apiAuthFor(w, r, false, usersScopes...)
	if !ok {
		return
	}
	params, ok := readAPIParams(w, r)
	if !ok {
		return
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		badParams(w, []string{"id is invalid"})
		return
	}
	if !caller.Admin {
		forbidden(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByIDLocked(id)
	if u == nil {
		notFoundMessage(w, "User")
		return
	}
	if msg := s.profileConflictLocked(u, params); msg != "" {
		writeJSON(w, http.StatusConflict, map[string]string{"message": msg})
		return
	}
	updated := *u
	for field, dst := range profileFields(&updated) {
		if v, ok := params[field]; ok {
			*dst = v
		}
	}
	if errs := s.validateProfileLocked(&updated, params); len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": errs})
		return
	}
	*u = updated
	writeJSON(w, http.StatusOK, s.toAPIUser(s.baseLocked(r), u, true))
}

// profileConflictLocked is the explicit conflict! check GitLab's endpoint
// makes before saving: e-mail first, then username, both case-insensitive.
func (s *Server) profileConflictLocked(u *User, params map[string]string) string {
	for _, other := range s.users {
		if other.ID == u.ID {
			continue
		}
		if v, ok := params["email"]; ok && strings.EqualFold(other.Email, v) {
			return "Email has already been taken"
		}
	}
	for _, other := range s.users {
		if v, ok := params["username"]; ok && other.ID != u.ID && strings.EqualFold(other.Username, v) {
			return "Username has already been taken"
		}
	}
	return ""
}

// emailRe is Devise's email_regexp: something, an @, something, no spaces.
var emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)

// validateProfileLocked applies the User model's validations to the
// fields that were sent.
func (s *Server) validateProfileLocked(u *User, params map[string]string) fieldErrors {
	errs := fieldErrors{}
	for field, limit := range profileLimits {
		if v, ok := params[field]; ok && utf8.RuneCountInString(v) > limit {
			errs.add(field, "is too long (maximum is "+strconv.Itoa(limit)+" characters)")
		}
	}
	if _, ok := params["name"]; ok && strings.TrimSpace(u.Name) == "" {
		errs.add("name", "can't be blank")
	}
	if _, ok := params["email"]; ok && !emailRe.MatchString(u.Email) {
		errs.add("email", "is invalid")
	}
	if v, ok := params["password"]; ok && utf8.RuneCountInString(v) < 8 {
		errs.add("password", "is too short (minimum is 8 characters)")
	}
	if _, ok := params["username"]; ok && errs["username"] == nil {
		switch msg := validNamespacePath(u.Username); {
		case msg != "":
			errs.add("username", msg)
		case reservedTopLevel[strings.ToLower(u.Username)]:
			errs.add("username", u.Username+" is a reserved name")
		case !s.namespaceFreeLocked(u.Username, nil, u.ID):
			errs.add("username", "has already been taken")
		}
	}
	return errs
}
