package secrets_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/mototest"
	"github.com/forgelink/forgelink/shared/secrets"
)

// The behaviour shared with shared/inmem is covered by shared/storetest, run from
// shared/dynamo against moto; these tests cover what only the AWS implementation does.

func TestMain(m *testing.M) { mototest.Main(m) }

func TestTags(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Shared(t)
	st := secrets.New(secretsmanager.NewFromConfig(srv.Config(t)))
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "secrets-test/" + hex.EncodeToString(b) + "/acme/int1"
	t.Cleanup(func() { _ = st.DeleteSecret(context.Background(), name) })

	_, err := st.PutSecret(ctx, name, "one", map[string]string{"forgelink:org": "acme", "forgelink:integration": "int1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutSecret(ctx, name, "two", map[string]string{"forgelink:stage": "test"}); err != nil {
		t.Fatal(err)
	}
	all, err := srv.ListSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name != name {
			continue
		}
		if s.Value != "two" || s.Tags["forgelink:org"] != "acme" || s.Tags["forgelink:integration"] != "int1" || s.Tags["forgelink:stage"] != "test" {
			t.Fatalf("secret in moto = %+v", s)
		}
		return
	}
	t.Fatalf("secret %s not in moto", name)
}

func TestUnavailable(t *testing.T) {
	const value = "never-in-an-error-message"
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
	}))
	defer fake.Close()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"), config.WithBaseEndpoint(fake.URL), config.WithRetryMaxAttempts(1),
		config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, nil
		})))
	if err != nil {
		t.Fatal(err)
	}
	st := secrets.New(secretsmanager.NewFromConfig(cfg))
	ctx := context.Background()
	_, putErr := st.PutSecret(ctx, "x/y", value, nil)
	_, getErr := st.GetSecret(ctx, forgelink.SecretRef{ARN: "x/y"})
	_, listErr := st.ListSecrets(ctx, "x/")
	for _, err := range []error{putErr, getErr, listErr, st.DeleteSecret(ctx, "x/y")} {
		var fe *forgelink.Error
		if !errors.As(err, &fe) || fe.Code != forgelink.EUNAVAILABLE || fe.RetryAfter <= 0 {
			t.Fatalf("err = %v, want EUNAVAILABLE with RetryAfter", err)
		}
		if strings.Contains(err.Error(), value) {
			t.Fatalf("error carries the secret value: %v", err)
		}
	}
}
