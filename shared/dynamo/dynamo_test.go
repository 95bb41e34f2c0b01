package dynamo_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/forgelink/forgelink/shared/dynamo"
	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/mototest"
	"github.com/forgelink/forgelink/shared/secrets"
	"github.com/forgelink/forgelink/shared/storetest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// TestConformance runs the suite against moto: a fresh table per subtest, so subtests can
// share one server, run in parallel and run again with -count.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) (forgelink.Store, forgelink.Secrets) {
		cfg := mototest.Shared(t).Config(t)
		db := dynamodb.NewFromConfig(cfg)
		table := tableName(t)
		store := dynamo.New(db, table, clock.Now)
		if err := dynamo.EnsureTable(context.Background(), store); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table})
		})
		return store, secrets.New(secretsmanager.NewFromConfig(cfg))
	})
}

var unsafeTableChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func tableName(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return unsafeTableChars.ReplaceAllString(t.Name(), "-") + "-" + hex.EncodeToString(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func asError(err error, target **forgelink.Error) bool { return errors.As(err, target) }
