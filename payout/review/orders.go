package review

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
)

// The amount sorts' stored orders (migration 200, see the package
// documentation): each amount sort's order of a closed cycle's payouts
// rows, ranks 1 to n, kept in blocks of account ids with each rank's code
// (the bits of its status, method, currency and reasons).

// orderBlockSize is the number of ranks a stored block holds: 16 kB of
// ids and codes before compression, one row with its arrays in the TOAST
// table. A page reads one or two blocks; a rare filter value skips most
// of them by their summaries.
const orderBlockSize = 1024

// maxRank: ranks are integers (cycle_review_order_blocks); a cycle with
// more payouts rows than this has no stored orders and its amount sorts
// read the month, as before.
const maxRank = math.MaxInt32

// maxCodeBits: a code is a bigint without its sign bit: 3 statuses, 2
// methods, 12 reasons and the 46 currencies payrun pays in. A cycle with
// more values than this (a currency added to internal/money) leaves the
// last currencies without a bit: their filters are checked on the probed
// payouts rows only.
const maxCodeBits = 63

// maxWalkBatch bounds the ranks one statement of an amount-sorted page
// probes (reads the payouts row and account of) when a filter on the
// account (a country) keeps only some: a page whose rows are further goes
// on with the next batch, never with a bigger one.
const maxWalkBatch = 4096

// maxWalkBlocks bounds the blocks one statement of a walk reads (16 MB of
// ids and codes before compression): a sparse filter value goes on with
// the next blocks.
const maxWalkBlocks = 1024

// amountSorts are the sorts with stored orders, in the order Prepare
// computes them.
var amountSorts = []string{SortBalance, SortPaid, SortWithheld, SortCarried}

// codeDimensions are the dimensions a code has bits for, in the order the
// bits are given.
var codeDimensions = []string{dimensionStatus, dimensionMethod, dimensionReason, dimensionCurrency}

// codeBits names the bits of f's cycle's codes: "dimension:value" for
// each value of a coded dimension some row has, in codeDimensions then
// value order, at most maxCodeBits.
func codeBits(f *figures) []string {
	bits := []string{}
	for _, dimension := range codeDimensions {
		values := make([]string, 0, len(f.Counts[dimension]))
		for value := range f.Counts[dimension] {
			values = append(values, value)
		}
		sort.Strings(values)
		for _, value := range values {
			if len(bits) < maxCodeBits {
				bits = append(bits, dimension+":"+value)
			}
		}
	}
	return bits
}

// storeOrders computes and stores month's orders unless they are stored
// (then it reads their header into f), in a transaction of its own under
// the breakdown lock: one pass over the cycle's payouts rows reads each
// row's account id, code and the four sort keys in millionths (exact:
// amounts have 6 decimals), Go sorts the rows four times (0.2-0.3 s each
// at 1M rows, where a sort in PostgreSQL took a second or more), and COPY
// writes the blocks. While it sorts it holds 48 bytes a row (48 MB at 1M
// rows). A key of 9.2 trillion or more, which millionths in an int64
// cannot hold, has its sort ordered by PostgreSQL instead.
func (s *Service) storeOrders(ctx context.Context, month time.Time, f *figures) error {
	return db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(breakdownLock), int32(month.Year()*100+int(month.Month()))); err != nil {
				return err
			}
			var blockSize int32
			var bits []string
			err := tx.QueryRow(ctx, `SELECT block_size, bits FROM cycle_review_orders WHERE month = $1`, month).Scan(&blockSize, &bits)
			if err == nil {
				f.ordered, f.blockSize, f.bits = true, int(blockSize), bits
				return nil // stored by another caller while this one waited
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			// A JIT compilation of this once-run statement costs more than it
			// saves (0.7 s at 1M rows). The blocks' arrays are compressed
			// with lz4 where the server has it: pglz took 0.6-1 s of each
			// sort's COPY at 1M rows, lz4 0.2-0.3 s, for 25 MB against 32.
			var lz4 bool
			if err := tx.QueryRow(ctx, `SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'`).Scan(&lz4); err != nil {
				return err
			}
			settings := `SET LOCAL jit = off`
			if lz4 {
				settings += `; SET LOCAL default_toast_compression = lz4`
			}
			if _, err := tx.Exec(ctx, settings); err != nil {
				return err
			}
			bits = codeBits(f)
			if _, err := tx.Exec(ctx, `
				INSERT INTO cycle_review_orders (month, payouts, block_size, bits, computed_at)
				VALUES ($1, $2, $3, $4, coalesce($5, statement_timestamp()))`, month, f.Payouts, s.blockSize(), bits, s.stamp()); err != nil {
				return err
			}
			if err := writeOrders(ctx, tx, month, bits, s.blockSize(), f.Payouts); err != nil {
				return err
			}
			f.ordered, f.blockSize, f.bits = true, s.blockSize(), bits
			return nil
		})
	})
}

