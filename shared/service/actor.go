package service

import "strings"

// Actor is who performs an action, for authorisation and the audit trail. Name is what
// the trail stores: "<type>:<who>", where type is one of DESIGN.md's actor types
// (gitlab_user, setup_link, api_token) or "operator"; never a secret.
type Actor struct{ Org, Name string }

// Actor types, as the audit trail names them.
const (
	ActorGitLabUser = "gitlab_user"
	ActorSetupLink  = "setup_link"
	ActorAPIToken   = "api_token"
	ActorOperator   = "operator"
)

// Operator is the actor of the operator CLI.
func Operator(org string) Actor { return Actor{Org: org, Name: ActorOperator + ":forgelinkctl"} }

// SetupLinkActor is the holder of a setup-link session made for label.
func SetupLinkActor(org, label string) Actor {
	return Actor{Org: org, Name: ActorSetupLink + ":" + label}
}

// GitLabActor is a person signed in through integrationID as GitLab user username.
func GitLabActor(org, integrationID, username string) Actor {
	return Actor{Org: org, Name: ActorGitLabUser + ":" + integrationID + "/" + username}
}

// TokenActor is a script using the admin API token called name.
func TokenActor(org, name string) Actor { return Actor{Org: org, Name: ActorAPIToken + ":" + name} }

// ParseActor splits a stored actor into its type, who it is (username, label or token
// name) and, for GitLab users, the integration. Records written before actors had types
// come back with type "" and who the whole string.
func ParseActor(stored string) (typ, who, integrationID string) {
	typ, who, ok := strings.Cut(stored, ":")
	switch {
	case !ok:
		return "", stored, ""
	case typ == ActorGitLabUser:
		integrationID, who, _ = strings.Cut(who, "/")
		return typ, who, integrationID
	case typ == ActorSetupLink, typ == ActorAPIToken, typ == ActorOperator:
		return typ, who, ""
	}
	return "", stored, ""
}
