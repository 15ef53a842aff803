package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// Ledger account addresses (see the package doc).
const (
	// PlatformEarnings is the source of every earnings line: its balance is
	// minus the sum of all earnings ever imported.
	PlatformEarnings = "platform:earnings"
)

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
// postings are dropped. The database checks the zero sum again and updates
// ledger_balances in the same statement (migrations/001_ledger.sql).
// Errors: ErrUnbalanced, or the database's error (a duplicate Kind+Reference
// is a unique violation).
func Post(ctx context.Context, tx pgx.Tx, transaction Transaction) (int64, error) {
	sum := decimal.Zero
	rows := make([][]any, 0, len(transaction.Postings))
	for _, posting := range transaction.Postings {
		if posting.Amount.IsZero() {
			continue
		}
		sum = sum.Add(posting.Amount)
		rows = append(rows, []any{int64(0), posting.LedgerAccount, posting.Amount})
	}
	if !sum.IsZero() {
		return 0, fmt.Errorf("%w: %s %s sums to %s", ErrUnbalanced, transaction.Kind, transaction.Reference, sum)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	var id int64
	err := tx.QueryRow(ctx,
		`INSERT INTO ledger_transactions (kind, reference, posted_at) VALUES ($1, $2, $3) RETURNING id`,
		transaction.Kind, transaction.Reference, transaction.PostedAt.UTC()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ledger transaction %s %s: %w", transaction.Kind, transaction.Reference, err)
	}
	for _, row := range rows {
		row[0] = id
	}
	// One COPY statement: the zero-sum trigger fires once for the whole entry.
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"postings"},
		[]string{"transaction_id", "ledger_account", "amount"}, pgx.CopyFromRows(rows)); err != nil {
		return 0, fmt.Errorf("postings of %s %s: %w", transaction.Kind, transaction.Reference, err)
	}
	return id, nil
}