// orderedRow is what writeOrders holds of a payouts row while it sorts
// (48 bytes).
type orderedRow struct {
	accountID, code int64
	keys            [4]int64 // amountSorts' keys, in millionths
}

// writeOrders reads month's rows and writes each sort's order in blocks
// of blockSize, sorting the rows in place once per sort. The amounts come
// in PostgreSQL's binary format and become millionths in Go (a numeric
// operation per key in SQL cost more than the whole read).
func writeOrders(ctx context.Context, tx pgx.Tx, month time.Time, bits []string, blockSize int, payouts int64) error {
	args := []any{month}
	result, err := tx.Query(ctx, `
		SELECT p.account_id, `+codeSQL(bits, &args)+`, p.balance_us, p.balance_other, p.paid_usd, p.withheld, p.carried_us, p.carried_other
		FROM payouts p WHERE p.month = $1`, args...)
	if err != nil {
		return err
	}
	rows := make([]orderedRow, 0, payouts)
	fits := [4]bool{true, true, true, true}
	for result.Next() {
		raw := result.RawValues()
		for _, field := range result.FieldDescriptions() {
			if field.Format != pgx.BinaryFormatCode {
				result.Close()
				return fmt.Errorf("column %s came as text, not in the binary format", field.Name)
			}
		}
		if len(raw) != 8 || len(raw[0]) != 8 || len(raw[1]) != 8 {
			result.Close()
			return fmt.Errorf("a payouts row came as %d columns", len(raw))
		}
		row := orderedRow{accountID: int64(binary.BigEndian.Uint64(raw[0])), code: int64(binary.BigEndian.Uint64(raw[1]))}
		var amounts [6]int64
		var ok [6]bool
		for i := range amounts {
			amounts[i], ok[i] = millionths(raw[2+i])
		}
		balance, balanceFits := addMillionths(amounts[0], amounts[1])
		carried, carriedFits := addMillionths(amounts[4], amounts[5])
		row.keys = [4]int64{balance, amounts[2], amounts[3], carried}
		fits[0] = fits[0] && ok[0] && ok[1] && balanceFits
		fits[1] = fits[1] && ok[2]
		fits[2] = fits[2] && ok[3]
		fits[3] = fits[3] && ok[4] && ok[5] && carriedFits
		rows = append(rows, row)
	}
	result.Close()
	if err := result.Err(); err != nil {
		return err
	}
	if len(rows) > maxRank {
		return fmt.Errorf("%d payouts rows: ranks stop at %d", len(rows), maxRank)
	}
	for i, sort := range amountSorts {
		if fits[i] {
			slices.SortFunc(rows, func(a, b orderedRow) int {
				if c := cmp.Compare(a.keys[i], b.keys[i]); c != 0 {
					return c
				}
				return cmp.Compare(a.accountID, b.accountID)
			})
			err = copyOrder(ctx, tx, month, sort, blockSize, len(rows), func(rank int) (int64, int64) {
				return rows[rank].accountID, rows[rank].code
			})
		} else {
			err = copySortedOrder(ctx, tx, month, sort, bits, blockSize, len(rows))
		}
		if err != nil {
			return fmt.Errorf("the %s order: %w", sort, err)
		}
	}
	return nil
}

