package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/testsupport/dbtest"
)

// binary is payrun built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "payrun-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "payrun")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build payrun: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// payrun runs the binary with DATABASE_URL set to databaseURL.
func payrun(t *testing.T, databaseURL string, args ...string) result {
	t.Helper()
	return payrunEnv(t, []string{"DATABASE_URL=" + databaseURL}, args...)
}

// payrunEnv runs the binary with extra environment variables, in a fresh
// working directory (no .data, no out) and without the user config file
// `make db` writes (XDG_CONFIG_HOME points at an empty folder).
func payrunEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PAYRUN_DEV=", "PAYRUN_DATA_KEY=", "PAYRUN_OUT="+filepath.Join(cmd.Dir, "out"),
		"XDG_CONFIG_HOME="+filepath.Join(cmd.Dir, ".config"))
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run payrun %v: %v", args, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

func TestImportEndToEnd(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)
	dir := t.TempDir()
	earnings := filepath.Join(dir, "october.csv")

	r := payrun(t, url, "earnings", "generate", "--seed", "3", "--publishers", "200", "--lines", "5000", "--month", "2026-10", "--out", earnings)
	require.Zero(t, r.code, r.stderr)
	r = payrun(t, url, "accounts", "import", filepath.Join(dir, "october.accounts.csv"))
	require.Zero(t, r.code, r.stderr)
	require.Equal(t, "accounts: created 200, skipped 0 existing\n", r.stdout)

	r = payrun(t, url, "earnings", "import", earnings)
	require.Zero(t, r.code, r.stderr)
	require.Regexp(t, regexp.MustCompile(`^imported 5000, skipped 0 duplicates, in [0-9.]+ s \(total [0-9.]+ USD\)\n$`), r.stdout)
	r = payrun(t, url, "earnings", "import", earnings)
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stdout, "imported 0, skipped 5000 duplicates")

	// A bad line anywhere refuses the whole file: exit 1, the line named.
	body, err := os.ReadFile(earnings)
	require.NoError(t, err)
	lines := strings.Split(string(body), "\n")
	lines[3] = strings.Replace(lines[3], ",G3-", ",NOBODY-", 1)
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o600))
	r = payrun(t, url, "earnings", "import", bad)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "line 4, column seller_id: unknown seller id")

	database := dbtest.Open(t, url)
	var count int
	require.NoError(t, database.Get(&count, `SELECT count(*) FROM earnings_lines`))
	require.Equal(t, 5000, count)

	// Usage errors exit 2; a missing file exits 1.
	require.Equal(t, 2, payrun(t, url, "earnings", "import").code)
	require.Equal(t, 2, payrun(t, url, "earnings", "generate", "--month", "2026-13").code)
	require.Equal(t, 2, payrun(t, url, "earnings", "import", "--bogus", earnings).code)
	missing := payrun(t, url, "earnings", "import", filepath.Join(dir, "nope.csv"))
	require.Equal(t, 1, missing.code)
	require.Contains(t, missing.stderr, "nope.csv")
}

func TestGenerateIsByteIdenticalAcrossRuns(t *testing.T) {
	t.Parallel()
	var outputs []string
	for i := 0; i < 2; i++ {
		r := payrun(t, "", "earnings", "generate", "--seed", "9", "--publishers", "50", "--lines", "2000", "--month", "2026-10")
		require.Zero(t, r.code, r.stderr)
		outputs = append(outputs, r.stdout)
	}
	require.Equal(t, outputs[0], outputs[1])
	require.Equal(t, 2001, strings.Count(outputs[0], "\n"))
}

// Three replicas running `payrun migrate` at the same moment on an empty
// database all succeed, and the schema is applied once.
func TestConcurrentMigrateProcesses(t *testing.T) {
	t.Parallel()
	url := dbtest.EmptyURL(t)
	var wg sync.WaitGroup
	results := make([]result, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = payrun(t, url, "migrate")
		}()
	}
	wg.Wait()
	applied := 0
	for _, r := range results {
		require.Zero(t, r.code, r.stderr)
		var n int
		_, err := fmt.Sscanf(r.stdout, "migrations: %d applied", &n)
		require.NoError(t, err, r.stdout)
		applied += n
	}
	database := dbtest.Open(t, url)
	var files int
	require.NoError(t, database.Get(&files, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`))
	require.Equal(t, files, applied)
}
