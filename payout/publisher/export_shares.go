package publisher

import (
	"context"
	"database/sql"
	"hash/maphash"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/reports"
)

// payoutShares is one paid payout's withholding allocation as an export
// hands it out, in 12 bytes a US-sourced line instead of a map keyed by
// the lines (a payout may have hundreds of thousands of them): the shares
// in the statement's order (available_at, transaction id, revenue source
// ascending) and a hash of each line's key.
//
// The export reads the lines in lineOrder, the exact reverse of that order
// (the same keys, unique, and the same bytewise collation), in the same
// repeatable-read snapshot, and only those before its end: so its k-th
// US-sourced line of the payout is line before-1-k of the allocation,
// where before counts the payout's US-sourced lines available before the
// export's end. take checks each line's key against its hash all the same:
// a line that is not the expected one makes the export fall back to the
// keyed allocation for the rest of the payout (lineStates.fill).
type payoutShares struct {
	cents []int64  // each line's share, in cents
	keys  []uint32 // lineHash of each line's key
	next  int      // the line expected next; they come last first
}

// take gives the share of the line expected next, if its key hash is key.
func (p *payoutShares) take(key uint32) (int64, bool) {
	i := p.next
	if i < 0 || i >= len(p.keys) || p.keys[i] != key {
		return 0, false
	}
	p.next--
	return p.cents[i], true
}

// loadPayoutShares reads w's US-sourced lines once and allocates its
// withholding over them in integers (reports.AllocateWithholdingCents: the
// statement's cents), ready for an export whose lines end before end. It
// returns nil (and no error) where the amounts or the withholding do not
// fit int64: the keyed allocation handles those.
func loadPayoutShares(ctx context.Context, tx *sqlx.Tx, accountID int64, w window, end time.Time, seed maphash.Seed) (*payoutShares, error) {
	withheld, fits := centsOf(w.withheld)
	if !fits {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, usLinesQuery, accountID, w.from, w.to, end)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []uint32
	var amounts []int64
	before := 0
	for rows.Next() {
		var id, source string
		var amount sql.NullInt64
		var isBefore bool
		if err := rows.Scan(&id, &source, &amount, &isBefore); err != nil {
			return nil, err
		}
		if !amount.Valid {
			return nil, nil
		}
		keys, amounts = append(keys, lineHash(seed, id, source)), append(amounts, amount.Int64)
		if isBefore {
			before++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cents := reports.AllocateWithholdingCents(withheld, amounts)
	if cents == nil { // nothing to allocate over: every share 0, as the keyed allocation gives
		clear(amounts)
		cents = amounts
	}
	return &payoutShares{cents: cents, keys: keys, next: before - 1}, nil
}

// lineHash hashes a line's key (transaction id, revenue source).
func lineHash(seed maphash.Seed, id, source string) uint32 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(id)
	h.WriteByte(0)
	h.WriteString(source)
	return uint32(h.Sum64())
}

// centsOf is amount in cents, if it is whole cents that int64 holds.
func centsOf(amount decimal.Decimal) (int64, bool) {
	cents := amount.Shift(2)
	if !cents.IsInteger() {
		return 0, false
	}
	n := cents.BigInt()
	if !n.IsInt64() {
		return 0, false
	}
	return n.Int64(), true
}

// centsText writes cents as dollars with two decimals, as
// decimal.New(cents, -2).StringFixed(2) does: "0.05", "-12.30".
func centsText(cents int64) string {
	var buf [24]byte
	text := buf[:0]
	u := uint64(cents)
	if cents < 0 {
		text, u = append(text, '-'), -u
	}
	text = strconv.AppendUint(text, u/100, 10)
	text = append(text, '.', byte('0'+u%100/10), byte('0'+u%10))
	return string(text)
}
