package prenote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/atomicfile"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
)

// DefaultBankingDays is how long a prenote waits for a return before its
// account is verified (SPEC §6.1: "after 3 banking days (default) with no
// return"). NACHA gives the receiving bank two banking days to return a
// prenote; one more covers the return file's own travel.
const DefaultBankingDays = 3

// MaxBankingDays bounds the waiting period: a prenote return later than a
// month is not a thing banks do, and a bigger number is a typo that would
// hold every new US account for months.
const MaxBankingDays = 30

// MaxPrenotesPerFile bounds one day's file. Far below the NACHA file
// capacity (nacha.MaxFileEntries); a day with more new US bank accounts than
// this is a bulk load, and the rest go out in the next day's file.
const MaxPrenotesPerFile = 50_000

// Actor is recorded as the author of the verification events a run writes.
const Actor = "prenote"

// fileIDModifier is the file header's file ID modifier: one prenote file per
// day, so the date alone tells files apart.
const fileIDModifier = 'A'

// Sealing context of US account numbers (as payout/store seals them).
const accountNumberContext = "payout.account_number"

// lockKey serialises runs: a run and its re-run must not both find the same
// accounts without a prenote ("PREN" in ASCII).
const lockKey int64 = 0x5052454e

// ErrBadConfig: the originator configuration or the banking days are
// unusable; nothing was done.
var ErrBadConfig = errors.New("prenote run is misconfigured")

// IndividualID is the individual identification number (positions 40-54 of
// the entry) a payout account's prenote carries: "PRE" + 12 digits. Returns
// are matched on it and on the trace number. It cannot collide with a
// payment id ("P" + YYYYMM + 8 digits).
func IndividualID(payoutAccountID int64) string {
	return fmt.Sprintf("PRE%012d", payoutAccountID)
}

// FileName is the name of a day's prenote file.
func FileName(day time.Time) string {
	return "prenote-" + day.UTC().Format(time.DateOnly) + ".txt"
}

// Path is where a day's prenote file goes: <out>/prenotes/prenote-YYYY-MM-DD.txt.
func Path(outDir string, day time.Time) string {
	return filepath.Join(outDir, "prenotes", FileName(day))
}

// Result reports a run.
type Result struct {
	// Day is the run day (UTC), the date of the file and of its prenotes.
	Day string `json:"day"`
	// File is the path of the day's prenote file, "" when none went out
	// that day.
	File string `json:"file,omitempty"`
	// Prenotes is the number of entries in the day's file; Sent how many of
	// them this run added (0 on a re-run of the same day).
	Prenotes int `json:"prenotes"`
	Sent     int `json:"sent"`
	// Verified lists the payout accounts this run verified.
	Verified []int64 `json:"verified"`
	// Refused lists the payout accounts that cannot be written into an ACH
	// entry at all; they were rejected with the reason.
	Refused []Refusal `json:"refused,omitempty"`
}

// Refusal is a payout account rejected because its details cannot be sent.
type Refusal struct {
	PayoutAccountID int64  `json:"payout_account_id"`
	Reason          string `json:"reason"`
}

