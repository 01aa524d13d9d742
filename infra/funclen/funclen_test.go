// Package funclen holds the test that keeps the project's functions short:
// no top-level function of the project's own code over 80 lines, no main
// over 50 (main only reads config, builds dependencies and starts). Test
// files are not held to it: a table or an end-to-end story reads best whole.
package funclen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const (
	maxLines     = 80
	maxMainLines = 50
)

func TestFunctionLengths(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// third_party holds upstream code kept as upstream wrote it.
			if path != root && (d.Name() == "node_modules" || d.Name() == "testdata" || d.Name() == "third_party" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			limit := maxLines
			if fn.Name.Name == "main" && fn.Recv == nil && f.Name.Name == "main" {
				limit = maxMainLines
			}
			start := fset.Position(fn.Pos())
			if n := fset.Position(fn.End()).Line - start.Line + 1; n > limit {
				t.Errorf("%s:%d: %s is %d lines, want at most %d: split it into named steps", start.Filename, start.Line, fn.Name.Name, n, limit)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
