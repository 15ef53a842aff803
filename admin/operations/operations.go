// Package operations implements admin.Operations with payrun's own stores:
// the operator endpoints (SPEC §7.11) list and show cycles from the cycle
// store, send the workbook and the payment files the close and the release
// wrote, approve and release through the same code as `payrun cycle
// approve|release`, and import earnings, returns and FX rates through the
// same atomic imports as the CLI.
//
// Errors are translated once, here, into what package admin maps to HTTP
// statuses: an unknown cycle or payout account is accounts.KindNotFound, a
// cycle in the wrong state (not awaiting approval, not releasable, released
// by a concurrent run), an FX rate that differs from the loaded one or a
// released file that differs from its manifest KindConflict, an approver
// who closed the cycle (compared by operator id) or is no operator, or a
// missing FX rate KindRule, a refused file *admin.ImportRefused naming every
// bad row.
//
// Files are only ever opened by names read from the database (the
// manifest rows of cycle_files, or the workbook's fixed name), under the
// configured output directory; a name from a request is only a key.
package operations

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cycle"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/returns"
	"github.com/payrun/payrun/payout/store"
)

// manifestName is the manifest the release writes beside the files.
const manifestName = "manifest.json"

// Service is the real admin.Operations.
type Service struct {
	DB    *sqlx.DB
	Store *store.Store
	// Releaser builds the payment-file writer from configuration, or says
	// which setting is missing (then releasing is refused, 422).
	Releaser func() (*release.Releaser, error)
	// OutDir is the output directory (cycles/<M>/ holds the files).
	OutDir string
	Clock  func() time.Time
	// HoldingPeriod is the earnings import's default holding period.
	HoldingPeriod time.Duration
	// FXMaxChange is the policy's fx_max_change, the band of an FX import
	// (zero: payout.DefaultFXMaxChange).
	FXMaxChange decimal.Decimal
	// TempDir receives uploaded earnings files while they are imported (the
	// import may read a file twice); empty means os.TempDir().
	TempDir string
	// Policy is the policy a dry-run preview closes with (a cycle that
	// started keeps its recorded one).
	Policy payout.Policy
}

var _ admin.Operations = (*Service)(nil)

func (s *Service) now() time.Time { return s.Clock().UTC() }

func notFound(field, format string, args ...any) error {
	return &accounts.Error{Kind: accounts.KindNotFound, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// translate maps the stores' sentinels to accounts.Error kinds.
func translate(err error) error {
	var kind accounts.Kind
	field := "month"
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrUnknownCycle):
		kind = accounts.KindNotFound
	case errors.Is(err, store.ErrNotApprovable), errors.Is(err, release.ErrNotReleasable), errors.Is(err, store.ErrNotReleasable),
		errors.Is(err, release.ErrTampered), errors.Is(err, release.ErrReleasedConcurrently):
		kind = accounts.KindConflict
	case errors.Is(err, store.ErrSameOperator), errors.Is(err, store.ErrNotAnApprover), errors.Is(err, store.ErrUnknownOperator),
		errors.Is(err, release.ErrMissingFX), errors.Is(err, store.ErrFutureMonth), errors.Is(err, store.ErrPreviousOpen):
		kind = accounts.KindRule
	case errors.Is(err, release.ErrFXConflict):
		kind, field = accounts.KindConflict, "currency"
	case errors.Is(err, release.ErrFXChangeUnconfirmed):
		kind, field = accounts.KindRule, "confirm_change"
	case errors.Is(err, store.ErrUnknownPayoutAccount):
		kind, field = accounts.KindNotFound, "id"
	case errors.Is(err, store.ErrBadTransition):
		kind, field = accounts.KindConflict, "status"
	case errors.Is(err, nacha.ErrInvalidField):
		// The ACH writer refused a value: the originator configuration or a
		// stored payout account, never a field of this request. Without its
		// field error (which admin would answer as a 400 naming body
		// fields), it stays the 500 it always was, its cause logged.
		return errors.New(err.Error())
	default:
		return err
	}
	return &accounts.Error{Kind: kind, Field: field, Reason: err.Error()}
}

