package ledger_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout/cycle"
	"github.com/payrun/payrun/testsupport/dbtest"
)

func at(text string) time.Time {
	t, err := time.Parse(time.RFC3339, text)
	if err != nil {
		panic(err)
	}
	return t
}

// importAt imports file with the import clock at clock.
func importAt(t *testing.T, database *sqlx.DB, file, clock string) (ledger.ImportResult, error) {
	t.Helper()
	opts := options()
	opts.Clock = func() time.Time { return at(clock) }
	return ledger.Import(context.Background(), database, fromString(file), opts)
}

// partitionsScanned returns the partitions a query's plan reads.
func partitionsScanned(t *testing.T, database *sqlx.DB, query string, args ...any) []string {
	t.Helper()
	var plan []string
	require.NoError(t, database.Select(&plan, "EXPLAIN "+query, args...))
	found := map[string]bool{}
	for _, line := range plan {
		for _, match := range regexp.MustCompile(` on ((?:earnings_lines|postings)_\d{6})`).FindAllStringSubmatch(line, -1) {
			found[match[1]] = true
		}
	}
	var names []string
	for name := range found {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// A month's range query reads that month's partition only, with constants
// and with parameters (as the close and the statements query).
func TestMonthQueriesPruneToOnePartition(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	createAccounts(t, database, "A1")
	_, err := importAt(t, database, header+"o1,A1,app,purchase,US,2026-09-01T10:00:00Z,1\n", "2026-10-05T00:00:00Z")
	require.NoError(t, err)
	_, err = importAt(t, database, header+"n1,A1,app,purchase,US,2026-10-01T10:00:00Z,2\n", "2026-11-23T12:00:00Z")
	require.NoError(t, err)
	var attached int
	require.NoError(t, database.Get(&attached, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'earnings_lines'::regclass`))
	require.Greater(t, attached, 2)
	require.Len(t, partitionsScanned(t, database, `SELECT sum(amount) FROM earnings_lines`), attached, "without a range, every partition")

	require.Equal(t, []string{"earnings_lines_202611"}, partitionsScanned(t, database,
		`SELECT account_id, sum(amount) FROM earnings_lines WHERE available_at >= '2026-11-01T00:00:00Z' AND available_at < '2026-12-01T00:00:00Z' GROUP BY 1`))
	require.Equal(t, []string{"earnings_lines_202610"}, partitionsScanned(t, database,
		`SELECT account_id, sum(amount) FROM earnings_lines WHERE available_at >= $1 AND available_at < $2 GROUP BY 1`,
		at("2026-10-01T00:00:00Z"), at("2026-11-01T00:00:00Z")))
	require.Equal(t, []string{"postings_202611"}, partitionsScanned(t, database,
		`SELECT ledger_account, sum(amount) FROM postings WHERE posted_at >= $1 AND posted_at < $2 GROUP BY 1`,
		at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")))
}

// A line imported again a month later lands, by its key, on the line in the
// earlier month's partition: identical, it is skipped; changed, it is a
// conflict naming its line, and the import changes nothing. The fast path
// (COPY, then a duplicate key from earnings_keys) and the direct slow path
// (the first lines repeat) agree.
func TestImportIdempotencyAcrossPartitions(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	createAccounts(t, database, "A1", "A2")
	first := header +
		"t1,A1,app,purchase,US,2026-10-01T10:00:00Z,10\n" +
		"t2,A2,in_app,refund,DE,2026-10-02T10:00:00Z,-1.5\n"
	result, err := importAt(t, database, first, "2026-11-23T12:00:00Z")
	require.NoError(t, err)
	require.Equal(t, int64(2), result.Imported)
	before := takeSnapshot(t, database)

	// The same file in December: its available_at month would be 2026-12.
	again, err := importAt(t, database, first, "2026-12-23T12:00:00Z")
	require.NoError(t, err)
	require.Equal(t, ledger.ImportResult{LinesRead: 2, Skipped: 2, Total: decimal.Zero}, again)
	require.Equal(t, before, takeSnapshot(t, database))
	var placed []string
	require.NoError(t, database.Select(&placed, `SELECT tableoid::regclass::text FROM earnings_lines ORDER BY 1`))
	require.Equal(t, []string{"earnings_lines_202611", "earnings_lines_202611"}, placed)

	// More new lines than the probe reads, then an old one: the fast path
	// copies them all, meets t1's key at the end of COPY and falls back.
	var late strings.Builder
	late.WriteString(header)
	for i := 0; i < 1001; i++ {
		fmt.Fprintf(&late, "n%04d,A2,app,purchase,GB,2026-11-20T10:00:00Z,0.01\n", i)
	}
	late.WriteString("t1,A1,app,purchase,US,2026-10-01T10:00:00Z,10\n")
	mixed, err := importAt(t, database, late.String(), "2026-12-23T12:00:00Z")
	require.NoError(t, err)
	require.Equal(t, int64(1001), mixed.Imported)
	require.Equal(t, int64(1), mixed.Skipped)
	require.True(t, decimal.RequireFromString("10.01").Equal(mixed.Total), mixed.Total.String())
	checkLedger(t, database)
	var december int
	require.NoError(t, database.Get(&december, `SELECT count(*) FROM earnings_lines_202612`))
	require.Equal(t, 1001, december)
	var keys int
	require.NoError(t, database.Get(&keys, `SELECT count(*) FROM earnings_keys`))
	require.Equal(t, 1003, keys)
	after := takeSnapshot(t, database)

	// The same key with other content, first in the file and after the
	// probe's reach: refused, naming the line and the import, nothing written.
	var fresh strings.Builder
	fresh.WriteString(header)
	for i := 0; i < 1001; i++ {
		fmt.Fprintf(&fresh, "m%04d,A2,app,purchase,GB,2026-11-20T10:00:00Z,0.01\n", i)
	}
	fresh.WriteString("t1,A1,app,purchase,US,2026-10-01T10:00:00Z,11\n")
	conflict := fmt.Sprintf("already imported (import %d) with different content", result.ImportID)
	// A key repeated inside the file after the probe's reach: the keys' COPY
	// refuses it, and the slow path names both lines.
	twice := strings.Replace(fresh.String(), "t1,A1,app,purchase,US,2026-10-01T10:00:00Z,11", "m0007,A2,app,purchase,GB,2026-11-20T10:00:00Z,0.01", 1)
	for _, tc := range []struct {
		name, file string
		line       int64
		reason     string
	}{
		{"slow path first", header + "t9,A1,app,purchase,US,2026-12-01T10:00:00Z,5\n" + "t1,A1,app,purchase,US,2026-10-01T10:00:00Z,11\n", 3, conflict},
		{"fast path first", fresh.String(), 1003, conflict},
		{"repeated in the file", twice, 1003, "duplicate of line 9 (same revenue_source and transaction_id)"},
	} {
		_, err := importAt(t, database, tc.file, "2027-01-23T12:00:00Z")
		var importErr *ledger.ImportError
		require.ErrorAs(t, err, &importErr, tc.name)
		require.Equal(t, []ledger.RowError{{Line: tc.line, Column: "transaction_id", Reason: tc.reason}}, importErr.Rows, tc.name)
		require.Equal(t, after, takeSnapshot(t, database), tc.name)
	}
	checkLedger(t, database)
}

// eligible_at is at most MaxEligibleDays after transaction_at, and a line
// that far out lands in a partition the import created for it.
func TestImportCreatesTheFarPartitions(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	createAccounts(t, database, "A1")
	withEligible := strings.TrimSuffix(header, "\n") + ",eligible_at\n"
	_, err := importAt(t, database, withEligible+"f1,A1,app,purchase,US,2026-11-20T10:00:00Z,1,2027-12-24T10:00:00Z\n", "2026-11-23T12:00:00Z")
	require.NoError(t, err)
	var partition string
	require.NoError(t, database.Get(&partition, `SELECT tableoid::regclass::text FROM earnings_lines WHERE transaction_id = 'f1'`))
	require.Equal(t, "earnings_lines_202712", partition)

	_, err = importAt(t, database, withEligible+"f2,A1,app,purchase,US,2026-11-20T10:00:00Z,1,2027-12-26T10:00:00Z\n", "2026-11-23T12:00:00Z")
	var importErr *ledger.ImportError
	require.ErrorAs(t, err, &importErr)
	require.Equal(t, "line 2, column eligible_at: 2027-12-26T10:00:00Z is more than 400 days after transaction_at", importErr.Rows[0].String())
}

func partitionCount(t *testing.T, database *sqlx.DB, pattern string) int {
	t.Helper()
	var n int
	require.NoError(t, database.Get(&n, `SELECT count(*) FROM pg_class WHERE relname LIKE $1`, pattern))
	return n
}

// Two sessions ensuring the same months at once create each partition once
// and both succeed; again, nothing is created. Bad ranges create nothing.
func TestEnsurePartitionsIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	for year := 2031; year < 2036; year++ {
		from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
		to := time.Date(year, 12, 15, 0, 0, 0, 0, time.UTC)
		created := make([]int, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range created {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				created[i], errs[i] = ledger.EnsurePartitions(ctx, database, from, to)
			}()
		}
		close(start)
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.Equal(t, 24, created[0]+created[1], "12 months of two tables, each created once")
		again, err := ledger.EnsurePartitions(ctx, database, from, to)
		require.NoError(t, err)
		require.Zero(t, again)
		require.Equal(t, 12, partitionCount(t, database, fmt.Sprintf("earnings_lines_%d__", year)))
		require.Equal(t, 12, partitionCount(t, database, fmt.Sprintf("postings_%d__", year)))
	}

	// The SQL function and DetachPartitions serialise on the same lock.
	var source string
	require.NoError(t, database.Get(&source, `SELECT prosrc FROM pg_proc WHERE proname = 'payrun_ensure_partitions'`))
	require.Contains(t, source, fmt.Sprintf("pg_advisory_xact_lock(%d)", ledger.PartitionLockKey))

	total := partitionCount(t, database, "%\\_20____")
	_, err := ledger.EnsurePartitions(ctx, database, at("2040-05-01T00:00:00Z"), at("2040-04-01T00:00:00Z"))
	require.ErrorContains(t, err, "to 2040-04 is before from 2040-05")
	_, err = ledger.EnsurePartitions(ctx, database, at("2040-01-01T00:00:00Z"), at("2060-01-01T00:00:00Z"))
	require.ErrorContains(t, err, "more than 240 months")
	_, err = database.Exec(`SELECT payrun_ensure_partitions('2040-01-01', '2060-01-01')`)
	require.ErrorContains(t, err, "more than 240 months", "the SQL function has the same limit")
	require.Equal(t, total, partitionCount(t, database, "%\\_20____"))
}

// The zero-sum trigger is a statement trigger of the partitioned parent: a
// COPY whose rows go to two partitions is checked once, refused when a
// transaction does not balance, and moves the balances when all do. Post
// creates the partition of a month nobody prepared.
func TestZeroSumOnPartitionedPostings(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	_, err := ledger.EnsurePartitions(ctx, database, at("2026-10-01T00:00:00Z"), at("2026-11-01T00:00:00Z"))
	require.NoError(t, err)
	october, november := at("2026-10-15T00:00:00Z"), at("2026-11-15T00:00:00Z")
	copyEntries := func(rows [][]any) error {
		return db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
			return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO ledger_transactions (id, kind, reference, posted_at) OVERRIDING SYSTEM VALUE
					VALUES (1001, 'test', 'oct', $1), (1002, 'test', 'nov', $2)`, october, november); err != nil {
					return err
				}
				_, err := tx.CopyFrom(ctx, pgx.Identifier{"postings"}, []string{"transaction_id", "ledger_account", "amount", "posted_at"},
					pgx.CopyFromRows(rows))
				return err
			})
		})
	}
	d := decimal.RequireFromString
	err = copyEntries([][]any{
		{int64(1001), "publisher:1:us", d("5"), october}, {int64(1001), ledger.PlatformEarnings, d("-5"), october},
		{int64(1002), "publisher:1:us", d("7"), november}, {int64(1002), ledger.PlatformEarnings, d("-6.99"), november},
	})
	require.ErrorContains(t, err, "ledger transaction 1002 does not balance: postings sum to 0.010000")
	var balances int
	require.NoError(t, database.Get(&balances, `SELECT count(*) FROM ledger_balances`))
	require.Zero(t, balances)

	require.NoError(t, copyEntries([][]any{
		{int64(1001), "publisher:1:us", d("5"), october}, {int64(1001), ledger.PlatformEarnings, d("-5"), october},
		{int64(1002), "publisher:1:us", d("7"), november}, {int64(1002), ledger.PlatformEarnings, d("-7"), november},
	}))
	var placed []string
	require.NoError(t, database.Select(&placed, `SELECT DISTINCT tableoid::regclass::text FROM postings ORDER BY 1`))
	require.Equal(t, []string{"postings_202610", "postings_202611"}, placed)
	var us decimal.Decimal
	require.NoError(t, database.Get(&us, `SELECT balance FROM ledger_balances WHERE ledger_account = 'publisher:1:us'`))
	require.True(t, us.Equal(d("12")), us.String())

	// A month without a partition: Post makes one.
	far := at("2035-03-03T03:03:03.123456789Z")
	require.NoError(t, db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			_, err := ledger.Post(ctx, tx, ledger.Transaction{Kind: "test", Reference: "far", PostedAt: far, Postings: []ledger.Posting{
				{LedgerAccount: "publisher:1:us", Amount: d("1")}, {LedgerAccount: ledger.PlatformEarnings, Amount: d("-1")}}})
			return err
		})
	}))
	require.Equal(t, 1, partitionCount(t, database, "postings_203503"))
	require.NoError(t, database.Get(&us, `SELECT balance FROM ledger_balances WHERE ledger_account = 'publisher:1:us'`))
	require.True(t, us.Equal(d("13")), us.String())
}

