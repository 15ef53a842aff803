package ledger

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/internal/pgbinary"
)

// ImportLockKey is the Postgres advisory lock that orders imports against a
// cycle close. An import holds it shared for its whole transaction and reads
// its clock only once it holds it; a close takes it exclusively before reading
// the lines available before its cutoff. So no import can commit lines stamped
// before a cutoff after a close has read past that cutoff.
const ImportLockKey int64 = 0x7061797275_01

// progressEvery is how often (in lines) an import reports progress.
const progressEvery = 100_000

// ImportOptions configure one earnings import.
type ImportOptions struct {
	// SourceName names the file in the import record (not its path).
	SourceName string
	// HoldingPeriod sets eligible_at = transaction_at + HoldingPeriod for
	// lines that give no eligible_at.
	HoldingPeriod time.Duration
	// Clock tells the time. The reading taken after the import holds
	// ImportLockKey stamps the import (imported_at, and available_at =
	// max(eligible_at, imported_at) of its lines) and bounds transaction_at
	// from above. One earlier reading only decides which partitions to
	// create ahead (see Import).
	Clock func() time.Time
	// Progress, when set, is called with the lines read so far.
	Progress func(lines int64)
	// StallTimeout ends the import when the file delivers nothing for this
	// long; zero means DefaultStallTimeout.
	StallTimeout time.Duration
	// IdleTimeout is the import transaction's
	// idle_in_transaction_session_timeout; zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// ImportResult describes a finished import.
type ImportResult struct {
	ImportID  int64 // 0 when nothing new was imported
	LinesRead int64
	Imported  int64
	Skipped   int64 // identical lines imported before
	Total     decimal.Decimal
}

// Opener opens the file to import; the import may open and read it more than
// once (see Import).
type Opener func() (io.ReadCloser, error)

// Import loads an earnings CSV atomically and idempotently (SPEC §2):
//
//   - every line is validated while it streams into COPY; a file with any bad
//     line imports nothing and returns an *ImportError with the first
//     MaxReportedErrors bad lines;
//   - a line already imported with the same content is skipped and counted;
//     the same (revenue_source, transaction_id) with other content, or twice
//     in one file, is a bad line;
//   - the new lines, one balanced journal entry crediting each publisher's
//     US-sourced and other balances, and the import record commit together.
//
// The first pass COPYs straight into earnings_lines, then the same lines'
// keys into earnings_keys (see keySpool). Only when that meets a duplicate
// key does the import roll it back and read the file a second time
// into a staging table to sort new, identical and conflicting lines; the file
// must not change in between (its sha256 is compared). A file whose first
// lines repeat keys skips the first pass (see probeRepeats). So the file is
// opened up to three times.
//
// A line lands in the partition of its available_at month, which is between
// now and now + FutureTolerance + MaxEligibleDelay (or the holding period, if
// longer). Before its transaction, the import creates the missing partitions
// of those months in a short transaction of its own (creating one locks
// earnings_lines until commit); inside, it checks them again for the instant
// it stamps, which costs a name lookup per month.
// The import gives up, rolling back and releasing its lock, when ctx is done
// or the file delivers nothing for options.StallTimeout, even while a read
// of the file is blocked (see input), and the database ends it when it sits
// idle in its transaction for options.IdleTimeout.
//
// Errors: *ImportError, ErrInputStalled (wrapped), ctx's error (wrapped), or
// a database or I/O error (nothing imported).
func Import(ctx context.Context, database *sqlx.DB, open Opener, options ImportOptions) (ImportResult, error) {
	sellers, err := sellerIndex(ctx, database)
	if err != nil {
		return ImportResult{}, err
	}
	from, to := importMonths(options.Clock().UTC(), options.HoldingPeriod)
	if _, err := EnsurePartitions(ctx, database, from, to); err != nil {
		return ImportResult{}, err
	}
	var result ImportResult
	err = db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			// The idle timeout first: the import reads its file between
			// statements, holding the lock a close waits for.
			if _, err := tx.Exec(ctx, `SELECT set_config('idle_in_transaction_session_timeout', $2, true), pg_advisory_xact_lock_shared($1)`,
				ImportLockKey, idleTimeoutSetting(options.IdleTimeout)); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT nextval('earnings_import_ids')`).Scan(&result.ImportID); err != nil {
				return err
			}
			now := options.Clock().UTC()
			// Normally the months ensured above; more when the clock moved
			// into a new month while the import waited for the lock.
			from, to := importMonths(now, options.HoldingPeriod)
			if err := ensurePartitionsTx(ctx, tx, from, to); err != nil {
				return err
			}
			repeats, err := probeRepeats(ctx, tx, open, sellers, options, now)
			if err != nil {
				return err
			}
			if repeats {
				return slowPath(ctx, tx, open, sellers, options, now, "", &result)
			}
			if _, err := tx.Exec(ctx, `SAVEPOINT fast_path`); err != nil {
				return err
			}
			pass, err := copyPass(ctx, tx, open, sellers, options, now, result.ImportID, "earnings_lines")
			if isUniqueViolation(err) {
				if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT fast_path`); err != nil {
					return err
				}
				return slowPath(ctx, tx, open, sellers, options, now, pass.sha256, &result)
			}
			if err != nil {
				return err
			}
			result.LinesRead, result.Imported, result.Total = pass.linesRead, pass.linesRead, pass.total
			return balanceOverflow(finish(ctx, tx, options.SourceName, now, pass.sha256, pass.sums, &result), pass.lastLine)
		})
	})
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "25P03" { // idle_in_transaction_session_timeout
			return ImportResult{}, fmt.Errorf("the import sat idle in its transaction for more than %s (its file stalled?) and the database ended it, nothing imported: %w",
				cmp.Or(options.IdleTimeout, DefaultIdleTimeout), err)
		}
		return ImportResult{}, err
	}
	if result.Imported == 0 {
		result.ImportID = 0
	}
	return result, nil
}

