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
// host into outDir/<folder>/bootstrap (CGO_ENABLED=0, as for Lambda), so
// that the local platform and the end-to-end tests run the real code.
// The go command's build cache makes a rebuild of unchanged code cheap.
func BuildFunctions(ctx context.Context, repoRoot, outDir string) error {
	tpl, err := samtpl.Load(filepath.Join(repoRoot, DefaultTemplatePath))
	if err != nil {
		return err
	}
	out := absPath(outDir)
	args := []string{"build", "-trimpath", "-o"}
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
