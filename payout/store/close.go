package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/tax"
	"github.com/payrun/payrun/tax/taxstore"
)

// Ledger accounts the close posts to.
const (
	USWithholding     = "tax:us_withholding"
	PaymentsInTransit = "payments:in_transit"
)

// Cycle states (SPEC §3.4).
const (
	StateOpen             = "open"
	StateClosing          = "closing"
	StateClosed           = "closed"
	StateAwaitingApproval = "awaiting_approval"
	StateReleased         = "released"
	StateSettled          = "settled"
)

// DefaultBatchSize is how many accounts one close transaction writes: big
// enough that per-transaction overhead vanishes, small enough that a crash
// loses little work and locks stay short.
const DefaultBatchSize = 2000

// closeLockClass is the first key of the two-key advisory lock a close holds
// on its month for its whole run ("payr" in ASCII); the second is YYYYMM.
const closeLockClass int32 = 0x70617972

// Errors callers branch on.
var (
	ErrFutureMonth   = errors.New("the cycle's cutoff has not passed yet")
	ErrPreviousOpen  = errors.New("the previous cycle is not closed")
	ErrLaterCycle    = errors.New("a later cycle exists")
	ErrUnknownCycle  = errors.New("no such cycle")
	ErrNotApprovable = errors.New("cycle is not awaiting approval")
	ErrSameOperator  = errors.New("the approver must not be the operator who closed the cycle")
	ErrNotReleasable = errors.New("cycle cannot be released in its state")
)

// Fault is called at named points of the close (see FaultPoints). A non-nil
// error aborts the close there, as a crash would; tests and the simulator
// use it to prove a resumed close gives the same result.
type Fault func(point string) error

// FaultPoints are the named points of a close, in order.
var FaultPoints = []string{"after_start", "mid_batch", "before_batch_commit", "after_batch_commit", "before_finish"}

// CloseOptions configure one close.
type CloseOptions struct {
	Month     time.Time
	Policy    payout.Policy // used when the cycle starts; a resumed close keeps the recorded one
	Actor     string
	DryRun    bool
	BatchSize int
	Fault     Fault
	// Progress, when set, gets the number of accounts decided so far.
	Progress func(accounts int64)
	// Report, when set, writes the cycle's reports from q: inside the
	// transaction a dry run rolls back, or after a close commits (and when
	// the cycle was already closed, to restore a missing workbook).
	Report func(ctx context.Context, q Querier) error
}

// Querier reads: what pgx.Tx and *pgx.Conn share.
type Querier = querier

// CloseResult reports a close.
type CloseResult struct {
	Month         string `json:"month"`
	State         string `json:"state"`
	AlreadyClosed bool   `json:"already_closed"`
	Resumed       bool   `json:"resumed"`
	DryRun        bool   `json:"dry_run"`
	Totals        Totals `json:"totals"`
}