// idleTimeoutSetting is the value of idle_in_transaction_session_timeout
// for an import, in milliseconds (at least one: zero would disable it).
func idleTimeoutSetting(timeout time.Duration) string {
	timeout = cmp.Or(timeout, DefaultIdleTimeout)
	return strconv.FormatInt(max(timeout.Milliseconds(), 1), 10)
}

// importMonths returns the first and last month an import stamped now can
// write lines to: available_at = max(eligible_at, now), and eligible_at is at
// most transaction_at (≤ now + FutureTolerance) + MaxEligibleDelay, or + the
// holding period for lines that give none.
func importMonths(now time.Time, holdingPeriod time.Duration) (from, to time.Time) {
	return MonthStart(now), MonthStart(now.Add(FutureTolerance + max(MaxEligibleDelay, holdingPeriod)))
}

// What probeRepeats reads from the top of a file: a re-sent file, or one
// overlapping the previous one, repeats lines there. At most probeLines
// lines in at most probeBytes (1000 lines of 260 bytes; a generated line has
// about 80), so a file of bad lines costs no more than that.
const (
	probeLines = 1000
	probeBytes = 256 << 10
)

// probeRepeats reports whether the first probeLines valid lines of the file
// repeat a key already imported or each other. The fast path learns about a
// repeated key only from the keys' COPY, after every line was copied, so a
// file that repeats lines goes straight to the slow path instead of copying
// everything first and rolling it back. Problems with the lines are left to
// the pass that follows.
func probeRepeats(ctx context.Context, tx pgx.Tx, open Opener, sellers map[string]int64, options ImportOptions, now time.Time) (bool, error) {
	opened, err := open()
	if err != nil {
		return false, fmt.Errorf("open: %w", err)
	}
	file := newInput(ctx, opened, options.StallTimeout)
	defer file.Close()
	var problems ImportError
	// A line cut at probeBytes is at worst a wrong key: a missed repeat (the
	// fast path still finds it) or a needless slow path (still correct).
	parser, err := newLineParser(io.LimitReader(file, probeBytes), sellers, options.HoldingPeriod, now, &problems)
	if err != nil {
		if _, bad := err.(*ImportError); bad {
			return false, nil // the copy pass reports it
		}
		return false, err
	}
	seen := make(map[[2]string]bool, probeLines)
	var transactionIDs, revenueSources []string
	for len(seen) < probeLines {
		line, ok := parser.next()
		if !ok {
			break
		}
		key := [2]string{line.TransactionID, line.RevenueSource}
		if seen[key] {
			return true, nil
		}
		seen[key] = true
		transactionIDs = append(transactionIDs, line.TransactionID)
		revenueSources = append(revenueSources, line.RevenueSource)
	}
	if parser.readErr != nil {
		return false, parser.readErr
	}
	if len(transactionIDs) == 0 {
		return false, nil
	}
	var repeats bool
	err = tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM earnings_keys k
		               JOIN unnest($1::text[], $2::text[]) AS probe (transaction_id, revenue_source) USING (transaction_id, revenue_source))`,
		transactionIDs, revenueSources).Scan(&repeats)
	return repeats, err
}

// execAll runs statements in order in tx, stopping at the first error.
func execAll(ctx context.Context, tx pgx.Tx, statements ...string) error {
	for _, statement := range statements {
		if _, err := tx.Exec(ctx, statement); err != nil {
			return err
		}
	}
	return nil
}

// passResult is what one read of the file produced.
type passResult struct {
	linesRead int64
	lastLine  int64 // the line of the file's last record
	total     decimal.Decimal
	sums      map[bucket]*amountSum
	sha256    string
}

// bucket is one row of earnings_totals for the import: a publisher's
// US-sourced or other lines available in one UTC month.
type bucket struct {
	month     time.Time
	accountID int64
	usSourced bool
}

// copyPass streams the file through validation into table with COPY.
//
// The validated lines travel in COPY's binary format through a pipe (see
// package pgbinary): Postgres parses nothing, and this goroutine validates the
// next lines while the server stores the previous ones.
func copyPass(ctx context.Context, tx pgx.Tx, open Opener, sellers map[string]int64, options ImportOptions, now time.Time, importID int64, table string) (passResult, error) {
	opened, err := open()
	if err != nil {
		return passResult{}, fmt.Errorf("open: %w", err)
	}
	file := newInput(ctx, opened, options.StallTimeout)
	defer file.Close()
	digest := sha256.New()
	var problems ImportError
	parser, err := newLineParser(io.TeeReader(file, digest), sellers, options.HoldingPeriod, now, &problems)
	if err != nil {
		return passResult{}, err
	}
	source := &lineSource{parser: parser, importID: importID, now: now, progress: options.Progress, sums: map[bucket]*amountSum{},
		staging: table != "earnings_lines"}
	columns := earningsColumns
	if source.staging {
		columns = stagingColumns
	} else {
		keys, err := newKeySpool()
		if err != nil {
			return passResult{}, err
		}
		defer keys.Close()
		source.keys = keys
	}
	reader, writer := io.Pipe()
	produced := make(chan error, 1)
	go func() {
		err := source.writeBinary(writer)
		if err == nil && problems.Total > 0 {
			err = &problems
		}
		// Closing with an error makes COPY send CopyFail: nothing is kept.
		writer.CloseWithError(err)
		produced <- err
	}()
	_, copyErr := tx.Conn().PgConn().CopyFrom(ctx, reader, "COPY "+table+" ("+strings.Join(columns, ", ")+") FROM STDIN (FORMAT binary)")
	reader.CloseWithError(io.ErrClosedPipe) // unblock the writer if COPY stopped early
	produceErr := <-produced
	if parser.readErr != nil {
		// The file could not be read to its end (a cancellation, a stall,
		// an I/O error): that is why COPY stopped.
		return passResult{}, parser.readErr
	}
	if problems.Total > 0 {
		// Validation problems win over whatever COPY said: they are why it stopped.
		return passResult{}, &problems
	}
	if produceErr != nil && !errors.Is(produceErr, io.ErrClosedPipe) {
		return passResult{}, produceErr
	}
	// Hash what COPY did not read (all of the rest when it stopped early) so
	// the digest covers the whole file: a second pass compares it.
	if _, err := io.Copy(io.Discard, io.TeeReader(file, digest)); err != nil {
		return passResult{}, fmt.Errorf("read: %w", err)
	}
	if options.Progress != nil {
		options.Progress(parser.linesRead)
	}
	pass := passResult{linesRead: parser.linesRead, lastLine: parser.lastLine, total: sumAll(source.sums), sums: source.sums, sha256: hexSum(digest)}
	if copyErr == nil && source.keys != nil {
		copyErr = source.keys.copyTo(ctx, tx)
	}
	return pass, copyErr
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

var totalsColumns = []string{"month", "account_id", "us_sourced", "import_id", "amount", "lines"}

var earningsColumns = []string{"import_id", "account_id", "revenue_source", "transaction_id", "transaction_type", "market", "transaction_at", "amount", "eligible_at", "available_at"}

var keysColumns = []string{"transaction_id", "revenue_source", "available_at"}

var stagingColumns = []string{"line", "account_id", "revenue_source", "transaction_id", "transaction_type", "market", "transaction_at", "amount", "eligible_at", "available_at", "eligible_given"}

// lineSource turns validated lines into binary COPY rows, totals them and
// spools their keys.
type lineSource struct {
	parser   *lineParser
	importID int64
	now      time.Time
	staging  bool
	progress func(int64)
	sums     map[bucket]*amountSum
	keys     *keySpool // the lines' keys, for earnings_keys (not when staging)
}

// amountSum totals amounts exactly: in micro-dollars while they fit an
// int64, in decimal beyond. It counts the lines too.
type amountSum struct {
	micros int64
	big    decimal.Decimal
	lines  int64
}

func (a *amountSum) add(line EarningsLine) {
	a.lines++
	if line.microsOK {
		if sum := a.micros + line.micros; (line.micros >= 0) == (sum >= a.micros) {
			a.micros = sum
			return
		}
	}
	a.big = a.big.Add(line.Amount)
}

// grossSum is the sum of the absolute amounts of a file's lines. While it
// is within money.MaxLedgerAmount so is every total the import writes (a
// bucket of earnings_totals, a publisher's part, the import's total): each
// is a sum of some of those amounts. Like amountSum, in micro-dollars while
// they fit an int64 (up to some 9.2e12 USD, below the limit), in decimal
// beyond.
type grossSum struct {
	micros   int64
	big      decimal.Decimal
	exceeded bool
}

// add adds the line's amount and reports whether the sum has just passed
// money.MaxLedgerAmount (once: later lines do not report it again).
func (g *grossSum) add(line EarningsLine) bool {
	if g.exceeded {
		return false
	}
	micros := line.micros
	if micros < 0 {
		micros = -micros
	}
	if sum := g.micros + micros; line.microsOK && sum >= g.micros {
		g.micros = sum
	} else {
		g.big = g.big.Add(line.Amount.Abs())
	}
	if g.big.IsZero() {
		return false // micro-dollars alone are below the limit
	}
	if decimal.New(g.micros, -6).Add(g.big).GreaterThan(money.MaxLedgerAmount) {
		g.exceeded = true
	}
	return g.exceeded
}

func (a *amountSum) value() decimal.Decimal { return decimal.New(a.micros, -6).Add(a.big) }

// microDollars reads a validated plain decimal with at most six decimals as
// an integer number of micro-dollars, when it fits comfortably.
func microDollars(text string) (int64, bool) {
	negative := false
	switch {
	case strings.HasPrefix(text, "-"):
		negative, text = true, text[1:]
	case strings.HasPrefix(text, "+"):
		text = text[1:]
	}
	whole, fraction, _ := strings.Cut(text, ".")
	if len(whole) > 12 || len(fraction) > 6 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(whole); i++ {
		n = n*10 + int64(whole[i]-'0')
	}
	for i := 0; i < 6; i++ {
		n *= 10
		if i < len(fraction) {
			n += int64(fraction[i] - '0')
		}
	}
	if negative {
		n = -n
	}
	return n, true
}

// writeBinary writes every valid line as a binary COPY tuple. After the
// first bad line it keeps reading, to report more, but writes nothing more.
func (s *lineSource) writeBinary(w io.Writer) error {
	out := bufio.NewWriterSize(w, 1<<16)
	if _, err := out.Write(pgbinary.Header); err != nil {
		return err
	}
	fields := len(earningsColumns)
	if s.staging {
		fields = len(stagingColumns)
	}
	buf := make([]byte, 0, 512)
	var month monthOf
	for {
		line, ok := s.parser.next()
		if !ok {
			break
		}
		if s.parser.problems.Total > 0 {
			continue
		}
		available := line.EligibleAt
		if s.now.After(available) {
			available = s.now
		}
		key := bucket{month.of(available), line.AccountID, line.USSourced()}
		sum := s.sums[key]
		if sum == nil {
			sum = &amountSum{big: decimal.Zero}
			s.sums[key] = sum
		}
		sum.add(line)
		if s.progress != nil && s.parser.linesRead%progressEvery == 0 {
			s.progress(s.parser.linesRead)
		}
		buf = pgbinary.AppendTupleStart(buf[:0], fields)
		if s.staging {
			buf = pgbinary.AppendInt8(buf, line.Line)
		} else {
			buf = pgbinary.AppendInt8(buf, s.importID)
		}
		buf = pgbinary.AppendInt8(buf, line.AccountID)
		buf = pgbinary.AppendText(buf, line.RevenueSource)
		buf = pgbinary.AppendText(buf, line.TransactionID)
		buf = pgbinary.AppendText(buf, line.TransactionType)
		buf = pgbinary.AppendText(buf, line.Market)
		buf = pgbinary.AppendTimestamptz(buf, line.TransactionAt)
		buf = pgbinary.AppendNumericText(buf, line.AmountText, money.LedgerScale)
		buf = pgbinary.AppendTimestamptz(buf, line.EligibleAt)
		buf = pgbinary.AppendTimestamptz(buf, available)
		if s.staging {
			buf = pgbinary.AppendBool(buf, line.EligibleGiven)
		}
		if _, err := out.Write(buf); err != nil {
			return err
		}
		if s.keys != nil {
			if err := s.keys.add(line.TransactionID, line.RevenueSource, available); err != nil {
				return err
			}
		}
	}
	if s.parser.readErr != nil {
		return s.parser.readErr // no trailer: COPY must fail
	}
	if _, err := out.Write(pgbinary.Trailer); err != nil {
		return err
	}
	return out.Flush()
}

// monthOf maps instants to the start of their UTC month, remembering the
// last month it computed (a file's lines mostly fall in one or two).
type monthOf struct {
	start, end time.Time
}

func (m *monthOf) of(t time.Time) time.Time {
	if t.Before(m.start) || !t.Before(m.end) {
		m.start = MonthStart(t)
		m.end = m.start.AddDate(0, 1, 0)
	}
	return m.start
}

// sumAll is the total of every bucket.
func sumAll(sums map[bucket]*amountSum) decimal.Decimal {
	total := decimal.Zero
	for _, sum := range sums {
		total = total.Add(sum.value())
	}
	return total
}

// slowPathWorkMemory is the work_mem of the slow path's transaction: its
// joins hash the file's keys (about 75 MB per million lines), and at the
// server's default (4 MB) they spill to disk in 16 to 32 batches. A
// per-transaction setting, per hash or sort node, on one connection.
const slowPathWorkMemory = "64MB"

// slowPath handles a file that repeats lines already imported (or repeats
// itself): stage it, report conflicts and in-file duplicates, insert the new
// lines and count the identical ones as skipped.
//
// The file's keys are looked up in earnings_keys once, into a temporary
// table of (line, available_at) that the comparison and the insert then join
// by line number; available_at names the one partition that holds the line
// imported before.
func slowPath(ctx context.Context, tx pgx.Tx, open Opener, sellers map[string]int64, options ImportOptions, now time.Time, firstSHA string, result *ImportResult) error {
	if err := execAll(ctx, tx,
		`SET LOCAL work_mem = '`+slowPathWorkMemory+`'`,
		`CREATE TEMP TABLE earnings_staging (
			line bigint, account_id bigint, revenue_source text COLLATE "C", transaction_id text COLLATE "C", transaction_type text,
			market text, transaction_at timestamptz, amount numeric(20, 6), eligible_at timestamptz, available_at timestamptz,
			eligible_given boolean
		) ON COMMIT DROP`); err != nil {
		return err
	}
	pass, err := copyPass(ctx, tx, open, sellers, options, now, 0, "earnings_staging")
	if err != nil {
		return err
	}
	if firstSHA != "" && pass.sha256 != firstSHA {
		return errors.New("the file changed while it was being imported: import it again")
	}
	// Temporary tables have no statistics until analyzed: without them the
	// planner guesses a tenth of the rows and sorts where it should hash.
	if err := execAll(ctx, tx,
		`ANALYZE earnings_staging`,
		`CREATE TEMP TABLE earnings_matched ON COMMIT DROP AS
			SELECT s.line, k.available_at FROM earnings_staging s JOIN earnings_keys k USING (revenue_source, transaction_id)`,
		`ANALYZE earnings_matched`); err != nil {
		return err
	}
	var problems ImportError
	duplicates, err := tx.Query(ctx, `
		SELECT lines[1], lines[2:] FROM (
			SELECT array_agg(s.line ORDER BY s.line) AS lines FROM earnings_staging s
			JOIN (SELECT revenue_source, transaction_id FROM earnings_staging
			      GROUP BY revenue_source, transaction_id HAVING count(*) > 1) repeated USING (revenue_source, transaction_id)
			GROUP BY s.revenue_source, s.transaction_id
		) d ORDER BY lines[1] LIMIT $1`, MaxReportedErrors)
	if err != nil {
		return err
	}
	for duplicates.Next() {
		var first int64
		var repeats []int64
		if err := duplicates.Scan(&first, &repeats); err != nil {
			return err
		}
		for _, line := range repeats {
			problems.add(RowError{Line: line, Column: "transaction_id", Reason: fmt.Sprintf("duplicate of line %d (same revenue_source and transaction_id)", first)})
		}
	}
	if err := duplicates.Err(); err != nil {
		return err
	}
	if err := findConflicts(ctx, tx, &problems); err != nil {
		return err
	}
	if problems.Total > 0 {
		sort.Slice(problems.Rows, func(a, b int) bool { return problems.Rows[a].Line < problems.Rows[b].Line })
		return &problems
	}
	// The keys of exactly the lines inserted, in the same statement.
	rows, err := tx.Query(ctx, `
		WITH inserted AS (
			INSERT INTO earnings_lines (import_id, account_id, revenue_source, transaction_id, transaction_type, market, transaction_at, amount, eligible_at, available_at)
			SELECT $1, s.account_id, s.revenue_source, s.transaction_id, s.transaction_type, s.market, s.transaction_at, s.amount, s.eligible_at, s.available_at
			FROM earnings_staging s
			WHERE NOT EXISTS (SELECT 1 FROM earnings_matched m WHERE m.line = s.line)
			ORDER BY s.line
			RETURNING account_id, market, amount, available_at, transaction_id, revenue_source
		), keys AS (
			INSERT INTO earnings_keys (transaction_id, revenue_source, available_at)
			SELECT transaction_id, revenue_source, available_at FROM inserted
		)
		SELECT date_trunc('month', available_at, 'UTC'), account_id, market = 'US', sum(amount), count(*)
		FROM inserted GROUP BY 1, 2, 3`, result.ImportID)
	if err != nil {
		return err
	}
	sums := map[bucket]*amountSum{}
	total := decimal.Zero
	var imported int64
	for rows.Next() {
		var key bucket
		sum := &amountSum{}
		if err := rows.Scan(&key.month, &key.accountID, &key.usSourced, &sum.big, &sum.lines); err != nil {
			return err
		}
		key.month = key.month.UTC()
		sums[key] = sum
		total = total.Add(sum.big)
		imported += sum.lines
	}
	if err := rows.Err(); err != nil {
		return err
	}
	result.LinesRead, result.Imported, result.Skipped, result.Total = pass.linesRead, imported, pass.linesRead-imported, total
	return balanceOverflow(finish(ctx, tx, options.SourceName, now, pass.sha256, sums, result), pass.lastLine)
}

// findConflicts reports the staged lines whose key was imported before with
// other content. The comparison reads only the partitions of the months the
// matched keys' available_at fall in (one, for a file imported before in one
// go). A key whose line was archived (its partition detached) cannot be
// compared and is refused too.
func findConflicts(ctx context.Context, tx pgx.Tx, problems *ImportError) error {
	var first, last *time.Time
	if err := tx.QueryRow(ctx, `SELECT min(available_at), max(available_at) FROM earnings_matched`).Scan(&first, &last); err != nil {
		return err
	}
	if first == nil {
		return nil // every key is new
	}
	// The bounds are parameters, so the planner prunes to their partitions.
	conflicts, err := tx.Query(ctx, `
		SELECT s.line, e.import_id, m.available_at FROM earnings_staging s
		JOIN earnings_matched m USING (line)
		LEFT JOIN earnings_lines e ON e.available_at >= $2 AND e.available_at <= $3
		     AND e.available_at = m.available_at AND e.transaction_id = s.transaction_id AND e.revenue_source = s.revenue_source
		WHERE e.import_id IS NULL
		   OR (s.account_id, s.transaction_type, s.market, s.transaction_at, s.amount)
		      IS DISTINCT FROM (e.account_id, e.transaction_type, e.market, e.transaction_at, e.amount)
		   OR (s.eligible_given AND s.eligible_at <> e.eligible_at)
		ORDER BY s.line LIMIT $1`, MaxReportedErrors, *first, *last)
	if err != nil {
		return err
	}
	defer conflicts.Close()
	for conflicts.Next() {
		var line int64
		var importID *int64
		var available time.Time
		if err := conflicts.Scan(&line, &importID, &available); err != nil {
			return err
		}
		reason := fmt.Sprintf("already imported, and archived with the lines available in %s: it cannot be compared", monthName(available))
		if importID != nil {
			reason = fmt.Sprintf("already imported (import %d) with different content", *importID)
		}
		problems.add(RowError{Line: line, Column: "transaction_id", Reason: reason})
	}
	return conflicts.Err()
}

// finish posts the journal entry for the new lines, writes their totals and
// records the import.
//
// It holds one entry per bucket, then one per publisher part, and never the
// totals' rows: they stream into their COPY.
func finish(ctx context.Context, tx pgx.Tx, sourceName string, now time.Time, sha string, sums map[bucket]*amountSum, result *ImportResult) error {
	if result.Imported == 0 {
		return nil // nothing new: no import record, no journal entry
	}
	type part struct {
		accountID int64
		usSourced bool
	}
	parts := map[part]decimal.Decimal{}
	for key, sum := range sums {
		p := part{key.accountID, key.usSourced}
		parts[p] = parts[p].Add(sum.value())
	}
	next, stop := iter.Pull2(maps.All(sums))
	defer stop()
	row := make([]any, len(totalsColumns))
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"earnings_totals"}, totalsColumns, pgx.CopyFromFunc(func() ([]any, error) {
		key, sum, ok := next()
		if !ok {
			return nil, nil
		}
		row[0], row[1], row[2], row[3], row[4], row[5] = key.month, key.accountID, key.usSourced, result.ImportID, sum.value(), sum.lines
		return row, nil
	})); err != nil {
		return fmt.Errorf("earnings totals: %w", err)
	}
	stop()
	sums = nil // the caller keeps no reference: the buckets can go before the postings are built
	keys := make([]part, 0, len(parts))
	for key := range parts {
		keys = append(keys, key)
	}
	// A fixed order: deterministic journal rows, and rows locked in one order.
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].accountID != keys[b].accountID {
			return keys[a].accountID < keys[b].accountID
		}
		return !keys[a].usSourced && keys[b].usSourced
	})
	postings := make([]Posting, 0, len(keys)+1)
	for _, key := range keys {
		postings = append(postings, Posting{LedgerAccount: PublisherAccount(key.accountID, key.usSourced), Amount: parts[key]})
	}
	postings = append(postings, Posting{LedgerAccount: PlatformEarnings, Amount: result.Total.Neg()})
	if _, err := Post(ctx, tx, Transaction{
		Kind:      "earnings_import",
		Reference: "import:" + strconv.FormatInt(result.ImportID, 10),
		PostedAt:  now,
		Postings:  postings,
	}); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO earnings_imports (id, source_name, sha256, lines_read, lines_imported, lines_skipped, total_amount, imported_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		result.ImportID, sourceName, sha, result.LinesRead, result.Imported, result.Skipped, result.Total, now)
	return err
}

// balanceOverflow turns a numeric overflow while posting the import into
// a refused import. A file's own totals are bounded as it is read (see
// grossSum); what is left is a ledger balance (a publisher's, or
// platform:earnings, minus everything ever imported) that this file would
// take beyond NUMERIC(20,6). No one line is to blame, so the error names the
// file's last.
func balanceOverflow(err error, lastLine int64) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22003" { // numeric_value_out_of_range
		return err
	}
	return &ImportError{Total: 1, Rows: []RowError{{Line: lastLine, Column: "amount", Reason: fmt.Sprintf(
		"with this file a ledger balance would pass ±%s, the most NUMERIC(20,6) holds: nothing was imported", money.MaxLedgerAmount)}}}
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// sellerIndex maps every seller id to its account id. It grows with the
// number of publishers (about 60 bytes each), never with the file.
func sellerIndex(ctx context.Context, database *sqlx.DB) (map[string]int64, error) {
	rows, err := database.QueryContext(ctx, `SELECT seller_id, id FROM accounts`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	index := map[string]int64{}
	for rows.Next() {
		var sellerID string
		var id int64
		if err := rows.Scan(&sellerID, &id); err != nil {
			return nil, err
		}
		index[sellerID] = id
	}
	return index, rows.Err()
}