// Run is the daily prenote job (SPEC §6.1), in one transaction:
//
//  1. the day's file: if no prenote went out on the clock's day yet, every
//     current US bank payout account in pending_verification without a
//     prenote gets one (zero dollars, code 23 checking / 33 savings; PPD for
//     individuals, CCD for companies), recorded with its trace; the file is
//     written to Path(outDir, day) after the commit. If the day's prenotes
//     were already recorded, the file is rebuilt from them byte for byte and
//     nothing is added: accounts created since wait for the next day's file.
//  2. verification: every prenoted account still pending_verification, with
//     no prenote return, whose prenote went out at least bankingDays banking
//     days (Monday to Friday) before the clock's day, becomes verified.
//
// bankingDays below 1 means DefaultBankingDays. The file's creation time is
// the start of the run day (UTC), never the wall clock, so a re-run writes
// the same bytes.
// Errors: ErrBadConfig (wrapping the nacha *fielderr.Error of the originator),
// the database's, an I/O error writing the file (the prenotes are recorded;
// a re-run the same day writes the file).
func Run(ctx context.Context, database *sqlx.DB, sealer *secret.Sealer, clock func() time.Time, originator nacha.Originator, outDir string, bankingDays int) (Result, error) {
	now := clock().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	result := Result{Day: day.Format(time.DateOnly), Verified: []int64{}}
	if bankingDays < 1 {
		bankingDays = DefaultBankingDays
	}
	if bankingDays > MaxBankingDays {
		return result, fmt.Errorf("%w: %d banking days, at most %d", ErrBadConfig, bankingDays, MaxBankingDays)
	}
	if err := originator.Validate(); err != nil {
		return result, fmt.Errorf("%w: ACH originator: %w", ErrBadConfig, err)
	}
	var body []byte
	err := db.WithTx(ctx, database, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
			return err
		}
		var err error
		body, err = dayFile(ctx, tx, sealer, originator, day, now, &result)
		if err != nil {
			return err
		}
		return verify(ctx, tx, day, now, bankingDays, &result)
	})
	if err != nil {
		return Result{Day: result.Day, Verified: []int64{}}, err
	}
	if body != nil {
		result.File = Path(outDir, day)
		if err := writeFileAtomically(result.File, body); err != nil {
			return result, err
		}
	}
	return result, nil
}

// entry is one prenote of a day's file.
type entry struct {
	payoutAccountID int64
	class           string
	accountType     nacha.AccountType
	routing         string
	accountNumber   string
	name            string
	trace           string // as recorded; "" for a new prenote
}

