package ledger

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
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
	// Clock tells the time. It is read once, after the import holds
	// ImportLockKey: that instant stamps the import (imported_at, and
	// available_at = max(eligible_at, imported_at) of its lines) and bounds
	// transaction_at from above.
	Clock func() time.Time
	// Progress, when set, is called with the lines read so far.
	Progress func(lines int64)
}

// ImportResult describes a finished import.
type ImportResult struct {
	ImportID  int64 // 0 when nothing new was imported
	LinesRead int64
	Imported  int64
	Skipped   int64 // identical lines imported before
	Total     decimal.Decimal
}

// Opener opens the file to import; the import may read it twice (see Import).
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
// The first pass COPYs straight into earnings_lines. Only when that meets a
// duplicate key does the import roll it back and read the file a second time
// into a staging table to sort new, identical and conflicting lines; the file
// must not change in between (its sha256 is compared).
// Errors: *ImportError, or a database or I/O error (nothing imported).
func Import(ctx context.Context, database *sqlx.DB, open Opener, options ImportOptions) (ImportResult, error) {
	sellers, err := sellerIndex(ctx, database)
	if err != nil {
		return ImportResult{}, err
	}
	var result ImportResult
	err = db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, ImportLockKey); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT nextval('earnings_import_ids')`).Scan(&result.ImportID); err != nil {
				return err
			}
			now := options.Clock().UTC()
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
			return finish(ctx, tx, options.SourceName, now, pass.sha256, pass.sums, &result)
		})
	})
	if err != nil {
		return ImportResult{}, err
	}
	if result.Imported == 0 {
		result.ImportID = 0
	}
	return result, nil
}

// passResult is what one read of the file produced.
type passResult struct {
	linesRead int64
	total     decimal.Decimal
	sums      map[bucket]decimal.Decimal
	sha256    string
}

type bucket struct {
	accountID int64
	usSourced bool
}

// copyPass streams the file through validation into table with COPY.
//
// The validated lines travel in COPY's binary format through a pipe (see
// copybinary.go): Postgres parses nothing, and this goroutine validates the
// next lines while the server stores the previous ones.
func copyPass(ctx context.Context, tx pgx.Tx, open Opener, sellers map[string]int64, options ImportOptions, now time.Time, importID int64, table string) (passResult, error) {
	file, err := open()
	if err != nil {
		return passResult{}, fmt.Errorf("open: %w", err)
	}
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
	sums, total := source.totals()
	pass := passResult{linesRead: parser.linesRead, total: total, sums: sums, sha256: hexSum(digest)}
	return pass, copyErr
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

var earningsColumns = []string{"import_id", "account_id", "revenue_source", "transaction_id", "transaction_type", "market", "transaction_at", "amount", "eligible_at", "available_at"}

var stagingColumns = []string{"line", "account_id", "revenue_source", "transaction_id", "transaction_type", "market", "transaction_at", "amount", "eligible_at", "available_at", "eligible_given"}

// lineSource turns validated lines into CSV rows for COPY and totals them.
type lineSource struct {
	parser   *lineParser
	importID int64
	now      time.Time
	staging  bool
	progress func(int64)
	sums     map[bucket]*amountSum
}

// amountSum totals amounts exactly: in micro-dollars while they fit an
// int64, in decimal beyond.
type amountSum struct {
	micros int64
	big    decimal.Decimal
}

func (a *amountSum) add(amount decimal.Decimal, text string) {
	if micros, ok := microDollars(text); ok {
		if sum := a.micros + micros; (micros >= 0) == (sum >= a.micros) {
			a.micros = sum
			return
		}
	}
	a.big = a.big.Add(amount)
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
	if _, err := out.Write(copyBinaryHeader); err != nil {
		return err
	}
	fields := len(earningsColumns)
	if s.staging {
		fields = len(stagingColumns)
	}
	buf := make([]byte, 0, 512)
	for {
		line, ok := s.parser.next()
		if !ok {
			break
		}
		if s.parser.problems.Total > 0 {
			continue
		}
		key := bucket{line.AccountID, line.USSourced()}
		sum := s.sums[key]
		if sum == nil {
			sum = &amountSum{big: decimal.Zero}
			s.sums[key] = sum
		}
		sum.add(line.Amount, line.AmountText)
		if s.progress != nil && s.parser.linesRead%progressEvery == 0 {
			s.progress(s.parser.linesRead)
		}
		available := line.EligibleAt
		if s.now.After(available) {
			available = s.now
		}
		buf = appendTupleStart(buf[:0], fields)
		if s.staging {
			buf = appendInt8(buf, line.Line)
		} else {
			buf = appendInt8(buf, s.importID)
		}
		buf = appendInt8(buf, line.AccountID)
		buf = appendText(buf, line.RevenueSource)
		buf = appendText(buf, line.TransactionID)
		buf = appendText(buf, line.TransactionType)
		buf = appendText(buf, line.Market)
		buf = appendTimestamptz(buf, line.TransactionAt)
		buf = appendNumeric(buf, line.AmountText)
		buf = appendTimestamptz(buf, line.EligibleAt)
		buf = appendTimestamptz(buf, available)
		if s.staging {
			buf = appendBool(buf, line.EligibleGiven)
		}
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
	if _, err := out.Write(copyBinaryTrailer); err != nil {
		return err
	}
	return out.Flush()
}

// totals returns the sums per bucket and overall.
func (s *lineSource) totals() (map[bucket]decimal.Decimal, decimal.Decimal) {
	sums := make(map[bucket]decimal.Decimal, len(s.sums))
	total := decimal.Zero
	for key, sum := range s.sums {
		v := sum.value()
		sums[key] = v
		total = total.Add(v)
	}
	return sums, total
}

// slowPath handles a file that repeats lines already imported (or repeats
// itself): stage it, report conflicts and in-file duplicates, insert the new
// lines and count the identical ones as skipped.
func slowPath(ctx context.Context, tx pgx.Tx, open Opener, sellers map[string]int64, options ImportOptions, now time.Time, firstSHA string, result *ImportResult) error {
	if _, err := tx.Exec(ctx, `
		CREATE TEMP TABLE earnings_staging (
			line bigint, account_id bigint, revenue_source text, transaction_id text, transaction_type text,
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
	var problems ImportError
	duplicates, err := tx.Query(ctx, `
		SELECT lines[1], lines[2:] FROM (
			SELECT array_agg(line ORDER BY line) AS lines FROM earnings_staging
			GROUP BY revenue_source, transaction_id HAVING count(*) > 1
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
	conflicts, err := tx.Query(ctx, `
		SELECT s.line, e.import_id FROM earnings_staging s
		JOIN earnings_lines e USING (revenue_source, transaction_id)
		WHERE (s.account_id, s.transaction_type, s.market, s.transaction_at, s.amount)
		      IS DISTINCT FROM (e.account_id, e.transaction_type, e.market, e.transaction_at, e.amount)
		   OR (s.eligible_given AND s.eligible_at <> e.eligible_at)
		ORDER BY s.line LIMIT $1`, MaxReportedErrors)
	if err != nil {
		return err
	}
	for conflicts.Next() {
		var line, importID int64
		if err := conflicts.Scan(&line, &importID); err != nil {
			return err
		}
		problems.add(RowError{Line: line, Column: "transaction_id", Reason: fmt.Sprintf("already imported (import %d) with different content", importID)})
	}
	if err := conflicts.Err(); err != nil {
		return err
	}
	if problems.Total > 0 {
		sort.Slice(problems.Rows, func(a, b int) bool { return problems.Rows[a].Line < problems.Rows[b].Line })
		return &problems
	}
	rows, err := tx.Query(ctx, `
		WITH inserted AS (
			INSERT INTO earnings_lines (import_id, account_id, revenue_source, transaction_id, transaction_type, market, transaction_at, amount, eligible_at, available_at)
			SELECT $1, s.account_id, s.revenue_source, s.transaction_id, s.transaction_type, s.market, s.transaction_at, s.amount, s.eligible_at, s.available_at
			FROM earnings_staging s
			WHERE NOT EXISTS (SELECT 1 FROM earnings_lines e WHERE e.revenue_source = s.revenue_source AND e.transaction_id = s.transaction_id)
			ORDER BY s.line
			RETURNING account_id, market, amount
		)
		SELECT account_id, market = 'US', sum(amount), count(*) FROM inserted GROUP BY 1, 2`, result.ImportID)
	if err != nil {
		return err
	}
	sums := map[bucket]decimal.Decimal{}
	total := decimal.Zero
	var imported int64
	for rows.Next() {
		var key bucket
		var sum decimal.Decimal
		var count int64
		if err := rows.Scan(&key.accountID, &key.usSourced, &sum, &count); err != nil {
			return err
		}
		sums[key] = sum
		total = total.Add(sum)
		imported += count
	}
	if err := rows.Err(); err != nil {
		return err
	}
	result.LinesRead, result.Imported, result.Skipped, result.Total = pass.linesRead, imported, pass.linesRead-imported, total
	return finish(ctx, tx, options.SourceName, now, pass.sha256, sums, result)
}

// finish posts the journal entry for the new lines and records the import.
func finish(ctx context.Context, tx pgx.Tx, sourceName string, now time.Time, sha string, sums map[bucket]decimal.Decimal, result *ImportResult) error {
	if result.Imported == 0 {
		return nil // nothing new: no import record, no journal entry
	}
	keys := make([]bucket, 0, len(sums))
	for key := range sums {
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
		postings = append(postings, Posting{LedgerAccount: PublisherAccount(key.accountID, key.usSourced), Amount: sums[key]})
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
