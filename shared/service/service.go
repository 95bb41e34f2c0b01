// Package service holds forgelink's business rules: integrations, admin authentication,
// GitLab sign-in and sessions. The HTML pages and the JSON API both call it; neither has
// rules of its own.
package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/forgelink/forgelink/shared/forgelink"
)

// GitLab is what the service needs from a GitLab server (implemented by shared/gitlab).
type GitLab interface {
	AuthCodeURL(in forgelink.Integration, redirectURL, state, verifier string) string
	Exchange(ctx context.Context, in forgelink.Integration, secret, redirectURL, code, verifier string) (accessToken string, err error)
	User(ctx context.Context, in forgelink.Integration, accessToken string) (forgelink.GitLabUser, error)
	CheckCredentials(ctx context.Context, in forgelink.Integration, clientID, secret, redirectURL string) error
}

// URLPolicy validates GitLab URLs and CA bundles (implemented by shared/netguard.Policy).
type URLPolicy interface {
	ValidateGitLabURL(ctx context.Context, raw string) (normalized string, err error)
}

// Service is the application. Build it with New.
type Service struct {
	store        forgelink.Store
	secrets      forgelink.Secrets
	gitlab       GitLab
	urls         URLPolicy
	secretPrefix string
	now          func() time.Time
	log          *slog.Logger
	cache        *cache
	writes       *rateLimiter // per-org admin-write limit (ratelimit.go)
}

// Deps are the Service's dependencies.
type Deps struct {
	Store        forgelink.Store
	Secrets      forgelink.Secrets
	GitLab       GitLab
	URLs         URLPolicy
	SecretPrefix string           // e.g. "forgelink/prod/"
	Now          func() time.Time // nil: time.Now
	Log          *slog.Logger     // nil: slog.Default()
	// CacheTTL bounds how long a warm container trusts cached integrations and secrets;
	// zero means the default.
	CacheTTL time.Duration
}

// New returns a Service over deps.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{
		store:        d.Store,
		secrets:      d.Secrets,
		gitlab:       d.GitLab,
		urls:         d.URLs,
		secretPrefix: d.SecretPrefix,
		now:          d.Now,
		log:          d.Log,
		cache:        newCache(d.CacheTTL, d.Now),
		writes:       newRateLimiter(AdminWriteBurst, AdminWritesPerMinute, d.Now),
	}
}

// Store exposes the store to the operator CLI and tests.
func (s *Service) Store() forgelink.Store { return s.store }