// millionths reads a NUMERIC in PostgreSQL's binary format (int16 digit
// count, int16 weight, uint16 sign, uint16 display scale, then base-10000
// digits) as a whole number of millionths; ok is false when it is not a
// finite number with at most 6 decimals that fits an int64 (above 9.2
// trillion).
func millionths(raw []byte) (value int64, ok bool) {
	if len(raw) < 8 {
		return 0, false
	}
	count := int(int16(binary.BigEndian.Uint16(raw[0:2])))
	weight := int(int16(binary.BigEndian.Uint16(raw[2:4])))
	sign := binary.BigEndian.Uint16(raw[4:6])
	if count < 0 || len(raw) != 8+2*count || sign != numericPositive && sign != numericNegative {
		return 0, false // NaN, infinities
	}
	for i := 0; i < count; i++ {
		digit := int64(binary.BigEndian.Uint16(raw[8+2*i:]))
		// The digit counts 10000^(weight-i) units: 10^(4(weight-i)+6)
		// millionths.
		exponent := 4*(weight-i) + 6
		switch {
		case digit == 0:
			continue
		case exponent < 0:
			if exponent < -2 || digit%100 != 0 {
				return 0, false // finer than a millionth
			}
			digit /= 100
		case exponent > 18:
			return 0, false
		default:
			power := pow10[exponent]
			if digit > math.MaxInt64/power {
				return 0, false
			}
			digit *= power
		}
		if value > math.MaxInt64-digit {
			return 0, false
		}
		value += digit
	}
	if sign == numericNegative {
		value = -value
	}
	return value, true
}

// NUMERIC's sign words.
const (
	numericPositive = 0x0000
	numericNegative = 0x4000
)

var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// addMillionths is a + b, ok false when it overflows.
func addMillionths(a, b int64) (int64, bool) {
	sum := a + b
	return sum, (a >= 0) != (b >= 0) || (sum >= 0) == (a >= 0)
}

// copySortedOrder writes sort's order as PostgreSQL sorts it (exact for
// any key), for a key too large for millionths in a bigint.
func copySortedOrder(ctx context.Context, tx pgx.Tx, month time.Time, sort string, bits []string, blockSize, n int) error {
	args := []any{month}
	code := codeSQL(bits, &args)
	rows, err := tx.Query(ctx, `SELECT p.account_id, `+code+` FROM payouts p WHERE p.month = $1 ORDER BY `+
		amountKeys[sort]+`, p.account_id`, args...)
	if err != nil {
		return err
	}
	ids, codes := make([]int64, 0, n), make([]int64, 0, n)
	for rows.Next() {
		var id, rowCode int64
		if err := rows.Scan(&id, &rowCode); err != nil {
			rows.Close()
			return err
		}
		ids, codes = append(ids, id), append(codes, rowCode)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return copyOrder(ctx, tx, month, sort, blockSize, len(ids), func(rank int) (int64, int64) { return ids[rank], codes[rank] })
}

// copyOrder writes n ranks of sort, at(i) giving the account id and code
// of rank i+1, as blocks of blockSize ranks (one buffer, reused: COPY
// encodes each row before asking for the next).
func copyOrder(ctx context.Context, tx pgx.Tx, month time.Time, sort string, blockSize, n int, at func(int) (int64, int64)) error {
	ids, codes := make([]int64, 0, blockSize), make([]int64, 0, blockSize)
	next := 0
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"cycle_review_order_blocks"},
		[]string{"month", "sort", "first_rank", "account_ids", "codes", "summary"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if next >= n {
				return nil, nil
			}
			first := next + 1
			ids, codes = ids[:0], codes[:0]
			var summary int64
			for ; next < n && len(ids) < blockSize; next++ {
				id, code := at(next)
				ids, codes, summary = append(ids, id), append(codes, code), summary|code
			}
			return []any{month, sort, int32(first), ids, codes, summary}, nil
		}))
	return err
}

