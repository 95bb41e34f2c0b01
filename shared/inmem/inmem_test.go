package inmem_test

import (
	"testing"

	"github.com/forgelink/forgelink/shared/forgelink"
	"github.com/forgelink/forgelink/shared/inmem"
	"github.com/forgelink/forgelink/shared/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) (forgelink.Store, forgelink.Secrets) {
		s := inmem.New(clock.Now)
		return s, s
	})
}
