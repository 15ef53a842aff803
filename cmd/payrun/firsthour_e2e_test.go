package main_test

// The first hour of a new user, as the README tells it: the binary run from
// any folder, its exit codes and the modes of the files it writes (`payrun
// serve` on a new database: catchup_e2e_test.go; a dry run:
// dryrun_e2e_test.go).

import (
	"encoding/json"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/testsupport/dbtest"
)

// installedLongAgo dates the database's installation (migration 140) back
// before every occurrence a test's `payrun serve` is meant to catch up: the
// test databases are clones of a template migrated at some moment, and
// catch-up never reaches back before the installation.
func installedLongAgo(t *testing.T, url string) {
	t.Helper()
	dbtest.Open(t, url).MustExec(`UPDATE installation SET installed_at = '2000-01-01T00:00:00Z'`)
}

// userConfig writes a user config file (as `make db` does) under a new
// XDG_CONFIG_HOME and returns that directory and the file's path.
func userConfig(t *testing.T, body string) (home, path string) {
	t.Helper()
	home = t.TempDir()
	path = filepath.Join(home, "payrun", "config")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return home, path
}

// Item 5: usage errors exit 2, as the README documents (0 success, 1
// failure, 2 usage error) — unknown commands at any depth, unknown flags,
// missing required flags, wrong argument counts — before any configuration
// or database is looked at.
func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for "payrun"`},
		{[]string{"cycle", "bogus"}, `unknown command "bogus" for "payrun cycle"`},
		{[]string{"cycle", "clos"}, `(did you mean close?)`},
		{[]string{"tax", "treaties", "bogus"}, `unknown command "bogus" for "payrun tax treaties"`},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"cycle", "show", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"cycle", "show", "--month"}, "flag needs an argument: --month"},
		{[]string{"accounts", "create"}, `required flag(s) "country", "type" not set`},
		{[]string{"accounts", "create", "--type", "company"}, `required flag(s) "country" not set`},
		{[]string{"earnings", "generate"}, `required flag(s) "month" not set`},
		{[]string{"cycle", "close"}, "--month is required"},
		{[]string{"version", "extra"}, `unknown command "extra" for "payrun version"`},
		{[]string{"earnings", "import"}, "accepts 1 arg(s), received 0"},
		{[]string{"earnings", "import", "a.csv", "b.csv"}, "accepts 1 arg(s), received 2"},
	} {
		r := payrunEnv(t, nil, c.args...)
		require.Equal(t, 2, r.code, "payrun %s: %s", strings.Join(c.args, " "), r.stderr)
		require.Contains(t, r.stderr, c.says, "payrun %s", strings.Join(c.args, " "))
		require.Contains(t, r.stderr, "run 'payrun --help'")
		require.NotContains(t, r.stderr, "no database URL", "a usage error is reported before the database is looked for")
	}
	// Not usage errors: help (0), and a command that fails (1).
	for _, args := range [][]string{{}, {"--help"}, {"cycle"}, {"cycle", "close", "--help"}, {"version"}} {
		r := payrunEnv(t, nil, args...)
		require.Zero(t, r.code, "payrun %s: %s", strings.Join(args, " "), r.stderr)
	}
	r := payrunEnv(t, []string{"DATABASE_URL="}, "jobs", "list")
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "no database URL")
}

// Item 2: the binary finds its database from any folder. Without one
// anywhere, the error says how to get one and names the user config file;
// the user config `make db` writes is read last (environment > --config
// file > ./.data/database_url > user config); a user config pointing at a
// cluster that is gone says which file the URL came from.
func TestDatabaseURLFromAnyFolder(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)

	// Nothing configured: how to get a database, and where payrun looks.
	home := t.TempDir()
	r := payrunEnv(t, []string{"DATABASE_URL=", "XDG_CONFIG_HOME=" + home}, "jobs", "list")
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "no database URL: run `make db` in the payrun repository")
	require.Contains(t, r.stderr, "set DATABASE_URL")
	require.Contains(t, r.stderr, filepath.Join(home, "payrun", "config"))

	// The user config, from a folder that is no repository.
	home, _ = userConfig(t, "# written by make db\nDATABASE_URL="+url+"\n")
	r = payrunEnv(t, []string{"DATABASE_URL=", "XDG_CONFIG_HOME=" + home}, "jobs", "list")
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stdout, "no job runs yet")

	// A stale user config (its cluster stopped): the error names the file.
	stale := "postgres://postgres@127.0.0.1:" + closedPort(t) + "/payrun?sslmode=disable"
	staleHome, stalePath := userConfig(t, "DATABASE_URL="+stale+"\n")
	r = payrunEnv(t, []string{"DATABASE_URL=", "XDG_CONFIG_HOME=" + staleHome}, "jobs", "list")
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "the database URL came from "+stalePath)
	require.Contains(t, r.stderr, "run `make db` again")

	// The order: each source above hides the stale user config.
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".data"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".data", "database_url"), []byte(url+"\n"), 0o600))
	sub := filepath.Join(dir, "cmd", "payrun")
	require.NoError(t, os.MkdirAll(sub, 0o700))
	cmd := exec.Command(binary, "jobs", "list")
	cmd.Dir = sub // .data/database_url is looked for from the folder up
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "PAYRUN_CONFIG=", "XDG_CONFIG_HOME="+staleHome)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "./.data/database_url wins over the user config: %s", out)

	configFile := filepath.Join(t.TempDir(), "payrun.conf")
	require.NoError(t, os.WriteFile(configFile, []byte("DATABASE_URL="+url+"\n"), 0o600))
	r = payrunEnv(t, []string{"DATABASE_URL=", "XDG_CONFIG_HOME=" + staleHome}, "--config", configFile, "jobs", "list")
	require.Zero(t, r.code, "the --config file wins over the user config: %s", r.stderr)
	r = payrunEnv(t, []string{"DATABASE_URL=", "PAYRUN_CONFIG=" + configFile, "XDG_CONFIG_HOME=" + staleHome}, "jobs", "list")
	require.Zero(t, r.code, "PAYRUN_CONFIG wins over the user config: %s", r.stderr)
	r = payrunEnv(t, []string{"DATABASE_URL=" + url, "XDG_CONFIG_HOME=" + staleHome}, "jobs", "list")
	require.Zero(t, r.code, "the environment wins over everything: %s", r.stderr)

	// Only DATABASE_URL is read from the user config: anything else there
	// is an error naming it, not silently ignored.
	badHome, badPath := userConfig(t, "DATABASE_URL="+url+"\nPAYRUN_DEV=1\n")
	r = payrunEnv(t, []string{"DATABASE_URL=", "XDG_CONFIG_HOME=" + badHome}, "jobs", "list")
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, badPath)
	require.Contains(t, r.stderr, "only DATABASE_URL is read from it, not PAYRUN_DEV")
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, err := net.SplitHostPort(listener.Addr().String())
	require.NoError(t, err)
	require.NoError(t, listener.Close())
	return port
}

// Item 8: every file payrun writes — payment files (full account numbers),
// manifest, result.json, workbooks, statements, year-end reports — is
// owner-only (0600), in owner-only directories (0700), even where payrun
// replaces a file someone had made group-readable.
func TestOutputFilesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)
	out := filepath.Join(t.TempDir(), "out")
	env := append(devEnv(url), "PAYRUN_OUT="+out)
	r := payrunEnv(t, env, "simulate", "--seed", "3", "--publishers", "40", "--months", "1")
	require.Zero(t, r.code, r.stderr)
	month := filepath.Join(out, "cycles", "2026-11")
	manifest := filepath.Join(month, "manifest.json")
	require.FileExists(t, manifest)

	body, err := os.ReadFile(filepath.Join(month, "result.json"))
	require.NoError(t, err)
	var result struct {
		Accounts []struct {
			SellerID string `json:"seller_id"`
			Status   string `json:"status"`
		} `json:"accounts"`
	}
	require.NoError(t, json.Unmarshal(body, &result))
	require.NotEmpty(t, result.Accounts)
	r = payrunEnv(t, env, "statement", "--seller", result.Accounts[0].SellerID, "--month", "2026-11")
	require.Zero(t, r.code, r.stderr)
	r = payrunEnv(t, env, "tax", "year-end", "--year", "2026")
	require.Zero(t, r.code, r.stderr)

	// A statement made group-readable by hand is written again owner-only.
	seller := result.Accounts[0].SellerID
	statement := filepath.Join(out, "statements", seller, "statement-2026-11.csv")
	require.NoError(t, os.Chmod(statement, 0o644))
	r = payrunEnv(t, env, "statement", "--seller", seller, "--month", "2026-11", "--overwrite")
	require.Zero(t, r.code, r.stderr)

	kinds := map[string]bool{}
	require.NoError(t, filepath.WalkDir(out, func(path string, entry fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := entry.Info()
		require.NoError(t, err)
		rel, _ := filepath.Rel(out, path)
		if entry.IsDir() {
			require.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "directory %s", rel)
			return nil
		}
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "file %s", rel)
		switch {
		case strings.HasPrefix(entry.Name(), "ach-"), strings.HasPrefix(entry.Name(), "pain001-"), strings.HasPrefix(entry.Name(), "paypal-"):
			kinds["payment file"] = true
		case entry.Name() == "manifest.json", entry.Name() == "result.json":
			kinds[entry.Name()] = true
		case strings.HasPrefix(entry.Name(), "payout-summary-"):
			kinds["workbook"] = true
		case strings.Contains(rel, "statement"):
			kinds["statement"] = true
		case strings.HasPrefix(rel, filepath.Join("tax", "2026")):
			kinds["year-end report"] = true
		}
		return nil
	}))
	for _, kind := range []string{"payment file", "manifest.json", "result.json", "workbook", "statement", "year-end report"} {
		require.True(t, kinds[kind], "no %s written under %s (%v)", kind, out, kinds)
	}
}
