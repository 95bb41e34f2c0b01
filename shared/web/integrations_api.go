package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// integrationJSON is the JSON API's view of an integration. It never carries the secret.
// client_id and secret_updated_at are always present, null until credentials are saved,
// so every response has the same keys (DESIGN.md lists secret_updated_at among them).
type integrationJSON struct {
	ID              string  `json:"id"`
	Platform        string  `json:"platform"`
	Name            string  `json:"name"`
	URL             string  `json:"url"`
	Status          string  `json:"status"`
	CallbackURL     string  `json:"callback_url"`
	SetupURL        string  `json:"setup_url"`
	LoginURL        string  `json:"login_url"`
	ClientID        *string `json:"client_id"`
	ClientSecretSet bool    `json:"client_secret_set"`
	SecretUpdatedAt *string `json:"secret_updated_at"`
	CABundleSet     bool    `json:"ca_bundle_set"`
	Version         int64   `json:"version"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
	// Who may sign in (always an array) and the integration's health (null before).
	AllowedGroups []groupRuleJSON `json:"allowed_groups"`
	VerifiedAt    *string         `json:"verified_at"`
	LastSignInAt  *string         `json:"last_sign_in_at"`
	// What the admin should fix though it works (always an array): a GitLab application
	// that is not Confidential, until a Save finds it Confidential.
	Warnings []warningJSON `json:"warnings"`
}

// warningJSON is one service.Warning.
type warningJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func toJSON(base string, in forgelink.Integration) integrationJSON {
	out := integrationJSON{
		ID:              in.ID,
		Platform:        in.Platform,
		Name:            in.Name,
		URL:             in.URL,
		Status:          string(in.Status),
		CallbackURL:     service.CallbackURL(base, in.Org, in.ID),
		SetupURL:        service.SetupURL(in),
		LoginURL:        service.LoginURL(base, in.Org, in.ID),
		ClientSecretSet: in.SecretARN != "",
		CABundleSet:     in.CABundle != "",
		Version:         in.Version,
		CreatedAt:       rfc3339(in.CreatedAt),
		UpdatedAt:       rfc3339(in.UpdatedAt),
		AllowedGroups:   groupRulesJSON(in.AllowedGroups),
		VerifiedAt:      optionalTime(in.VerifiedAt),
		LastSignInAt:    optionalTime(in.LastSignInAt),
		Warnings:        []warningJSON{},
	}
	for _, w := range service.Warnings(in) {
		out.Warnings = append(out.Warnings, warningJSON{Code: w.Code, Message: w.Message})
	}
	if in.ClientID != "" {
		out.ClientID = &in.ClientID
	}
	if !in.SecretUpdatedAt.IsZero() && in.SecretARN != "" {
		t := rfc3339(in.SecretUpdatedAt)
		out.SecretUpdatedAt = &t
	}
	return out
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// integrationRequest is the body of POST and PATCH; absent fields stay nil.
type integrationRequest struct {
	Platform     *string `json:"platform"`
	URL          *string `json:"url"`
	Name         *string `json:"name"`
	ClientID     *string `json:"client_id"`
	ClientSecret *string `json:"client_secret"`
	CABundle     *string `json:"ca_bundle"`
	Version      *int64  `json:"version"`
	// AllowedGroups null or absent: not sent; [] clears the restriction.
	AllowedGroups *[]groupRuleRequest `json:"allowed_groups"`
}

func (q integrationRequest) input() service.IntegrationInput {
	in := service.IntegrationInput{
		Platform: q.Platform, URL: q.URL, Name: q.Name,
		ClientID: q.ClientID, ClientSecret: q.ClientSecret, CABundle: q.CABundle,
		AllowedGroups: groupRulesInput(q.AllowedGroups),
	}
	if q.Version != nil {
		in.Version = *q.Version
	}
	return in
}

func (s *integrationsServer) handleAPIListIntegrations() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		list, err := s.integrations.ListIntegrations(r.Context(), actor.Org)
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		base := s.base(r)
		out := make([]integrationJSON, 0, len(list))
		for _, in := range list {
			out = append(out, toJSON(base, in))
		}
		writeJSON(w, http.StatusOK, map[string]any{"integrations": out})
	})
}

func (s *integrationsServer) handleAPICreateIntegration() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		var req integrationRequest
		if err := decodeJSON(r, &req); err != nil {
			s.failJSON(w, r, err)
			return
		}
		base := s.base(r)
		in, err := s.integrations.CreateIntegration(r.Context(), actor, actor.Org, req.input(), base)
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/orgs/"+in.Org+"/integrations/"+in.ID)
		setETag(w, in)
		writeJSON(w, http.StatusCreated, toJSON(base, in))
	})
}

func (s *integrationsServer) handleAPIGetIntegration() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		in, err := s.integrations.GetIntegration(r.Context(), actor.Org, r.PathValue("id"))
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		setETag(w, in)
		writeJSON(w, http.StatusOK, toJSON(s.base(r), in))
	})
}

func (s *integrationsServer) handleAPIUpdateIntegration() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		var req integrationRequest
		if err := decodeJSON(r, &req); err != nil {
			s.failJSON(w, r, err)
			return
		}
		input := req.input()
		version, err := ifMatch(r)
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		if version != 0 {
			if input.Version != 0 && input.Version != version {
				s.failJSON(w, r, forgelink.Invalid(map[string]string{"version": "differs from the If-Match header"}))
				return
			}
			input.Version = version
		}
		base := s.base(r)
		in, err := s.integrations.UpdateIntegration(r.Context(), actor, actor.Org, r.PathValue("id"), input, base)
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		setETag(w, in)
		writeJSON(w, http.StatusOK, toJSON(base, in))
	})
}

func (s *integrationsServer) handleAPIDeleteIntegration() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		version, err := ifMatch(r)
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		if err := s.integrations.DeleteIntegrationAt(r.Context(), actor, actor.Org, r.PathValue("id"), version); err != nil {
			s.failJSON(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *integrationsServer) handleAPIIntegrationAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := s.apiActor(w, r)
		if !ok {
			return
		}
		limit := 0
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > service.MaxAuditLimit {
				s.failJSON(w, r, forgelink.Invalid(map[string]string{"limit": "must be a number from 1 to " + strconv.Itoa(service.MaxAuditLimit)}))
				return
			}
			limit = n
		}
		id := r.PathValue("id")
		// A deleted integration's trail stays readable: deletion is what an auditor asks
		// about. An id with no records at all is checked, for a proper 404.
		recs, err := s.audit.ListAudit(r.Context(), actor.Org, id, limit)
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		out := make([]auditJSON, 0, len(recs))
		for _, a := range recs {
			out = append(out, toAuditJSON(a))
		}
		if len(out) == 0 {
			if _, err := s.integrations.GetIntegration(r.Context(), actor.Org, id); err != nil {
				s.failJSON(w, r, err)
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"audit": out})
	})
}

// setETag exposes the version for If-Match.
func setETag(w http.ResponseWriter, in forgelink.Integration) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(in.Version, 10)+`"`)
}

// ifMatch reads an If-Match header naming a version ("3", 3 or W/"3"); 0 when absent or *.
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, forgelink.Errorf(forgelink.EMALFORMED, "If-Match must name a version, like \"3\" (the ETag of the integration).")
	}
	return n, nil
}
