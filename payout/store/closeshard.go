package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/pgbinary"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/tax"
	"github.com/payrun/payrun/tax/taxstore"
)

// closeShard closes one shard on a connection holding the shard's lock.
func (s *Store) closeShard(ctx context.Context, month time.Time, shard int, options CloseOptions, counter *atomic.Int64) error {
	if shard < 0 || shard >= MaxShards {
		return fmt.Errorf("%w: %d", ErrBadShard, shard)
	}
	what := fmt.Sprintf("the lock of shard %d of %s (another worker is closing it)", shard, payout.MonthName(month))
	return s.withLock(ctx, shardLockClass, monthKey(month)*MaxShards+int32(shard), what, func(conn *pgx.Conn) error {
		return s.runShard(ctx, &session{conn: conn}, month, shard, options, counter)
	})
}

// shardPlan is what a shard needs from its cycle.
type shardPlan struct {
	calendar payout.Calendar
	policy   payout.Policy
	treaties *tax.TreatyTable
	// rates are the cycle's FX rates loaded before its close started (the
	// rail limit's conversion, SPEC §6.4). Rates loaded later are left out
	// (a currency's first rate can still arrive after the close): every
	// shard, and a close resumed after a crash, sees the same ones.
	rates map[string]decimal.Decimal
}

