package samtpl_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// notTemplateSettings are environment variables the functions read that the
// template must not set.
var notTemplateSettings = map[string]string{
	"AWS_ENDPOINT_URL": "emulators only: the local platform sets it",
}

// TestTemplateSetsWhatFunctionsRead reads the Go source of every function
// (its folder and, transitively, the module's packages it imports) for the
// environment variables it reads, and checks template.yaml gives each to
// that function, and gives it nothing it does not read. A setting added to
// app.Config or a function's main without a template parameter fails here.
func TestTemplateSetsWhatFunctionsRead(t *testing.T) {
	tpl := loadProjectTemplate(t)
	mod := modulePath(t)
	for _, f := range tpl.Functions {
		t.Run(f.LogicalID, func(t *testing.T) {
			reads := map[string]string{} // name -> package that reads it
			envReads(t, mod, "functions/"+f.Folder, map[string]bool{}, reads)
			// The scan must see both kinds of reads, or it proves nothing.
			for _, want := range []string{"DATABASE_URL", "REDIS_KEY_PREFIX"} {
				if _, ok := reads[want]; !ok {
					t.Fatalf("scan found no read of %s (internal/app reads it): the scan is broken; found %v", want, reads)
				}
			}
			for name, pkg := range reads {
				if _, ok := f.Environment[name]; ok {
					if why, exempt := notTemplateSettings[name]; exempt {
						t.Errorf("environment sets %s, which it must not (%s)", name, why)
					}
					continue
				}
				if _, exempt := notTemplateSettings[name]; exempt || strings.HasPrefix(name, "AWS_LAMBDA_") {
					continue // AWS_LAMBDA_*: set by Lambda itself
				}
				t.Errorf("%s reads %s but the template's environment of %s lacks it: add a parameter and set it in Globals or the function", pkg, name, f.LogicalID)
			}
			for name := range f.Environment {
				if _, ok := reads[name]; !ok {
					t.Errorf("environment sets %s but nothing %s runs reads it", name, f.LogicalID)
				}
			}
		})
	}
	t.Run("reads of function-only settings are found", func(t *testing.T) {
		for folder, want := range map[string]string{
			"api":             "UNDELIVERED_AFTER", // through a helper taking the name
			"campaign-worker": "SEND_LEASE_TTL",
			"scheduler":       "CAMPAIGN_STUCK_AFTER",
		} {
			reads := map[string]string{}
			envReads(t, mod, "functions/"+folder, map[string]bool{}, reads)
			if _, ok := reads[want]; !ok {
				t.Errorf("functions/%s: scan found no read of %s; found %v", folder, want, reads)
			}
		}
	})
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

// envReads adds to reads the names that the non-test files of the package in
// dir (relative to the repository root) read with os.Getenv or os.LookupEnv,
// directly or through a function of the package that passes its string
// parameter to them (envOr("X", ...)); then does the same for the module
// packages it imports.
func envReads(t *testing.T, mod, dir string, seen map[string]bool, reads map[string]string) {
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
	var files []*ast.File
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			f, err := parser.ParseFile(fset, filepath.Join(repoRoot, dir, n), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	// Functions of the package that read the variable named by a parameter:
	// name -> index of that parameter.
	readers := map[string]int{}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || fd.Body == nil {
				continue
			}
			var params []string
			for _, field := range fd.Type.Params.List {
				for _, n := range field.Names {
					params = append(params, n.Name)
				}
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if arg, ok := osEnvArg(n); ok {
					if id, ok := arg.(*ast.Ident); ok {
						if i := slices.Index(params, id.Name); i >= 0 {
							readers[fd.Name.Name] = i
						}
					}
				}
				return true
			})
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			arg, ok := osEnvArg(n)
			if call, isCall := n.(*ast.CallExpr); !ok && isCall {
				if id, isIdent := call.Fun.(*ast.Ident); isIdent {
					if i, isReader := readers[id.Name]; isReader && i < len(call.Args) {
						arg, ok = call.Args[i], true
					}
				}
			}
			if lit, isLit := arg.(*ast.BasicLit); ok && isLit && lit.Kind == token.STRING {
				if name, err := strconv.Unquote(lit.Value); err == nil {
					reads[name] = dir
				}
			}
			return true
		})
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if rel, ok := strings.CutPrefix(path, mod+"/"); ok {
				envReads(t, mod, rel, seen, reads)
			}
		}
	}
}

// osEnvArg returns the argument of an os.Getenv or os.LookupEnv call.
func osEnvArg(n ast.Node) (ast.Expr, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) != 1 {
		return nil, false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil, false
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "os" || (sel.Sel.Name != "Getenv" && sel.Sel.Name != "LookupEnv") {
		return nil, false
	}
	return call.Args[0], true
}
