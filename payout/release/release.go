// Package release turns a closed cycle into payment files (SPEC §6.2): a
// NACHA ACH file for US bank accounts, ISO 20022 pain.001 files (one per
// currency) for other banks, PayPal Payouts requests, and manifest.json, all
// under <out>/cycles/<M>/.
//
// Exactly once, byte for byte: the release time is recorded the first time
// a release starts and is the creation time inside every file; payment ids,
// message ids and batch ids derive from the cycle and the account; files are
// written to a temporary name and renamed. The payments, the manifest rows
// and the state change commit in one transaction after every file was read
// back and its totals recomputed, and only if the manifest's USD total equals
// what the journal put in payments-in-transit for the cycle. A crash before
// that commit leaves files that the next release rewrites identically; a
// released cycle is never rewritten: releasing again returns its manifest
// (and writes manifest.json from the recorded rows if a crash right after
// the commit left it unwritten). Releaser.Fault crashes a release at the
// named FaultPoints.
//
// # One release at a time
//
// A release holds a session advisory lock on its month, on a connection of
// its own, from before it reads the cycle's state until it has written
// manifest.json. A second release of the month (another replica's job, an
// operator at the CLI or the API) waits for it — logging what it waits for
// and who holds it, at once and every db.LockWaitReport — and then reads
// the state again: the cycle is released, so it answers like any run on a
// released cycle, AlreadyReleased with the same manifest, after checking the
// files (below). That is the decision: a concurrent release is not a
// failure but "already released, nothing to do" — exit code 0 and the same
// result as the run that did the work, never a raw duplicate-key error, so a
// job and an operator racing each other both see the one true outcome. (If
// the first run fails, the waiting one does the release itself, resuming as
// after a crash.) The transaction that records the payments locks the
// cycle's row and checks the state once more, so even a release that did
// not take the lock (an older payrun during an upgrade) gets
// ErrReleasedConcurrently instead of a duplicate key.
//
// # A released cycle's files are checked, never trusted
//
// Releasing a released cycle again hashes every file under
// <out>/cycles/<M>/ and compares it with the manifest rows (sha256), as the
// API does before sending a file, and compares manifest.json with what the
// rows say. A file that differs is refused (ErrTampered, naming the file and
// both digests): nothing is rewritten or reported released — an altered
// payment file is an incident to investigate, not to paper over. A file that
// is missing (this replica's disk never had it, or an operator removed a
// bad copy after investigating) is written again from the ledger, in a
// temporary directory, and put in place only if its sha256 is the
// manifest's.
//
// # Who released
//
// ReleaseAs records the releasing operator by id
// (cycles.released_by_operator_id, and on the released event) under the
// name "operator:<user name>"; Release records the system principal (the
// release-payments job, tests, the simulator).
//
// # Dates: the settlement date
//
// Every file is dated with payout.SettlementDate of the recorded release
// time: the payment date, or, for a release on or after it, the next
// banking day after the release (the ACH effective entry date, the pain.001
// requested execution date; the PayPal request has no date field). It is
// recorded with the state change (cycles.settlement_date, migration 150),
// returned in Result (PaymentDate, SettlementDate) and written to
// manifest.json as payment_date and settlement_date only when they differ,
// so a cycle released on time keeps the manifest it always had. A missing
// file of a released cycle is rewritten with the recorded date.
//
// # PayPal items
//
// A PayPal payment above the per-item maximum (payout.Policy.
// PayPalItemMaxFor, from the cycle's recorded policy and rate) goes out as
// payout.SplitPayPalAmount's items under payout.PayPalItemID ids, all in
// one request (paypal.Item.Group). It stays one payments row; its items are
// payment_items rows with their amounts and USD shares (payPalItems), and
// the file's manifest records count items. The manifest's totals and the
// journal check are unchanged: the items add up to the payment.
//
// Failure modes: a cycle that is not closed (or not approved when
// maker-checker is on), a payout currency without an FX rate for the cycle
// (the error names the currencies), missing originator configuration (the
// error names the variable), a file whose read-back totals differ, a
// released file that differs from its manifest (ErrTampered).
package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/atomicfile"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/paypal"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/payout/store"
)

// Errors callers branch on.
var (
	ErrNotReleasable = errors.New("cycle cannot be released")
	ErrMissingFX     = errors.New("no FX rate for the cycle")
	ErrManifest      = errors.New("manifest does not match the ledger")
	// ErrTampered: a released cycle's file on disk differs from the sha256
	// its manifest recorded.
	ErrTampered = errors.New("a released file differs from its manifest")
	// ErrReleasedConcurrently: another release committed the cycle while
	// this one wrote its files (only a release that bypassed the lock can
	// get there first); nothing of this run was recorded.
	ErrReleasedConcurrently = errors.New("the cycle was released by another run")
)

// releaseLockClass is the first key of the month's release lock (the
// second is YYYYMM); the close's classes are "payr" and "pays".
const releaseLockClass int32 = 0x70617465 // "pate"

// Config is what the files need besides the cycle.
type Config struct {
	OutDir        string
	Originator    nacha.Originator
	Debtor        sepa.Debtor
	PayPalSubject string
}

// File is one manifest entry.
type File struct {
	Name            string          `json:"name"`
	Kind            string          `json:"kind"` // ach | pain.001 | paypal
	SHA256          string          `json:"sha256"`
	Records         int             `json:"records"`
	ControlTotalUSD decimal.Decimal `json:"control_total_usd"`
	Currency        string          `json:"currency"`
	ControlTotal    decimal.Decimal `json:"control_total"`
}