// runShard decides the shard's accounts in account id order, a batch per
// transaction. Each transaction writes the batch's payouts rows and journal
// entry and moves the shard's resume pointer; the one that finds the shard
// exhausted marks it done (and, with the cycle's row locked, tells
// options.ShardDone whether every shard is now done).
//
// Deciding is Go's work and writing the database's, so they overlap: a
// transaction reads the next batch's input before it writes its own, and
// that batch is decided (decideAhead) while this one is written. The input
// is frozen, so reading it a transaction early reads the same rows; the
// batches, and so every row and entry, are the ones a batch-by-batch close
// writes, and a transaction that does not commit only wastes the batch it
// read ahead.
func (s *Store) runShard(ctx context.Context, ses *session, month time.Time, shard int, options CloseOptions, counter *atomic.Int64) error {
	defer func() {
		if !ses.dry {
			ses.rollback()
		}
	}()
	var plan *shardPlan
	var ahead *decided
	for {
		tx, err := ses.begin(ctx)
		if err != nil {
			return err
		}
		var state string
		var resumeAfter, accountsDone int64
		var doneAt *time.Time
		err = tx.QueryRow(ctx, `
			SELECT c.state, s.resume_after, s.accounts_done, s.done_at
			FROM cycles c JOIN cycle_shards s ON s.month = c.month WHERE c.month = $1 AND s.shard = $2`,
			month, shard).Scan(&state, &resumeAfter, &accountsDone, &doneAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return s.noShard(ctx, tx, month, shard)
		}
		if err != nil {
			return err
		}
		if state != StateClosing || doneAt != nil {
			return ses.commit(ctx) // closed meanwhile, or done by another worker
		}
		if plan == nil {
			if plan, err = s.planShard(ctx, tx, month); err != nil {
				return err
			}
		}
		var batch []payout.Decision
		if ahead != nil && ahead.after == resumeAfter {
			<-ahead.done
			batch, err = ahead.batch, ahead.err
		} else {
			batch, err = s.decideBatch(ctx, tx, plan, shard, resumeAfter, options.BatchSize)
		}
		ahead = nil
		if err != nil {
			return err
		}
		last := len(batch) < options.BatchSize
		if !last {
			after := batch[len(batch)-1].AccountID
			inputs, err := s.readBatch(ctx, tx, plan, shard, after, options.BatchSize)
			if err != nil {
				return err
			}
			ahead = decideAhead(plan, after, inputs)
		}
		if last {
			// Lock the cycle first: shards finishing at the same moment take
			// turns, so exactly one of them sees every shard done.
			if _, err := tx.Exec(ctx, `SELECT 1 FROM cycles WHERE month = $1 FOR UPDATE`, month); err != nil {
				return err
			}
		}
		if len(batch) > 0 {
			if err := s.writeBatch(ctx, tx, plan.calendar, batch, options.Fault); err != nil {
				return err
			}
			if err := options.Fault("before_batch_commit"); err != nil {
				return err
			}
			resumeAfter = batch[len(batch)-1].AccountID
			accountsDone += int64(len(batch))
		}
		var doneBy any
		if last {
			doneBy = options.Actor
		}
		if _, err := tx.Exec(ctx, `
			UPDATE cycle_shards SET resume_after = $3, accounts_done = $4,
			       done_at = CASE WHEN $5::text IS NULL THEN NULL ELSE $6::timestamptz END, done_by = $5
			 WHERE month = $1 AND shard = $2`, month, shard, resumeAfter, accountsDone, doneBy, s.now()); err != nil {
			return fmt.Errorf("shard %d: %w", shard, err)
		}
		if last && options.ShardDone != nil {
			var allDone bool
			if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM cycle_shards WHERE month = $1 AND done_at IS NULL)`, month).Scan(&allDone); err != nil {
				return err
			}
			if err := options.ShardDone(ctx, tx, allDone); err != nil {
				return err
			}
		}
		if err := ses.commit(ctx); err != nil {
			return err
		}
		if len(batch) > 0 {
			total := counter.Add(int64(len(batch)))
			if options.Progress != nil {
				options.Progress(total)
			}
			if err := options.Fault("after_batch_commit"); err != nil {
				return err
			}
		}
		if last {
			return nil
		}
	}
}

// noShard explains a missing cycle_shards row.
func (s *Store) noShard(ctx context.Context, tx pgx.Tx, month time.Time, shard int) error {
	var shards int
	err := tx.QueryRow(ctx, `SELECT shards FROM cycles WHERE month = $1`, month).Scan(&shards)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrUnknownCycle, payout.MonthName(month))
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s has shards 0..%d, not %d", ErrBadShard, payout.MonthName(month), shards-1, shard)
}

// planShard reads the cycle's recorded policy, treaty table and the FX rates
// loaded before the close started.
func (s *Store) planShard(ctx context.Context, tx pgx.Tx, month time.Time) (*shardPlan, error) {
	var policyJSON []byte
	var treatySHA string
	if err := tx.QueryRow(ctx, `SELECT policy, treaty_sha256 FROM cycles WHERE month = $1`, month).Scan(&policyJSON, &treatySHA); err != nil {
		return nil, err
	}
	var policy payout.Policy
	if err := json.Unmarshal(policyJSON, &policy); err != nil {
		return nil, fmt.Errorf("cycle policy: %w", err)
	}
	treaties, err := taxstore.TreatyTableByVersion(ctx, s.DB, treatySHA)
	if err != nil {
		return nil, fmt.Errorf("cycle treaty table %s: %w", treatySHA, err)
	}
	rates, err := closeRates(ctx, tx, month)
	if err != nil {
		return nil, err
	}
	return &shardPlan{calendar: policy.CalendarFor(month), policy: policy, treaties: treaties, rates: rates}, nil
}

// closeRates are month's FX rates loaded strictly before the cycle's first
// closing event: rates cannot change once the cycle is closing (migration
// 130), and one first loaded later does not count, so the answer is the
// same for every shard and every resumed run.
func closeRates(ctx context.Context, tx pgx.Tx, month time.Time) (map[string]decimal.Decimal, error) {
	rows, err := tx.Query(ctx, `
		SELECT currency, rate FROM fx_rates
		WHERE month = $1 AND loaded_at < (SELECT min(at) FROM cycle_events WHERE month = $1 AND state = $2)`, month, StateClosing)
	if err != nil {
		return nil, fmt.Errorf("cycle FX rates: %w", err)
	}
	defer rows.Close()
	rates := map[string]decimal.Decimal{}
	for rows.Next() {
		var currency string
		var rate decimal.Decimal
		if err := rows.Scan(&currency, &rate); err != nil {
			return nil, err
		}
		rates[currency] = rate
	}
	return rates, rows.Err()
}

// decided is a batch being decided in the background: the accounts after
// after, their decisions once done is closed.
type decided struct {
	after int64
	done  chan struct{}
	batch []payout.Decision
	err   error
}

// decideAhead decides inputs (the accounts after after) in the background.
func decideAhead(plan *shardPlan, after int64, inputs []snapshotRow) *decided {
	d := &decided{after: after, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		d.batch, d.err = decideAll(plan, inputs)
	}()
	return d
}

// decideBatch reads the next batch of the shard's frozen input (keyset:
// account ids after resumeAfter) and decides each account.
func (s *Store) decideBatch(ctx context.Context, tx pgx.Tx, plan *shardPlan, shard int, resumeAfter int64, size int) ([]payout.Decision, error) {
	inputs, err := s.readBatch(ctx, tx, plan, shard, resumeAfter, size)
	if err != nil {
		return nil, err
	}
	return decideAll(plan, inputs)
}

// readBatch reads the next batch of the shard's frozen input: the accounts
// after resumeAfter, in id order, at most size.
func (s *Store) readBatch(ctx context.Context, tx pgx.Tx, plan *shardPlan, shard int, resumeAfter int64, size int) ([]snapshotRow, error) {
	rows, err := tx.Query(ctx, shardInputQuery, plan.calendar.Month, shard, resumeAfter, size)
	if err != nil {
		return nil, fmt.Errorf("shard %d input: %w", shard, err)
	}
	defer rows.Close()
	var inputs []snapshotRow
	for rows.Next() {
		var r snapshotRow
		var form taxstore.DecisionFields
		if err := rows.Scan(&r.AccountID, &r.SellerID, &r.OpeningUS, &r.OpeningOther, &r.NewUS, &r.NewOther, &r.AccountStatus, &r.HoldOn,
			&r.AgreementHold, &r.PayoutAccountID, &r.Method, &r.Currency, &r.BankCountry, &r.PayoutAccountStatus,
			&r.TaxFormID, &form.Form, &form.LegalName, &form.SignedOn, &form.Treaty, &form.TreatyCountry, &form.TreatyIncome, &form.TINDigest,
			&r.SubmittedAt, &r.TINMatchFailed, &r.Changes); err != nil {
			return nil, fmt.Errorf("shard %d input: %w", shard, err)
		}
		if r.TaxFormID.Valid {
			form.ID, form.SubmittedAt, form.TINMatchFailed = r.TaxFormID.Int64, r.SubmittedAt.Time, r.TINMatchFailed
			r.Form = &form
		}
		inputs = append(inputs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("shard %d input: %w", shard, err)
	}
	return inputs, nil
}

// shardInputQuery reads a batch of a shard's frozen input: month ($1),
// shard ($2), account ids after $3, at most $4. Of the tax form it reads
// only what the decision needs (taxstore.DecisionFields), never the whole
// submission's JSON.
var shardInputQuery = `
	SELECT i.account_id, i.seller_id, i.opening_us, i.opening_other, i.new_us, i.new_other, i.account_status, i.hold_on,
	       i.agreement_hold, i.payout_account_id, i.method, i.currency, i.bank_country, i.payout_account_status,
	       i.tax_form_id, ` + taxstore.DecisionColumns("tf") + `, i.submitted_at, i.tin_match_failed, i.changes
	FROM cycle_inputs i LEFT JOIN tax_forms tf ON tf.id = i.tax_form_id
	WHERE i.month = $1 AND i.shard = $2 AND i.account_id > $3
	ORDER BY i.account_id LIMIT $4`

// decideAll decides inputs in order, on every CPU: the tax form's JSON and
// the decision are pure CPU work (most of a shard's Go time) while the
// database waits, so a shard closed alone still uses every core. The result,
// and the error when several inputs fail (the first in order), do not depend
// on the number of CPUs.
func decideAll(plan *shardPlan, inputs []snapshotRow) ([]payout.Decision, error) {
	batch := make([]payout.Decision, len(inputs))
	errs := make([]error, len(inputs))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(inputs)/decideChunk))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				start := int(next.Add(decideChunk)) - decideChunk
				if start >= len(inputs) {
					return
				}
				for i := start; i < min(start+decideChunk, len(inputs)); i++ {
					snapshot, err := inputs[i].snapshot(plan.calendar.Cutoff)
					if snapshot.PayoutAccount != nil {
						snapshot.FXRate = plan.rates[snapshot.PayoutAccount.Currency]
					}
					if err == nil {
						batch[i], err = payout.Decide(plan.calendar, plan.policy, plan.treaties, snapshot)
					}
					errs[i] = err
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return batch, nil
}

// decideChunk is how many inputs a decideAll worker takes at a time.
const decideChunk = 64

type snapshotRow struct {
	AccountID           int64
	SellerID            string
	OpeningUS           decimal.Decimal
	OpeningOther        decimal.Decimal
	NewUS               decimal.Decimal
	NewOther            decimal.Decimal
	AccountStatus       string
	HoldOn              bool
	AgreementHold       bool
	PayoutAccountID     sql.NullInt64
	Method              string
	Currency            string
	BankCountry         string
	PayoutAccountStatus string
	TaxFormID           sql.NullInt64
	// The form as a decision reads it (the close), or else the whole
	// submission and the TIN's digest (Record decodes them).
	Form           *taxstore.DecisionFields
	Submission     []byte
	TINDigest      []byte
	SubmittedAt    sql.NullTime
	TINMatchFailed bool
	Changes        []byte
}

func (r snapshotRow) snapshot(cutoff time.Time) (payout.Snapshot, error) {
	s := payout.Snapshot{
		AccountID: r.AccountID, SellerID: r.SellerID,
		OpeningUS: r.OpeningUS, OpeningOther: r.OpeningOther, NewUS: r.NewUS, NewOther: r.NewOther,
		AccountStatus: r.AccountStatus, HoldOn: r.HoldOn, AgreementHold: r.AgreementHold,
	}
	if r.PayoutAccountID.Valid {
		s.PayoutAccount = &payout.PayoutAccountState{ID: r.PayoutAccountID.Int64, Method: payout.Method(r.Method),
			Status: r.PayoutAccountStatus, Currency: r.Currency, BankCountry: r.BankCountry}
	}
	if !r.TaxFormID.Valid {
		s.Tax = tax.StandingAt(nil, nil, cutoff)
		return s, nil
	}
	var record tax.Record
	var err error
	if r.Form != nil {
		record, err = r.Form.Record()
	} else {
		record, err = taxstore.Row{ID: r.TaxFormID.Int64, Submission: r.Submission, TINDigest: r.TINDigest,
			SubmittedAt: r.SubmittedAt.Time, TINMatchFailed: r.TINMatchFailed}.Record()
	}
	if err != nil {
		return s, err
	}
	var changes []taxstore.ChangeRow
	// Nearly every account has no change since its form: nothing to decode.
	if string(r.Changes) != "[]" {
		if err := json.Unmarshal(r.Changes, &changes); err != nil {
			return s, fmt.Errorf("account %d: profile changes: %w", r.AccountID, err)
		}
	}
	s.Tax = tax.StandingAt([]tax.Record{record}, taxstore.Changes(changes), cutoff)
	return s, nil
}

// writeBatch writes one batch of decisions: the payouts rows (one COPY, in
// its binary format) and one balanced journal entry for the paid accounts
// among them.
func (s *Store) writeBatch(ctx context.Context, tx pgx.Tx, calendar payout.Calendar, batch []payout.Decision, fault Fault) error {
	var postings []ledger.Posting
	withheld, inTransit := decimal.Zero, decimal.Zero
	buf := append(make([]byte, 0, len(pgbinary.Header)+len(batch)*payoutRowBytes+len(pgbinary.Trailer)), pgbinary.Header...)
	var reasons []string
	for _, d := range batch {
		reasons = reasons[:0]
		for _, r := range d.Reasons {
			reasons = append(reasons, string(r))
		}
		buf = pgbinary.AppendTupleStart(buf, len(payoutColumns))
		buf = pgbinary.AppendDate(buf, calendar.Month)
		buf = pgbinary.AppendInt8(buf, d.AccountID)
		buf = pgbinary.AppendText(buf, string(d.Status))
		buf = pgbinary.AppendTextArray(buf, reasons)
		for _, amount := range []decimal.Decimal{d.OpeningUS, d.OpeningOther, d.NewUS, d.NewOther, d.BalanceUS, d.BalanceOther, d.WithholdingBase} {
			buf = pgbinary.AppendDecimal(buf, amount)
		}
		paid := d.Status == payout.Paid
		if paid {
			buf = pgbinary.AppendDecimal(buf, d.Rate)
		} else {
			buf = pgbinary.AppendNull(buf)
		}
		buf = pgbinary.AppendText(buf, d.RateReason)
		for _, amount := range []decimal.Decimal{d.Withheld, d.Paid, d.CarriedUS, d.CarriedOther} {
			buf = pgbinary.AppendDecimal(buf, amount)
		}
		if d.PayoutAccount != nil {
			buf = pgbinary.AppendInt8(buf, d.PayoutAccount.ID)
			buf = pgbinary.AppendText(buf, string(d.PayoutAccount.Method))
			buf = pgbinary.AppendText(buf, d.PayoutAccount.Currency)
		} else {
			buf = pgbinary.AppendNull(pgbinary.AppendNull(pgbinary.AppendNull(buf)))
		}
		if paid {
			buf = pgbinary.AppendText(buf, payout.PaymentID(calendar.Month, d.AccountID))
			postings = append(postings,
				ledger.Posting{LedgerAccount: ledger.PublisherAccount(d.AccountID, true), Amount: d.CarriedUS.Sub(d.BalanceUS)},
				ledger.Posting{LedgerAccount: ledger.PublisherAccount(d.AccountID, false), Amount: d.CarriedOther.Sub(d.BalanceOther)})
			withheld = withheld.Add(d.Withheld)
			inTransit = inTransit.Add(d.Paid)
		} else {
			buf = pgbinary.AppendNull(buf)
		}
	}
	buf = append(buf, pgbinary.Trailer...)
	if _, err := pgbinary.Copy(ctx, tx.Conn().PgConn(), "payouts", payoutColumns, bytes.NewReader(buf)); err != nil {
		return fmt.Errorf("write payouts: %w", err)
	}
	if err := fault("mid_batch"); err != nil {
		return err
	}
	if len(postings) == 0 {
		return nil
	}
	postings = append(postings,
		ledger.Posting{LedgerAccount: ledger.USWithholding, Amount: withheld},
		ledger.Posting{LedgerAccount: ledger.PaymentsInTransit, Amount: inTransit})
	_, err := ledger.Post(ctx, tx, ledger.Transaction{
		Kind:      ledger.KindPayout,
		Reference: ledger.PayoutReference(payout.MonthName(calendar.Month), batch[0].AccountID),
		PostedAt:  s.now(),
		Postings:  postings,
	})
	return err
}

// payoutRowBytes is about what one payouts row takes in COPY's binary format.
const payoutRowBytes = 320

var payoutColumns = []string{"month", "account_id", "status", "reasons", "opening_us", "opening_other", "new_us", "new_other",
	"balance_us", "balance_other", "withholding_base", "rate", "rate_reason", "withheld", "paid_usd", "carried_us", "carried_other",
	"payout_account_id", "method", "currency", "payment_id"}