// codeSQL is the SQL of a payouts row p's code: a CASE per coded
// dimension, each value of bits a parameter appended to args.
func codeSQL(bits []string, args *[]any) string {
	columns := map[string]string{dimensionStatus: "p.status", dimensionMethod: "p.method", dimensionCurrency: "p.currency"}
	cases := map[string][]string{}
	for i, bit := range bits {
		dimension, value, _ := strings.Cut(bit, ":")
		*args = append(*args, value)
		if dimension == dimensionReason {
			cases[dimension] = append(cases[dimension], fmt.Sprintf("CASE WHEN $%d = ANY (p.reasons) THEN %d::bigint ELSE 0 END", len(*args), int64(1)<<i))
		} else {
			cases[dimension] = append(cases[dimension], fmt.Sprintf("WHEN $%d THEN %d::bigint", len(*args), int64(1)<<i))
		}
	}
	parts := []string{"0::bigint"}
	for _, dimension := range codeDimensions {
		switch {
		case len(cases[dimension]) == 0:
		case dimension == dimensionReason:
			parts = append(parts, "CASE WHEN cardinality(p.reasons) = 0 THEN 0 ELSE "+strings.Join(cases[dimension], " | ")+" END")
		default:
			parts = append(parts, "CASE "+columns[dimension]+" "+strings.Join(cases[dimension], " ")+" ELSE 0 END")
		}
	}
	return "(" + strings.Join(parts, " | ") + ")"
}

// mask is the code bits a row matching f's status, method, currency and
// reason has (0 when there is none): a necessary condition, exact for
// every value with a bit.
func (f *figures) mask(filters []dimensionFilter) int64 {
	var mask int64
	for _, d := range filters {
		for i, bit := range f.bits {
			if bit == d.dimension+":"+d.value {
				mask |= 1 << i
			}
		}
	}
	return mask
}

// orderWalk is how an amount-sorted page is read from a stored order.
type orderWalk struct {
	sort string
	desc bool
	// mask: the code bits every row of the page has (its status, method,
	// currency and reason filters).
	mask int64
	// share: the part of the ranks with those bits the page's other
	// filters (a country, a value without a bit) are expected to keep.
	share float64
	// expected: the part of all ranks expected to have the mask's bits.
	expected float64
	// The page statement's arguments filled per batch: the batch's account
	// ids and ranks, and how many rows it may return.
	idsArg, ranksArg, limitArg int
}

// entry is one rank of a stored order.
type entry struct {
	accountID int64
	rank      int64
}

// walkOrder reads a page of an amount sort from its stored order: from
// the cursor's rank (boundary, exclusive) the next ranks whose code has
// the walk's mask (orderEntries), in batches, each probed by q (its
// payouts row and account, with the page's filters) until need rows
// matched or the order ends. It returns the rows and their ranks.
func walkOrder(ctx context.Context, tx *sqlx.Tx, month time.Time, q query, boundary int64, need, blockSize int, payouts int64) ([]PublisherRow, []int64, error) {
	w := q.walk
	rows, ranks := []PublisherRow{}, []int64{}
	share, probed := w.share, 0
	for len(rows) < need {
		remaining := need - len(rows)
		// The ranks expected to hold the rows still needed, and a fifth
		// more when a filter is left to the probes.
		batch := remaining
		if share < 1 {
			batch = max(remaining, min(int(math.Ceil(float64(remaining)/share*1.2)), maxWalkBatch))
		}
		entries, next, err := orderEntries(ctx, tx, month, w, boundary, batch, blockSize, payouts)
		if err != nil {
			return nil, nil, err
		}
		if len(entries) > 0 {
			ids, entryRanks := make([]int64, len(entries)), make([]int64, len(entries))
			for i, e := range entries {
				ids[i], entryRanks[i] = e.accountID, e.rank
			}
			q.args[w.idsArg-1], q.args[w.ranksArg-1], q.args[w.limitArg-1] = ids, entryRanks, remaining
			if err := queryRanked(ctx, tx, q, &rows, &ranks); err != nil {
				return nil, nil, err
			}
		}
		if next < 0 {
			break // the order ended
		}
		boundary = next
		probed += len(entries)
		if share < 1 && probed > 0 {
			// The share seen so far sizes the next batch (at least half a
			// row found, so a run of misses doubles it).
			share = math.Max(float64(len(rows)), 0.5) / float64(probed)
		}
	}
	return rows, ranks, nil
}