// Cycles lists cycles newest first, before the month before (zero: all).
func (s *Service) Cycles(ctx context.Context, before time.Time, limit int) ([]admin.Cycle, error) {
	var months []time.Time
	var bound any
	if !before.IsZero() {
		bound = before
	}
	if err := s.DB.SelectContext(ctx, &months, `SELECT month FROM cycles WHERE $1::date IS NULL OR month < $1::date ORDER BY month DESC LIMIT $2`, bound, limit); err != nil {
		return nil, err
	}
	out := make([]admin.Cycle, 0, len(months))
	for _, month := range months {
		c, err := s.Cycle(ctx, month)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Cycle returns a cycle. Errors: KindNotFound.
func (s *Service) Cycle(ctx context.Context, month time.Time) (admin.Cycle, error) {
	view, err := s.Store.Cycle(ctx, month)
	if err != nil {
		return admin.Cycle{}, translate(err)
	}
	return cycleOf(view), nil
}

func cycleOf(v store.CycleView) admin.Cycle {
	totals := totalsOf(v.Totals)
	var settlement *time.Time
	if v.SettlementDate != nil {
		u := v.SettlementDate.UTC()
		settlement = &u
	}
	return admin.Cycle{Month: v.Month, State: v.State, Cutoff: v.Cutoff.UTC(), PaymentDate: v.PaymentDate.UTC(), SettlementDate: settlement,
		ClosedAt: v.ClosedAt, ClosedBy: v.ClosedBy, ApprovedAt: v.ApprovedAt, ApprovedBy: v.ApprovedBy,
		ReleasedAt: v.ReleasedAt, ReleasedBy: v.ReleasedBy, Totals: totals, Files: v.Files,
		ClosedByOperatorID: v.ClosedByOperatorID, ApprovedByOperatorID: v.ApprovedByOperatorID, ReleasedByOperatorID: v.ReleasedByOperatorID}
}

func totalsOf(t store.Totals) admin.CycleTotals {
	bucket := func(b store.Bucket) admin.Bucket { return admin.Bucket{Count: b.Count, Amount: b.Amount.String()} }
	totals := admin.CycleTotals{Accounts: t.Accounts, Balance: t.Balance.String(), NewUS: t.NewUS.String(), NewOther: t.NewOther.String(),
		Paid: bucket(t.Paid), Withheld: t.Withheld.String(), Held: bucket(t.Held), Carried: bucket(t.Carried), Remainder: t.Remainder.String(),
		PaidByMethod: map[string]admin.Bucket{}, ByPrimaryReason: map[string]admin.Bucket{}, WithheldByRate: map[string]admin.RateBucket{}}
	for k, b := range t.ByMethod {
		totals.PaidByMethod[k] = bucket(b)
	}
	for k, b := range t.ByReason {
		totals.ByPrimaryReason[k] = bucket(b)
	}
	for k, r := range t.ByRate {
		totals.WithheldByRate[k] = admin.RateBucket{Count: r.Count, Base: r.Base.String(), Withheld: r.Withheld.String()}
	}
	return totals
}

// Checks reads the self-checks of month's workbook; when this replica's
// disk has none yet (written by another replica, or lost), the workbook is
// written again from the database, as Workbook does. Errors: KindNotFound
// (no such cycle, or not closed yet).
func (s *Service) Checks(ctx context.Context, month time.Time) ([]admin.WorkbookCheck, error) {
	view, err := s.Store.Cycle(ctx, month)
	if err != nil {
		return nil, translate(err)
	}
	if !closedState(view.State) {
		return nil, notFound("month", "cycle %s is %s: its workbook is written when it closes", view.Month, view.State)
	}
	checks, err := cyclereport.ReadChecks(s.OutDir, month)
	if errors.Is(err, cyclereport.ErrNoChecks) {
		if _, err = s.cycles(s.Releaser).WriteWorkbook(ctx, month); err != nil {
			return nil, err
		}
		checks, err = cyclereport.ReadChecks(s.OutDir, month)
	}
	if err != nil {
		return nil, err
	}
	out := make([]admin.WorkbookCheck, 0, len(checks.Checks))
	for _, c := range checks.Checks {
		out = append(out, admin.WorkbookCheck{Name: c.Name, Pass: c.Pass, Detail: c.Detail})
	}
	return out, nil
}

// Upcoming is the next cycle to close: the month after the newest cycle,
// or, before the first close, the month of now; it has no row until its
// close starts, so it is shown as open with its calendar.
func (s *Service) Upcoming(ctx context.Context) (admin.Cycle, error) {
	var newest *time.Time
	if err := s.DB.GetContext(ctx, &newest, `SELECT max(month) FROM cycles`); err != nil {
		return admin.Cycle{}, err
	}
	month := s.now()
	if newest != nil {
		month = newest.UTC().AddDate(0, 1, 0)
	}
	calendar := s.Policy.CalendarFor(month)
	return admin.Cycle{Month: payout.MonthName(calendar.Month), State: string(payout.CycleOpen), Cutoff: calendar.Cutoff,
		PaymentDate: calendar.PaymentDate, Totals: admin.CycleTotals{PaidByMethod: map[string]admin.Bucket{},
			ByPrimaryReason: map[string]admin.Bucket{}, WithheldByRate: map[string]admin.RateBucket{}}}, nil
}

// Preview closes month in a dry run (one transaction, rolled back: nothing
// is kept and no file is written) and returns the totals the close would
// have. Errors: the close's (a cutoff not reached yet is KindRule).
func (s *Service) Preview(ctx context.Context, month time.Time) (admin.CycleTotals, error) {
	closed, err := s.cycles(s.Releaser).Close(ctx, store.CloseOptions{Month: month, Policy: s.Policy, Actor: "console:preview", DryRun: true}, true)
	if err != nil {
		return admin.CycleTotals{}, translate(err)
	}
	return totalsOf(closed.Totals), nil
}

// closedState: the cycle has payouts, so a workbook.
func closedState(state string) bool {
	switch state {
	case store.StateClosed, store.StateAwaitingApproval, store.StateReleased, store.StateSettled:
		return true
	}
	return false
}

// Workbook opens the cycle's summary workbook; one missing on this
// replica's disk (written by another replica, or lost) is written again
// from the database, as the close would have. Errors: KindNotFound.
func (s *Service) Workbook(ctx context.Context, month time.Time) (admin.Download, error) {
	view, err := s.Store.Cycle(ctx, month)
	if err != nil {
		return admin.Download{}, translate(err)
	}
	if !closedState(view.State) {
		return admin.Download{}, notFound("month", "cycle %s is %s: its workbook is written when it closes", view.Month, view.State)
	}
	path := cyclereport.Path(s.OutDir, month, false)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if _, err := s.cycles(s.Releaser).WriteWorkbook(ctx, month); err != nil {
			return admin.Download{}, err
		}
	}
	file, err := os.Open(path)
	if err != nil {
		return admin.Download{}, err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return admin.Download{}, err
	}
	return admin.Download{Name: filepath.Base(path), ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		Size: info.Size(), Body: file}, nil
}

// cycles is the cycle's application layer (payout/cycle), as the CLI and
// the jobs use it, with releaser building the payment-file writer.
func (s *Service) cycles(releaser func() (*release.Releaser, error)) *cycle.Service {
	return &cycle.Service{DB: s.DB, Store: s.Store, Releaser: releaser, OutDir: s.OutDir}
}

// manifest reads a released cycle's manifest rows.
func (s *Service) manifest(ctx context.Context, month time.Time, name string) ([]admin.CycleFile, error) {
	rows, err := s.DB.QueryxContext(ctx, `
		SELECT name, kind, sha256, records, control_total_usd, currency, control_total FROM cycle_files
		WHERE month = $1 AND ($2 = '' OR name = $2) ORDER BY name`, month, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	files := []admin.CycleFile{}
	for rows.Next() {
		var f admin.CycleFile
		var usd, total decimal.Decimal
		if err := rows.Scan(&f.Name, &f.Kind, &f.SHA256, &f.Records, &usd, &f.Currency, &total); err != nil {
			return nil, err
		}
		places, err := money.MinorUnit(f.Currency)
		if err != nil {
			places = money.CentScale
		}
		f.ControlTotalUSD, f.ControlTotal = usd.StringFixed(money.CentScale), total.StringFixed(places)
		files = append(files, f)
	}
	return files, rows.Err()
}

// Files lists a cycle's manifest (empty before its release).
// Errors: KindNotFound.
func (s *Service) Files(ctx context.Context, month time.Time) ([]admin.CycleFile, error) {
	if _, err := s.Store.Cycle(ctx, month); err != nil {
		return nil, translate(err)
	}
	return s.manifest(ctx, month, "")
}

var mediaTypes = map[string]string{"ach": "text/plain", "pain.001": "application/xml", "paypal": "application/json", "manifest": "application/json"}

// File opens a file of a released cycle by its manifest name (or the
// manifest itself), after checking its bytes still have the manifest's
// sha256. Errors: KindNotFound.
func (s *Service) File(ctx context.Context, month time.Time, name string) (admin.Download, error) {
	view, err := s.Store.Cycle(ctx, month)
	if err != nil {
		return admin.Download{}, translate(err)
	}
	kind, digest := "manifest", ""
	if name != manifestName || len(view.Files) == 0 {
		files, err := s.manifest(ctx, month, name)
		if err != nil {
			return admin.Download{}, err
		}
		if len(files) != 1 {
			return admin.Download{}, notFound("name", "%q is not in the manifest of cycle %s", name, view.Month)
		}
		kind, digest = files[0].Kind, files[0].SHA256
	}
	// The name comes from the database; refuse anything but a plain file
	// name all the same.
	if filepath.Base(name) != name || strings.HasPrefix(name, ".") {
		return admin.Download{}, notFound("name", "%q is not a file name", name)
	}
	file, err := os.Open(filepath.Join(release.Directory(s.OutDir, month), name))
	if errors.Is(err, os.ErrNotExist) {
		return admin.Download{}, fmt.Errorf("cycle %s: %s is in the manifest but not under %s (release it again to rewrite it)", view.Month, name, s.OutDir)
	}
	if err != nil {
		return admin.Download{}, err
	}
	hash := sha256.New()
	size, err := io.Copy(hash, file)
	if err == nil && digest != "" && hex.EncodeToString(hash.Sum(nil)) != digest {
		err = fmt.Errorf("cycle %s: %s differs from its manifest sha256: not sent", view.Month, name)
	}
	if err == nil {
		_, err = file.Seek(0, io.SeekStart)
	}
	if err != nil {
		file.Close()
		return admin.Download{}, err
	}
	return admin.Download{Name: name, ContentType: mediaTypes[kind], Size: size, SHA256: digest, Body: file}, nil
}

// Approve approves a cycle awaiting approval. The approver is the signed-in
// operator, by id — the same id `payrun cycle close --by NAME` resolves NAME
// to — so the operator who closed it cannot approve it however the name was
// typed; any other kind of principal is refused.
// Errors: KindNotFound, KindConflict, KindRule.
func (s *Service) Approve(ctx context.Context, month time.Time, approver accounts.Principal) (admin.Cycle, error) {
	if approver.Kind != accounts.KindOperator || approver.ID == 0 {
		return admin.Cycle{}, translate(fmt.Errorf("%w: %s is not an operator", store.ErrNotAnApprover, approver.Actor()))
	}
	if err := s.cycles(s.Releaser).Approve(ctx, month, approver.ID); err != nil {
		return admin.Cycle{}, translate(err)
	}
	return s.Cycle(ctx, month)
}

// Release writes the payment files and rewrites the workbook with them, as
// `payrun cycle release` does. Errors: KindNotFound, KindConflict,
// KindRule (missing FX rate or payment-file configuration).
func (s *Service) Release(ctx context.Context, month time.Time, actor accounts.Principal) (admin.Release, error) {
	if _, err := s.Store.Cycle(ctx, month); err != nil {
		return admin.Release{}, translate(err)
	}
	releaser, err := s.Releaser()
	if err != nil {
		return admin.Release{}, &accounts.Error{Kind: accounts.KindRule, Field: "month", Reason: "payment files are not configured on this server: " + err.Error()}
	}
	by := store.SystemPrincipal(actor.Actor())
	if actor.Kind == accounts.KindOperator && actor.ID != 0 {
		by = store.Principal{OperatorID: actor.ID}
	}
	result, err := s.cycles(func() (*release.Releaser, error) { return releaser, nil }).Release(ctx, month, by)
	if err != nil {
		return admin.Release{}, translate(err)
	}
	files, err := s.manifest(ctx, month, "")
	if err != nil {
		return admin.Release{}, err
	}
	return admin.Release{Month: result.Month, ReleasedAt: result.ReleasedAt.UTC(), AlreadyReleased: result.AlreadyReleased,
		PaymentDate: result.PaymentDate, SettlementDate: result.SettlementDate, Files: files}, nil
}

// ImportEarnings spools the upload to a temporary file (the import may
// read it twice) and imports it atomically. Errors: *admin.ImportRefused.
func (s *Service) ImportEarnings(ctx context.Context, name string, body io.Reader) (admin.EarningsImport, error) {
	spool, err := os.CreateTemp(s.TempDir, "payrun-earnings-*.csv")
	if err != nil {
		return admin.EarningsImport{}, err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	if _, err := io.Copy(spool, body); err != nil {
		return admin.EarningsImport{}, fmt.Errorf("earnings upload: %w", err)
	}
	if err := spool.Sync(); err != nil {
		return admin.EarningsImport{}, err
	}
	result, err := ledger.Import(ctx, s.DB, func() (io.ReadCloser, error) { return os.Open(spool.Name()) },
		ledger.ImportOptions{SourceName: name, HoldingPeriod: s.HoldingPeriod, Clock: s.now})
	var refused *ledger.ImportError
	if errors.As(err, &refused) {
		out := &admin.ImportRefused{Total: refused.Total}
		for _, row := range refused.Rows {
			location := "lines[" + strconv.FormatInt(row.Line, 10) + "]"
			if row.Column != "" {
				location += "." + row.Column
			}
			out.Problems = append(out.Problems, admin.RowProblem{Location: location, Reason: row.Reason})
		}
		return admin.EarningsImport{}, out
	}
	if err != nil {
		return admin.EarningsImport{}, err
	}
	return admin.EarningsImport{ImportID: result.ImportID, LinesRead: result.LinesRead, Imported: result.Imported, Skipped: result.Skipped,
		Total: result.Total.StringFixed(6)}, nil
}

var whereLine = regexp.MustCompile(`^line (\d+)$`)

// ImportReturns imports an ACH return file or PayPal statuses (SPEC §6.3).
// Errors: *admin.ImportRefused.
func (s *Service) ImportReturns(ctx context.Context, name string, body io.Reader) (admin.ReturnsImport, error) {
	result, err := returns.Import(ctx, s.DB, s.Clock, body, name)
	var refused *returns.FileError
	if errors.As(err, &refused) {
		out := &admin.ImportRefused{Total: len(refused.Problems)}
		for _, p := range refused.Problems {
			location := p.Where
			if m := whereLine.FindStringSubmatch(p.Where); m != nil {
				location = "lines[" + m[1] + "]"
			} else if p.Where == "file" {
				location = ""
			}
			if p.Field != "" {
				location = strings.TrimPrefix(location+"."+p.Field, ".")
			}
			out.Problems = append(out.Problems, admin.RowProblem{Location: location, Reason: p.Reason})
		}
		return admin.ReturnsImport{}, out
	}
	if err != nil {
		return admin.ReturnsImport{}, err
	}
	out := admin.ReturnsImport{File: result.File, Format: result.Format, Records: result.Records, Returned: result.Returned,
		ReturnedUSD: result.ReturnedUSD.StringFixed(money.CentScale), PrenotesReturned: result.PrenotesReturned, Skipped: result.Skipped,
		Duplicates: result.Duplicates, Payments: []admin.ReturnedPayment{}, Prenotes: []admin.ReturnedPrenote{}}
	for _, p := range result.Payments {
		out.Payments = append(out.Payments, admin.ReturnedPayment{PaymentID: p.PaymentID, ItemID: p.ItemID, Month: p.Month, PayoutAccountID: p.PayoutAccountID,
			AmountUSD: p.AmountUSD.StringFixed(money.CentScale), Reason: p.Reason, NeedsUpdate: p.NeedsUpdate})
	}
	for _, p := range result.Prenotes {
		out.Prenotes = append(out.Prenotes, admin.ReturnedPrenote{PayoutAccountID: p.PayoutAccountID, ReturnCode: p.ReturnCode, Rejected: p.Rejected})
	}
	// The returned payments' cycles show them, as after the CLI's import:
	// their workbook and result.json are written again. The returns are
	// recorded whatever happens here; a failure to rewrite is logged and
	// the next import or release writes them.
	months := make([]string, len(result.Payments))
	for i, p := range result.Payments {
		months[i] = p.Month
	}
	if _, err := cyclereport.RewriteAfterReturns(ctx, s.DB, s.OutDir, months); err != nil {
		logging.FromContext(ctx).Error("returns recorded, but their cycles' workbook and result.json were not rewritten", "error", err)
	}
	return out, nil
}

// fxProblem is one line of release.ImportFX's refusal ("line 3, column
// rate: ..." or "line 1: header must be ...").
var fxProblem = regexp.MustCompile(`^line (\d+)(?:, column ([a-z_]+))?: (.*)$`)

// ImportFX loads or replaces a cycle's FX rates (release.ImportFXRates with
// the policy's fx_max_change, the actor recorded with each change). The file
// is read whole first (it is small, at most admin.MaxBodyBytes) so that an
// oversize upload stays a 413. Errors: *admin.ImportRefused, KindRule
// (field confirm_change: a move beyond the band, not confirmed),
// KindConflict (replacing a rate once the cycle has started closing).
func (s *Service) ImportFX(ctx context.Context, month time.Time, body io.Reader, confirmChange bool, actor accounts.Principal) (admin.FXImport, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return admin.FXImport{}, fmt.Errorf("FX upload: %w", err)
	}
	result, err := release.ImportFXRates(ctx, s.DB, month, bytes.NewReader(raw), release.FXOptions{
		Now: s.now(), By: actor.Actor(), MaxChange: s.FXMaxChange, ConfirmChange: confirmChange})
	if err != nil && !errors.Is(err, release.ErrFXConflict) && errors.Unwrap(err) == nil {
		// ImportFX refuses a file with plain errors, one line per problem.
		refused := &admin.ImportRefused{}
		for _, line := range strings.Split(err.Error(), "\n") {
			m := fxProblem.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			location := "lines[" + m[1] + "]"
			if m[2] != "" {
				location += "." + m[2]
			}
			refused.Problems = append(refused.Problems, admin.RowProblem{Location: location, Reason: m[3]})
		}
		if refused.Total = len(refused.Problems); refused.Total > 0 {
			return admin.FXImport{}, refused
		}
	}
	if err != nil {
		return admin.FXImport{}, translate(err)
	}
	out := admin.FXImport{Month: payout.MonthName(month), Added: result.Added, Replaced: result.Replaced, Unchanged: result.Unchanged,
		Changes: make([]admin.FXRateChange, 0, len(result.Changes))}
	for _, c := range result.Changes {
		change := admin.FXRateChange{Currency: c.Currency, After: c.After.String(), PreviousMonth: c.PreviousMonth, Confirmed: c.Confirmed}
		if c.Before != nil {
			change.Before = c.Before.String()
		}
		if c.PreviousRate != nil {
			change.PreviousRate = c.PreviousRate.String()
			change.ChangePercent = strings.TrimSuffix(release.Percent(*c.Change), "%")
		}
		out.Changes = append(out.Changes, change)
	}
	return out, nil
}

// RecordVerification records an operator's verification result for a
// payout account (SPEC §6.1). Errors: KindNotFound, KindConflict (not
// allowed from the account's state).
func (s *Service) RecordVerification(ctx context.Context, payoutAccountID int64, status, reason string, actor accounts.Principal) (admin.Verification, error) {
	var owner struct {
		AccountID int64  `db:"account_id"`
		SellerID  string `db:"seller_id"`
	}
	err := s.DB.GetContext(ctx, &owner, `SELECT p.account_id, a.seller_id FROM payout_accounts p JOIN accounts a ON a.id = p.account_id WHERE p.id = $1`, payoutAccountID)
	if errors.Is(err, sql.ErrNoRows) {
		return admin.Verification{}, notFound("id", "no payout account %d", payoutAccountID)
	}
	if err != nil {
		return admin.Verification{}, err
	}
	if err := s.Store.RecordVerification(ctx, payoutAccountID, status, reason, actor.Actor()); err != nil {
		return admin.Verification{}, translate(err)
	}
	return admin.Verification{PayoutAccountID: payoutAccountID, SellerID: owner.SellerID, Status: status, Reason: reason, AccountID: owner.AccountID}, nil
}
