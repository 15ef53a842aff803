package layercheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/payrun/payrun/"

// root is the repository root, two levels above this package.
var root = filepath.Join("..", "..")

// goFiles lists the .go files under dir (relative to the root), with tests
// when withTests.
func goFiles(t *testing.T, dir string, withTests bool) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && (withTests || !strings.HasSuffix(path, "_test.go")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no Go files under %s: the test looks in the wrong place", dir)
	}
	return files
}

func parse(t *testing.T, path string, mode parser.Mode) *ast.File {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, mode)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

func TestInternalImportsOnlyInternal(t *testing.T) {
	for _, path := range goFiles(t, "internal", true) {
		for _, spec := range parse(t, path, parser.ImportsOnly).Imports {
			imported, _ := strconv.Unquote(spec.Path.Value)
			if strings.HasPrefix(imported, module) && !strings.HasPrefix(imported, module+"internal/") {
				t.Errorf("%s imports %s: internal/ holds leaf utilities only (test harnesses go in testsupport/)", path, imported)
			}
		}
	}
}

// sql matches the start of a SQL statement in a string.
var sql = regexp.MustCompile(`(?i)\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|ALTER\s+TABLE|DROP\s+(TABLE|DATABASE))\b`)

func TestNoSQLInCmd(t *testing.T) {
	for _, path := range goFiles(t, "cmd", false) {
		ast.Inspect(parse(t, path, 0), func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if text, err := strconv.Unquote(lit.Value); err == nil && sql.MatchString(text) {
					t.Errorf("%s holds SQL (%q): ask the package that owns the table", path, sql.FindString(text))
				}
			}
			return true
		})
	}
}

// The patterns find what they must: a check that cannot fail is no check.
func TestSQLPatternFindsStatements(t *testing.T) {
	for _, text := range []string{"SELECT id FROM cycles", "insert into payouts (a) values (1)", "UPDATE cycles SET state = $1", "DELETE FROM jobs"} {
		if !sql.MatchString(text) {
			t.Errorf("%q is SQL the check misses", text)
		}
	}
	for _, text := range []string{"select a cycle to close", "update the payout account", "--month is required"} {
		if sql.MatchString(text) {
			t.Errorf("%q is not SQL but the check flags it", text)
		}
	}
}