// normalized fixes the scale of a file's amounts: cents in USD, the minor
// unit in its currency, however they were computed or stored.
func (f File) normalized() File {
	f.ControlTotalUSD = f.ControlTotalUSD.Round(money.CentScale)
	if places, err := money.MinorUnit(f.Currency); err == nil {
		f.ControlTotal = f.ControlTotal.Round(places)
	}
	return f
}

// MarshalJSON writes amounts fixed-point ("1100.50"), as strings (SPEC §1).
func (f File) MarshalJSON() ([]byte, error) {
	type plain File
	places, err := money.MinorUnit(f.Currency)
	if err != nil {
		places = money.CentScale
	}
	return json.Marshal(struct {
		plain
		ControlTotalUSD string `json:"control_total_usd"`
		ControlTotal    string `json:"control_total"`
	}{plain(f), f.ControlTotalUSD.StringFixed(money.CentScale), f.ControlTotal.StringFixed(places)})
}

// Result is a release's outcome: the manifest.
type Result struct {
	Month           string    `json:"month"`
	ReleasedAt      time.Time `json:"released_at"`
	AlreadyReleased bool      `json:"already_released"`
	Files           []File    `json:"files"`
	ManifestPath    string    `json:"-"`
	// Where the time went (wall clock, for operators and benchmarks).
	LoadSeconds   float64 `json:"load_seconds,omitempty"`   // read, decrypt and convert the payments
	FilesSeconds  float64 `json:"files_seconds,omitempty"`  // write, read back and verify every file
	CommitSeconds float64 `json:"commit_seconds,omitempty"` // record payments, manifest, state

	// Rewritten names the files of a released cycle that were missing on
	// disk and were written again from the ledger (with their manifest
	// sha256) by this run.
	Rewritten []string `json:"rewritten,omitempty"`

	// PaymentDate is the cycle's scheduled payment date and SettlementDate
	// the date its files settle on (YYYY-MM-DD): the ACH effective entry
	// date, the pain.001 requested execution date, the PayPal batch's date.
	// They differ for a release on or after the payment date
	// (payout.SettlementDate).
	PaymentDate    string `json:"payment_date"`
	SettlementDate string `json:"settlement_date"`
}

// setDates records the scheduled and the actual date.
func (r *Result) setDates(paymentDate, settlement time.Time) {
	r.PaymentDate, r.SettlementDate = paymentDate.Format(time.DateOnly), settlement.Format(time.DateOnly)
}

// Late reports whether the files settle after the scheduled payment date
// (the release came on or after it).
func (r Result) Late() bool { return r.SettlementDate != r.PaymentDate }

// fileSpec is what every payment file of a release is written with.
type fileSpec struct {
	calendar payout.Calendar
	policy   payout.Policy
	// created is the release time: the creation time in every file.
	created time.Time
	// settlement is payout.SettlementDate: the ACH effective entry date and
	// the pain.001 requested execution date.
	settlement time.Time
}

// newFileSpec reads the cycle's recorded policy; settlement is left to the
// caller.
func newFileSpec(policyJSON []byte, month, releasedAt time.Time) (fileSpec, error) {
	var p payout.Policy
	if err := json.Unmarshal(policyJSON, &p); err != nil {
		return fileSpec{}, fmt.Errorf("cycle policy: %w", err)
	}
	return fileSpec{calendar: p.CalendarFor(month), policy: p, created: releasedAt}, nil
}

// preparer builds one rail's files in memory, each read back and checked
// against the payments it carries, and returns them with those payments.
// It is pure: no clock, no disk, no fault point.
type preparer func(spec fileSpec, payments []payment) ([]fileBody, []sentPayment, error)

// fileBody is a prepared file: its manifest entry and its bytes.
type fileBody struct {
	File
	body []byte
}

// writeFiles prepares the three rails' files at the same time (encoding and
// reading back is the release's CPU work, and the rails are independent),
// then writes them into dir one by one in a fixed order — ACH, pain.001 by
// currency, PayPal by part — with the mid_file_write fault point after
// each, as a release that wrote them one after the other. The files and
// the payments come back in that order. When a rail cannot be prepared,
// nothing is written and the first failing rail's error (in that order) is
// returned.
func (r *Releaser) writeFiles(dir string, spec fileSpec, payments []payment) ([]File, []sentPayment, error) {
	preparers := []preparer{r.prepareACH, r.prepareSEPA, r.preparePayPal}
	type prepared struct {
		files []fileBody
		sent  []sentPayment
		err   error
	}
	rails := make([]prepared, len(preparers))
	var wg sync.WaitGroup
	for i, prepare := range preparers {
		wg.Go(func() { rails[i].files, rails[i].sent, rails[i].err = prepare(spec, payments) })
	}
	wg.Wait()
	for _, rail := range rails {
		if rail.err != nil {
			return nil, nil, rail.err
		}
	}
	var files []File
	var sent []sentPayment
	for _, rail := range rails {
		for _, f := range rail.files {
			if err := atomicfile.WriteBytes(filepath.Join(dir, f.Name), atomicfile.FileMode, f.body); err != nil {
				return nil, nil, err
			}
			if err := r.fault("mid_file_write"); err != nil {
				return nil, nil, err
			}
			files = append(files, f.File)
		}
		sent = append(sent, rail.sent...)
	}
	return files, sent, nil
}