// Close closes a cycle exactly once (SPEC §3.4). Two closes of one month
// serialise on an advisory lock; the second finds the cycle closed and
// reports AlreadyClosed without changing anything. A close that crashed is
// resumed after its last committed batch and ends with exactly the result an
// uninterrupted close would have. A dry run computes everything in one
// transaction and rolls it back.
// Errors: ErrFutureMonth, ErrPreviousOpen, ErrLaterCycle, a fault's error.
func (s *Store) Close(ctx context.Context, options CloseOptions) (CloseResult, error) {
	calendar := options.Policy.CalendarFor(options.Month)
	if err := options.Policy.Validate(); err != nil {
		return CloseResult{}, err
	}
	now := s.now()
	if now.Before(calendar.Cutoff) {
		return CloseResult{}, fmt.Errorf("%w: %s closes after %s (now %s)", ErrFutureMonth, payout.MonthName(calendar.Month), calendar.Cutoff.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if options.BatchSize <= 0 {
		options.BatchSize = DefaultBatchSize
	}
	fault := options.Fault
	if fault == nil {
		fault = func(string) error { return nil }
	}
	var result CloseResult
	err := db.WithPgx(ctx, s.DB, func(lockConn *pgx.Conn) error {
		key := int32(calendar.Month.Year()*100 + int(calendar.Month.Month()))
		if _, err := lockConn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, closeLockClass, key); err != nil {
			return err
		}
		defer func() {
			unlockCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = lockConn.Exec(unlockCtx, `SELECT pg_advisory_unlock($1, $2)`, closeLockClass, key)
		}()
		var err error
		result, err = s.close(ctx, lockConn, calendar, options, fault)
		return err
	})
	return result, err
}

// cycleRow is a cycles row.
type cycleRow struct {
	Month        time.Time
	State        string
	Policy       []byte
	TreatySHA    string
	ResumeAfter  int64
	AccountsDone int64
}

// close runs on writer, the connection holding the cycle's advisory lock:
// the snapshot streams on another connection of the pool.
func (s *Store) close(ctx context.Context, writer *pgx.Conn, calendar payout.Calendar, options CloseOptions, fault Fault) (CloseResult, error) {
	result := CloseResult{Month: payout.MonthName(calendar.Month), DryRun: options.DryRun}
	var tx pgx.Tx
	begin := func() error {
		if tx != nil && options.DryRun {
			return nil // a dry run is one transaction
		}
		var err error
		tx, err = writer.Begin(ctx)
		return err
	}
	commit := func() error {
		if options.DryRun {
			return nil
		}
		err := tx.Commit(ctx)
		tx = nil
		return err
	}
	defer func() {
		if tx != nil {
			rollbackCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = tx.Rollback(rollbackCtx)
		}
	}()

	// Start (or find) the cycle.
	if err := begin(); err != nil {
		return result, err
	}
	cycle, previous, err := s.startCycle(ctx, tx, calendar, options)
	if err != nil {
		return result, err
	}
	if cycle.State != StateClosing {
		result.State, result.AlreadyClosed = cycle.State, true
		if result.Totals, err = cycleTotals(ctx, tx, calendar.Month); err != nil {
			return result, err
		}
		if options.Report != nil && !options.DryRun {
			return result, options.Report(ctx, tx)
		}
		return result, nil
	}
	result.Resumed = cycle.ResumeAfter > 0
	var policy payout.Policy
	if err := json.Unmarshal(cycle.Policy, &policy); err != nil {
		return result, fmt.Errorf("cycle policy: %w", err)
	}
	treaties, err := taxstore.TreatyTableByVersion(ctx, s.DB, cycle.TreatySHA)
	if err != nil {
		return result, fmt.Errorf("cycle treaty table %s: %w", cycle.TreatySHA, err)
	}
	if err := commit(); err != nil {
		return result, err
	}
	if err := fault("after_start"); err != nil {
		return result, err
	}

	// Stream snapshots (reader connection) and write decisions in batches
	// (writer connection).
	prevCutoff := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	if previous != nil {
		prevCutoff = *previous
	}
	done := cycle.AccountsDone
	batch := make([]payout.Decision, 0, options.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := begin(); err != nil {
			return err
		}
		if err := s.writeBatch(ctx, tx, calendar, batch, fault); err != nil {
			return err
		}
		if err := fault("before_batch_commit"); err != nil {
			return err
		}
		done += int64(len(batch))
		if _, err := tx.Exec(ctx, `UPDATE cycles SET resume_after = $2, accounts_done = $3 WHERE month = $1`,
			calendar.Month, batch[len(batch)-1].AccountID, done); err != nil {
			return err
		}
		if err := commit(); err != nil {
			return err
		}
		if options.Progress != nil {
			options.Progress(done)
		}
		batch = batch[:0]
		return fault("after_batch_commit")
	}
	err = s.streamSnapshots(ctx, calendar, prevCutoff, cycle.ResumeAfter, func(snapshot payout.Snapshot) error {
		decision, err := payout.Decide(calendar, policy, treaties, snapshot)
		if err != nil {
			return err
		}
		batch = append(batch, decision)
		if len(batch) >= options.BatchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return result, err
	}
	if err := flush(); err != nil {
		return result, err
	}
	if err := fault("before_finish"); err != nil {
		return result, err
	}

	// Finish: totals, checks, state.
	if err := begin(); err != nil {
		return result, err
	}
	totals, err := cycleTotals(ctx, tx, calendar.Month)
	if err != nil {
		return result, err
	}
	if err := totals.check(); err != nil {
		return result, err
	}
	state := StateClosed
	if policy.Approval {
		state = StateAwaitingApproval
	}
	body, err := json.Marshal(totals)
	if err != nil {
		return result, err
	}
	now := s.now()
	if _, err := tx.Exec(ctx, `UPDATE cycles SET state = $2, totals = $3, closed_at = $4, closed_by = $5 WHERE month = $1`,
		calendar.Month, state, body, now, options.Actor); err != nil {
		return result, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO cycle_events (month, state, at, actor) VALUES ($1, $2, $3, $4)`, calendar.Month, state, now, options.Actor); err != nil {
		return result, err
	}
	if options.DryRun {
		result.State, result.Totals = state, totals
		if options.Report != nil {
			if err := options.Report(ctx, tx); err != nil {
				return result, err
			}
		}
		err := tx.Rollback(ctx)
		tx = nil
		return result, err
	}
	if err := commit(); err != nil {
		return result, err
	}
	result.State, result.Totals = state, totals
	if options.Report != nil {
		return result, options.Report(ctx, writer)
	}
	return result, nil
}

// startCycle creates the cycle row (state closing) or finds it, checks the
// order of cycles, and returns the previous cycle's cutoff (nil for the
// first cycle ever).
func (s *Store) startCycle(ctx context.Context, tx pgx.Tx, calendar payout.Calendar, options CloseOptions) (cycleRow, *time.Time, error) {
	var cycle cycleRow
	err := tx.QueryRow(ctx, `SELECT month, state, policy, treaty_sha256, resume_after, accounts_done FROM cycles WHERE month = $1 FOR UPDATE`,
		calendar.Month).Scan(&cycle.Month, &cycle.State, &cycle.Policy, &cycle.TreatySHA, &cycle.ResumeAfter, &cycle.AccountsDone)
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return cycle, nil, err
	}
	var previous *time.Time
	var earlier *time.Time
	if err := tx.QueryRow(ctx, `SELECT max(month) FROM cycles WHERE month < $1`, calendar.Month).Scan(&earlier); err != nil {
		return cycle, nil, err
	}
	if earlier != nil {
		expected := calendar.Month.AddDate(0, -1, 0)
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM cycles WHERE month = $1`, expected).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && (state == StateOpen || state == StateClosing)) {
			return cycle, nil, fmt.Errorf("%w: close %s before %s", ErrPreviousOpen, payout.MonthName(expected), payout.MonthName(calendar.Month))
		}
		if err != nil {
			return cycle, nil, err
		}
		previous = &expected
	}
	if found && cycle.State != StateOpen {
		return cycle, previous, nil
	}
	var later bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cycles WHERE month > $1 AND state <> 'open')`, calendar.Month).Scan(&later); err != nil {
		return cycle, nil, err
	}
	if later {
		return cycle, nil, fmt.Errorf("%w than %s", ErrLaterCycle, payout.MonthName(calendar.Month))
	}
	// Every import that could stamp lines before the cutoff has committed
	// once we hold the import lock exclusively (see ledger.ImportLockKey).
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, ledger.ImportLockKey); err != nil {
		return cycle, nil, err
	}
	treaties, err := taxstore.TreatyTableAt(ctx, s.DB, calendar.CloseAt)
	if err != nil {
		return cycle, nil, err
	}
	policy, err := json.Marshal(options.Policy)
	if err != nil {
		return cycle, nil, err
	}
	now := s.now()
	if _, err := tx.Exec(ctx, `
		INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256) VALUES ($1, 'closing', $2, $3, $4, $5)
		ON CONFLICT (month) DO UPDATE SET state = 'closing', policy = excluded.policy, treaty_sha256 = excluded.treaty_sha256`,
		calendar.Month, calendar.Cutoff, calendar.PaymentDate, policy, treaties.Version()); err != nil {
		return cycle, nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO cycle_events (month, state, at, actor) VALUES ($1, 'closing', $2, $3)`, calendar.Month, now, options.Actor); err != nil {
		return cycle, nil, err
	}
	cycle = cycleRow{Month: calendar.Month, State: StateClosing, Policy: policy, TreatySHA: treaties.Version()}
	return cycle, previous, nil
}

