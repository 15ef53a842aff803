// Package store is the cycle's Postgres side: payout accounts and their
// verification, payment holds, account status, and the close itself.
//
// Every fact is an append-only history of timestamped events, read "as of"
// an instant with a strict `at < instant`: a change made exactly at a cutoff
// counts from the next cycle (SPEC §3.2). Times come from the injected clock
// and are passed to SQL explicitly; nothing here calls now().
//
// # The close in three steps
//
//  1. Start (one transaction, under the month's advisory lock): create the
//     cycle in state closing and freeze its input. One query reads every
//     account with a balance and, as of the cutoff, what payout.Decide
//     needs (balances from the month's earnings lines, the previous cycle's
//     carried amounts and the returns; the latest status, hold, payout
//     account, verification and tax form, each history read once and
//     hash-joined). It streams into cycle_inputs with COPY, each account
//     assigned to a shard by ShardOf (a hash of its id, modulo the cycle's
//     shard count, recorded on the cycle). One cycle_shards row per shard.
//  2. Shards (independent; any number at once, on any processes): a shard
//     reads its accounts from cycle_inputs in id order, a batch at a time,
//     decides each and writes, in one transaction per batch, the payouts
//     rows, one balanced journal entry and the shard's resume pointer. The
//     transaction of its last batch marks it done, with the cycle's row
//     locked so exactly one shard sees every shard done. A shard runs under
//     its own advisory lock; a crashed shard resumes after its last batch.
//  3. Finish (one transaction, under the month's lock): with every shard
//     done, check conservation, the journal against the payouts rows, and
//     one payouts row per frozen input; set closed (or awaiting_approval).
//
// Because the input is frozen and the shard count fixed when the cycle
// starts, the batches — and so every row and journal entry — are the same
// however many workers close the shards and in whatever order: Close with
// one worker or eight, or the jobs of `payrun serve` spread over replicas,
// give byte-identical results.
//
// The close never reads an earnings line: step 1 sums the month's
// earnings_totals, which every import writes beside its lines (one row per
// import, account, part and month of availability; package ledger,
// "Totals"). A cycle's window is whole months, so those rows add up to
// exactly the lines available in it, and the close's cost follows the
// publishers with a balance, not the lines.
//
// Close runs the three steps in one process (CloseOptions.Workers shards at
// a time); StartClose, CloseShard and FinishClose are the steps for the job
// queue (package jobs: close-start, close-shard, close-finish). DryRun runs
// them in one transaction it rolls back, after letting its caller read it.
// The store writes no file and calls nothing above it: payout/cycle, the
// application layer, composes these steps with the workbook, and is what
// the CLI, the jobs, the admin API and the simulator call.
//
// # Waiting for a lock, out loud
//
// A step can wait: for the month's close lock (another close starting or
// finishing it), a shard's lock (another worker on it), and above all the
// earnings import lock, which every running import holds (shared) until it
// commits — a close once waited 622 s behind a big import, saying nothing.
// Every such lock is taken with db.AcquireLock: try it first; when another
// session holds it, log (the context's logger, see package logging) what
// the step waits for and who holds it — the holders' pids, when their
// transactions started, what they run, how many others are queued — at once
// and every db.LockWaitReport (10 s), then wait in Postgres's own queue (so
// a stream of imports cannot starve the close) and log how long it took.
//
// Who closed a cycle is recorded as a Principal (an operator by id, or the
// system principal): see CloseOptions.Operator, Store.Operator and
// Store.Approve, and package payout's doc for the maker-checker rules.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/payout"
)

// Sealing contexts of payout account numbers.
const (
	accountNumberContext = "payout.account_number"
	ibanContext          = "payout.iban"
)

// Errors callers branch on.
var (
	ErrUnknownAccount       = errors.New("unknown account")
	ErrUnknownPayoutAccount = errors.New("unknown payout account")
	ErrBadTransition        = errors.New("verification result not allowed in this state")
	// ErrStale: the version the caller read (of a payout account or a
	// payment hold) is no longer the current one.
	ErrStale = errors.New("changed since it was read")
)

// AnyVersion, as the expected version of SetPayoutAccountIf or SetHoldIf,
// skips the lost-update check (the CLI and simulations act on the current
// state by definition).
const AnyVersion int64 = -1

