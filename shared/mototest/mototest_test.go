package mototest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/forgelink/forgelink/shared/mototest"
)

func TestServer(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg := srv.Config(t)
	db := dynamodb.NewFromConfig(cfg)

	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("t"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("PK"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("PK"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "a"}, "n": &types.AttributeValueMemberN{Value: "3"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	items, err := srv.ScanTable(ctx, "t")
	if err != nil || len(items) != 1 || items[0]["PK"] != "a" || items[0]["n"] != float64(3) {
		t.Fatalf("ScanTable = %v, %v", items, err)
	}

	sm := secretsmanager.NewFromConfig(cfg)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("x/y"), SecretString: aws.String("v")})
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := srv.ListSecrets(ctx)
	if err != nil || len(secrets) != 1 || secrets[0].Name != "x/y" || secrets[0].Value != "v" {
		t.Fatalf("ListSecrets = %+v, %v", secrets, err)
	}

	if err := srv.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	tables, err := srv.ListTables(ctx)
	if err != nil || len(tables) != 0 {
		t.Fatalf("tables after reset = %v, %v", tables, err)
	}

	srv.Stop()
	srv.Stop() // idempotent, and Cleanup calls it again
	client := &http.Client{Timeout: time.Second}
	if resp, err := client.Get(srv.MotoURL + "/moto-api/data.json"); err == nil {
		resp.Body.Close()
		t.Fatal("moto still answers after Stop")
	}
}
