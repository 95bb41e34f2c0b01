package web

import (
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/service"
)

// auditJSON is one audit record in the API.
type auditJSON struct {
	Time          string         `json:"time"`
	Actor         map[string]any `json:"actor"`
	Action        string         `json:"action"`
	IntegrationID string         `json:"integration_id"`
	Detail        string         `json:"detail"`
}

func toAuditJSON(a forgelink.AuditRecord) auditJSON {
	return auditJSON{Time: a.Time.UTC().Format(time.RFC3339Nano), Actor: actorJSON(a.Actor),
		Action: a.Action, IntegrationID: a.IntegrationID, Detail: a.Detail}
}

// actorJSON is DESIGN.md's actor object of a stored actor.
func actorJSON(stored string) map[string]any {
	typ, who, integrationID := service.ParseActor(stored)
	switch typ {
	case service.ActorGitLabUser:
		return map[string]any{"type": typ, "username": who, "integration_id": integrationID}
	case service.ActorSetupLink:
		return map[string]any{"type": typ, "label": who}
	case service.ActorAPIToken, service.ActorOperator:
		return map[string]any{"type": typ, "name": who}
	}
	// Records from before actors had types.
	return map[string]any{"type": "legacy", "name": who}
}

// auditRow is one audit record in plain words, for pages.
type auditRow struct {
	Time   time.Time
	Actor  string
	Action string
	Detail string
}

// auditRows words records for people; host is the GitLab host of the integration whose
// trail this is (GitLab users are named "@alice (gitlab.example.com)").
func auditRows(recs []forgelink.AuditRecord, host string) []auditRow {
	out := make([]auditRow, 0, len(recs))
	for _, a := range recs {
		out = append(out, auditRow{Time: a.Time, Actor: actorWords(a.Actor, host), Action: actionWords(a.Action), Detail: a.Detail})
	}
	return out
}

func actorWords(stored, host string) string {
	typ, who, _ := service.ParseActor(stored)
	switch typ {
	case service.ActorGitLabUser:
		return "@" + who + " (" + host + ")"
	case service.ActorSetupLink:
		return "Setup link: " + who
	case service.ActorAPIToken:
		return "API token: " + who
	case service.ActorOperator:
		return "Operator (" + who + ")"
	}
	return who
}

var actionNames = map[string]string{
	forgelink.AuditIntegrationCreated: "Integration added",
	forgelink.AuditIntegrationSaved:   "Credentials saved and verified",
	forgelink.AuditIntegrationUpdated: "Settings changed",
	forgelink.AuditSecretReplaced:     "Secret replaced and verified",
	forgelink.AuditIntegrationDeleted: "Integration deleted",
	forgelink.AuditIntegrationTested:  "Test sign-in succeeded",
	forgelink.AuditSignIn:             "Signed in",
	forgelink.AuditSignOut:            "Signed out",
	forgelink.AuditSignInRefused:      "Sign-in refused",
	forgelink.AuditAdminSignIn:        "Signed in with a setup link",
	forgelink.AuditTokenRevoked:       "API token revoked",
	forgelink.AuditAdminRuleAdded:     "Admin rule added",
	forgelink.AuditAdminRuleRemoved:   "Admin rule removed",
}

func actionWords(action string) string {
	if w, ok := actionNames[action]; ok {
		return w
	}
	return action
}
