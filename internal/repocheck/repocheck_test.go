package repocheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// self is this file, relative to the repository root: it spells out the
// patterns it looks for, so it is not checked.
const self = "internal/repocheck/repocheck_test.go"

// forbidden are literal texts that always name something beside the
// repository: the shared/ directory that sat beside CI's checkout. The
// strings naming it are built from parts, so that this file, which must
// spell them to look for them, does not itself read as a reference.
var forbidden = []string{"../" + "shared", `"..", ` + `"shared"`}

// upward matches a run of "../" that starts a path (not the "../" inside
// ".../"), with the name that follows it.
var upward = regexp.MustCompile(`(?:^|[^\w.\-/~])((?:\.\./)+)([\w.\-]*)`)

// machinePrefixes are absolute directories of developers' and CI machines;
// nothing tracked may point into them.
var machinePrefixes = []string{"/work/", "/home/", "/Users/"}

// markdownLink matches an inline Markdown link's target.
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// finding is one reference outside the repository.
type finding struct {
	file string
	line int
	text string
	why  string
}

func (f finding) String() string {
	return fmt.Sprintf("%s:%d: %s (%q)", f.file, f.line, f.why, f.text)
}

// absolutePattern matches any of prefixes where an absolute path starts:
// at the start of a line or after a character that cannot be part of a path.
func absolutePattern(prefixes []string) *regexp.Regexp {
	quoted := make([]string, len(prefixes))
	for i, p := range prefixes {
		quoted[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?:^|[^\w.\-/~])(` + strings.Join(quoted, "|") + `)`)
}

// scan returns every reference outside the repository in one tracked file
// (name is relative to the repository root, with slashes).
func scan(name string, content []byte, absolute *regexp.Regexp) []finding {
	var found []finding
	dir := path.Dir(name)
	for i, line := range strings.Split(string(content), "\n") {
		add := func(text, why string) {
			found = append(found, finding{file: name, line: i + 1, text: text, why: why})
		}
		for _, f := range forbidden {
			if strings.Contains(line, f) {
				add(f, "names a directory beside the repository")
			}
		}
		for _, m := range upward.FindAllStringSubmatch(line, -1) {
			if target := path.Join(dir, m[1]+m[2]); target == ".." || strings.HasPrefix(target, "../") {
				add(m[1]+m[2], "a relative path that climbs above the repository root")
			}
		}
		for _, m := range absolute.FindAllStringSubmatch(line, -1) {
			add(m[1], "an absolute path outside the repository")
		}
	}
	return found
}

// brokenLinks returns the relative links of one Markdown file whose target
// is neither a tracked file nor a directory holding one.
func brokenLinks(name string, content []byte, tracked map[string]bool) []finding {
	var found []finding
	for i, line := range strings.Split(string(content), "\n") {
		for _, m := range markdownLink.FindAllStringSubmatch(line, -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			resolved := path.Join(path.Dir(name), target)
			if strings.HasPrefix(target, "/") {
				resolved = strings.TrimPrefix(path.Clean(target), "/")
			}
			if !tracked[resolved] {
				found = append(found, finding{file: name, line: i + 1, text: m[1], why: "a link to a file that is not tracked"})
			}
		}
	}
	return found
}

// trackedFiles returns the repository root and its tracked files (relative,
// with slashes). It fails the test when git or the work tree is missing:
// "tracked" has no meaning without them.
func trackedFiles(t *testing.T) (string, []string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git not found: this test lists the repository's tracked files with `git ls-files`; install git")
	}
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("not inside a git work tree (%v): this test checks the tracked files of a clone of payrun", err)
	}
	root := strings.TrimSpace(string(out))
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		t.Fatal("git ls-files lists no files")
	}
	return root, files
}

func TestNothingTrackedReachesOutsideTheRepository(t *testing.T) {
	root, files := trackedFiles(t)
	prefixes := append([]string{root + "/"}, machinePrefixes...)
	// The directory holding the checkout, when it is specific to it (not a
	// top-level directory such as /tmp).
	if parent := filepath.Dir(root); strings.Count(parent, "/") >= 2 {
		prefixes = append(prefixes, parent+"/")
	}
	absolute := absolutePattern(prefixes)

	tracked := make(map[string]bool)
	for _, f := range files {
		tracked[f] = true
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			tracked[d] = true
		}
	}
	var found []finding
	for _, name := range files {
		if name == self {
			continue
		}
		content, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(content, 0) >= 0 {
			continue // binary
		}
		found = append(found, scan(name, content, absolute)...)
		if strings.HasSuffix(name, ".md") {
			found = append(found, brokenLinks(name, content, tracked)...)
		}
	}
	for _, f := range found {
		t.Error(f)
	}
	if len(found) > 0 {
		t.Log("a plain clone has nothing beside it: vendor what is needed (testdata/, docs/) and refer to it inside the repository")
	}
}

// The patterns find what they should, and only that.
func TestScan(t *testing.T) {
	absolute := absolutePattern(append([]string{"/src/payrun/"}, machinePrefixes...))
	cases := []struct {
		name, content string
		want          int
	}{
		{"README.md", "The contract is [SPEC.md](../" + "shared/SPEC.md).", 2},
		{"payout/sepa/schema_test.go", `path := filepath.Join(dir, "..", ` + `"shared", "xsd", name)`, 1},
		{"payout/sepa/doc.go", "// kept in ../" + "shared/xsd beside the repository", 1}, // climbs to payout/, not above the root
		{"payout/release/release_test.go", `xsd := "../sepa/testdata/x.xsd"`, 0},
		{"payout/release/release_test.go", `xsd := "../../../elsewhere/x.xsd"`, 1},
		{"docs/behaviour.md", "see [the README](../README.md)", 0},
		{"docs/behaviour.md", "see [elsewhere](../../notes.md)", 1},
		{"admin/doc.go", "// PUT .../users/{user_id} returns", 0},
		{"scripts/db.sh", `root=$(cd "$(dirname "$0")/.." && pwd)`, 0},
		{"scripts/x.sh", `cp /work/shared/xsd/a.xsd .`, 1},
		{"scripts/x.sh", `cat "/src/payrun/.data/database_url"`, 1},
		{"scripts/db.sh", `outside="/var/tmp/payrun-x/pg"; ls /usr/lib/postgresql/*/bin`, 0},
		{"go.mod", "github.com/riverqueue/river/rivershared v0.51.1", 0},
		{"README.md", "https://example.com/home/page", 0},
	}
	for _, c := range cases {
		got := scan(c.name, []byte(c.content), absolute)
		if len(got) != c.want {
			t.Errorf("%s: %q: %d findings, want %d: %v", c.name, c.content, len(got), c.want, got)
		}
	}

	tracked := map[string]bool{"README.md": true, "docs": true, "docs/behaviour.md": true}
	for content, want := range map[string]int{
		"[doc](docs/behaviour.md)":                    0,
		"[doc](docs/behaviour.md#money)":              0,
		"[docs](docs)":                                0,
		"[gone](docs/missing.md)":                     1,
		"[web](https://example.com/x.md)":             0,
		"[spec](../" + "shared/SPEC.md) [a](#anchor)": 1,
	} {
		if got := brokenLinks("README.md", []byte(content), tracked); len(got) != want {
			t.Errorf("%q: %d broken links, want %d: %v", content, len(got), want, got)
		}
	}
}
