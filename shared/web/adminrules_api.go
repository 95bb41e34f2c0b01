package web

import (
	"net/http"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// groupRuleJSON is one entry of an integration's allowed_groups.
type groupRuleJSON struct {
	Path           string `json:"path"`
	MinAccessLevel int    `json:"min_access_level"`
}

// groupRuleRequest is an allowed_groups entry as sent; a missing level means Guest (10):
// "members of eng", whatever their role.
type groupRuleRequest struct {
	Path           string `json:"path"`
	MinAccessLevel *int   `json:"min_access_level"`
}

func groupRulesJSON(gs []forgelink.GroupRule) []groupRuleJSON {
	out := make([]groupRuleJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, groupRuleJSON(g))
	}
	return out
}

func groupRulesInput(req *[]groupRuleRequest) *[]forgelink.GroupRule {
	if req == nil {
		return nil
	}
	out := make([]forgelink.GroupRule, 0, len(*req))
	for _, g := range *req {
		level := forgelink.AccessGuest
		if g.MinAccessLevel != nil {
			level = *g.MinAccessLevel
		}
		out = append(out, forgelink.GroupRule{Path: g.Path, MinAccessLevel: level})
	}
	return &out
}

// optionalTime is an RFC 3339 time, or null for the zero time.
func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := rfc3339(t)
	return &v
}

// adminRuleJSON is the API's view of an admin rule: the pair a rule does not use is null.
type adminRuleJSON struct {
	ID             string  `json:"id"`
	IntegrationID  string  `json:"integration_id"`
	Username       *string `json:"username"`
	Group          *string `json:"group"`
	MinAccessLevel *int    `json:"min_access_level"`
	CreatedAt      string  `json:"created_at"`
}

func adminRuleToJSON(r forgelink.AdminRule) adminRuleJSON {
	out := adminRuleJSON{ID: r.ID, IntegrationID: r.IntegrationID, CreatedAt: rfc3339(r.CreatedAt)}
	if r.Username != "" {
		out.Username = &r.Username
	} else {
		out.Group, out.MinAccessLevel = &r.Group, &r.MinAccessLevel
	}
	return out
}

// adminRuleRequest is the body of POST /api/v1/orgs/{org}/admins.
type adminRuleRequest struct {
	IntegrationID  *string `json:"integration_id"`
	Username       *string `json:"username"`
	Group          *string `json:"group"`
	MinAccessLevel *int    `json:"min_access_level"`
}

func (s *integrationsServer) handleAPIListAdminRules() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		rules, err := s.adminRules.ListAdminRules(r.Context(), actor.Org)
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		out := make([]adminRuleJSON, 0, len(rules))
		for _, rule := range rules {
			out = append(out, adminRuleToJSON(rule))
		}
		writeJSON(w, http.StatusOK, map[string]any{"admins": out})
	})
}

func (s *integrationsServer) handleAPICreateAdminRule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		var req adminRuleRequest
		if err := decodeJSON(r, &req); err != nil {
			s.failJSON(w, r, err)
			return
		}
		rule, err := s.adminRules.CreateAdminRule(r.Context(), actor, actor.Org, service.AdminRuleInput(req))
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/orgs/"+rule.Org+"/admins/"+rule.ID)
		writeJSON(w, http.StatusCreated, adminRuleToJSON(rule))
	})
}

func (s *integrationsServer) handleAPIDeleteAdminRule() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		if err := s.adminRules.DeleteAdminRule(r.Context(), actor, actor.Org, r.PathValue("rule")); err != nil {
			s.failJSON(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