// FaultPoints are the named points of a release, in order, at which
// Releaser.Fault is called: after the release time is fixed
// (release_started), after each payment file is written (mid_file_write,
// once per file: a crash between two files), after every file is written
// (after_files_written), inside the transaction that records the payments,
// the manifest rows and the state change, before it commits
// (before_commit), and after it committed, before manifest.json is written
// (after_commit).
var FaultPoints = []string{"release_started", "mid_file_write", "after_files_written", "before_commit", "after_commit"}

// Releaser writes a cycle's payment files.
type Releaser struct {
	DB     *sqlx.DB
	Sealer *secret.Sealer
	Clock  func() time.Time
	Config Config
	// Fault, when set, is called at each of FaultPoints; a non-nil error
	// aborts the release there, as a crash would (before_commit rolls the
	// transaction back). Tests and the simulator use it to prove a release
	// run again after a crash writes the same bytes and one set of payments.
	Fault func(point string) error
}

func (r *Releaser) fault(point string) error {
	if r.Fault == nil {
		return nil
	}
	return r.Fault(point)
}

// Directory is where a cycle's files go.
func Directory(outDir string, month time.Time) string {
	return filepath.Join(outDir, "cycles", payout.MonthName(month))
}

// Release releases a cycle as the system principal named actor (see
// ReleaseAs).
func (r *Releaser) Release(ctx context.Context, month time.Time, actor string) (Result, error) {
	return r.ReleaseAs(ctx, month, store.SystemPrincipal(actor))
}

// ReleaseAs releases a cycle, recorded as released by by (an operator, by
// id, or the system principal), under the month's release lock: a release
// running elsewhere is waited for, then this one finds the cycle released
// and returns its manifest with AlreadyReleased (see the package doc).
// Errors: ErrNotReleasable, ErrMissingFX, ErrManifest, ErrTampered,
// ErrReleasedConcurrently, store.ErrUnknownOperator, a configuration or I/O
// error (nothing committed).
func (r *Releaser) ReleaseAs(ctx context.Context, month time.Time, by store.Principal) (Result, error) {
	if by.IsOperator() {
		operator, _, err := store.OperatorPrincipal(ctx, r.DB, by.OperatorID)
		if err != nil {
			return Result{Month: payout.MonthName(month)}, err
		}
		by = operator
	}
	var result Result
	err := db.WithPgx(ctx, r.DB, func(conn *pgx.Conn) error {
		key := int32(month.Year()*100 + int(month.Month()))
		if err := db.AcquireLock(ctx, conn, conn.PgConn().PID(), r.DB, logging.FromContext(ctx), db.Lock{
			What: "the release lock of " + payout.MonthName(month) + " (another release of the month is running)",
			Try:  `SELECT pg_try_advisory_lock($1, $2)`, Take: `SELECT pg_advisory_lock($1, $2)`, Args: []any{releaseLockClass, key}}); err != nil {
			return err
		}
		defer func() {
			unlockCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = conn.Exec(unlockCtx, `SELECT pg_advisory_unlock($1, $2)`, releaseLockClass, key)
		}()
		var err error
		result, err = r.release(ctx, month, by)
		return err
	})
	return result, err
}

