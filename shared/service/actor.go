package service

// Actor is who performs an admin action, for authorisation and the audit trail. Name is
// "token:<first 8 hex of the token's hash>", "admin-session" or "operator"; never a secret.
type Actor struct{ Org, Name string }

// Operator is the actor of the operator CLI.
func Operator(org string) Actor { return Actor{Org: org, Name: "operator"} }
