package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
}

// Item 2: DATABASE_URL comes from the environment, else the --config
// (PAYRUN_CONFIG) file, else .data/database_url in the working directory or
// a parent, else the user config file `make db` writes — and Config says
// which, so a stale URL's error can name its file. DatabaseURL (the tests')
// never reads the user config.
func TestDatabaseURLFallbackOrder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("DATABASE_URL", "")
	t.Setenv("PAYRUN_CONFIG", "")
	repo := t.TempDir()
	below := filepath.Join(repo, "cmd", "payrun")
	require.NoError(t, os.MkdirAll(below, 0o700))
	t.Chdir(below)

	user := filepath.Join(home, "payrun", "config")
	require.Equal(t, user, UserFile())

	// Nothing anywhere: the error says how to get a database and names the
	// user config file.
	cfg, err := Load("")
	require.NoError(t, err)
	require.Empty(t, cfg.DatabaseURL)
	require.Empty(t, cfg.DatabaseURLFrom)
	require.ErrorContains(t, ErrNoDatabaseURL(), "run `make db` in the payrun repository")
	require.ErrorContains(t, ErrNoDatabaseURL(), user)

	check := func(wantURL, wantFrom, file string) {
		t.Helper()
		cfg, err := Load(file)
		require.NoError(t, err)
		require.Equal(t, wantURL, cfg.DatabaseURL)
		require.Equal(t, wantFrom, cfg.DatabaseURLFrom)
	}
	write(t, user, "# written by make db\nDATABASE_URL=postgres://user-config/payrun\n")
	check("postgres://user-config/payrun", user, "")
	require.Empty(t, DatabaseURL(), "the tests never use the user config")

	urlFile := filepath.Join(repo, ".data", "database_url")
	write(t, urlFile, "postgres://dot-data/payrun\n")
	check("postgres://dot-data/payrun", urlFile, "")
	require.Equal(t, "postgres://dot-data/payrun", DatabaseURL())

	configFile := filepath.Join(t.TempDir(), "payrun.conf")
	write(t, configFile, "DATABASE_URL=postgres://config-file/payrun\n")
	check("postgres://config-file/payrun", configFile, configFile)
	t.Setenv("PAYRUN_CONFIG", configFile)
	check("postgres://config-file/payrun", configFile, "")

	t.Setenv("DATABASE_URL", "postgres://environment/payrun")
	check("postgres://environment/payrun", "DATABASE_URL", "")

	// ~/.config when XDG_CONFIG_HOME is unset or not absolute.
	t.Setenv("XDG_CONFIG_HOME", "relative")
	t.Setenv("HOME", home)
	require.Equal(t, filepath.Join(home, ".config", "payrun", "config"), UserFile())
}

// The user config holds DATABASE_URL only: another setting there is an
// error naming the file (it would otherwise be silently ignored), raised
// only when the file is needed.
func TestUserConfigReadsDatabaseURLOnly(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("DATABASE_URL", "")
	t.Setenv("PAYRUN_CONFIG", "")
	t.Chdir(t.TempDir())
	user := filepath.Join(home, "payrun", "config")
	write(t, user, "DATABASE_URL=postgres://user-config/payrun\nPAYRUN_DEV=1\n")
	_, err := Load("")
	require.ErrorContains(t, err, user)
	require.ErrorContains(t, err, "only DATABASE_URL is read from it, not PAYRUN_DEV")

	t.Setenv("DATABASE_URL", "postgres://environment/payrun")
	cfg, err := Load("")
	require.NoError(t, err, "not read when the environment gives the URL")
	require.False(t, cfg.Dev)
}