// release is ReleaseAs under the month's lock.
func (r *Releaser) release(ctx context.Context, month time.Time, by store.Principal) (Result, error) {
	result := Result{Month: payout.MonthName(month)}
	dir := Directory(r.Config.OutDir, month)
	result.ManifestPath = filepath.Join(dir, "manifest.json")

	// Fix the release time once, and check the state.
	var state string
	var approved, approvedByOperator bool
	var policy []byte
	var releaseStarted sql.NullTime
	err := db.WithTx(ctx, r.DB, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `SELECT state, approved_at IS NOT NULL, approved_by_operator_id IS NOT NULL, policy, release_started_at
			FROM cycles WHERE month = $1 FOR UPDATE`, month).
			Scan(&state, &approved, &approvedByOperator, &policy, &releaseStarted)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s has not been closed", ErrNotReleasable, result.Month)
		}
		if err != nil {
			return err
		}
		cycleState := payout.CycleState(state)
		switch {
		case cycleState.ReleasedOrLater():
			return nil
		case cycleState.CanRelease(approved && approvedByOperator):
		case cycleState == payout.CycleAwaitingApproval:
			return fmt.Errorf("%w: %s is awaiting approval by a finance approver", ErrNotReleasable, result.Month)
		default:
			return fmt.Errorf("%w: %s is %s", ErrNotReleasable, result.Month, state)
		}
		if !releaseStarted.Valid {
			releaseStarted = sql.NullTime{Time: r.Clock().UTC().Truncate(time.Second), Valid: true}
			_, err = tx.ExecContext(ctx, `UPDATE cycles SET release_started_at = $2 WHERE month = $1`, month, releaseStarted.Time)
		}
		return err
	})
	if err != nil {
		return result, err
	}
	if state == store.StateReleased || state == store.StateSettled {
		result.AlreadyReleased = true
		result, err = r.manifest(ctx, month, result)
		if err != nil {
			return result, err
		}
		// Never trust what is on disk: every file must still have its
		// manifest sha256; a missing one is written again from the ledger.
		// A crash after the commit can leave manifest.json unwritten: it is
		// written from the recorded rows (the same bytes) when missing.
		result.Rewritten, err = r.verifyReleased(ctx, month, dir, policy, result)
		return result, err
	}
	result.ReleasedAt = releaseStarted.Time
	if err := r.fault("release_started"); err != nil {
		return result, err
	}

	phase := time.Now() // durations only: nothing depends on them
	payments, err := r.loadPayments(ctx, month)
	if err != nil {
		return result, err
	}
	result.LoadSeconds = time.Since(phase).Seconds()
	phase = time.Now()
	if err := atomicfile.MkdirAll(dir); err != nil {
		return result, fmt.Errorf("output directory: %w", err)
	}
	spec, err := newFileSpec(policy, month, result.ReleasedAt)
	if err != nil {
		return result, err
	}
	spec.settlement = payout.SettlementDate(spec.policy, spec.calendar, result.ReleasedAt)
	result.setDates(spec.calendar.PaymentDate, spec.settlement)
	files, sent, err := r.writeFiles(dir, spec, payments)
	if err != nil {
		return result, err
	}
	if err := r.fault("after_files_written"); err != nil {
		return result, err
	}
	sort.Slice(files, func(a, b int) bool { return files[a].Name < files[b].Name })
	for i := range files {
		files[i] = files[i].normalized()
	}
	result.Files = files
	result.FilesSeconds = time.Since(phase).Seconds()
	phase = time.Now()

	err = db.WithPgx(ctx, r.DB, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			// The state once more, with the row locked: a release that got
			// here first without the month's lock (an older payrun) must not
			// meet this one in a duplicate key.
			var now string
			if err := tx.QueryRow(ctx, `SELECT state FROM cycles WHERE month = $1 FOR UPDATE`, month).Scan(&now); err != nil {
				return err
			}
			if now != state {
				return fmt.Errorf("%w: %s became %s while this release wrote its files; nothing of this run was recorded (release again to check the files)",
					ErrReleasedConcurrently, result.Month, now)
			}
			inTransit, _, err := ledger.PayoutsPosted(ctx, tx, payout.MonthName(month))
			if err != nil {
				return err
			}
			manifestUSD := decimal.Zero
			for _, f := range files {
				manifestUSD = manifestUSD.Add(f.ControlTotalUSD)
			}
			if !manifestUSD.Equal(inTransit) {
				return fmt.Errorf("%w: files total %s USD, the journal put %s USD in transit for %s", ErrManifest, manifestUSD, inTransit, result.Month)
			}
			rows := make([][]any, len(sent))
			for i, s := range sent {
				rows[i] = []any{month, s.accountID, s.paymentID, s.file, s.method, s.rail, s.amountUSD, s.currency, s.rate, s.amount, s.trace}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"payments"},
				[]string{"month", "account_id", "payment_id", "file", "method", "rail", "amount_usd", "currency", "fx_rate", "amount_in_currency", "trace"},
				pgx.CopyFromRows(rows)); err != nil {
				return fmt.Errorf("record payments: %w", err)
			}
			var items [][]any
			for _, s := range sent {
				for _, item := range s.items {
					items = append(items, []any{s.paymentID, item.n, item.id, item.amountUSD, item.amount})
				}
			}
			if len(items) > 0 {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"payment_items"},
					[]string{"payment_id", "item", "item_id", "amount_usd", "amount_in_currency"}, pgx.CopyFromRows(items)); err != nil {
					return fmt.Errorf("record payment items: %w", err)
				}
			}
			for _, f := range files {
				if _, err := tx.Exec(ctx, `INSERT INTO cycle_files (month, name, kind, sha256, records, control_total_usd, currency, control_total)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, month, f.Name, f.Kind, f.SHA256, f.Records, f.ControlTotalUSD, f.Currency, f.ControlTotal); err != nil {
					return err
				}
			}
			var operator any
			if by.IsOperator() {
				operator = by.OperatorID
			}
			if _, err := tx.Exec(ctx, `UPDATE cycles SET state = $6, released_at = $2, released_by = $3, released_by_operator_id = $4,
				settlement_date = $5 WHERE month = $1`,
				month, result.ReleasedAt, by.Name, operator, spec.settlement, store.StateReleased); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO cycle_events (month, state, at, actor, operator_id) VALUES ($1, $5, $2, $3, $4)`,
				month, r.Clock().UTC(), by.Name, operator, store.StateReleased); err != nil {
				return err
			}
			return r.fault("before_commit")
		})
	})
	if err != nil {
		return result, err
	}
	result.CommitSeconds = time.Since(phase).Seconds()
	if err := r.fault("after_commit"); err != nil {
		return result, err
	}
	return result, writeManifest(result)
}

// manifest rebuilds a released cycle's manifest from the database.
func (r *Releaser) manifest(ctx context.Context, month time.Time, result Result) (Result, error) {
	var paymentDate time.Time
	var settlement sql.NullTime
	if err := r.DB.QueryRowxContext(ctx, `SELECT released_at, payment_date, settlement_date FROM cycles WHERE month = $1`, month).
		Scan(&result.ReleasedAt, &paymentDate, &settlement); err != nil {
		return result, err
	}
	result.ReleasedAt = result.ReleasedAt.UTC()
	if !settlement.Valid { // released before migration 150: dated with the payment date
		settlement.Time = paymentDate
	}
	result.setDates(paymentDate, settlement.Time)
	rows, err := r.DB.QueryxContext(ctx, `SELECT name, kind, sha256, records, control_total_usd, currency, control_total FROM cycle_files WHERE month = $1 ORDER BY name`, month)
	if err != nil {
		return result, err
	}
	defer rows.Close()
	for rows.Next() {
		var f File
		if err := rows.Scan(&f.Name, &f.Kind, &f.SHA256, &f.Records, &f.ControlTotalUSD, &f.Currency, &f.ControlTotal); err != nil {
			return result, err
		}
		result.Files = append(result.Files, f.normalized())
	}
	return result, rows.Err()
}

