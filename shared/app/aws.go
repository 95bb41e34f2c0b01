package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	jsonv2 "github.com/go-json-experiment/json"

	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/dynamo"
	"github.com/forgelink/forgelink/shared/secrets"
)

// FromAWS is a Lambda function's Deps: DynamoDB and Secrets Manager through the SDK's
// standard configuration, and the cookie key from its secret (required: every container
// must share it, so a random one would break sign-ins).
func FromAWS(ctx context.Context, cfg config.Config, log *slog.Logger) (Deps, error) {
	awsCfg, err := LoadAWS(ctx)
	if err != nil {
		return Deps{}, err
	}
	return FromAWSConfig(ctx, cfg, log, awsCfg)
}

// OnAWS makes a Lambda function's build step of one of this package's constructors
// (Integrations, Login, Callback, Session): FromAWS, then the constructor. Its result is
// what lambdahttp.Start takes.
func OnAWS(build func(Deps) (http.Handler, error)) func(context.Context, config.Config, *slog.Logger) (http.Handler, error) {
	return func(ctx context.Context, cfg config.Config, log *slog.Logger) (http.Handler, error) {
		d, err := FromAWS(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		return build(d)
	}
}

// FromAWSConfig is FromAWS over a given AWS configuration (benchmarks count its calls).
func FromAWSConfig(ctx context.Context, cfg config.Config, log *slog.Logger, awsCfg aws.Config) (Deps, error) {
	if cfg.Store != "aws" {
		// The embedded store lives in one process: under Lambda every container would
		// have its own, and sign-ins would fail at random.
		return Deps{}, fmt.Errorf("FORGELINK_STORE=%q: a Lambda function needs aws", cfg.Store)
	}
	if cfg.CookieKey == "" && cfg.CookieKeySecret == "" {
		return Deps{}, errors.New("no cookie key: set FORGELINK_COOKIE_KEY_SECRET (or FORGELINK_COOKIE_KEY)")
	}
	keys, err := CookieKey(ctx, cfg, awsCfg)
	if err != nil {
		return Deps{}, err
	}
	store, secretStore := AWSStores(awsCfg, cfg, time.Now)
	return Deps{Config: cfg, Store: store, Secrets: secretStore, CookieKey: keys.Current,
		PreviousCookieKey: keys.Previous, Log: log}, nil
}

// AWSStores returns the DynamoDB table and Secrets Manager stores over awsCfg.
func AWSStores(awsCfg aws.Config, cfg config.Config, now func() time.Time) (*dynamo.Store, *secrets.Store) {
	return dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, now),
		secrets.New(secretsmanager.NewFromConfig(awsCfg))
}

// LoadAWS reads the SDK's standard configuration (AWS_REGION, AWS_ENDPOINT_URL*, the
// credential chain); endpoints are never home-made settings.
func LoadAWS(ctx context.Context) (aws.Config, error) {
	c, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if c.Region == "" {
		return aws.Config{}, errors.New("load AWS configuration: no region; set AWS_REGION")
	}
	return c, nil
}

// CookieKeys are the cookie key and, during a rotation, the previous one.
type CookieKeys struct {
	Current  []byte
	Previous []byte // nil outside a rotation
}

// CookieKey returns FORGELINK_COOKIE_KEY, or the keys in the secret named by
// FORGELINK_COOKIE_KEY_SECRET (ParseCookieKeySecret), or zero keys when neither is set.
func CookieKey(ctx context.Context, cfg config.Config, awsCfg aws.Config) (CookieKeys, error) {
	switch {
	case cfg.CookieKey != "":
		return CookieKeys{Current: []byte(cfg.CookieKey)}, nil
	case cfg.CookieKeySecret == "":
		return CookieKeys{}, nil
	}
	out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(cfg.CookieKeySecret)})
	if err != nil {
		return CookieKeys{}, fmt.Errorf("read cookie key secret %q: %w", cfg.CookieKeySecret, err)
	}
	keys, err := ParseCookieKeySecret(aws.ToString(out.SecretString))
	if err != nil {
		return CookieKeys{}, fmt.Errorf("cookie key secret %q: %w", cfg.CookieKeySecret, err)
	}
	return keys, nil
}

// MinCookieKeyLength is the shortest key the cookie-key secret may hold.
const MinCookieKeyLength = 32

// ParseCookieKeySecret reads the cookie-key secret's JSON: {"key": "…"} and, during a
// rotation (docs/operations.md), {"key": "…", "previous": "…"}, each at least
// MinCookieKeyLength characters. Keys match exactly and a key given twice is an error:
// the secret decides which key seals, so it must have one reading. Unknown keys are
// refused too, so that a typo ("prevous") fails the init instead of ending sessions.
func ParseCookieKeySecret(s string) (CookieKeys, error) {
	var v struct {
		Key      string  `json:"key"`
		Previous *string `json:"previous"`
	}
	const want = `want JSON {"key": "<at least 32 characters>"} or {"key": "…", "previous": "…"}`
	if err := jsonv2.Unmarshal([]byte(s), &v, jsonv2.RejectUnknownMembers(true)); err != nil || len(v.Key) < MinCookieKeyLength {
		return CookieKeys{}, errors.New(want)
	}
	keys := CookieKeys{Current: []byte(v.Key)}
	if v.Previous != nil {
		if len(*v.Previous) < MinCookieKeyLength {
			return CookieKeys{}, errors.New(want + ` (previous too short)`)
		}
		keys.Previous = []byte(*v.Previous)
	}
	return keys, nil
}