// writeBatch writes one batch of decisions: the payouts rows (COPY) and one
// balanced journal entry for the paid accounts among them.
func (s *Store) writeBatch(ctx context.Context, tx pgx.Tx, calendar payout.Calendar, batch []payout.Decision, fault Fault) error {
	rows := make([][]any, 0, len(batch))
	var postings []ledger.Posting
	withheld, inTransit := decimal.Zero, decimal.Zero
	for _, d := range batch {
		var payoutAccountID, method, currency, paymentID, rate any
		if d.PayoutAccount != nil {
			payoutAccountID, method, currency = d.PayoutAccount.ID, string(d.PayoutAccount.Method), d.PayoutAccount.Currency
		}
		if d.Status == payout.Paid {
			paymentID = payout.PaymentID(calendar.Month, d.AccountID)
			rate = d.Rate
			postings = append(postings,
				ledger.Posting{LedgerAccount: ledger.PublisherAccount(d.AccountID, true), Amount: d.CarriedUS.Sub(d.BalanceUS)},
				ledger.Posting{LedgerAccount: ledger.PublisherAccount(d.AccountID, false), Amount: d.CarriedOther.Sub(d.BalanceOther)})
			withheld = withheld.Add(d.Withheld)
			inTransit = inTransit.Add(d.Paid)
		}
		reasons := make([]string, len(d.Reasons))
		for i, r := range d.Reasons {
			reasons[i] = string(r)
		}
		rows = append(rows, []any{calendar.Month, d.AccountID, string(d.Status), reasons,
			d.OpeningUS, d.OpeningOther, d.NewUS, d.NewOther, d.BalanceUS, d.BalanceOther,
			d.WithholdingBase, rate, d.RateReason, d.Withheld, d.Paid, d.CarriedUS, d.CarriedOther,
			payoutAccountID, method, currency, paymentID})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"payouts"}, payoutColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("write payouts: %w", err)
	}
	if err := fault("mid_batch"); err != nil {
		return err
	}
	if len(postings) == 0 {
		return nil
	}
	postings = append(postings,
		ledger.Posting{LedgerAccount: USWithholding, Amount: withheld},
		ledger.Posting{LedgerAccount: PaymentsInTransit, Amount: inTransit})
	_, err := ledger.Post(ctx, tx, ledger.Transaction{
		Kind:      "payout",
		Reference: payoutReference(calendar.Month, batch[0].AccountID),
		PostedAt:  s.now(),
		Postings:  postings,
	})
	return err
}

