// Package secrets is the AWS Secrets Manager implementation of forgelink.Secrets: one secret
// per integration, holding its GitLab client secret. Secret values never appear in errors
// or logs produced here; only names and ARNs do.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/forgelink/forgelink/shared/awserr"
	"github.com/forgelink/forgelink/shared/forgelink"
)

// Store is safe for concurrent use.
type Store struct {
	sm *secretsmanager.Client
}

var _ forgelink.Secrets = (*Store)(nil)

// New returns a store using client.
func New(client *secretsmanager.Client) *Store { return &Store{sm: client} }

// PutSecret creates the secret, or adds a new current version to an existing one (the old
// version stays readable as AWSPREVIOUS until the next put).
func (s *Store) PutSecret(ctx context.Context, name, value string, tags map[string]string) (forgelink.SecretRef, error) {
	created, err := s.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         &name,
		SecretString: &value,
		Tags:         toTags(tags),
	})
	if err == nil {
		return forgelink.SecretRef{ARN: aws.ToString(created.ARN), Version: aws.ToString(created.VersionId)}, nil
	}
	var exists *types.ResourceExistsException
	if !errors.As(err, &exists) {
		return forgelink.SecretRef{}, fail(err, "create secret "+name)
	}
	put, err := s.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &name, SecretString: &value})
	if err != nil {
		return forgelink.SecretRef{}, fail(err, "put new version of secret "+name)
	}
	if len(tags) > 0 {
		if _, err := s.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: put.ARN, Tags: toTags(tags)}); err != nil {
			return forgelink.SecretRef{}, fail(err, "tag secret "+name)
		}
	}
	return forgelink.SecretRef{ARN: aws.ToString(put.ARN), Version: aws.ToString(put.VersionId)}, nil
}

// toTags sorts by key so requests are deterministic.
func toTags(tags map[string]string) []types.Tag {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func (s *Store) GetSecret(ctx context.Context, ref forgelink.SecretRef) (string, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: &ref.ARN}
	if ref.Version != "" {
		in.VersionId = &ref.Version
	}
	out, err := s.sm.GetSecretValue(ctx, in)
	if err != nil {
		return "", fail(err, "get secret "+ref.ARN)
	}
	return aws.ToString(out.SecretString), nil
}

// DeleteSecret deletes at once, without the recovery window, so a deleted integration
// leaves nothing behind; a missing secret is already what the caller wants.
func (s *Store) DeleteSecret(ctx context.Context, arnOrName string) error {
	_, err := s.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId:                   &arnOrName,
		ForceDeleteWithoutRecovery: aws.Bool(true),
	})
	var missing *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &missing) {
		return fail(err, "delete secret "+arnOrName)
	}
	return nil
}

// ListSecrets pages through the service's name filter, which matches more loosely than a
// prefix (case-insensitive, per word), and keeps exact prefix matches only.
func (s *Store) ListSecrets(ctx context.Context, prefix string) ([]string, error) {
	in := &secretsmanager.ListSecretsInput{}
	if prefix != "" {
		in.Filters = []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{prefix}}}
	}
	var names []string
	p := secretsmanager.NewListSecretsPaginator(s.sm, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fail(err, "list secrets with prefix "+prefix)
		}
		for _, e := range page.SecretList {
			if name := aws.ToString(e.Name); strings.HasPrefix(name, prefix) {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// fail maps an SDK error: ENOTFOUND for a missing secret or version, EUNAVAILABLE for
// throttling, 5xx, network trouble and deadlines, EINTERNAL otherwise.
func fail(err error, action string) error {
	cause := fmt.Errorf("secretsmanager %s: %w", action, err)
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return forgelink.Wrap(forgelink.ENOTFOUND, cause, "secret not found")
	}
	return awserr.Fail(cause, awserr.Transient(err),
		"The secret store is unavailable right now. Please try again in a moment.")
}
