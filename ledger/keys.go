package ledger

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/internal/pgbinary"
)

// keySpool collects the keys of the lines the fast path copies, as binary
// COPY tuples for earnings_keys, in an unlinked temporary file: about 45
// bytes a line on disk, a 64 KiB buffer in memory, whatever the file's size.
// After the lines' COPY, copyTo sends them with a COPY of their own in the
// same transaction; a key imported before (or twice in the file) raises
// unique_violation there.
//
// Why not a trigger: a transition-table trigger on the partitioned parent
// makes Postgres insert the lines' COPY row by row and capture every row
// before it can insert the keys, which cost about 1.1 s per million lines
// more (migrations/100_import_writes_keys.sql).
type keySpool struct {
	file *os.File
	out  *bufio.Writer
	buf  []byte
}

func newKeySpool() (*keySpool, error) {
	file, err := os.CreateTemp("", "payrun-import-keys-*")
	if err != nil {
		return nil, fmt.Errorf("spool the keys: %w", err)
	}
	// Unlinked at once: the space comes back when the file is closed, even if
	// the process dies first.
	if err := os.Remove(file.Name()); err != nil {
		file.Close()
		return nil, fmt.Errorf("spool the keys: %w", err)
	}
	spool := &keySpool{file: file, out: bufio.NewWriterSize(file, 1<<16), buf: make([]byte, 0, 256)}
	if _, err := spool.out.Write(pgbinary.Header); err != nil {
		spool.Close()
		return nil, fmt.Errorf("spool the keys: %w", err)
	}
	return spool, nil
}

// add spools the key of one line that lands in the partition of available.
func (k *keySpool) add(transactionID, revenueSource string, available time.Time) error {
	k.buf = pgbinary.AppendTupleStart(k.buf[:0], len(keysColumns))
	k.buf = pgbinary.AppendText(k.buf, transactionID)
	k.buf = pgbinary.AppendText(k.buf, revenueSource)
	k.buf = pgbinary.AppendTimestamptz(k.buf, available)
	_, err := k.out.Write(k.buf)
	return err
}

// copyTo COPYs every spooled key into earnings_keys.
func (k *keySpool) copyTo(ctx context.Context, tx pgx.Tx) error {
	if _, err := k.out.Write(pgbinary.Trailer); err != nil {
		return fmt.Errorf("spool the keys: %w", err)
	}
	if err := k.out.Flush(); err != nil {
		return fmt.Errorf("spool the keys: %w", err)
	}
	if _, err := k.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool the keys: %w", err)
	}
	_, err := tx.Conn().PgConn().CopyFrom(ctx, k.file, "COPY earnings_keys ("+strings.Join(keysColumns, ", ")+") FROM STDIN (FORMAT binary)")
	return err
}

func (k *keySpool) Close() error { return k.file.Close() }

// ErrKeysDrift is returned by VerifyKeys when earnings_keys no longer holds
// exactly the keys of the earnings lines.
var ErrKeysDrift = errors.New("earnings keys differ from the earnings lines")

// VerifyKeys checks that every attached earnings line has its key in
// earnings_keys, with its available_at, and every key of an attached month
// its line; it returns an error wrapping ErrKeysDrift naming the first
// (transaction_id, revenue_source) that differs. Keys of archived (detached)
// months stay, without lines to compare. It reads every line and key: a
// check for tests, simulations and operators.
func VerifyKeys(ctx context.Context, q RowQuerier) error {
	var transactionID, revenueSource string
	var line, key *time.Time
	var copies int64
	err := q.QueryRowContext(ctx, `
		WITH attached AS (
		    SELECT to_date(right(c.relname, 6), 'YYYYMM')::timestamp AT TIME ZONE 'UTC' AS month
		      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		     WHERE i.inhparent = 'earnings_lines'::regclass
		), keys AS (
		    SELECT * FROM earnings_keys WHERE date_trunc('month', available_at, 'UTC') IN (SELECT month FROM attached)
		)
		SELECT transaction_id, revenue_source, l.available_at, k.available_at, 1
		  FROM earnings_lines l FULL JOIN keys k USING (transaction_id, revenue_source)
		 WHERE l.available_at IS DISTINCT FROM k.available_at
		UNION ALL
		SELECT transaction_id, revenue_source, min(available_at), NULL, count(*)
		  FROM earnings_lines GROUP BY 1, 2 HAVING count(*) > 1
		ORDER BY 1, 2, 5 DESC LIMIT 1`).Scan(&transactionID, &revenueSource, &line, &key, &copies)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var problem string
	switch {
	case copies > 1:
		problem = fmt.Sprintf("%d lines share the key", copies)
	case line == nil:
		problem = fmt.Sprintf("the key (available %s) has no line", key.UTC().Format(time.RFC3339))
	case key == nil:
		problem = "its line has no key"
	default:
		problem = fmt.Sprintf("the line is available %s, its key says %s", line.UTC().Format(time.RFC3339), key.UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: %s %s: %s", ErrKeysDrift, revenueSource, transactionID, problem)
}
