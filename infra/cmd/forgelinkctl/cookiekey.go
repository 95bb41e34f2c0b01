package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/forgelink/forgelink/shared/app"
)

// cookieKeyLength matches the template's generated key (PasswordLength 64).
const cookieKeyLength = 64

// rotateCookieKey is the operator's key rotation (docs/operations.md): step one writes a
// new random key with the current one as previous, so that pending sign-ins and open
// forms survive; step two (--drop-previous, once the longest-lived token of the old key —
// a 12 h session's CSRF token — is gone) leaves the new key alone.
func rotateCookieKey(fs *flag.FlagSet) action {
	drop := fs.Bool("drop-previous", false, "end a rotation: keep the current key, drop the previous one")
	force := fs.Bool("force", false, "rotate although the previous key of an unfinished rotation would be dropped")
	return func(ctx context.Context, e *ctl, _ []string) error {
		name := e.cfg.CookieKeySecret
		if name == "" {
			return errors.New("no cookie key secret: set FORGELINK_COOKIE_KEY_SECRET (the stack's CookieKeySecretArn output)")
		}
		sm := secretsmanager.NewFromConfig(e.aws)
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		cur, err := app.ParseCookieKeySecret(aws.ToString(out.SecretString))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		next, msg, err := nextCookieKeys(cur, *drop, *force)
		if err != nil {
			return err
		}
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(name), SecretString: aws.String(next),
		}); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		fmt.Fprintln(e.stdout, msg)
		fmt.Fprintln(e.stderr, "Functions read the key when they start: restart them now (docs/operations.md, \"Rotating the cookie key\").")
		return nil
	}
}

// nextCookieKeys is the secret's next value and what to tell the operator.
func nextCookieKeys(cur app.CookieKeys, drop, force bool) (string, string, error) {
	if drop {
		if cur.Previous == nil {
			return "", "", errors.New("no rotation to end: the secret has no previous key")
		}
		b, err := json.Marshal(map[string]string{"key": string(cur.Current)})
		return string(b), "previous cookie key dropped; the rotation is complete", err
	}
	if cur.Previous != nil && !force {
		return "", "", errors.New("a rotation is still under way (the secret has a previous key): " +
			"run --drop-previous once 12 h have passed since it began, or pass --force to drop that key now " +
			"(sign-ins and forms that still depend on it then fail once)")
	}
	b, err := json.Marshal(map[string]string{"key": randomKey(), "previous": string(cur.Current)})
	return string(b), "new cookie key written, the old one kept as previous; run rotate-cookie-key --drop-previous in 12 h", err
}

// randomKey is cookieKeyLength characters of base32 (5 bits each: 320 random bits).
func randomKey() string {
	k := ""
	for len(k) < cookieKeyLength {
		k += rand.Text()
	}
	return k[:cookieKeyLength]
}