// expectVersion locks the account's row and compares the caller's version
// with the current one (read by query, one int8). Errors: ErrUnknownAccount,
// ErrStale.
func expectVersion(ctx context.Context, tx *sqlx.Tx, accountID, expected int64, query string) error {
	var locked int64
	err := tx.GetContext(ctx, &locked, `SELECT id FROM accounts WHERE id = $1 FOR UPDATE`, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %d", ErrUnknownAccount, accountID)
	}
	if err != nil {
		return err
	}
	if expected == AnyVersion {
		return nil
	}
	var current int64
	if err := tx.GetContext(ctx, &current, query, accountID); err != nil {
		return err
	}
	if current != expected {
		return fmt.Errorf("%w: version %d, now %d", ErrStale, expected, current)
	}
	return nil
}

// Version queries: the newest row's id, 0 when there is none.
const (
	payoutAccountVersionQuery = `SELECT coalesce(max(id), 0) FROM payout_accounts WHERE account_id = $1`
	holdVersionQuery          = `SELECT coalesce(max(id), 0) FROM payment_hold_events WHERE account_id = $1`
)

// Store reads and writes the cycle's data.
type Store struct {
	DB     *sqlx.DB
	Sealer *secret.Sealer
	Clock  func() time.Time
}

func (s *Store) now() time.Time { return s.Clock().UTC() }

// PayoutAccountView is a payout account as payrun shows it: numbers masked.
type PayoutAccountView struct {
	ID            int64         `json:"id" db:"id"`
	AccountID     int64         `json:"-" db:"account_id"`
	Method        payout.Method `json:"method" db:"method"`
	HolderName    string        `json:"holder_name" db:"holder_name"`
	Currency      string        `json:"currency" db:"currency"`
	BankCountry   string        `json:"bank_country,omitempty" db:"bank_country"`
	AccountType   string        `json:"account_type,omitempty" db:"bank_account_type"`
	RoutingNumber string        `json:"routing_number,omitempty" db:"routing_number"`
	NumberMasked  string        `json:"account_number,omitempty" db:"number_masked"`
	BIC           string        `json:"bic,omitempty" db:"bic"`
	PayPalEmail   string        `json:"paypal_email,omitempty" db:"paypal_email"`
	Status        string        `json:"status" db:"status"`
	StatusReason  string        `json:"status_reason,omitempty" db:"status_reason"`
	CreatedAt     time.Time     `json:"created_at" db:"created_at"`
}

// SetPayoutAccount validates and stores a new payout account for an account.
// It replaces the previous one from now on (that one is never paid again) and
// starts pending_verification. Errors: *fielderr.List (AccountInput.Validate),
// ErrUnknownAccount.
func (s *Store) SetPayoutAccount(ctx context.Context, accountID int64, input payout.AccountInput, actor string) (PayoutAccountView, error) {
	return s.SetPayoutAccountIf(ctx, accountID, AnyVersion, input, actor)
}

// SetPayoutAccountIf is SetPayoutAccount when the current payout account is
// still the one the caller read: expected is its PayoutAccountView.ID (0 for
// none) or AnyVersion. Errors: those of SetPayoutAccount, ErrStale.
func (s *Store) SetPayoutAccountIf(ctx context.Context, accountID, expected int64, input payout.AccountInput, actor string) (PayoutAccountView, error) {
	in := input.Normalize()
	var registration string
	err := s.DB.GetContext(ctx, &registration, `SELECT registration_country FROM accounts WHERE id = $1`, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return PayoutAccountView{}, fmt.Errorf("%w: %d", ErrUnknownAccount, accountID)
	}
	if err != nil {
		return PayoutAccountView{}, err
	}
	if err := in.Validate(registration); err != nil {
		return PayoutAccountView{}, err
	}
	var numberSealed, ibanSealed []byte
	if in.Method == payout.Bank {
		if in.BankCountry == "US" {
			numberSealed, err = s.Sealer.Seal(in.AccountNumber, accountNumberContext)
		} else {
			ibanSealed, err = s.Sealer.Seal(in.IBAN, ibanContext)
		}
		if err != nil {
			return PayoutAccountView{}, err
		}
	}
	var address []byte
	if in.BillingAddress != nil {
		if address, err = json.Marshal(in.BillingAddress); err != nil {
			return PayoutAccountView{}, err
		}
	}
	now := s.now()
	var id int64
	err = db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if err := expectVersion(ctx, tx, accountID, expected, payoutAccountVersionQuery); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &id, `
			INSERT INTO payout_accounts (account_id, method, holder_name, currency, bank_country, bank_account_type, routing_number,
				account_number_sealed, iban_sealed, number_last4, bic, paypal_email, billing_address, phone, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			accountID, in.Method, in.HolderName, in.Currency, nullable(in.BankCountry), nullable(in.AccountType), nullable(in.RoutingNumber),
			numberSealed, ibanSealed, nullable(in.Last4()), nullable(in.BIC), nullable(in.PayPalEmail), address, nullable(in.Phone), now, actor); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO payout_account_events (payout_account_id, status, at, actor) VALUES ($1, $2, $3, $4)`,
			id, payout.PendingVerification, now, actor)
		return err
	})
	if err != nil {
		return PayoutAccountView{}, err
	}
	return s.payoutAccount(ctx, id, now.Add(time.Nanosecond))
}

