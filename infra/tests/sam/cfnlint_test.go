package sam_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/forgelink/forgelink/infra/testkit/sam"
	"github.com/forgelink/forgelink/infra/testkit/tier"
)

// cfnLintCommand returns the command that runs cfn-lint: the script when it is on PATH,
// else the Python module (pip installs without scripts on PATH happen).
func cfnLintCommand(ctx context.Context, args ...string) (*exec.Cmd, bool) {
	if path, err := exec.LookPath("cfn-lint"); err == nil {
		return exec.CommandContext(ctx, path, args...), true
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, false
	}
	if exec.CommandContext(ctx, py, "-c", "import cfnlint.runner").Run() != nil {
		return nil, false
	}
	script := `import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())`
	return exec.CommandContext(ctx, py, append([]string{"-c", script}, args...)...), true
}

// TestCfnLint runs cfn-lint (which runs the SAM translator too) on template.yaml. Under
// CI=true a missing cfn-lint is a failure, elsewhere a skip.
func TestCfnLint(t *testing.T) {
	tier.Slow(t, "runs cfn-lint")
	root, err := sam.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd, ok := cfnLintCommand(ctx, "--format", "parseable", filepath.Join(root, "template.yaml"))
	if !ok {
		tier.Missing(t, "cfn-lint", "pip install cfn-lint (neither the cfn-lint script nor the python3 module cfnlint)", "")
	}
	// The SAM translator needs a region; none of the developer's AWS settings matter here.
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
	if len(out) > 0 {
		t.Logf("cfn-lint:\n%s", out)
	}
}
