// Package app is forgelink's composition: it builds each Lambda function's handler over
// the services that function needs (functions.go), from stores the host chose: DynamoDB
// and Secrets Manager under Lambda (aws.go), the embedded memory store or AWS for the
// local runner and the operator CLI (local.go). A function's main.go calls one
// constructor, so its binary links only what that function uses.
package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/gitlab"
	"github.com/forgelink/forgelink/shared/netguard"
	"github.com/forgelink/forgelink/shared/service"
	"github.com/forgelink/forgelink/shared/statecookie"
	"github.com/forgelink/forgelink/shared/web"
)

// Deps are what every function is built over.
type Deps struct {
	Config  config.Config
	Store   forgelink.Store
	Secrets forgelink.Secrets
	// CookieKey seals state cookies and signs CSRF tokens; every container of a
	// deployment must share it.
	CookieKey []byte
	// PreviousCookieKey, during a key rotation, still opens state cookies and verifies
	// CSRF tokens made with it; nil outside rotations.
	PreviousCookieKey []byte
	Log               *slog.Logger
	Now               func() time.Time // nil: time.Now
	// GitLabTimeout bounds each call to GitLab and the callback's whole exchange with it;
	// zero: 10 s (DESIGN.md).
	GitLabTimeout time.Duration
	// AdminWrites is the per-org admin write limit; zero: the default.
	AdminWrites service.WriteLimit
	// GitLabProbes is the per-org limit of calls out to GitLab from admin actions; zero:
	// the default.
	GitLabProbes service.WriteLimit
	// cache is shared by the functions of one process (New); nil: each builds its own.
	cache *service.Cache
}

// built is what the constructors share: the services' dependencies and the web options.
func (d Deps) build() (service.Deps, web.Options, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	policy, err := policyOf(d.Config)
	if err != nil {
		return service.Deps{}, web.Options{}, err
	}
	sealer, err := statecookie.New(d.CookieKey, d.PreviousCookieKey)
	if err != nil {
		return service.Deps{}, web.Options{}, fmt.Errorf("cookie key: %w", err)
	}
	sd := service.Deps{
		Store: d.Store, Secrets: d.Secrets, GitLab: &gitlab.Client{Policy: policy, Timeout: d.GitLabTimeout}, URLs: policy,
		GitLabBudget: d.GitLabTimeout,
		SecretPrefix: d.Config.SecretPrefix, Now: d.Now, Log: d.Log, Cache: d.cache,
		AdminWrites: d.AdminWrites, GitLabProbes: d.GitLabProbes,
	}
	return sd, web.Options{BaseURL: d.Config.BaseURL, Sealer: sealer, Log: d.Log, Now: d.Now,
		HSTSIncludeSubdomains: d.Config.HSTSIncludeSubdomains}, nil
}

func policyOf(cfg config.Config) (netguard.Policy, error) {
	hosts, err := netguard.ParseAllowHosts(cfg.AllowHosts)
	if err != nil {
		return netguard.Policy{}, fmt.Errorf("FORGELINK_ALLOW_HOSTS: %w", err)
	}
	nets, err := netguard.ParseAllowNetworks(cfg.AllowNets)
	if err != nil {
		return netguard.Policy{}, fmt.Errorf("FORGELINK_ALLOW_NETWORKS: %w", err)
	}
	return netguard.Policy{AllowHosts: hosts, AllowNetworks: nets}, nil
}

// App is every function in one process (local runner, operator CLI, tests), over one
// set of services with one cache.
type App struct {
	Config   config.Config
	Store    forgelink.Store
	Secrets  forgelink.Secrets
	Services service.All
	Log      *slog.Logger
	handlers map[string]http.Handler
	web      web.Options
}

// New builds every function over d.
func New(d Deps) (*App, error) {
	d.cache = service.NewCache(0, d.Now)
	sd, wo, err := d.build()
	if err != nil {
		return nil, err
	}
	all := service.NewAll(sd)
	return &App{
		Config: d.Config, Store: d.Store, Secrets: d.Secrets, Services: all, Log: d.Log, web: wo,
		handlers: map[string]http.Handler{
			web.FuncIntegrations: integrations(wo, all),
			web.FuncLogin:        web.Login(wo, all.SignIn, all.Sessions),
			web.FuncCallback:     web.Callback(wo, all.SignIn),
			web.FuncSession:      web.Session(wo, all.Sessions, all.SetupLinks),
		},
	}, nil
}

// Handler returns one function's handler, or for "" all of them on one mux, each route
// served by its function's handler, as API Gateway routes them.
func (a *App) Handler(function string) http.Handler {
	if function != "" {
		return a.handlers[function]
	}
	return web.Mount(a.web, a.handlers)
}