// Detach, with payrun's retention rule (payout/cycle.Retention), refuses
// months an unsettled cycle reads, changing nothing; a dry
// run changes nothing; a consumed month leaves both parents (its rows with
// it) and stays as an append-only archive table; balances do not move; its
// lines, imported again, are refused since they cannot be compared.
func TestDetachPartitions(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	createAccounts(t, database, "A1")
	september := header + "s1,A1,app,purchase,US,2026-08-01T10:00:00Z,3\n"
	for file, clock := range map[string]string{
		september: "2026-09-05T00:00:00Z",
		header + "o1,A1,app,purchase,US,2026-09-01T10:00:00Z,4\n": "2026-10-05T00:00:00Z",
		header + "n1,A1,app,purchase,US,2026-10-01T10:00:00Z,5\n": "2026-11-05T00:00:00Z",
	} {
		_, err := importAt(t, database, file, clock)
		require.NoError(t, err)
	}
	before := takeSnapshot(t, database)
	listBefore, err := ledger.Partitions(ctx, database)
	require.NoError(t, err)

	_, err = ledger.DetachPartitions(ctx, database, at("2026-10-01T00:00:00Z"), false, cycle.Retention)
	require.ErrorIs(t, err, ledger.ErrNotConsumed)
	require.ErrorContains(t, err, "earnings_lines 2026-09: no settled cycle has read it yet")
	require.ErrorContains(t, err, "postings 2026-09: no cycle is settled yet")

	_, err = database.Exec(`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256) VALUES
		('2026-10-01', 'settled', '2026-10-01T00:00:00Z', '2026-10-15', '{}', 'test'),
		('2026-11-01', 'released', '2026-11-01T00:00:00Z', '2026-11-16', '{}', 'test')`)
	require.NoError(t, err)
	_, err = ledger.DetachPartitions(ctx, database, at("2026-11-01T00:00:00Z"), false, cycle.Retention)
	require.ErrorIs(t, err, ledger.ErrNotConsumed)
	require.ErrorContains(t, err, "earnings_lines 2026-10: cycle 2026-11 (released) reads the lines available from 2026-10-01T00:00:00Z on")
	require.NotContains(t, err.Error(), "2026-09", "September is consumed")
	dry, err := ledger.DetachPartitions(ctx, database, at("2026-10-01T00:00:00Z"), true, cycle.Retention)
	require.NoError(t, err)
	require.Len(t, dry, 2)
	require.Equal(t, []string{"earnings_lines_202609", "postings_202609"}, []string{dry[0].Name, dry[1].Name})
	listAfter, err := ledger.Partitions(ctx, database)
	require.NoError(t, err)
	require.Equal(t, listBefore, listAfter, "a refused or dry-run detach changed the partitions")
	require.Equal(t, before, takeSnapshot(t, database))

	detached, err := ledger.DetachPartitions(ctx, database, at("2026-10-01T00:00:00Z"), false, cycle.Retention)
	require.NoError(t, err)
	require.Equal(t, []string{"archive_earnings_lines_202609", "archive_postings_202609"}, []string{detached[0].Name, detached[1].Name})
	var parentLines, archivedLines int
	require.NoError(t, database.Get(&parentLines, `SELECT count(*) FROM earnings_lines WHERE transaction_id = 's1'`))
	require.NoError(t, database.Get(&archivedLines, `SELECT count(*) FROM archive_earnings_lines_202609 WHERE transaction_id = 's1'`))
	require.Zero(t, parentLines, "the parent still returns a detached month's rows")
	require.Equal(t, 1, archivedLines)
	after := takeSnapshot(t, database)
	require.Equal(t, before.Balances, after.Balances, "detaching moved a balance")
	require.Equal(t, before.Lines-1, after.Lines)
	require.Less(t, after.Postings, before.Postings)
	require.Equal(t, before.Totals, after.Totals, "the totals of an archived month stay")
	require.NoError(t, ledger.VerifyTotals(ctx, database), "totals of archived months are not compared")

	list, err := ledger.Partitions(ctx, database)
	require.NoError(t, err)
	var archived []string
	for _, p := range list {
		if !p.Attached {
			archived = append(archived, p.Table+" "+p.Name+" "+p.Month.Format("2006-01"))
		}
	}
	require.Equal(t, []string{"earnings_lines archive_earnings_lines_202609 2026-09", "postings archive_postings_202609 2026-09"}, archived)

	for _, statement := range []string{
		`UPDATE archive_earnings_lines_202609 SET amount = 1`,
		`DELETE FROM archive_postings_202609`,
		`TRUNCATE archive_earnings_lines_202609`,
		`INSERT INTO archive_earnings_lines_202609 SELECT * FROM archive_earnings_lines_202609`,
	} {
		_, err := database.Exec(statement)
		require.ErrorContains(t, err, "payrun:", statement)
	}

	_, err = importAt(t, database, september, "2026-12-05T00:00:00Z")
	var importErr *ledger.ImportError
	require.ErrorAs(t, err, &importErr)
	require.Contains(t, importErr.Rows[0].String(), "line 2, column transaction_id: already imported, and archived with the lines available in 2026-09")

	again, err := ledger.DetachPartitions(ctx, database, at("2026-10-01T00:00:00Z"), false, cycle.Retention)
	require.NoError(t, err)
	require.Empty(t, again)
}
