package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded migration files.
func FS() fs.FS { return files }

// lockID is the advisory lock key goose holds while migrating (an arbitrary
// constant unique to payrun: "payrun" in ASCII).
const lockID = 0x7061797275_6e

// Up applies every pending migration and reports how many it applied.
// Concurrent callers serialise on an advisory lock; all but the first find
// nothing to do.
func Up(ctx context.Context, db *sql.DB) (int, error) {
	provider, err := newProvider(db)
	if err != nil {
		return 0, err
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("migrate: %w", err)
	}
	return len(results), nil
}

// Pending reports whether migrations remain to be applied (used by /readyz).
func Pending(ctx context.Context, db *sql.DB) (bool, error) {
	provider, err := newProvider(db)
	if err != nil {
		return false, err
	}
	return provider.HasPending(ctx)
}

func newProvider(db *sql.DB) (*goose.Provider, error) {
	// Waiting replicas retry every second for up to ten minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 600))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, files, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return provider, nil
}

// Hash identifies the schema: a sha256 over the migration file names and
// contents. Test databases are cloned from a template keyed by it.
func Hash() (string, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		body, err := files.ReadFile(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(body))
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