// queryRanked runs one batch's statement, appending its rows and ranks.
func queryRanked(ctx context.Context, tx *sqlx.Tx, q query, rows *[]PublisherRow, ranks *[]int64) error {
	result, err := tx.QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return err
	}
	defer result.Close()
	for result.Next() {
		var rank int64
		row, err := scanPublisher(result, &rank)
		if err != nil {
			return err
		}
		*rows, *ranks = append(*rows, row), append(*ranks, rank)
	}
	return result.Err()
}

// orderEntries reads the next n ranks after boundary (before it when
// descending) whose code has w's mask, in the walk's order: blocks whose
// summary has the mask, a few at a time (as many as the mask's expected
// share needs, doubled while too few ranks match). It returns them and
// the boundary the next batch starts from, -1 when no further block has
// the mask.
func orderEntries(ctx context.Context, tx *sqlx.Tx, month time.Time, w *orderWalk, boundary int64, n, blockSize int, payouts int64) ([]entry, int64, error) {
	// One row per rank with the mask, or one without a rank for a block
	// that has none after the boundary: a block's rows are all read
	// unless n ranks are.
	statement := `
		SELECT b.first_rank, u.account_id, b.first_rank + u.n - 1
		FROM (SELECT first_rank, account_ids, codes FROM cycle_review_order_blocks
		      WHERE month = $1 AND sort = $2 AND summary & $3 = $3 AND first_rank > $4 + 1 - $7
		      ORDER BY first_rank LIMIT $5) b
		LEFT JOIN LATERAL (SELECT x.account_id, x.n FROM unnest(b.account_ids, b.codes) WITH ORDINALITY x (account_id, code, n)
		                   WHERE x.code & $3 = $3 AND b.first_rank + x.n - 1 > $4) u ON true
		ORDER BY b.first_rank, u.n LIMIT $6`
	if w.desc {
		statement = `
		SELECT b.first_rank, u.account_id, b.first_rank + u.n - 1
		FROM (SELECT first_rank, account_ids, codes FROM cycle_review_order_blocks
		      WHERE month = $1 AND sort = $2 AND summary & $3 = $3 AND first_rank < $4
		      ORDER BY first_rank DESC LIMIT $5) b
		LEFT JOIN LATERAL (SELECT x.account_id, x.n FROM unnest(b.account_ids, b.codes) WITH ORDINALITY x (account_id, code, n)
		                   WHERE x.code & $3 = $3 AND b.first_rank + x.n - 1 < $4) u ON true
		ORDER BY b.first_rank DESC, u.n DESC NULLS LAST LIMIT $6`
	}
	expected := math.Max(w.expected, 1/float64(blockSize*maxWalkBlocks))
	blocks := min(int(math.Ceil(float64(n)/(expected*float64(blockSize))))+1, maxWalkBlocks)
	entries := make([]entry, 0, n)
	for {
		args := []any{month, w.sort, w.mask, boundary, blocks, n - len(entries) + blocks}
		if !w.desc {
			args = append(args, blockSize)
		}
		result, err := tx.QueryContext(ctx, statement, args...)
		if err != nil {
			return nil, 0, err
		}
		read, last := 0, int64(-1)
		for result.Next() {
			var first int64
			var accountID, rank sql.NullInt64
			if err := result.Scan(&first, &accountID, &rank); err != nil {
				result.Close()
				return nil, 0, err
			}
			if first != last {
				read, last = read+1, first
				// Fewer than n ranks to go: this block is read to its end.
				if w.desc {
					boundary = first
				} else {
					boundary = min(first+int64(blockSize)-1, payouts) // every block but the last is full
				}
			}
			if accountID.Valid {
				entries = append(entries, entry{accountID.Int64, rank.Int64})
				if len(entries) == n {
					result.Close()
					return entries, rank.Int64, nil
				}
			}
		}
		if err := result.Err(); err != nil {
			result.Close()
			return nil, 0, err
		}
		if err := result.Close(); err != nil {
			return nil, 0, err
		}
		if read < blocks {
			return entries, -1, nil // no further block has the mask
		}
		blocks = min(blocks*2, maxWalkBlocks)
	}
}

