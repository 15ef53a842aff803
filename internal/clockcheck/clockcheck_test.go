package clockcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// corePackages are the directories checked, each with its subpackages,
// relative to the module root.
var corePackages = []string{"ledger", "tax", "payout", "jobs", "reports", "sim", "accounts", "admin"}

// wallClock are the functions of package time that read the wall clock.
var wallClock = map[string]bool{"Now": true, "Since": true, "Until": true}

// allowed are the wall-clock reads that decide nothing, by file, enclosing
// function and function of package time, each with its one-line reason.
// An entry no longer used fails the test too, so the list stays exact.
var allowed = map[string]string{
	"jobs/worker.go NewWorker time.Now":                     "the default clock when none is injected (package tests); cmd/payrun injects its clock, the only one serve uses",
	"admin/admin.go New time.Now":                           "the default clock when none is injected (package tests, OpenAPI generation); cmd/payrun injects its clock",
	"jobs/worker.go Worker.work time.Now":                   "starts a stopwatch for the duration logged with the run's outcome; runs are recorded with the injected clock",
	"jobs/worker.go Worker.work time.Since":                 "the run's duration for the 'job succeeded'/'job failed' log lines only",
	"payout/release/release.go Releaser.release time.Now":   "starts the stopwatch of the phase durations a release reports (load, files, commit seconds); nothing decides on them",
	"payout/release/release.go Releaser.release time.Since": "the phase durations a release reports to the operator and the metrics; the release time is the injected clock's",
	"payout/store/close.go Store.close time.Now":            "the stopwatch of the phase durations a close prints (freeze, shards, finish seconds); every instant the close records is the injected clock's",
	"jobs/worker.go riverWorker.NextRetry time.Now":         "River's retry instant, in River's own real-time domain (its scheduler compares it with the real clock); no payrun decision reads it",
}

// use is one wall-clock read found in the source.
type use struct {
	key string // "<file> <function> time.<Name>"
	pos token.Position
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// wallClockUses parses one file and lists every reference to time.Now,
// time.Since and time.Until in it — calls, and the functions passed as
// values (a clock defaulting to time.Now reads the wall clock just the
// same) — whatever name package time is imported under.
func wallClockUses(fset *token.FileSet, path, rel string) ([]use, error) {
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var timeName string
	for _, spec := range file.Imports {
		importPath, _ := strconv.Unquote(spec.Path.Value)
		if importPath != "time" {
			continue
		}
		timeName = "time"
		if spec.Name != nil {
			timeName = spec.Name.Name
		}
	}
	switch timeName {
	case "":
		return nil, nil
	case ".":
		return nil, fmt.Errorf("%s imports package time with a dot: its wall-clock reads cannot be checked", rel)
	case "_":
		return nil, nil
	}
	var uses []use
	for _, decl := range file.Decls {
		function := "(package level)"
		if fn, ok := decl.(*ast.FuncDecl); ok {
			function = fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) > 0 {
				function = receiverName(fn.Recv.List[0].Type) + "." + function
			}
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			selector, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := selector.X.(*ast.Ident); ok && pkg.Name == timeName && wallClock[selector.Sel.Name] {
				uses = append(uses, use{key: rel + " " + function + " time." + selector.Sel.Name, pos: fset.Position(selector.Pos())})
			}
			return true
		})
	}
	return uses, nil
}

func receiverName(expr ast.Expr) string {
	switch e := expr.(type) {
	case *ast.StarExpr:
		return receiverName(e.X)
	case *ast.IndexExpr: // generic receiver T[P]
		return receiverName(e.X)
	case *ast.IndexListExpr:
		return receiverName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return "?"
}

// TestCoreReadsNoWallClock: outside the allow-list, no non-test file of the
// core packages reads the wall clock; every allow-list entry is still used.
func TestCoreReadsNoWallClock(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	var found []use
	files := 0
	for _, dir := range corePackages {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if name == "testdata" || (strings.HasPrefix(name, ".") && path != filepath.Join(root, dir)) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			uses, err := wallClockUses(fset, path, filepath.ToSlash(rel))
			if err != nil {
				return err
			}
			files++
			found = append(found, uses...)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
	}
	if files < 50 {
		t.Fatalf("only %d files checked: the core packages were not found under %s", files, root)
	}
	used := map[string]bool{}
	var offenders []string
	for _, u := range found {
		if _, ok := allowed[u.key]; ok {
			used[u.key] = true
			continue
		}
		offenders = append(offenders, fmt.Sprintf("%s:%d: %s reads the wall clock (inject a clock, or allow-list it with a reason if it decides nothing)",
			filepath.ToSlash(mustRel(root, u.pos.Filename)), u.pos.Line, strings.Fields(u.key)[2]))
	}
	var stale []string
	for key := range allowed {
		if !used[key] {
			stale = append(stale, key)
		}
	}
	sort.Strings(offenders)
	sort.Strings(stale)
	for _, o := range offenders {
		t.Error(o)
	}
	for _, s := range stale {
		t.Errorf("allow-list entry %q matches nothing any more: remove it", s)
	}
}

func mustRel(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return rel
}

// The checker itself: it sees calls and function values under any import
// name, names the enclosing method, and refuses a dot import.
func TestWallClockUsesFindsEveryForm(t *testing.T) {
	dir := t.TempDir()
	source := `package p

import clock "time"

type S struct{ now func() clock.Time }

var start = clock.Now()

func (s *S) Decide() bool { return clock.Since(start) > clock.Hour }

func New() *S { return &S{now: clock.Now} }

func Fine(t clock.Time) clock.Time { return t.Add(clock.Until(t)).UTC() }
`
	path := filepath.Join(dir, "p.go")
	if err := os.WriteFile(path, []byte(source), 0o600); err != nil {
		t.Fatal(err)
	}
	uses, err := wallClockUses(token.NewFileSet(), path, "p.go")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range uses {
		keys = append(keys, u.key)
	}
	want := []string{"p.go (package level) time.Now", "p.go S.Decide time.Since", "p.go New time.Now", "p.go Fine time.Until"}
	if strings.Join(keys, "|") != strings.Join(want, "|") {
		t.Fatalf("found %q, want %q", keys, want)
	}
	if err := os.WriteFile(path, []byte("package p\n\nimport . \"time\"\n\nvar x = Now()\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := wallClockUses(token.NewFileSet(), path, "p.go"); err == nil || !strings.Contains(err.Error(), "dot") {
		t.Fatalf("a dot import of time must be refused, got %v", err)
	}
}