// dayFile returns the bytes of the day's file (nil when the day has no
// prenotes), recording new prenotes when the day has none yet.
func dayFile(ctx context.Context, tx *sqlx.Tx, sealer *secret.Sealer, originator nacha.Originator, day, now time.Time, result *Result) ([]byte, error) {
	recorded, err := load(ctx, tx, sealer, `
		SELECT pa.id, p.class, pa.bank_account_type, pa.routing_number, pa.account_number_sealed, pa.holder_name, p.trace
		FROM prenotes p JOIN payout_accounts pa ON pa.id = p.payout_account_id
		WHERE p.sent_on = $1 ORDER BY p.trace`, day)
	if err != nil {
		return nil, err
	}
	if len(recorded) > 0 {
		body, traces, refused, err := build(originator, day, recorded)
		if err != nil {
			return nil, err
		}
		for i, e := range recorded {
			if refused[i] != nil || traces[i] != e.trace {
				return nil, fmt.Errorf("prenote file %s: payout account %d was recorded with trace %s, rebuilt as %q (%v)",
					FileName(day), e.payoutAccountID, e.trace, traces[i], refused[i])
			}
		}
		result.Prenotes = len(recorded)
		return body, nil
	}

	// The current payout account of each account (the newest), if it is a
	// US bank account still pending verification and was never prenoted.
	// Individuals (PPD) first, then companies (CCD), each by id: the order
	// of the traces.
	candidates, err := load(ctx, tx, sealer, `
		SELECT pa.id, CASE WHEN a.account_type = 'company' THEN 'CCD' ELSE 'PPD' END AS class,
		       pa.bank_account_type, pa.routing_number, pa.account_number_sealed, pa.holder_name, '' AS trace
		FROM payout_accounts pa
		JOIN accounts a ON a.id = pa.account_id
		JOIN LATERAL (SELECT status FROM payout_account_events WHERE payout_account_id = pa.id AND at <= $1 ORDER BY at DESC, id DESC LIMIT 1) e ON true
		WHERE pa.method = 'bank' AND pa.bank_country = 'US' AND pa.created_at <= $1 AND e.status = 'pending_verification'
		  AND NOT EXISTS (SELECT 1 FROM prenotes p WHERE p.payout_account_id = pa.id)
		  AND pa.id = (SELECT c.id FROM payout_accounts c WHERE c.account_id = pa.account_id AND c.created_at <= $1
		               ORDER BY c.created_at DESC, c.id DESC LIMIT 1)
		ORDER BY a.account_type = 'company', pa.id
		LIMIT $2`, now, MaxPrenotesPerFile)
	if err != nil {
		return nil, err
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	body, traces, refused, err := build(originator, day, candidates)
	if err != nil {
		return nil, err
	}
	name := FileName(day)
	for i, e := range candidates {
		if refused[i] != nil {
			reason := "cannot be sent by ACH: " + refused[i].Error()
			result.Refused = append(result.Refused, Refusal{PayoutAccountID: e.payoutAccountID, Reason: reason})
			if _, err := tx.ExecContext(ctx, `INSERT INTO payout_account_events (payout_account_id, status, at, actor, reason) VALUES ($1, $2, $3, $4, $5)`,
				e.payoutAccountID, payout.Rejected, now, Actor, reason); err != nil {
				return nil, err
			}
			continue
		}
		code, err := nacha.TransactionCode(nacha.Prenote, e.accountType)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO prenotes (payout_account_id, sent_on, file, class, transaction_code, individual_id, trace, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			e.payoutAccountID, day, name, e.class, code, IndividualID(e.payoutAccountID), traces[i], now); err != nil {
			return nil, fmt.Errorf("record prenote of payout account %d: %w", e.payoutAccountID, err)
		}
		result.Sent++
	}
	result.Prenotes = result.Sent
	return body, nil
}

// load reads prenote entries and opens their account numbers.
func load(ctx context.Context, tx *sqlx.Tx, sealer *secret.Sealer, query string, args ...any) ([]entry, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var entries []entry
	for rows.Next() {
		var e entry
		var accountType string
		var sealed []byte
		if err := rows.Scan(&e.payoutAccountID, &e.class, &accountType, &e.routing, &sealed, &e.name, &e.trace); err != nil {
			return nil, err
		}
		e.accountType = nacha.Checking
		if accountType == "savings" {
			e.accountType = nacha.Savings
		}
		if e.accountNumber, err = sealer.Open(sealed, accountNumberContext); err != nil {
			return nil, fmt.Errorf("payout account %d: account number: %w", e.payoutAccountID, err)
		}
		entries = append(entries, e)
	}
	return entries, rows.Err()
}

// build writes a prenote file for entries (individuals first, in the given
// order) and returns its bytes, each entry's trace, and per entry the
// reason it was refused (nil when written). It reads the file back and
// checks it: every entry a zero-dollar 23/33, nothing credited.
func build(originator nacha.Originator, day time.Time, entries []entry) ([]byte, []string, []error, error) {
	traces := make([]string, len(entries))
	refused := make([]error, len(entries))
	var buf bytes.Buffer
	writer, err := nacha.NewWriter(&buf, nacha.FileHeader{Originator: originator, FileCreation: day, FileIDModifier: fileIDModifier})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	effective := nextBankingDay(day)
	written := 0
	for _, class := range []string{nacha.ClassPPD, nacha.ClassCCD} {
		if err := writer.StartBatch(class, effective, ""); err != nil {
			return nil, nil, nil, err
		}
		for i, e := range entries {
			if e.class != class {
				continue
			}
			trace, err := writer.Add(nacha.Entry{Kind: nacha.Prenote, AccountType: e.accountType, RoutingNumber: e.routing,
				AccountNumber: e.accountNumber, Amount: decimal.Zero, IndividualID: IndividualID(e.payoutAccountID), Name: e.name})
			var fieldErr *fielderr.Error
			switch {
			case errors.As(err, &fieldErr):
				refused[i] = err // "nacha: individual name: ...": the field error with its prefix
				continue
			case err != nil:
				return nil, nil, nil, fmt.Errorf("prenote for payout account %d: %w", e.payoutAccountID, err)
			}
			traces[i] = trace
			written++
		}
		if err := writer.EndBatch(); err != nil && !errors.Is(err, nacha.ErrEmptyBatch) {
			return nil, nil, nil, err
		}
	}
	if written == 0 {
		return nil, traces, refused, nil
	}
	if _, err := writer.Close(); err != nil {
		return nil, nil, nil, err
	}
	// Recompute in pairs: what was read back is what was meant.
	parsed, err := nacha.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("prenote file read-back: %w", err)
	}
	if parsed.Totals.Entries != written || !parsed.Totals.TotalCredit.IsZero() {
		return nil, nil, nil, fmt.Errorf("prenote file read-back: %d entries crediting %s, wrote %d prenotes", parsed.Totals.Entries, parsed.Totals.TotalCredit, written)
	}
	for _, b := range parsed.Batches {
		for _, e := range b.Entries {
			if e.Kind != nacha.Prenote {
				return nil, nil, nil, fmt.Errorf("prenote file read-back: line %d is a %v, not a prenote", e.Line, e.Kind)
			}
		}
	}
	return buf.Bytes(), traces, refused, nil
}