// transitions lists the verification results allowed from each state.
var transitions = map[string][]string{
	payout.PendingVerification: {payout.Verified, payout.Rejected},
	payout.Verified:            {payout.NeedsUpdate, payout.Rejected},
	payout.Rejected:            {},
	payout.NeedsUpdate:         {},
}

// RecordVerification records a verification result (an operator's decision,
// an imported result, a prenote outcome or a returned payment): verified or
// rejected from pending_verification; needs_update (or rejected) from
// verified. Errors: ErrUnknownPayoutAccount, ErrBadTransition.
func (s *Store) RecordVerification(ctx context.Context, payoutAccountID int64, status, reason, actor string) error {
	return db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var current string
		err := tx.GetContext(ctx, &current, `
			SELECT e.status FROM payout_accounts a
			JOIN LATERAL (SELECT status FROM payout_account_events WHERE payout_account_id = a.id ORDER BY at DESC, id DESC LIMIT 1) e ON true
			WHERE a.id = $1 FOR UPDATE OF a`, payoutAccountID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrUnknownPayoutAccount, payoutAccountID)
		}
		if err != nil {
			return err
		}
		allowed := false
		for _, next := range transitions[current] {
			allowed = allowed || next == status
		}
		if !allowed {
			return fmt.Errorf("%w: %s → %s (payout account %d)", ErrBadTransition, current, status, payoutAccountID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO payout_account_events (payout_account_id, status, at, actor, reason) VALUES ($1, $2, $3, $4, $5)`,
			payoutAccountID, status, s.now(), actor, reason)
		return err
	})
}

// AutoVerify stands in for the bank's answer in simulations and demos (SPEC
// §6.1): every payout account still pending_verification that was created at
// least delay ago is verified. US bank accounts are left to ACH prenotes
// unless includeUS. It returns how many it verified.
func (s *Store) AutoVerify(ctx context.Context, delay time.Duration, includeUS bool) (int64, error) {
	now := s.now()
	result, err := s.DB.ExecContext(ctx, `
		INSERT INTO payout_account_events (payout_account_id, status, at, actor, reason)
		SELECT a.id, 'verified', $1, 'auto-verifier', 'no answer within the configured delay'
		FROM payout_accounts a
		JOIN LATERAL (SELECT status FROM payout_account_events WHERE payout_account_id = a.id ORDER BY at DESC, id DESC LIMIT 1) e ON true
		WHERE e.status = 'pending_verification' AND a.created_at <= $2
		  AND ($3 OR a.method = 'paypal' OR a.bank_country <> 'US')
		ORDER BY a.id`, now, now.Add(-delay), includeUS)
	if err != nil {
		return 0, err
	}
	return result.RowsAffected()
}

// PayoutAccountAt returns the payout account in force for an account at an
// instant (the newest created strictly before it), with its state then; nil
// when there is none.
func (s *Store) PayoutAccountAt(ctx context.Context, accountID int64, at time.Time) (*PayoutAccountView, error) {
	var id int64
	err := s.DB.GetContext(ctx, &id, `SELECT id FROM payout_accounts WHERE account_id = $1 AND created_at < $2 ORDER BY created_at DESC, id DESC LIMIT 1`, accountID, at.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	view, err := s.payoutAccount(ctx, id, at)
	return &view, err
}

func (s *Store) payoutAccount(ctx context.Context, id int64, at time.Time) (PayoutAccountView, error) {
	var view PayoutAccountView
	err := s.DB.GetContext(ctx, &view, `
		SELECT a.id, a.account_id, a.method, a.holder_name, a.currency, coalesce(a.bank_country, '') AS bank_country,
		       coalesce(a.bank_account_type, '') AS bank_account_type, coalesce(a.routing_number, '') AS routing_number,
		       CASE WHEN a.number_last4 IS NULL THEN '' ELSE '*****' || a.number_last4 END AS number_masked,
		       coalesce(a.bic, '') AS bic, coalesce(a.paypal_email, '') AS paypal_email, a.created_at,
		       coalesce(e.status, 'pending_verification') AS status, coalesce(e.reason, '') AS status_reason
		FROM payout_accounts a
		LEFT JOIN LATERAL (SELECT status, reason FROM payout_account_events
		                   WHERE payout_account_id = a.id AND at < $2 ORDER BY at DESC, id DESC LIMIT 1) e ON true
		WHERE a.id = $1`, id, at.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return view, fmt.Errorf("%w: %d", ErrUnknownPayoutAccount, id)
	}
	return view, err
}

// SetHold switches an account's payment hold on or off (SPEC §4). Setting
// the state it already has records nothing.
func (s *Store) SetHold(ctx context.Context, accountID int64, on bool, actor string) (changed bool, err error) {
	return s.SetHoldIf(ctx, accountID, AnyVersion, on, actor)
}

// SetHoldIf is SetHold when the hold is still the one the caller read:
// expected is its HoldEvent.ID (0 when never switched) or AnyVersion.
// Errors: ErrUnknownAccount, ErrStale.
func (s *Store) SetHoldIf(ctx context.Context, accountID, expected int64, on bool, actor string) (changed bool, err error) {
	err = db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		// The account's row lock serialises changes of one account's hold.
		if err := expectVersion(ctx, tx, accountID, expected, holdVersionQuery); err != nil {
			return err
		}
		var current bool
		err := tx.GetContext(ctx, &current, `SELECT hold_on FROM payment_hold_events WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT 1`, accountID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if current == on {
			return nil
		}
		changed = true
		_, err = tx.ExecContext(ctx, `INSERT INTO payment_hold_events (account_id, hold_on, at, actor) VALUES ($1, $2, $3, $4)`, accountID, on, s.now(), actor)
		return err
	})
	return changed, err
}

// HoldEvent is one change of the payment hold.
type HoldEvent struct {
	ID    int64     `json:"-" db:"id"`
	On    bool      `json:"on" db:"hold_on"`
	At    time.Time `json:"at" db:"at"`
	Actor string    `json:"actor" db:"actor"`
}

// HoldAt returns the hold state at an instant and the event that set it
// (nil when the hold was never switched: off).
func (s *Store) HoldAt(ctx context.Context, accountID int64, at time.Time) (*HoldEvent, error) {
	var event HoldEvent
	err := s.DB.GetContext(ctx, &event, `SELECT id, hold_on, at, actor FROM payment_hold_events WHERE account_id = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT 1`, accountID, at.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &event, err
}

// HoldHistory lists every change of an account's hold, oldest first.
func (s *Store) HoldHistory(ctx context.Context, accountID int64) ([]HoldEvent, error) {
	var events []HoldEvent
	err := s.DB.SelectContext(ctx, &events, `SELECT id, hold_on, at, actor FROM payment_hold_events WHERE account_id = $1 ORDER BY at, id`, accountID)
	return events, err
}

// AccountStatuses are the statuses an account can have (SPEC §7.1).
var AccountStatuses = []string{"pending", "verified", "suspended", "closed"}

// SetAccountStatus records an account status change. (The admin API derives
// it from the verification steps; operators and simulations set it here.)
func (s *Store) SetAccountStatus(ctx context.Context, accountID int64, status, actor string) error {
	known := false
	for _, v := range AccountStatuses {
		known = known || v == status
	}
	if !known {
		return fielderr.Newf("status", fielderr.Invalid, "%q is not one of pending, verified, suspended, closed", status)
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO account_status_events (account_id, status, at, actor) VALUES ($1, $2, $3, $4)`, accountID, status, s.now(), actor)
	return err
}

func nullable(value string) any {
	if value == "" {
		return nil
	}
	return value
}
