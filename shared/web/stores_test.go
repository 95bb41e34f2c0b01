package web_test

import (
	"testing"

	"github.com/forgelink/forgelink/shared/apptest"
	"github.com/forgelink/forgelink/shared/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// onBothStores runs a journey on the in-memory store and on DynamoDB + Secrets Manager in
// moto: the same HTTP conversation must give the same answers on both.
func onBothStores(t *testing.T, journey func(*testing.T, apptest.Options)) {
	t.Run("memory", func(t *testing.T) { journey(t, apptest.Options{}) })
	t.Run("aws", func(t *testing.T) { journey(t, apptest.Options{AWS: true}) })
}
