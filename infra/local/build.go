package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
)

// BuildFunctions builds every function of repoRoot's template.yaml for the
// host into outDir/<folder>/bootstrap (CGO_ENABLED=0 and the lambda.norpc
// tag, as for Lambda: provided.al2023 and aws-lambda-rie speak the runtime
// API only, and aws-lambda-go's net/rpc mode would add net/rpc and
// encoding/gob to every start-up), so that the local platform and the
// end-to-end tests run the real code.
// The go command's build cache makes a rebuild of unchanged code cheap.
func BuildFunctions(ctx context.Context, repoRoot, outDir string) error {
	tpl, err := samtpl.Load(filepath.Join(repoRoot, DefaultTemplatePath))
	if err != nil {
		return err
	}
	out := absPath(outDir)
	args := []string{"build", "-trimpath", "-tags", "lambda.norpc", "-o"}
	for _, f := range tpl.Functions {
		dir := filepath.Join(out, f.Folder)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		cmd := exec.CommandContext(ctx, "go", append(args, filepath.Join(dir, "bootstrap"), "./functions/"+f.Folder)...)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s (./functions/%s): %w: %s", f.LogicalID, f.Folder, err, strings.TrimSpace(string(msg)))
		}
	}
	return nil
}
