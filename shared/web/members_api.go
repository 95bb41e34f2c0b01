package web

import (
	"net/http"

	"github.com/forgelink/forgelink/shared/service"
)

// memberJSON is the API's view of a member. role is null for a member whose last
// sign-in predates roles being kept on members.
type memberJSON struct {
	ID             string  `json:"id"`
	IntegrationID  string  `json:"integration_id"`
	GitLabUserID   int64   `json:"gitlab_user_id"`
	Username       string  `json:"username"`
	Name           string  `json:"name"`
	Role           *string `json:"role"`
	FirstSignInAt  string  `json:"first_sign_in_at"`
	LastSignInAt   string  `json:"last_sign_in_at"`
	ActiveSessions int     `json:"active_sessions"`
}

func memberToJSON(m service.MemberInfo) memberJSON {
	out := memberJSON{
		ID: m.ID(), IntegrationID: m.IntegrationID, GitLabUserID: m.User.ID, Username: m.User.Username, Name: m.User.Name,
		FirstSignInAt: rfc3339(m.FirstSeenAt), LastSignInAt: rfc3339(m.LastSeenAt), ActiveSessions: m.ActiveSessions,
	}
	if m.Role != "" {
		out.Role = &m.Role
	}
	return out
}

func (s *integrationsServer) handleAPIListMembers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		members, err := s.members.List(r.Context(), actor.Org)
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		out := make([]memberJSON, 0, len(members))
		for _, m := range members {
			out = append(out, memberToJSON(m))
		}
		writeJSON(w, http.StatusOK, map[string]any{"members": out})
	})
}

func (s *integrationsServer) handleAPISignOutMember() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		if _, err := s.members.SignOutEverywhere(r.Context(), actor, actor.Org, r.PathValue("member")); err != nil {
			s.failJSON(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
