// Package service holds forgelink's business rules, one type per noun: Integrations,
// SignIn, Sessions, SetupLinks, Tokens, Orgs, AdminRules, Members and Audit. The HTML
// pages and the JSON API both call them; neither has rules of its own. Each Lambda function builds only the
// nouns it serves, so its binary links only their code.
package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// GitLab is what the service needs from a GitLab server (implemented by shared/gitlab).
type GitLab interface {
	// AuthCodeURLScopes is GitLab's /oauth/authorize URL for a PKCE (S256) sign-in that
	// asks for scopes.
	AuthCodeURLScopes(in forgelink.Integration, redirectURL, state, verifier string, scopes []string) string
	// ExchangeGranted trades the code for an access token and the scopes GitLab granted
	// (nil when its answer names none).
	ExchangeGranted(ctx context.Context, in forgelink.Integration, secret, redirectURL, code, verifier string) (accessToken string, scopes []string, err error)
	User(ctx context.Context, in forgelink.Integration, accessToken string) (forgelink.GitLabUser, error)
	CheckCredentials(ctx context.Context, in forgelink.Integration, clientID, secret, redirectURL string) error
	// IsConfidential tells whether the application clientID (one CheckCredentials
	// accepted) is marked Confidential on GitLab; an error means GitLab could not tell.
	IsConfidential(ctx context.Context, in forgelink.Integration, clientID, redirectURL string) (bool, error)
	GroupAccessLevel(ctx context.Context, in forgelink.Integration, accessToken, group string, userID int64) (int, error)
	// Probe reaches the server at in.URL and reads its public OpenID discovery document;
	// a network failure is EINVALID on the url field.
	Probe(ctx context.Context, in forgelink.Integration) (forgelink.ServerInfo, error)
}

// URLPolicy validates what admins say about GitLab servers (implemented by
// shared/netguard.Policy).
type URLPolicy interface {
	// ValidateGitLabURLWith calls beforeLookup (when not nil) before it resolves a host
	// name; an error from it is returned as is and nothing is looked up.
	ValidateGitLabURLWith(ctx context.Context, raw string, beforeLookup func() error) (normalized string, err error)
	// ValidateCABundle checks an optional PEM bundle: EINVALID with fields["ca_bundle"].
	ValidateCABundle(pem string) error
}

// Deps are the dependencies of the services; each noun uses the part it needs, so a
// function may leave the rest zero (the login function has no Secrets and no URLs).
type Deps struct {
	Store        forgelink.Store
	Secrets      forgelink.Secrets
	GitLab       GitLab
	URLs         URLPolicy
	SecretPrefix string           // e.g. "forgelink/prod/"
	Now          func() time.Time // nil: time.Now
	Log          *slog.Logger     // nil: slog.Default()
	// Cache is the per-container cache of integrations and secrets; nouns built over one
	// Deps value share it, so a change made through one is seen at once by the others.
	// nil: each noun gets its own.
	Cache *Cache
	// GitLabBudget bounds the callback's whole exchange with GitLab; zero: 10 s.
	GitLabBudget time.Duration
	// AdminWrites limits admin writes per org; the zero value is DefaultAdminWrites.
	AdminWrites WriteLimit
	// GitLabProbes limits, per org, what admin actions make forgelink call out to a
	// GitLab (credential checks, DNS look-ups of new URLs); zero: DefaultGitLabProbes.
	GitLabProbes WriteLimit
}

// base is what every noun shares: its dependencies and the helpers they all use.
type base struct {
	store        forgelink.Store
	secrets      forgelink.Secrets
	gitlab       GitLab
	urls         URLPolicy
	secretPrefix string
	now          func() time.Time
	log          *slog.Logger
	cache        *Cache
	gitlabBudget time.Duration
}

func newBase(d Deps) *base {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Cache == nil {
		d.Cache = NewCache(0, d.Now)
	}
	if d.GitLabBudget <= 0 {
		d.GitLabBudget = defaultGitLabBudget
	}
	return &base{
		store:        d.Store,
		secrets:      d.Secrets,
		gitlab:       d.GitLab,
		urls:         d.URLs,
		secretPrefix: d.SecretPrefix,
		now:          d.Now,
		log:          d.Log,
		cache:        d.Cache,
		gitlabBudget: d.GitLabBudget,
	}
}

// All is every noun over one Deps (one shared cache): what the local runner, the operator
// CLI and tests use. A Lambda function builds only the nouns it serves.
type All struct {
	Orgs         *Orgs
	Tokens       *Tokens
	SetupLinks   *SetupLinks
	Sessions     *Sessions
	SignIn       *SignIn
	Integrations *Integrations
	AdminRules   *AdminRules
	Members      *Members
	Audit        *Audit
}

// NewAll builds every noun over d.
func NewAll(d Deps) All {
	if d.Cache == nil {
		d.Cache = NewCache(0, d.Now)
	}
	return All{
		Orgs:         NewOrgs(d),
		Tokens:       NewTokens(d),
		SetupLinks:   NewSetupLinks(d),
		Sessions:     NewSessions(d),
		SignIn:       NewSignIn(d),
		Integrations: NewIntegrations(d),
		AdminRules:   NewAdminRules(d),
		Members:      NewMembers(d),
		Audit:        NewAudit(d),
	}
}
