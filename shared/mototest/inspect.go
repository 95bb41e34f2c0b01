package mototest

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Raw views of moto's state, for tests that look for leaks (a client secret in a table
// item, an orphan secret) without going through the code under test.

// ListTables returns the names of all tables.
func (s *Server) ListTables(ctx context.Context) ([]string, error) {
	db, err := s.dynamo(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	p := dynamodb.NewListTablesPaginator(db, &dynamodb.ListTablesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		names = append(names, page.TableNames...)
	}
	return names, nil
}

// ScanTable returns every item of table, attribute values converted to plain Go values
// (string, float64, bool, []any, map[string]any, []byte, ...).
func (s *Server) ScanTable(ctx context.Context, table string) ([]map[string]any, error) {
	db, err := s.dynamo(ctx)
	if err != nil {
		return nil, err
	}
	var items []map[string]any
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, raw := range page.Items {
			var item map[string]any
			if err := attributevalue.UnmarshalMap(raw, &item); err != nil {
				return nil, fmt.Errorf("decode item of %s: %w", table, err)
			}
			items = append(items, item)
		}
	}
	return items, nil
}

// Secret is one secret as moto holds it, with its current value.
type Secret struct {
	Name, ARN string
	Tags      map[string]string
	Value     string
}

// ListSecrets returns every secret with its current value.
func (s *Server) ListSecrets(ctx context.Context) ([]Secret, error) {
	cfg, err := s.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	sm := secretsmanager.NewFromConfig(cfg)
	var out []Secret
	p := secretsmanager.NewListSecretsPaginator(sm, &secretsmanager.ListSecretsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		for _, e := range page.SecretList {
			sec := Secret{Name: aws.ToString(e.Name), ARN: aws.ToString(e.ARN), Tags: map[string]string{}}
			for _, t := range e.Tags {
				sec.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: e.ARN})
			var gone *smtypes.ResourceNotFoundException
			if errors.As(err, &gone) {
				// Deleted between the list and the read by a test running in parallel
				// on the shared moto (a flaky "read secret …: 404" otherwise).
				continue
			} else if err != nil {
				return nil, fmt.Errorf("read secret %s: %w", sec.Name, err)
			}
			sec.Value = aws.ToString(v.SecretString)
			out = append(out, sec)
		}
	}
	return out, nil
}

func (s *Server) dynamo(ctx context.Context) (*dynamodb.Client, error) {
	cfg, err := s.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg), nil
}
