// Package atomicfile writes a file through a temporary file in the same
// directory and a rename, so whoever reads the final name (a bank's file
// pickup, a finance reviewer, a re-run) never sees half a file, and a failure
// leaves no file under that name.
//
// Everything payrun writes is owner-only: payment files carry full account
// numbers, and manifests, results, statements, year-end reports and
// workbooks carry publishers' money and tax data. Write never gives group or
// others any permission (whatever perm asks), and MkdirAll creates
// directories 0700.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FileMode and DirMode are the modes of the files and directories payrun
// writes: owner-only.
const (
	FileMode os.FileMode = 0o600
	DirMode  os.FileMode = 0o700
)

// MkdirAll creates dir and its missing parents, owner-only (DirMode).
// Existing directories keep their modes.
func MkdirAll(dir string) error {
	return os.MkdirAll(dir, DirMode)
}

// Write streams write's output to path with permissions perm, less any
// permission for group and others (see the package doc): perm 0o640 gives
// 0o600.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	perm &= 0o700
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(w); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteBytes writes body to path with permissions perm.
func WriteBytes(path string, perm os.FileMode, body []byte) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(body)
		return err
	})
}
