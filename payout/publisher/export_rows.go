package publisher

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/payrun/payrun/payout"
)

// exportBatch is how many lines an export fetches from its cursor at once:
// the most lines it holds.
const exportBatch = 2000

// EachTransaction streams every earnings line of accountID whose
// available_at falls in the months from..to ("YYYY-MM", both included, at
// most MaxExportMonths apart), with its state as of asOf, to yield, in the
// order of Transactions' pages (newest available first): the rows of every
// page of a Transactions list with the same months, in one read. It stops
// at the first error yield returns and returns it.
//
// Memory stays flat however many lines: one read-only repeatable-read
// snapshot, a server-side cursor fetched exportBatch lines at a time, the
// states from lineWindows and the withholding shares of one paid payout at
// a time (payoutShares: 12 bytes a US-sourced line of the payout, handed
// out in the cursor's order).
// Errors: *fielderr.Error (from, to), ErrUnknownAccount.
func (s *Service) EachTransaction(ctx context.Context, accountID int64, from, to string, asOf time.Time, yield func(Transaction) error) error {
	start, end, err := exportMonths(from, to)
	if err != nil {
		return err
	}
	tx, err := s.DB.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var exists bool
	if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, accountID); err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("%w: %d", ErrUnknownAccount, accountID)
	}
	windows, err := lineWindows(ctx, tx, accountID, asOf.UTC())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		DECLARE export_lines NO SCROLL CURSOR FOR
		SELECT `+lineColumns+` FROM earnings_lines
		WHERE account_id = $1 AND available_at >= $2 AND available_at < $3
		ORDER BY `+lineOrder, accountID, start, end); err != nil {
		return fmt.Errorf("open the lines' cursor: %w", err)
	}
	states := &lineStates{tx: tx, accountID: accountID, windows: windows, end: end, seed: maphash.MakeSeed()}
	batch := make([]Transaction, 0, exportBatch)
	fetch := fmt.Sprintf(`FETCH FORWARD %d FROM export_lines`, exportBatch)
	for {
		// The batch is read whole before any allocation query: the
		// connection carries one result at a time.
		rows, err := tx.QueryxContext(ctx, fetch)
		if err != nil {
			return err
		}
		batch = batch[:0]
		for rows.Next() {
			t, err := scanLine(rows)
			if err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range batch {
			if err := states.fill(ctx, &batch[i]); err != nil {
				return err
			}
			if err := yield(batch[i]); err != nil {
				return err
			}
		}
		if len(batch) < exportBatch {
			return nil
		}
	}
}

// EachPayment streams accountID's payments of the cycles from..to
// ("YYYY-MM", both included, at most MaxExportMonths apart: one payment a
// cycle at most) to yield, newest first: the rows of Payments' pages, as
// they stand now. It stops at the first error yield returns and returns
// it. Errors: *fielderr.Error (from, to), ErrUnknownAccount.
func (s *Service) EachPayment(ctx context.Context, accountID int64, from, to string, yield func(Payment) error) error {
	start, end, err := exportMonths(from, to)
	if err != nil {
		return err
	}
	// Payments' cursor is "cycles before this month".
	cursor := payout.MonthName(end)
	for {
		page, next, err := s.Payments(ctx, accountID, PaymentFilter{}, cursor, MaxPageSize)
		if err != nil {
			return err
		}
		for _, p := range page {
			month, err := payout.ParseMonth(p.Cycle)
			if err != nil {
				return err
			}
			if month.Before(start) {
				return nil
			}
			if err := yield(p); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}