// verify marks verified every prenoted account whose waiting period passed.
func verify(ctx context.Context, tx *sqlx.Tx, day, now time.Time, bankingDays int, result *Result) error {
	type waiting struct {
		PayoutAccountID int64     `db:"payout_account_id"`
		SentOn          time.Time `db:"sent_on"`
	}
	var candidates []waiting
	if err := tx.SelectContext(ctx, &candidates, `
		SELECT p.payout_account_id, p.sent_on FROM prenotes p
		WHERE p.sent_on < $1 AND NOT EXISTS (SELECT 1 FROM prenote_returns r WHERE r.prenote_id = p.id)
		  AND (SELECT status FROM payout_account_events WHERE payout_account_id = p.payout_account_id AND at <= $2
		       ORDER BY at DESC, id DESC LIMIT 1) = 'pending_verification'
		ORDER BY p.payout_account_id`, day, now); err != nil {
		return err
	}
	var due []int64
	sent := map[int64]time.Time{}
	for _, c := range candidates {
		if BankingDaysBetween(c.SentOn, day) >= bankingDays {
			due = append(due, c.PayoutAccountID)
			sent[c.PayoutAccountID] = c.SentOn
		}
	}
	if len(due) == 0 {
		return nil
	}
	// Lock in id order (as store.RecordVerification does, one at a time),
	// then re-read the state: a returns import may have rejected one since.
	var locked []int64
	if err := tx.SelectContext(ctx, &locked, `SELECT id FROM payout_accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE`, due); err != nil {
		return err
	}
	var still []int64
	if err := tx.SelectContext(ctx, &still, `
		SELECT a.id FROM payout_accounts a
		WHERE a.id = ANY($1)
		  AND (SELECT status FROM payout_account_events WHERE payout_account_id = a.id ORDER BY at DESC, id DESC LIMIT 1) = 'pending_verification'
		  AND NOT EXISTS (SELECT 1 FROM prenotes p JOIN prenote_returns r ON r.prenote_id = p.id WHERE p.payout_account_id = a.id)
		ORDER BY a.id`, due); err != nil {
		return err
	}
	for _, id := range still {
		reason := fmt.Sprintf("no return of the prenote sent %s within %d banking days", sent[id].Format(time.DateOnly), bankingDays)
		if _, err := tx.ExecContext(ctx, `INSERT INTO payout_account_events (payout_account_id, status, at, actor, reason) VALUES ($1, $2, $3, $4, $5)`,
			id, payout.Verified, now, Actor, reason); err != nil {
			return err
		}
		result.Verified = append(result.Verified, id)
	}
	return nil
}

// BankingDaysBetween counts the banking days after from up to and including
// to: Mondays to Fridays (bank holidays are not known here and count as
// banking days). A prenote sent on a Friday has 1 banking day on Monday and
// 3 on Wednesday.
func BankingDaysBetween(from, to time.Time) int {
	from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	to = time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	count := 0
	for d := from.AddDate(0, 0, 1); !d.After(to); d = d.AddDate(0, 0, 1) {
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			count++
		}
	}
	return count
}

// nextBankingDay is the effective entry date of a day's prenotes: the next
// Monday-to-Friday after it.
func nextBankingDay(day time.Time) time.Time {
	next := day.AddDate(0, 0, 1)
	for next.Weekday() == time.Saturday || next.Weekday() == time.Sunday {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// writeFileAtomically writes the day's file whole or not at all.
func writeFileAtomically(path string, body []byte) error {
	if err := atomicfile.MkdirAll(filepath.Dir(path)); err != nil {
		return fmt.Errorf("prenote directory: %w", err)
	}
	return atomicfile.WriteBytes(path, atomicfile.FileMode, body)
}