var payoutColumns = []string{"month", "account_id", "status", "reasons", "opening_us", "opening_other", "new_us", "new_other",
	"balance_us", "balance_other", "withholding_base", "rate", "rate_reason", "withheld", "paid_usd", "carried_us", "carried_other",
	"payout_account_id", "method", "currency", "payment_id"}

// snapshotQuery reads, for every account with a non-zero balance in the
// cycle, everything payout.Decide needs as of the cutoff. Cost follows the
// month: the previous cycle's payouts rows, the returns recorded in the
// window, and the earnings lines with available_at in [previous cutoff,
// cutoff) — never older lines.
const snapshotQuery = `
WITH parts AS (
    SELECT account_id, carried_us AS opening_us, carried_other AS opening_other, 0::numeric AS new_us, 0::numeric AS new_other
      FROM payouts WHERE month = $3 AND account_id > $4
    UNION ALL
    SELECT account_id, 0, amount_usd, 0, 0
      FROM payout_returns WHERE recorded_at >= $2 AND recorded_at < $1 AND account_id > $4
    UNION ALL
    SELECT account_id, 0, 0, coalesce(sum(amount) FILTER (WHERE market = 'US'), 0), coalesce(sum(amount) FILTER (WHERE market <> 'US'), 0)
      FROM earnings_lines WHERE available_at >= $2 AND available_at < $1 AND account_id > $4
     GROUP BY account_id
), balances AS (
    SELECT account_id, sum(opening_us) AS opening_us, sum(opening_other) AS opening_other, sum(new_us) AS new_us, sum(new_other) AS new_other
      FROM parts GROUP BY account_id
    HAVING sum(opening_us) + sum(new_us) <> 0 OR sum(opening_other) + sum(new_other) <> 0
)
SELECT b.account_id, a.seller_id, b.opening_us, b.opening_other, b.new_us, b.new_other,
       coalesce(st.status, '') AS account_status,
       coalesce(h.hold_on, false) AS hold_on,
       EXISTS (SELECT 1 FROM agreements g
                WHERE g.required_for_payout AND g.published_at + make_interval(days => g.grace_days) <= $1
                  AND NOT EXISTS (SELECT 1 FROM agreement_acceptances x
                                   WHERE x.account_id = b.account_id AND x.name = g.name AND x.version >= g.version AND x.accepted_at < $1)) AS agreement_hold,
       pa.id AS payout_account_id, coalesce(pa.method, '') AS method, coalesce(pa.currency, '') AS currency,
       coalesce(pa.bank_country, '') AS bank_country, coalesce(pe.status, '') AS payout_account_status,
       tf.id AS tax_form_id, tf.submission, coalesce(tf.tin_digest, ''::bytea) AS tin_digest, tf.submitted_at,
       coalesce(EXISTS (SELECT 1 FROM tin_match_results m WHERE m.tax_form_id = tf.id AND NOT m.matched AND m.at < $1), false) AS tin_match_failed,
       coalesce((SELECT json_agg(json_build_object('at', c.at, 'legal_name', coalesce(c.legal_name, ''), 'tin_digest', coalesce(encode(c.tin_digest, 'hex'), '')) ORDER BY c.at, c.id)
                   FROM tax_profile_changes c WHERE c.account_id = b.account_id AND c.at >= tf.submitted_at AND c.at < $1), '[]') AS changes
FROM balances b
JOIN accounts a ON a.id = b.account_id
LEFT JOIN LATERAL (SELECT status FROM account_status_events WHERE account_id = b.account_id AND at < $1 ORDER BY at DESC, id DESC LIMIT 1) st ON true
LEFT JOIN LATERAL (SELECT hold_on FROM payment_hold_events WHERE account_id = b.account_id AND at < $1 ORDER BY at DESC, id DESC LIMIT 1) h ON true
LEFT JOIN LATERAL (SELECT id, method, currency, bank_country FROM payout_accounts WHERE account_id = b.account_id AND created_at < $1 ORDER BY created_at DESC, id DESC LIMIT 1) pa ON true
LEFT JOIN LATERAL (SELECT status FROM payout_account_events WHERE payout_account_id = pa.id AND at < $1 ORDER BY at DESC, id DESC LIMIT 1) pe ON true
LEFT JOIN LATERAL (SELECT id, submission, tin_digest, submitted_at FROM tax_forms WHERE account_id = b.account_id AND submitted_at < $1 ORDER BY submitted_at DESC, id DESC LIMIT 1) tf ON true
ORDER BY b.account_id`