// manifestJSON is manifest.json: deterministic for a released cycle.
type manifestJSON struct {
	Cycle      string `json:"cycle"`
	ReleasedAt string `json:"released_at"`
	// The dates, only for a release on or after the payment date (the
	// files settle on SettlementDate, not on the scheduled PaymentDate): a
	// cycle released on time keeps the manifest it always had.
	PaymentDate    string `json:"payment_date,omitempty"`
	SettlementDate string `json:"settlement_date,omitempty"`
	Files          []File `json:"files"`
}

func writeManifest(result Result) error {
	body, err := manifestBytes(result)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(result.ManifestPath, atomicfile.FileMode, body)
}

func manifestBytes(result Result) ([]byte, error) {
	manifest := manifestJSON{Cycle: result.Month, ReleasedAt: result.ReleasedAt.Format(time.RFC3339), Files: result.Files}
	if result.Late() {
		manifest.PaymentDate, manifest.SettlementDate = result.PaymentDate, result.SettlementDate
	}
	body, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(body, '\n'), nil
}

// verifyReleased checks a released cycle's directory against its manifest
// rows: every file must have its recorded sha256 and manifest.json the bytes
// the rows give (else ErrTampered, and nothing is written); files that are
// missing are written again from the ledger (only if they come out with the
// recorded sha256), then a missing manifest.json.
func (r *Releaser) verifyReleased(ctx context.Context, month time.Time, dir string, policy []byte, result Result) ([]string, error) {
	var missing []File
	var differ, rewritten []string
	for _, f := range result.Files {
		if filepath.Base(f.Name) != f.Name || strings.HasPrefix(f.Name, ".") {
			return nil, fmt.Errorf("%w: cycle %s: %q is not a file name", ErrManifest, result.Month, f.Name)
		}
		sum, err := fileDigest(filepath.Join(dir, f.Name))
		if errors.Is(err, os.ErrNotExist) {
			missing = append(missing, f)
			rewritten = append(rewritten, f.Name)
			continue
		}
		if err != nil {
			return nil, err
		}
		if sum != f.SHA256 {
			differ = append(differ, fmt.Sprintf("%s has sha256 %s, the manifest recorded %s", f.Name, sum, f.SHA256))
		}
	}
	manifest, err := manifestBytes(result)
	if err != nil {
		return nil, err
	}
	onDisk, err := os.ReadFile(result.ManifestPath)
	manifestMissing := errors.Is(err, os.ErrNotExist)
	if err != nil && !manifestMissing {
		return nil, err
	}
	if !manifestMissing && !bytes.Equal(onDisk, manifest) {
		differ = append(differ, "manifest.json differs from the recorded manifest rows")
	}
	if len(differ) > 0 {
		return nil, fmt.Errorf("%w: cycle %s under %s: %s. Nothing was rewritten and nothing is to be sent from there: investigate; "+
			"removing a bad file and releasing again writes it from the ledger", ErrTampered, result.Month, dir, strings.Join(differ, "; "))
	}
	if len(missing) > 0 {
		if err := r.rewrite(ctx, month, dir, policy, result, missing); err != nil {
			return nil, err
		}
	}
	if manifestMissing {
		if err := atomicfile.MkdirAll(dir); err != nil {
			return nil, fmt.Errorf("output directory: %w", err)
		}
		return rewritten, writeManifest(result)
	}
	return rewritten, nil
}