// cursorBoundary is where a walk starts: the cursor's rank, or, for a
// cursor without one (made where no order was stored yet, or by hand),
// the rank its sort key and account id would have, found by bisecting the
// order (about 20 reads of one rank at 1M rows). Ascending, the page is
// the ranks above it; descending, the ranks below.
func cursorBoundary(ctx context.Context, tx *sqlx.Tx, month time.Time, c *cursor, desc bool, payouts int64) (int64, error) {
	if c == nil {
		if desc {
			return payouts + 1, nil
		}
		return 0, nil
	}
	if c.rank > 0 {
		return c.rank, nil
	}
	// less: how many rows sort before the cursor's (key, account id).
	less, more := int64(0), payouts
	for less < more {
		middle := (less + more) / 2
		key, accountID, err := rankedRow(ctx, tx, month, c.sort, middle+1)
		if err != nil {
			return 0, err
		}
		if compareKeys(key, accountID, c.amount, c.accountID) < 0 {
			less = middle + 1
		} else {
			more = middle
		}
	}
	if desc {
		return less + 1, nil
	}
	if less < payouts {
		key, accountID, err := rankedRow(ctx, tx, month, c.sort, less+1)
		if err != nil {
			return 0, err
		}
		if compareKeys(key, accountID, c.amount, c.accountID) == 0 {
			return less + 1, nil // the cursor's own row
		}
	}
	return less, nil
}

func compareKeys(key decimal.Decimal, accountID int64, otherKey decimal.Decimal, otherAccountID int64) int {
	if c := key.Cmp(otherKey); c != 0 {
		return c
	}
	switch {
	case accountID < otherAccountID:
		return -1
	case accountID > otherAccountID:
		return 1
	}
	return 0
}

// rankedRow is the sort key and account id of the row at rank in sort's
// stored order.
func rankedRow(ctx context.Context, tx *sqlx.Tx, month time.Time, sort string, rank int64) (decimal.Decimal, int64, error) {
	var key decimal.Decimal
	var accountID int64
	err := tx.QueryRowContext(ctx, `
		SELECT `+amountKeys[sort]+`, p.account_id
		FROM (SELECT account_ids[$3 - first_rank + 1] AS account_id FROM cycle_review_order_blocks
		      WHERE month = $1 AND sort = $2 AND first_rank <= $3
		      ORDER BY first_rank DESC LIMIT 1) r
		JOIN payouts p ON p.month = $1 AND p.account_id = r.account_id`, month, sort, rank).Scan(&key, &accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return key, 0, fmt.Errorf("the %s order has no rank %d", sort, rank)
	}
	return key, accountID, err
}

// share is the part of the cycle's payouts rows whose dimension has value
// (0 to 1), from the stored counts.
func (f *figures) share(dimension, value string) float64 {
	if f.Payouts == 0 {
		return 1
	}
	return float64(f.count(dimension, value)) / float64(f.Payouts)
}

// chooseWalk is how an amount-sorted page of a cycle with stored orders
// is read: its order, walked with the dimension filters' mask (blocks and
// ranks without their bits skipped unread), the rows of the ranks kept
// probed for the rest (a country, a value without a bit); or nil when a
// country is so rare that reading its accounts (accounts_country_seller,
// its rows' number of probes) costs less than the probes a walk would
// make, limit rows divided by the country's share.
func chooseWalk(sort string, desc bool, dimensions []dimensionFilter, country string, fig *figures, limit int) *orderWalk {
	w := &orderWalk{sort: sort, desc: desc, mask: fig.mask(dimensions), share: 1, expected: 1}
	for _, d := range dimensions {
		if fig.mask([]dimensionFilter{d}) != 0 {
			w.expected *= fig.share(d.dimension, d.value)
		} else {
			w.share *= fig.share(d.dimension, d.value)
		}
	}
	if country != "" {
		countryShare := fig.share(dimensionCountry, country)
		if countryShare*float64(fig.Payouts) < float64(limit)/math.Max(w.share*countryShare, 1e-12) {
			return nil
		}
		w.share *= countryShare
	}
	return w
}