type snapshotRow struct {
	AccountID           int64           `db:"account_id"`
	SellerID            string          `db:"seller_id"`
	OpeningUS           decimal.Decimal `db:"opening_us"`
	OpeningOther        decimal.Decimal `db:"opening_other"`
	NewUS               decimal.Decimal `db:"new_us"`
	NewOther            decimal.Decimal `db:"new_other"`
	AccountStatus       string          `db:"account_status"`
	HoldOn              bool            `db:"hold_on"`
	AgreementHold       bool            `db:"agreement_hold"`
	PayoutAccountID     sql.NullInt64   `db:"payout_account_id"`
	Method              string          `db:"method"`
	Currency            string          `db:"currency"`
	BankCountry         string          `db:"bank_country"`
	PayoutAccountStatus string          `db:"payout_account_status"`
	TaxFormID           sql.NullInt64   `db:"tax_form_id"`
	Submission          []byte          `db:"submission"`
	TINDigest           []byte          `db:"tin_digest"`
	SubmittedAt         sql.NullTime    `db:"submitted_at"`
	TINMatchFailed      bool            `db:"tin_match_failed"`
	Changes             []byte          `db:"changes"`
}

// streamSnapshots runs snapshotQuery on a connection of its own and hands
// each account's snapshot to fn, in account id order, holding one row at a
// time in memory.
func (s *Store) streamSnapshots(ctx context.Context, calendar payout.Calendar, prevCutoff time.Time, resumeAfter int64, fn func(payout.Snapshot) error) error {
	rows, err := s.DB.QueryxContext(ctx, snapshotQuery, calendar.Cutoff, prevCutoff, calendar.Month.AddDate(0, -1, 0), resumeAfter)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer rows.Close()
	var row snapshotRow
	for rows.Next() {
		row = snapshotRow{}
		if err := rows.StructScan(&row); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		snapshot, err := row.snapshot(calendar.Cutoff)
		if err != nil {
			return err
		}
		if err := fn(snapshot); err != nil {
			return err
		}
	}
	return rows.Err()
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
	record, err := taxstore.Row{ID: r.TaxFormID.Int64, Submission: r.Submission, TINDigest: r.TINDigest,
		SubmittedAt: r.SubmittedAt.Time, TINMatchFailed: r.TINMatchFailed}.Record()
	if err != nil {
		return s, err
	}
	var changes []taxstore.ChangeRow
	if err := json.Unmarshal(r.Changes, &changes); err != nil {
		return s, fmt.Errorf("account %d: profile changes: %w", r.AccountID, err)
	}
	s.Tax = tax.StandingAt([]tax.Record{record}, taxstore.Changes(changes), cutoff)
	return s, nil
}
