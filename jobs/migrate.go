package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/payrun/payrun/internal/config"
)

// migrateLockClass is the first key of the two-key advisory lock Migrate
// holds ("prvm" in ASCII); the second is 0. River's migrator takes no lock of
// its own.
const migrateLockClass int32 = 0x7072766d

// connectTimeout bounds opening a connection.
const connectTimeout = 10 * time.Second

// OpenPool opens a pgx pool on databaseURL for River (its driver wants a
// *pgxpool.Pool) and checks the connection. Decimal types are registered as
// in db.Open, so a job may use the pool for ledger work too.
func OpenPool(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	if databaseURL == "" {
		return nil, config.ErrNoDatabaseURL()
	}
	config, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	config.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		pgxdecimal.Register(conn.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s@%s/%s: %w", config.ConnConfig.User, config.ConnConfig.Host, config.ConnConfig.Database, err)
	}
	return pool, nil
}

// Migrate applies River's pending migrations (its river_* tables) and
// reports how many it applied. `payrun migrate` calls it after payrun's own
// migrations.
//
// River's migrator takes no lock, so Migrate serialises concurrent callers
// (several replicas starting at once) on a session advisory lock held on a
// connection of its own, outside pool: one caller migrates, the others wait
// and then find nothing to do. The migrations themselves run on pool.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: quietLogger()})
	if err != nil {
		return 0, fmt.Errorf("river migrate: %w", err)
	}
	lockConn, err := dedicatedConn(ctx, pool)
	if err != nil {
		return 0, fmt.Errorf("river migrate: %w", err)
	}
	// Closing the connection also drops the lock, whatever happened.
	defer closeConn(lockConn)
	if _, err := lockConn.Exec(ctx, `SELECT pg_advisory_lock($1, 0)`, migrateLockClass); err != nil {
		return 0, fmt.Errorf("river migrate: lock: %w", err)
	}
	result, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return 0, fmt.Errorf("river migrate: %w", err)
	}
	return len(result.Versions), nil
}

// RiverSchemaHash identifies River's schema: a sha256 over its migrations.
// Test databases are cloned from a template keyed by it (with
// migrations.Hash), so a River upgrade rebuilds the template.
func RiverSchemaHash() (string, error) {
	migrator, err := rivermigrate.New(riverpgxv5.New(nil), &rivermigrate.Config{Logger: quietLogger()})
	if err != nil {
		return "", fmt.Errorf("river migrations: %w", err)
	}
	h := sha256.New()
	for _, migration := range migrator.AllVersions() {
		fmt.Fprintf(h, "%d\x00%s\x00%d\x00", migration.Version, migration.Name, len(migration.SQLUp))
		h.Write([]byte(migration.SQLUp))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// dedicatedConn opens a connection of its own with pool's settings: an
// advisory lock taken on a pooled connection would stay behind when the
// connection went back to the pool, and a lock holder must not take a
// connection the work it guards needs.
func dedicatedConn(ctx context.Context, pool *pgxpool.Pool) (*pgx.Conn, error) {
	connectCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(connectCtx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("dedicated connection: %w", err)
	}
	return conn, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}

// quietLogger keeps River's migrator to warnings (it reports each step at
// info level).
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