// rewrite writes a released cycle's missing files again from the ledger:
// every file into a temporary directory beside them (the creation time is
// the recorded release time, so the bytes are the first release's), then
// each missing one into place once its sha256 is the manifest's.
func (r *Releaser) rewrite(ctx context.Context, month time.Time, dir string, policy []byte, result Result, missing []File) error {
	payments, err := r.loadPayments(ctx, month)
	if err != nil {
		return err
	}
	spec, err := newFileSpec(policy, month, result.ReleasedAt)
	if err != nil {
		return err
	}
	// The date the files were released with, as recorded (a cycle released
	// before migration 150 was dated with its payment date).
	if spec.settlement, err = time.Parse(time.DateOnly, result.SettlementDate); err != nil {
		return fmt.Errorf("cycle %s: settlement date: %w", result.Month, err)
	}
	if err := atomicfile.MkdirAll(dir); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".rewrite-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, _, err := r.writeFiles(tmp, spec, payments); err != nil {
		return err
	}
	for _, f := range missing {
		sum, err := fileDigest(filepath.Join(tmp, f.Name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if sum != f.SHA256 {
			return fmt.Errorf("%w: cycle %s: %s is missing and the ledger no longer gives its manifest sha256 %s: not rewritten", ErrManifest, result.Month, f.Name, f.SHA256)
		}
		if err := os.Rename(filepath.Join(tmp, f.Name), filepath.Join(dir, f.Name)); err != nil {
			return err
		}
		logging.FromContext(ctx).InfoContext(ctx, "released file written again from the ledger", "cycle", result.Month, "file", f.Name, "sha256", f.SHA256)
	}
	return nil
}

// fileDigest is a file's sha256, in hex.
func fileDigest(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, file); err != nil {
		return "", err
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}

func digest(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// payment is one paid payout with what its file needs.
type payment struct {
	accountID     int64
	paymentID     string
	amountUSD     decimal.Decimal
	currency      string
	rate          decimal.Decimal
	amount        decimal.Decimal // in currency
	method        payout.Method
	bankCountry   string
	accountType   string
	routing       string
	accountNumber string
	iban          string
	bic           string
	email         string
	holder        string
	company       bool
}

// sentPayment is a payments row.
type sentPayment struct {
	accountID         int64
	paymentID, file   string
	method, rail      string
	amountUSD, amount decimal.Decimal
	currency          string
	rate              decimal.Decimal
	trace             any
	// items are the PayPal items of a payment above PayPal's per-item
	// maximum (payment_items rows); none for a payment sent as one item.
	items []sentItem
}

// sentItem is one PayPal item of a split payment.
type sentItem struct {
	n                 int    // from 1
	id                string // sender_item_id: payout.PayPalItemID
	amountUSD, amount decimal.Decimal
}

// loadPayments reads the cycle's paid payouts with their payout accounts,
// opens the sealed numbers, and converts each amount with the cycle's FX
// rates, rounding down to the currency's minor unit (payrun never sends more
// than the USD it debited).
func (r *Releaser) loadPayments(ctx context.Context, month time.Time) ([]payment, error) {
	rates := map[string]decimal.Decimal{"USD": decimal.NewFromInt(1)}
	rows, err := r.DB.QueryxContext(ctx, `SELECT currency, rate FROM fx_rates WHERE month = $1`, month)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var currency string
		var rate decimal.Decimal
		if err := rows.Scan(&currency, &rate); err != nil {
			rows.Close()
			return nil, err
		}
		rates[currency] = rate
	}
	rows.Close()
	// Sized once: a payment is ~270 bytes, and a slice grown by doubling
	// copied and cleared twice that per payment.
	var paid int
	if err := r.DB.GetContext(ctx, &paid, `SELECT count(*) FROM payouts WHERE month = $1 AND status = 'paid'`, month); err != nil {
		return nil, err
	}
	rows, err = r.DB.QueryxContext(ctx, `
		SELECT p.account_id, p.payment_id, p.paid_usd, pa.currency, pa.method, coalesce(pa.bank_country, ''), coalesce(pa.bank_account_type, ''),
		       coalesce(pa.routing_number, ''), pa.account_number_sealed, pa.iban_sealed, coalesce(pa.bic, ''), coalesce(pa.paypal_email, ''),
		       pa.holder_name, a.account_type = 'company'
		FROM payouts p JOIN payout_accounts pa ON pa.id = p.payout_account_id JOIN accounts a ON a.id = p.account_id
		WHERE p.month = $1 AND p.status = 'paid' ORDER BY p.account_id`, month)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	payments := make([]payment, 0, paid)
	missing := map[string]bool{}
	for rows.Next() {
		var p payment
		var numberSealed, ibanSealed []byte
		var method string
		if err := rows.Scan(&p.accountID, &p.paymentID, &p.amountUSD, &p.currency, &method, &p.bankCountry, &p.accountType,
			&p.routing, &numberSealed, &ibanSealed, &p.bic, &p.email, &p.holder, &p.company); err != nil {
			return nil, err
		}
		p.method = payout.Method(method)
		if p.accountNumber, err = r.Sealer.Open(numberSealed, "payout.account_number"); err != nil {
			return nil, fmt.Errorf("payment %s: account number: %w", p.paymentID, err)
		}
		if p.iban, err = r.Sealer.Open(ibanSealed, "payout.iban"); err != nil {
			return nil, fmt.Errorf("payment %s: IBAN: %w", p.paymentID, err)
		}
		rate, ok := rates[p.currency]
		if !ok {
			missing[p.currency] = true
			continue
		}
		p.rate = rate
		if p.amount, err = payout.ConvertDown(p.amountUSD, rate, p.method, p.currency); err != nil {
			return nil, fmt.Errorf("payment %s: %w", p.paymentID, err)
		}
		payments = append(payments, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for c := range missing {
			names = append(names, c)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%w %s: %s (load them with `payrun fx import`)", ErrMissingFX, payout.MonthName(month), strings.Join(names, ", "))
	}
	return payments, nil
}

func (r *Releaser) prepareACH(spec fileSpec, payments []payment) ([]fileBody, []sentPayment, error) {
	var individuals, companies []*payment // pointers: a payment is ~270 bytes
	for i := range payments {
		p := &payments[i]
		if p.method != payout.Bank || p.bankCountry != "US" {
			continue
		}
		if p.company {
			companies = append(companies, p)
		} else {
			individuals = append(individuals, p)
		}
	}
	if len(individuals)+len(companies) == 0 {
		return nil, nil, nil
	}
	name := "ach-" + payout.MonthName(spec.calendar.Month) + ".txt"
	var buf bytes.Buffer
	writer, err := nacha.NewWriter(&buf, nacha.FileHeader{Originator: r.Config.Originator, FileCreation: spec.created, FileIDModifier: 'A'})
	if err != nil {
		return nil, nil, fmt.Errorf("ACH file: %w", err)
	}
	var sent []sentPayment
	total := decimal.Zero
	for _, group := range []struct {
		class    string
		payments []*payment
	}{{"PPD", individuals}, {"CCD", companies}} {
		if len(group.payments) == 0 {
			continue
		}
		if err := writer.StartBatch(group.class, spec.settlement, ""); err != nil {
			return nil, nil, fmt.Errorf("ACH file: %w", err)
		}
		for _, p := range group.payments {
			accountType := nacha.Checking
			if p.accountType == "savings" {
				accountType = nacha.Savings
			}
			trace, err := writer.Add(nacha.Entry{Kind: nacha.Credit, AccountType: accountType, RoutingNumber: p.routing, AccountNumber: p.accountNumber,
				Amount: p.amount, IndividualID: p.paymentID, Name: p.holder})
			if err != nil {
				return nil, nil, fmt.Errorf("ACH entry for payment %s: %w", p.paymentID, err)
			}
			total = total.Add(p.amountUSD)
			sent = append(sent, sentPayment{accountID: p.accountID, paymentID: p.paymentID, file: name, method: string(p.method), rail: "ach",
				amountUSD: p.amountUSD, amount: p.amount, currency: p.currency, rate: p.rate, trace: trace})
		}
		if err := writer.EndBatch(); err != nil {
			return nil, nil, fmt.Errorf("ACH file: %w", err)
		}
	}
	totals, err := writer.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("ACH file: %w", err)
	}
	// Read it back and compare the recomputed totals (moov-io/ach's habit).
	parsed, err := nacha.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, nil, fmt.Errorf("ACH file read-back: %w", err)
	}
	if !parsed.Totals.TotalCredit.Equal(total) || parsed.Totals.Entries != len(sent) || !totals.TotalCredit.Equal(total) {
		return nil, nil, fmt.Errorf("%w: ACH file credits %s for %d entries, payouts %s for %d", ErrManifest, parsed.Totals.TotalCredit, parsed.Totals.Entries, total, len(sent))
	}
	return []fileBody{{File{Name: name, Kind: "ach", SHA256: digest(buf.Bytes()), Records: len(sent), ControlTotalUSD: total, Currency: "USD", ControlTotal: total}, buf.Bytes()}}, sent, nil
}

func (r *Releaser) prepareSEPA(spec fileSpec, payments []payment) ([]fileBody, []sentPayment, error) {
	calendar := spec.calendar
	byCurrency := map[string][]*payment{}
	count := 0
	for i := range payments {
		if p := &payments[i]; p.method == payout.Bank && p.bankCountry != "US" {
			byCurrency[p.currency] = append(byCurrency[p.currency], p)
			count++
		}
	}
	var files []fileBody
	sent := make([]sentPayment, 0, count)
	for _, currency := range slices.Sorted(maps.Keys(byCurrency)) {
		group := byCurrency[currency]
		name := "pain001-" + payout.MonthName(calendar.Month) + "-" + currency + ".xml"
		message := sepa.Message{
			MessageID:              "PAYRUN-" + payout.MonthName(calendar.Month) + "-" + currency,
			CreationTime:           spec.created,
			InitiatingPartyName:    r.Config.Debtor.Name,
			Debtor:                 r.Config.Debtor,
			RequestedExecutionDate: spec.settlement,
			Payments:               make([]sepa.Payment, 0, len(group)),
		}
		totalUSD, total := decimal.Zero, decimal.Zero
		for _, p := range group {
			message.Payments = append(message.Payments, sepa.Payment{EndToEndID: p.paymentID, Amount: p.amount, Currency: p.currency,
				CreditorName: p.holder, CreditorIBAN: p.iban, CreditorBIC: p.bic, CreditorCountry: p.bankCountry,
				RemittanceInfo: "Marketplace payout " + payout.MonthName(calendar.Month) + " " + p.paymentID})
			totalUSD, total = totalUSD.Add(p.amountUSD), total.Add(p.amount)
			sent = append(sent, sentPayment{accountID: p.accountID, paymentID: p.paymentID, file: name, method: string(p.method), rail: "sepa",
				amountUSD: p.amountUSD, amount: p.amount, currency: p.currency, rate: p.rate, trace: nil})
		}
		// sepa.Write reads its bytes back as a bank would before it hands
		// them over, and returns the totals only when the bytes declare the
		// ones computed from the message: comparing those with the
		// payouts' compares the file's.
		var buf bytes.Buffer
		written, err := sepa.Write(&buf, message)
		if err != nil {
			return nil, nil, fmt.Errorf("pain.001 %s: %w", currency, err)
		}
		if !written.ControlSum.Equal(total) || written.Transactions != len(group) {
			return nil, nil, fmt.Errorf("%w: pain.001 %s control sum %s for %d, payouts %s for %d", ErrManifest, currency, written.ControlSum, written.Transactions, total, len(group))
		}
		files = append(files, fileBody{File{Name: name, Kind: "pain.001", SHA256: digest(buf.Bytes()), Records: len(group), ControlTotalUSD: totalUSD, Currency: currency, ControlTotal: total}, buf.Bytes()})
	}
	return files, sent, nil
}

// preparePayPal builds the PayPal Payouts requests. A payment above PayPal's
// per-item maximum (Policy.PayPalItemMaxFor) goes out as several items
// (payout.SplitPayPalAmount: maximum-sized items, then the remainder), each
// with its own sender_item_id (payout.PayPalItemID), all in one request; it
// stays one payment (one payments row, its items in payment_items). The
// PayPal request has no date field: the settlement date is the manifest's
// and the cycle's.
func (r *Releaser) preparePayPal(spec fileSpec, payments []payment) ([]fileBody, []sentPayment, error) {
	calendar := spec.calendar
	batch := paypal.Batch{CycleMonth: payout.MonthName(calendar.Month), EmailSubject: r.Config.PayPalSubject,
		EmailMessage: "Your marketplace payout for " + payout.MonthName(calendar.Month) + "."}
	count := 0
	for i := range payments {
		if payments[i].method == payout.PayPal {
			count++
		}
	}
	batch.Items = make([]paypal.Item, 0, count) // more when a payment is split
	byCurrency := map[string][]sentPayment{}    // in input order, as the parts hold them
	for i := range payments {
		p := &payments[i]
		if p.method != payout.PayPal {
			continue
		}
		s := sentPayment{accountID: p.accountID, paymentID: p.paymentID, method: string(p.method), rail: payout.RailPayPal,
			amountUSD: p.amountUSD, amount: p.amount, currency: p.currency, rate: p.rate, trace: nil}
		items, err := payPalItems(spec.policy, *p)
		if err != nil {
			return nil, nil, err
		}
		s.items = items
		note := "Marketplace payout " + payout.MonthName(calendar.Month)
		if len(items) == 0 {
			batch.Items = append(batch.Items, paypal.Item{PayoutID: p.paymentID, Receiver: p.email, Amount: p.amount, Currency: p.currency, Note: note})
		}
		for _, item := range items {
			batch.Items = append(batch.Items, paypal.Item{PayoutID: item.id, Group: p.paymentID, Receiver: p.email, Amount: item.amount,
				Currency: p.currency, Note: fmt.Sprintf("%s, part %d of %d", note, item.n, len(items))})
		}
		byCurrency[p.currency] = append(byCurrency[p.currency], s)
	}
	if len(batch.Items) == 0 {
		return nil, nil, nil
	}
	var files []fileBody
	sent := make([]sentPayment, 0, count)
	err := paypal.Stream(batch, func(part paypal.Part) error {
		// The part's items are whole payments (Stream keeps a group in one
		// part), in input order.
		totalUSD := decimal.Zero
		for left := part.Items; left > 0; {
			queue := byCurrency[part.Currency]
			if len(queue) == 0 {
				return fmt.Errorf("%w: %s holds more items than the payments it was made of", ErrManifest, part.FileName)
			}
			s := queue[0]
			byCurrency[part.Currency] = queue[1:]
			left -= max(1, len(s.items))
			if left < 0 {
				return fmt.Errorf("%w: payment %s's items were split over two PayPal requests", ErrManifest, s.paymentID)
			}
			s.file = part.FileName
			totalUSD = totalUSD.Add(s.amountUSD)
			sent = append(sent, s)
		}
		files = append(files, fileBody{File{Name: part.FileName, Kind: "paypal", SHA256: part.SHA256, Records: part.Items, ControlTotalUSD: totalUSD,
			Currency: part.Currency, ControlTotal: part.Total}, bytes.Clone(part.Bytes)}) // Stream reuses its buffer
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("PayPal batch: %w", err)
	}
	return files, sent, nil
}

// payPalItems splits a PayPal payment above PayPal's per-item maximum into
// its items (none for a payment sent as one item). Each item's USD share,
// which a return of that item alone recredits: every item but the last is
// its amount converted back at the cycle's rate and rounded down to the
// cent; the last is the rest of the payment's USD amount. The shares sum
// exactly to the payment's USD amount and each is at least a cent (the
// rounding down leaves the last at least its own converted amount).
// Errors: the maximum cannot be computed, or the payment needs more items
// than one request holds (the close holds such payments,
// payout.AmountOverRailLimit, unless the rate arrived after it).
func payPalItems(policy payout.Policy, p payment) ([]sentItem, error) {
	limit, err := policy.PayPalItemMaxFor(p.currency, p.rate)
	if err != nil {
		return nil, fmt.Errorf("payment %s: %w", p.paymentID, err)
	}
	if count := payout.PayPalItemCount(p.amount, limit); count > paypal.BatchLimit {
		return nil, fmt.Errorf("payment %s: %s %s needs %d PayPal items of at most %s, more than one request holds (%d): over the rail limit",
			p.paymentID, p.amount, p.currency, count, limit, paypal.BatchLimit)
	}
	amounts := payout.SplitPayPalAmount(p.amount, limit)
	if len(amounts) == 1 {
		return nil, nil
	}
	items := make([]sentItem, len(amounts))
	restUSD := p.amountUSD
	for i, amount := range amounts {
		usd := restUSD
		if i < len(amounts)-1 {
			usd, _ = money.FloorToMinor(amount.Div(p.rate), money.CentScale)
		}
		restUSD = restUSD.Sub(usd)
		items[i] = sentItem{n: i + 1, id: payout.PayPalItemID(p.paymentID, i+1), amountUSD: usd, amount: amount}
	}
	if !items[len(items)-1].amountUSD.IsPositive() {
		return nil, fmt.Errorf("payment %s: the last PayPal item's USD share is %s", p.paymentID, items[len(items)-1].amountUSD)
	}
	return items, nil
}
