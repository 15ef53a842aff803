package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteReplacesWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.json")
	require.NoError(t, WriteBytes(path, 0o640, []byte("first")))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "owner-only whatever perm asks")

	err = Write(path, 0o640, func(w io.Writer) error {
		_, _ = w.Write([]byte("half"))
		return errors.New("disk full")
	})
	require.ErrorContains(t, err, "disk full")
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "first", string(body), "a failed write leaves the old file whole")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")

	require.ErrorContains(t, WriteBytes(filepath.Join(dir, "missing", "x"), 0o640, nil), "missing")
}

// Every file and directory payrun writes is owner-only: a payment file holds
// full account numbers. Write drops group and other bits from any perm
// (payout/release asked for 0640), and replacing a file that was
// group-readable leaves it owner-only; MkdirAll creates 0700.
func TestOutputIsOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	nested := filepath.Join(dir, "cycles", "2026-11")
	require.NoError(t, MkdirAll(nested))
	for _, d := range []string{filepath.Join(dir, "cycles"), nested} {
		info, err := os.Stat(d)
		require.NoError(t, err)
		require.Equal(t, DirMode, info.Mode().Perm(), d)
	}
	path := filepath.Join(nested, "ach-2026-11.txt")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	require.NoError(t, os.Chmod(path, 0o644))
	for _, perm := range []os.FileMode{0o644, 0o640, 0o600, 0o755} {
		require.NoError(t, WriteBytes(path, perm, []byte("101 ...")))
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, perm&0o700, info.Mode().Perm(), "asked for %o", perm)
		require.Zero(t, info.Mode().Perm()&0o077, "asked for %o: nothing for group or others", perm)
	}
}
