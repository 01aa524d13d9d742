package samtpl_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
)

// notTemplateSettings are environment variables the functions read that the
// template must not set.
var notTemplateSettings = map[string]string{
	"AWS_ENDPOINT_URL": "emulators only: the local platform sets it",
	"CPU_PROFILE_DIR":  "benchmarks only: make bench-platform sets it through BENCH_ENV",
}

// settingsOf is each function's settings type in internal/config, by
// folder: the variables of its `env` tags are what the function reads.
var settingsOf = map[string]struct {
	typ       reflect.Type
	variables []string
}{
	"api":             {reflect.TypeFor[config.API](), config.Variables[config.API]()},
	"campaign-worker": {reflect.TypeFor[config.CampaignWorker](), config.Variables[config.CampaignWorker]()},
	"import-worker":   {reflect.TypeFor[config.ImportWorker](), config.Variables[config.ImportWorker]()},
	"report-worker":   {reflect.TypeFor[config.ReportWorker](), config.Variables[config.ReportWorker]()},
	"scheduler":       {reflect.TypeFor[config.Scheduler](), config.Variables[config.Scheduler]()},
}

// configPackage is the one package that reads the environment.
const configPackage = "internal/config"

// TestTemplateSetsWhatFunctionsRead checks that template.yaml gives each
// function every variable of its settings type in internal/config (the
// `env` tags), and nothing else; that the function's main loads that type;
// and that no package the function runs reads the environment other than
// through internal/config. A setting added to a config type without a
// template parameter fails here, and so does a setting read around it.
func TestTemplateSetsWhatFunctionsRead(t *testing.T) {
	tpl := loadProjectTemplate(t)
	mod := modulePath(t)
	for _, f := range tpl.Functions {
		t.Run(f.LogicalID, func(t *testing.T) {
			settings, ok := settingsOf[f.Folder]
			if !ok {
				t.Fatalf("functions/%s has no settings type in settingsOf", f.Folder)
			}
			if !mainLoads(t, f.Folder, settings.typ.Name()) {
				t.Errorf("functions/%s/main.go does not load config.%s", f.Folder, settings.typ.Name())
			}
			reads := map[string]bool{}
			for _, name := range settings.variables {
				reads[name] = true
				if _, ok := f.Environment[name]; ok {
					if why, exempt := notTemplateSettings[name]; exempt {
						t.Errorf("environment sets %s, which it must not (%s)", name, why)
					}
					continue
				}
				if _, exempt := notTemplateSettings[name]; exempt || strings.HasPrefix(name, "AWS_LAMBDA_") {
					continue // AWS_LAMBDA_*: set by Lambda itself
				}
				t.Errorf("config.%s reads %s but the template's environment of %s lacks it: add a parameter and set it in Globals or the function",
					settings.typ.Name(), name, f.LogicalID)
			}
			for name := range f.Environment {
				if !reads[name] {
					t.Errorf("environment sets %s but config.%s does not read it", name, settings.typ.Name())
				}
			}

			seen := map[string]bool{}
			readers := map[string]string{} // package dir -> position of a read
			envReaders(t, mod, "functions/"+f.Folder, seen, readers)
			if !seen[configPackage] || !seen["internal/app"] {
				t.Fatalf("scan of functions/%s did not reach internal/app and %s: the scan is broken; saw %v", f.Folder, configPackage, seen)
			}
			for dir, pos := range readers {
				if dir != configPackage {
					t.Errorf("%s reads the environment (%s); read settings through %s", dir, pos, configPackage)
				}
			}
		})
	}
	t.Run("reads around the config package are found", func(t *testing.T) {
		readers := map[string]string{}
		envReaders(t, mod, "infra/samtpl/testdata/envreader", map[string]bool{}, readers)
		if len(readers) != 1 {
			t.Fatalf("readers = %v, want the test package's own os.LookupEnv", readers)
		}
	})
}

// mainLoads reports whether functions/<folder>/main.go names config.<typ>.
func mainLoads(t *testing.T, folder, typ string) bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot, "functions", folder, "main.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "config" && sel.Sel.Name == typ {
				found = true
			}
		}
		return !found
	})
	return found
}

// modulePath is the module line of go.mod.
func modulePath(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

// envReaders adds to readers the packages among dir (relative to the
// repository root) and the module packages it imports, transitively, whose
// non-test files call os.Getenv, os.LookupEnv or os.Environ, with the
// position of one such call.
func envReaders(t *testing.T, mod, dir string, seen map[string]bool, readers map[string]string) {
	t.Helper()
	if seen[dir] {
		return
	}
	seen[dir] = true
	entries, err := os.ReadDir(filepath.Join(repoRoot, dir))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(repoRoot, dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if isEnvRead(n) {
				readers[dir] = fset.Position(n.Pos()).String()
			}
			return true
		})
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if rel, ok := strings.CutPrefix(path, mod+"/"); ok {
				envReaders(t, mod, rel, seen, readers)
			}
		}
	}
}

// isEnvRead reports whether n is a call of os.Getenv, os.LookupEnv or
// os.Environ.
func isEnvRead(n ast.Node) bool {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv" || sel.Sel.Name == "Environ")
}
