package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/pgbinary"
)

// Ledger account addresses (see the package doc).
const (
	// PlatformEarnings is the source of every earnings line: its balance is
	// minus the sum of all earnings ever imported.
	PlatformEarnings = "platform:earnings"
	// PaymentsInTransit holds what a cycle's close decided to pay until the
	// payment settles or comes back.
	PaymentsInTransit = "payments:in_transit"
	// USWithholding is the US-tax liability the close withholds into.
	USWithholding = "tax:us_withholding"
)

// KindPayout is the kind of the journal transactions a cycle's close posts,
// one per batch of accounts, referenced "<cycle>:<first account id>" (for
// example "2026-11:1234", PayoutReference).
const KindPayout = "payout"

// PublisherAccount is the ledger account holding what payrun owes a
// publisher, US-sourced or other (SPEC §3.2 keeps the two parts apart).
func PublisherAccount(accountID int64, usSourced bool) string {
	bucket := "other"
	if usSourced {
		bucket = "us"
	}
	return "publisher:" + strconv.FormatInt(accountID, 10) + ":" + bucket
}

// Posting moves Amount into LedgerAccount (negative: out of it).
type Posting struct {
	LedgerAccount string
	Amount        decimal.Decimal
}

// Transaction is one balanced journal entry.
type Transaction struct {
	Kind      string // e.g. "earnings_import"
	Reference string // unique per kind, e.g. "import:12"
	PostedAt  time.Time
	Postings  []Posting
}

// ErrUnbalanced is returned by Post for postings that do not sum to zero.
var ErrUnbalanced = errors.New("ledger transaction does not balance")

// Post writes a balanced transaction inside tx and returns its id. Zero
// postings are dropped. Every posting carries the transaction's PostedAt,
// which puts it in the postings partition of that UTC month; Post creates the
// partition when it is missing (the maintain-partitions job normally has, so
// this costs one name lookup, sent with the INSERT in one round trip). The
// database checks the zero sum again and updates ledger_balances in the same
// statement (migrations/001_ledger.sql, 060_partitions.sql).
// Errors: ErrUnbalanced, or the database's error (a duplicate Kind+Reference
// is a unique violation).
func Post(ctx context.Context, tx pgx.Tx, transaction Transaction) (int64, error) {
	// Microseconds, as Postgres keeps them: the trigger compares the postings'
	// posted_at with the transaction's.
	postedAt := transaction.PostedAt.UTC().Truncate(time.Microsecond)
	isZero := func(p Posting) bool { return p.Amount.IsZero() }
	postings := transaction.Postings
	if slices.ContainsFunc(postings, isZero) {
		// A copy without the zeros, only then: an import's entry is big.
		postings = slices.DeleteFunc(slices.Clone(postings), isZero)
	}
	sum := decimal.Zero
	for _, posting := range postings {
		sum = sum.Add(posting.Amount)
	}
	if !sum.IsZero() {
		return 0, fmt.Errorf("%w: %s %s sums to %s", ErrUnbalanced, transaction.Kind, transaction.Reference, sum)
	}
	if len(postings) == 0 {
		return 0, nil
	}
	var id int64
	batch := &pgx.Batch{}
	batch.Queue(`SELECT payrun_ensure_partitions($1::date, $1::date)`, MonthStart(postedAt))
	batch.Queue(`INSERT INTO ledger_transactions (kind, reference, posted_at) VALUES ($1, $2, $3) RETURNING id`,
		transaction.Kind, transaction.Reference, postedAt)
	results := tx.SendBatch(ctx, batch)
	_, ensureErr := results.Exec()
	insertErr := results.QueryRow().Scan(&id)
	closeErr := results.Close()
	if ensureErr != nil {
		return 0, fmt.Errorf("ledger transaction %s %s: postings partition for %s: %w", transaction.Kind, transaction.Reference, monthName(postedAt), ensureErr)
	}
	if insertErr == nil {
		insertErr = closeErr
	}
	if insertErr != nil {
		return 0, fmt.Errorf("ledger transaction %s %s: %w", transaction.Kind, transaction.Reference, insertErr)
	}
	// One COPY statement: the zero-sum trigger fires once for the whole entry.
	// The rows stream, in COPY's binary format: an import's entry has two
	// postings per publisher.
	next := 0
	data := pgbinary.Reader(func(buf []byte) ([]byte, error) {
		if next == len(postings) {
			return buf, io.EOF
		}
		p := postings[next]
		next++
		buf = pgbinary.AppendTupleStart(buf, 4)
		buf = pgbinary.AppendInt8(buf, id)
		buf = pgbinary.AppendText(buf, p.LedgerAccount)
		buf = pgbinary.AppendDecimal(buf, p.Amount)
		return pgbinary.AppendTimestamptz(buf, postedAt), nil
	})
	if _, err := pgbinary.Copy(ctx, tx.Conn().PgConn(), "postings", []string{"transaction_id", "ledger_account", "amount", "posted_at"}, data); err != nil {
		return 0, fmt.Errorf("postings of %s %s: %w", transaction.Kind, transaction.Reference, err)
	}
	return id, nil
}
