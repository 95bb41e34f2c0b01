package bench

import (
	"os"
	"testing"

	"github.com/forgelink/forgelink/shared/mototest"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(bareEnv); spec != "" {
		serveBare(spec) // child process of startBare; never returns
	}
	mototest.Main(m)
}
