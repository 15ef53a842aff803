package ledger

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// JournalReader reads the journal inside a pgx connection or transaction
// (the close and the release read it in their own transactions).
type JournalReader interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Posted sums what the journal's transactions of one kind whose reference
// starts with referencePrefix posted to each of the given ledger accounts,
// in their order (zero for an account nothing was posted to). The ledger
// owns reads of its own journal; the cycle asks it, for example, what a
// month's payouts moved into payments in transit and the withholding
// liability.
func Posted(ctx context.Context, q JournalReader, kind, referencePrefix string, ledgerAccounts ...string) ([]decimal.Decimal, error) {
	if len(ledgerAccounts) == 0 {
		return nil, nil
	}
	sums := make([]decimal.Decimal, len(ledgerAccounts))
	targets := make([]any, len(ledgerAccounts))
	for i := range sums {
		targets[i] = &sums[i]
	}
	var query string
	args := []any{kind, referencePrefix + "%"}
	for i, account := range ledgerAccounts {
		if i > 0 {
			query += ", "
		}
		query += fmt.Sprintf("coalesce(sum(p.amount) FILTER (WHERE p.ledger_account = $%d), 0)", i+3)
		args = append(args, account)
	}
	err := q.QueryRow(ctx, `SELECT `+query+`
		FROM ledger_transactions lt JOIN postings p ON p.transaction_id = lt.id
		WHERE lt.kind = $1 AND lt.reference LIKE $2`, args...).Scan(targets...)
	return sums, err
}

// PayoutReference is the reference of a close batch's journal transaction:
// the cycle ("2026-11") and the batch's first account.
func PayoutReference(cycle string, firstAccountID int64) string {
	return cycle + ":" + strconv.FormatInt(firstAccountID, 10)
}

// PayoutsPosted returns what the close of cycle ("2026-11") posted to the
// journal: payments in transit and the US-tax liability. The close checks
// its totals against it, and so do the release and the workbook.
func PayoutsPosted(ctx context.Context, q JournalReader, cycle string) (inTransit, withheld decimal.Decimal, err error) {
	sums, err := Posted(ctx, q, KindPayout, cycle+":", PaymentsInTransit, USWithholding)
	if err != nil {
		return decimal.Zero, decimal.Zero, err
	}
	return sums[0], sums[1], nil
}
