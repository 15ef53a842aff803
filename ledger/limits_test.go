package ledger_test

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// TestImportRefusesAnAmountThatWouldOverflowABalance is the issue's
// example: 99999999999999.999999 fits NUMERIC(20,6), but imported on top of
// earlier earnings it takes the balances beyond it. The import is refused
// with a line and a column, not a raw "numeric field overflow".
func TestImportRefusesAnAmountThatWouldOverflowABalance(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	createAccounts(t, database, "A1")
	_, err := ledger.Import(ctx, database, fromString(header+"t0,A1,app,purchase,US,2026-10-01T00:00:00Z,1\n"+
		"t1,A1,app,purchase,US,2026-10-01T00:00:00Z,99999999999998.999999\n"), options())
	require.NoError(t, err, "the largest total NUMERIC(20,6) holds")
	before := takeSnapshot(t, database)
	for _, file := range []string{
		header + "t2,A1,app,purchase,US,2026-10-01T00:00:00Z,99999999999999.999999\n",
		// The slow path (a repeated line) posts through the same check.
		header + "t0,A1,app,purchase,US,2026-10-01T00:00:00Z,1\nt3,A1,app,purchase,US,2026-10-01T00:00:00Z,1\n",
	} {
		_, err = ledger.Import(ctx, database, fromString(file), options())
		var importErr *ledger.ImportError
		require.ErrorAs(t, err, &importErr)
		require.Equal(t, "amount", importErr.Rows[0].Column, err.Error())
		require.Equal(t, int64(strings.Count(file, "\n")), importErr.Rows[0].Line, err.Error())
		require.Contains(t, err.Error(), "a ledger balance would pass ±99999999999999.999999")
		require.NotContains(t, err.Error(), "SQLSTATE")
		require.Equal(t, before, takeSnapshot(t, database))
	}
	checkLedger(t, database)
}

// generated is a file that never ends in memory: head, then body repeated
// up to size bytes. It counts the bytes read over every open.
type generated struct {
	head, body string
	size       int64
	read       atomic.Int64
}

func (g *generated) open() (io.ReadCloser, error) {
	return io.NopCloser(&generatedReader{g: g}), nil
}

type generatedReader struct {
	g   *generated
	off int64
}

func (r *generatedReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.off < r.g.size {
		if r.off < int64(len(r.g.head)) {
			p[n] = r.g.head[r.off]
		} else {
			p[n] = r.g.body[(r.off-int64(len(r.g.head)))%int64(len(r.g.body))]
		}
		n++
		r.off++
	}
	r.g.read.Add(int64(n))
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// TestImportRefusesAHugeQuotedFieldAfterReadingLittle: a quoted field of
// short lines is one logical record; the 4 KiB limit applies to it, so a
// 64 MB field is refused, with its line and column, after the import read
// little more than its buffers (1 MiB) — not the field (it took 2.3 GB for
// 512 MB before). Not parallel, so the allocation count is this test's.
func TestImportRefusesAHugeQuotedFieldAfterReadingLittle(t *testing.T) {
	database := dbtest.New(t)
	createAccounts(t, database, "A1")
	before := takeSnapshot(t, database)
	file := &generated{head: header + "ok1,A1,app,purchase,US,2026-10-01T10:00:00Z,1\nx2,\"", body: "a short line\n", size: 64 << 20}
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	allocated := stats.TotalAlloc
	_, err := ledger.Import(context.Background(), database, file.open, options())
	runtime.ReadMemStats(&stats)
	var importErr *ledger.ImportError
	require.ErrorAs(t, err, &importErr)
	require.Equal(t, ledger.RowError{Line: 3, Column: "seller_id", Reason: importErr.Rows[0].Reason}, importErr.Rows[0])
	require.Contains(t, importErr.Rows[0].Reason, "record longer than 4096 bytes (a quoted field spans")
	require.Less(t, file.read.Load(), int64(3<<20), "bytes read of a 64 MiB file, over every open")
	require.Less(t, stats.TotalAlloc-allocated, uint64(32<<20), "bytes allocated")
	require.Equal(t, before, takeSnapshot(t, database))
}

// blockingFile delivers data, then blocks until released (then ends) or
// closed (then fails, as a closed pipe does). Every open of it (the
// import opens its file up to three times) reads the data again.
type blockingFile struct {
	data    string
	blocked chan struct{} // closed when a read first blocks
	release chan struct{}
	once    sync.Once
}

func newBlockingFile(data string) *blockingFile {
	return &blockingFile{data: data, blocked: make(chan struct{}), release: make(chan struct{})}
}

func (f *blockingFile) open() (io.ReadCloser, error) {
	return &blockingReader{file: f, data: strings.NewReader(f.data), closed: make(chan struct{})}, nil
}

type blockingReader struct {
	file   *blockingFile
	data   *strings.Reader
	closed chan struct{}
	once   sync.Once
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if r.data.Len() > 0 {
		return r.data.Read(p)
	}
	r.file.once.Do(func() { close(r.file.blocked) })
	select {
	case <-r.file.release:
		return 0, io.EOF
	case <-r.closed:
		return 0, os.ErrClosed
	}
}

func (r *blockingReader) Close() error {
	r.once.Do(func() { close(r.closed) })
	return nil
}

// lockFree reports whether a close could take ImportLockKey now.
func lockFree(t *testing.T, database *sqlx.DB) bool {
	t.Helper()
	var free bool
	conn, err := database.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.QueryRowContext(context.Background(), `SELECT pg_try_advisory_lock($1)`, ledger.ImportLockKey).Scan(&free))
	if free {
		_, err = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, ledger.ImportLockKey)
		require.NoError(t, err)
	}
	return free
}

