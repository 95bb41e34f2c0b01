// Package local composes forgelink for the hosts that run every function in one process
// and own their storage: the local runner (make run), the operator CLI and tests. Lambda
// functions never import it, so their binaries link neither the memory store nor table
// creation.
package local

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/dynamo"
	"github.com/forgelink/forgelink/shared/inmem"
)

// Deps are the app.Deps of the local runner and the operator CLI: the embedded memory store,
// or (FORGELINK_STORE=aws) DynamoDB and Secrets Manager with the table created when
// missing. Without a
// configured cookie key a random one is made: sessions and pending sign-ins then end
// with the process.
func Deps(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) (app.Deps, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	awsCfg := o.AWS
	if awsCfg == nil && (cfg.Store == "aws" || cfg.CookieKeySecret != "") {
		c, err := app.LoadAWS(ctx)
		if err != nil {
			return app.Deps{}, err
		}
		awsCfg = &c
	}
	d := app.Deps{Config: cfg, Log: log, Now: o.Now}
	if cfg.Store == "memory" {
		mem := inmem.New(o.Now)
		d.Store, d.Secrets = mem, mem
	} else {
		table, sm := app.AWSStores(*awsCfg, cfg, o.Now)
		if err := dynamo.EnsureTable(ctx, table); err != nil {
			return app.Deps{}, fmt.Errorf("create DynamoDB table %q: %w", cfg.Table, err)
		}
		d.Store, d.Secrets = table, sm
	}
	keys, err := app.CookieKey(ctx, cfg, derefAWS(awsCfg))
	if err != nil {
		return app.Deps{}, err
	}
	d.CookieKey, d.PreviousCookieKey = keys.Current, keys.Previous
	if d.CookieKey == nil {
		d.CookieKey = []byte(rand.Text() + rand.Text())
	}
	return d, nil
}

// Options are the host's choices beyond the configuration.
type Options struct {
	// AWS, when set, replaces the SDK's standard configuration (a moto endpoint, an HTTP
	// client that counts calls).
	AWS *aws.Config
	// Now is the clock of the stores and services; nil: time.Now.
	Now func() time.Time
}

func derefAWS(c *aws.Config) aws.Config {
	if c == nil {
		return aws.Config{}
	}
	return *c
}
