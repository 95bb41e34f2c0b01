package sam_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgelink/forgelink/infra/testkit/sam"
)

// testOnly are the packages a Lambda bootstrap must never link: the development and test
// code under infra/, the embedded store and the local composition (a function refuses
// FORGELINK_STORE=memory anyway), and the test helpers that live under shared/.
var testOnly = []string{
	"github.com/forgelink/forgelink/infra/",
	"github.com/forgelink/forgelink/shared/inmem",
	"github.com/forgelink/forgelink/shared/app/local",
	"github.com/forgelink/forgelink/shared/apptest",
	"github.com/forgelink/forgelink/shared/storetest",
	"github.com/forgelink/forgelink/shared/mototest",
}

// TestFunctionsLinkNoTestCode: what each functions/<name> bootstrap depends on, by
// `go list -deps`, holds none of testOnly. (The test helpers under shared/ may import the
// fake GitLab; production packages may not, and this is where that shows.)
func TestFunctionsLinkNoTestCode(t *testing.T) {
	root, err := sam.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil || len(fns) == 0 {
		t.Fatalf("no functions/*/main.go under %s (%v)", root, err)
	}
	for _, main := range fns {
		pkg := "./" + filepath.ToSlash(mustRel(t, root, filepath.Dir(main)))
		cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", pkg)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s listed only %v", pkg, deps)
		}
		for _, dep := range deps {
			for _, bad := range testOnly {
				if dep == bad || strings.HasPrefix(dep, bad+"/") || (strings.HasSuffix(bad, "/") && strings.HasPrefix(dep, bad)) {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
		}
	}
}

func mustRel(t *testing.T, base, target string) string {
	t.Helper()
	rel, err := filepath.Rel(base, target)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}