// importBlocked runs an import of a file that blocks after data and
// returns the file and the import's outcome, once the file blocked.
func importBlocked(t *testing.T, ctx context.Context, database *sqlx.DB, data string, opts ledger.ImportOptions) (*blockingFile, <-chan error) {
	t.Helper()
	file := newBlockingFile(data)
	t.Cleanup(func() {
		select {
		case <-file.release:
		default:
			close(file.release)
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := ledger.Import(ctx, database, file.open, opts)
		done <- err
	}()
	select {
	case <-file.blocked:
		return file, done
	case err := <-done:
		t.Fatalf("the import ended before its file blocked: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the file never blocked")
	}
	return nil, nil
}

// eventuallyFree waits (a little: the session ends asynchronously) for the
// lock to be free.
func eventuallyFree(t *testing.T, database *sqlx.DB, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !lockFree(t, database) {
		require.Less(t, time.Since(start), within, "the lock is still held")
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func wait(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Fatalf("the import still runs after %s", within)
		return nil
	}
}

// lines is a valid file of n lines.
func lines(n int) string {
	var b strings.Builder
	b.WriteString(header)
	for i := 0; i < n; i++ {
		b.WriteString("b")
		b.WriteString(strings.Repeat("0", 8))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(strings.Repeat("z", i/26))
		b.WriteString(",A1,app,purchase,US,2026-10-01T10:00:00Z,1.25\n")
	}
	return b.String()
}

// TestImportStopsWhenCancelledWhileItsFileBlocks: SIGTERM cancels the
// command's context; an import blocked reading its file (standard input, a
// pipe, a hung mount) ends at once with the cancellation as its error,
// writes nothing and releases the lock a close waits for — whether it was
// probing the file (idle in its transaction) or in the middle of COPY.
func TestImportStopsWhenCancelledWhileItsFileBlocks(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	createAccounts(t, database, "A1")
	before := takeSnapshot(t, database)
	for _, tc := range []struct{ name, data string }{
		{"while probing", lines(10)},
		{"during COPY", lines(20_000)}, // more than the probe reads (256 KiB)
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, done := importBlocked(t, ctx, database, tc.data, options())
			require.False(t, lockFree(t, database), "the import holds the lock")
			start := time.Now()
			cancel()
			err := wait(t, done, 5*time.Second)
			require.ErrorIs(t, err, context.Canceled)
			require.Contains(t, err.Error(), "import stopped while reading the file, nothing imported")
			require.Less(t, time.Since(start), 3*time.Second)
			t.Logf("lock free %s after the import returned", eventuallyFree(t, database, 3*time.Second))
			require.Equal(t, before, takeSnapshot(t, database))
		})
	}
}

// TestImportStopsWhenItsFileStalls: no cancellation, but a file that
// delivers nothing for the stall timeout ends the import too.
func TestImportStopsWhenItsFileStalls(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	createAccounts(t, database, "A1")
	opts := options()
	opts.StallTimeout = 300 * time.Millisecond
	_, done := importBlocked(t, context.Background(), database, lines(10), opts)
	err := wait(t, done, 5*time.Second)
	require.ErrorIs(t, err, ledger.ErrInputStalled)
	require.Contains(t, err.Error(), "for 300ms")
	eventuallyFree(t, database, 3*time.Second)
}

// TestImportIdleInItsTransactionIsEndedByTheDatabase: the import sets
// idle_in_transaction_session_timeout, so even an import that is not
// cancelled and whose file has not (yet) hit the stall timeout loses its
// session — and the lock — after IdleTimeout without a statement.
func TestImportIdleInItsTransactionIsEndedByTheDatabase(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	createAccounts(t, database, "A1")
	before := takeSnapshot(t, database)
	opts := options()
	opts.IdleTimeout = 300 * time.Millisecond
	opts.StallTimeout = time.Minute
	file, done := importBlocked(t, context.Background(), database, lines(10), opts)
	eventuallyFree(t, database, 10*time.Second)
	close(file.release) // the file ends: the import goes on, to a dead session
	err := wait(t, done, 10*time.Second)
	require.Error(t, err)
	require.Contains(t, err.Error(), "sat idle in its transaction for more than 300ms")
	require.Equal(t, before, takeSnapshot(t, database))
	require.False(t, errors.Is(err, ledger.ErrInputStalled))
}

// The accounts CSV has the same per-record limit and the text rule.
func TestImportAccountsRefusesLongRecordsAndControlCharacters(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	for _, tc := range []struct{ file, want string }{
		{ledger.AccountsHeader + "\nP1,company,US,\"" + strings.Repeat("Contoso\n", 1000) + "\"\n", "line 2, column display_name: record longer than 4096 bytes (a quoted field spans"},
		{ledger.AccountsHeader + "\nP1,company,US,Contoso\u0085Games\n", "line 2, column display_name: contains the control character U+0085"},
		{ledger.AccountsHeader + "\nP1,company,US,Contoso\x00\n", "line 2, column display_name: contains the control character U+0000"},
	} {
		_, _, err := ledger.ImportAccounts(ctx, database, strings.NewReader(tc.file), now)
		var importErr *ledger.ImportError
		require.ErrorAs(t, err, &importErr)
		require.ErrorContains(t, err, tc.want)
	}
	created, _, err := ledger.ImportAccounts(ctx, database, strings.NewReader(ledger.AccountsHeader+"\nP1,company,US,"+strings.Repeat("é", 200)+"\n"), now)
	require.NoError(t, err, "200 characters")
	require.Equal(t, int64(1), created)
}
