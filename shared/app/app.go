// Package app wires forgelink from its configuration: the stores (memory or AWS), the
// SSRF-guarded GitLab client, the service and the web server. Lambda functions, the local
// runner, the operator CLI and tests all build the application here, one way.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/dynamo"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/gitlab"
	"github.com/forgelink/forgelink/shared/inmem"
	"github.com/forgelink/forgelink/shared/netguard"
	"github.com/forgelink/forgelink/shared/secrets"
	"github.com/forgelink/forgelink/shared/service"
	"github.com/forgelink/forgelink/shared/statecookie"
	"github.com/forgelink/forgelink/shared/web"
)

// App is the wired application.
type App struct {
	Config  config.Config
	Store   forgelink.Store
	Secrets forgelink.Secrets
	Service *service.Service
	Web     *web.Server
	Log     *slog.Logger
}

// Options adjust wiring for the host that runs the application.
type Options struct {
	// EnsureTable creates the DynamoDB table when missing (local runner, CLI; never Lambda).
	EnsureTable bool
	// RequireCookieKey refuses to start without FORGELINK_COOKIE_KEY(_SECRET): under Lambda
	// every container must share one key, so a random one would break sign-ins.
	RequireCookieKey bool
	// AWSConfig, when set, replaces the SDK's standard configuration (tests on moto).
	AWSConfig *aws.Config
	// AWSHTTPClient, when set, carries every AWS SDK call (tests count or fail them).
	AWSHTTPClient aws.HTTPClient
	// Store and Secrets, when set, replace the ones FORGELINK_STORE selects (tests inject
	// failures through them).
	Store   forgelink.Store
	Secrets forgelink.Secrets
	Now     func() time.Time
}

// New builds the application from cfg.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	policy, err := policyOf(cfg)
	if err != nil {
		return nil, err
	}
	store, secretStore, awsCfg, err := stores(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	key, err := cookieKey(ctx, cfg, awsCfg, opts.RequireCookieKey)
	if err != nil {
		return nil, err
	}
	sealer, err := statecookie.New(key)
	if err != nil {
		return nil, fmt.Errorf("cookie key: %w", err)
	}
	svc := service.New(service.Deps{
		Store:        store,
		Secrets:      secretStore,
		GitLab:       &gitlab.Client{Policy: policy},
		URLs:         policy,
		SecretPrefix: cfg.SecretPrefix,
		Now:          opts.Now,
		Log:          log,
	})
	return &App{
		Config:  cfg,
		Store:   store,
		Secrets: secretStore,
		Service: svc,
		Web:     web.New(svc, sealer, log, web.Options{BaseURL: cfg.BaseURL, Now: opts.Now}),
		Log:     log,
	}, nil
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

// stores returns the stores FORGELINK_STORE selects; awsCfg is set for "aws".
func stores(ctx context.Context, cfg config.Config, opts Options) (forgelink.Store, forgelink.Secrets, *aws.Config, error) {
	var awsCfg *aws.Config
	if opts.AWSConfig != nil {
		c := opts.AWSConfig.Copy()
		if opts.AWSHTTPClient != nil {
			c.HTTPClient = opts.AWSHTTPClient
		}
		awsCfg = &c
	} else if cfg.Store == "aws" || cfg.CookieKeySecret != "" {
		c, err := loadAWS(ctx, opts.AWSHTTPClient)
		if err != nil {
			return nil, nil, nil, err
		}
		awsCfg = &c
	}
	store, secretStore := opts.Store, opts.Secrets
	switch {
	case store != nil && secretStore != nil:
	case cfg.Store == "memory":
		mem := inmem.New(opts.Now)
		store, secretStore = or[forgelink.Store](store, mem), or[forgelink.Secrets](secretStore, mem)
	default:
		table := dynamo.New(dynamodb.NewFromConfig(*awsCfg), cfg.Table, opts.Now)
		if opts.EnsureTable {
			if err := table.EnsureTable(ctx); err != nil {
				return nil, nil, nil, fmt.Errorf("create DynamoDB table %q: %w", cfg.Table, err)
			}
		}
		store = or[forgelink.Store](store, table)
		secretStore = or[forgelink.Secrets](secretStore, secrets.New(secretsmanager.NewFromConfig(*awsCfg)))
	}
	return store, secretStore, awsCfg, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// loadAWS reads the SDK's standard configuration (AWS_REGION, AWS_ENDPOINT_URL*, the
// credential chain); endpoints are never home-made settings.
func loadAWS(ctx context.Context, client aws.HTTPClient) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if client != nil {
		opts = append(opts, awsconfig.WithHTTPClient(client))
	}
	c, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if c.Region == "" {
		return aws.Config{}, errors.New("load AWS configuration: no region; set AWS_REGION")
	}
	return c, nil
}

// cookieKey returns the key that seals state cookies and signs CSRF tokens.
func cookieKey(ctx context.Context, cfg config.Config, awsCfg *aws.Config, required bool) ([]byte, error) {
	switch {
	case cfg.CookieKey != "":
		return []byte(cfg.CookieKey), nil
	case cfg.CookieKeySecret != "":
		out, err := secretsmanager.NewFromConfig(*awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(cfg.CookieKeySecret)})
		if err != nil {
			return nil, fmt.Errorf("read cookie key secret %q: %w", cfg.CookieKeySecret, err)
		}
		var v struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil || len(v.Key) < 32 {
			return nil, fmt.Errorf("cookie key secret %q: want JSON {\"key\": \"<at least 32 characters>\"}", cfg.CookieKeySecret)
		}
		return []byte(v.Key), nil
	case required:
		return nil, errors.New("no cookie key: set FORGELINK_COOKIE_KEY_SECRET (or FORGELINK_COOKIE_KEY)")
	default:
		// Local runs without a configured key: sessions and pending sign-ins end with the process.
		b := make([]byte, 32)
		rand.Read(b)
		return []byte(base64.RawURLEncoding.EncodeToString(b)), nil
	}
}

// Handler returns the handler of one function, or of all for "" (local runner).
func (a *App) Handler(function string) http.Handler { return a.Web.Handler(function) }
