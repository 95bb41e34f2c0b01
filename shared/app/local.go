package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/inmem"
)

// Local is the Deps of the local runner and the operator CLI: the embedded memory store,
// or (FORGELINK_STORE=aws) DynamoDB and Secrets Manager with the table created when
// missing. Without a
// configured cookie key a random one is made: sessions and pending sign-ins then end
// with the process.
func Local(ctx context.Context, cfg config.Config, log *slog.Logger, o LocalOptions) (Deps, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	awsCfg := o.AWS
	if awsCfg == nil && (cfg.Store == "aws" || cfg.CookieKeySecret != "") {
		c, err := LoadAWS(ctx)
		if err != nil {
			return Deps{}, err
		}
		awsCfg = &c
	}
	d := Deps{Config: cfg, Log: log, Now: o.Now}
	if cfg.Store == "memory" {
		mem := inmem.New(o.Now)
		d.Store, d.Secrets = mem, mem
	} else {
		table, sm := AWSStores(*awsCfg, cfg, o.Now)
		if err := table.EnsureTable(ctx); err != nil {
			return Deps{}, fmt.Errorf("create DynamoDB table %q: %w", cfg.Table, err)
		}
		d.Store, d.Secrets = table, sm
	}
	var err error
	if d.CookieKey, err = CookieKey(ctx, cfg, derefAWS(awsCfg)); err != nil {
		return Deps{}, err
	}
	if d.CookieKey == nil {
		d.CookieKey = []byte(rand.Text() + rand.Text())
	}
	return d, nil
}

// LocalOptions are the host's choices beyond the configuration.
type LocalOptions struct {
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
