package review

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/fielderr"
)

// MaxListLimit bounds the limit of Returns, Jobs and Imports: a page of
// the console, not an export.
const MaxListLimit = 1000

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxListLimit {
		return fielderr.Newf("limit", fielderr.Range, "%d lines: a list has 1 to %d", limit, MaxListLimit)
	}
	return nil
}

// ReturnsView is the returns page.
type ReturnsView struct {
	// Returns: imported returns, newest first (by when they were
	// recorded), each with the cycle that credits it back (RecreditedIn).
	Returns []ReturnLine
	// NeedsNewAccount: the accounts whose newest payout account is
	// needs_update or rejected now, most recent first.
	NeedsNewAccount []AccountLine
}

// AccountLine is an account that needs a new payout account.
type AccountLine struct {
	SellerID, Name  string
	PayoutAccountID int64
	Status          string // needs_update (a payment returned, or an operator's decision) or rejected (prenote returned, verification refused)
	Reason          string // the return code, PayPal status or the operator's reason
	Since           time.Time
}

// Returns is the returns page: at most limit returns, newest first, and
// at most limit accounts needing a new payout account. Where SPEC §6.3's
// rule is recorded: a returns import (payout/returns) moves the payout
// account that was paid to needs_update with the return's code, a returned
// prenote moves it to rejected with the code, and an operator's
// verification result can do either (payout_account_events, with the
// reason). The account needs a new payout account while that account is
// its newest and that status its newest: adding a payout account (which
// starts pending_verification) or verifying it again ends it. Errors: a
// field error at "limit" (1..MaxListLimit), the database's.
func (s *Service) Returns(ctx context.Context, limit int) (ReturnsView, error) {
	view := ReturnsView{Returns: []ReturnLine{}, NeedsNewAccount: []AccountLine{}}
	if err := checkLimit(limit); err != nil {
		return view, err
	}
	err := s.readTx(ctx, false, func(tx *sqlx.Tx) error {
		var err error
		if view.Returns, err = returnLines(ctx, tx, 0, limit); err != nil {
			return err
		}
		// The partial index payout_account_events_needing_update finds the
		// candidates; each must be its payout account's newest event, on
		// its account's newest payout account.
		return sqlx.SelectContext(ctx, tx, &view.NeedsNewAccount, `
			SELECT a.seller_id AS "sellerid", a.display_name AS "name", e.payout_account_id AS "payoutaccountid",
			       e.status AS "status", e.reason AS "reason", e.at AS "since"
			FROM payout_account_events e
			JOIN payout_accounts pa ON pa.id = e.payout_account_id
			JOIN accounts a ON a.id = pa.account_id
			WHERE e.status IN ('needs_update', 'rejected')
			  AND NOT EXISTS (SELECT 1 FROM payout_account_events later
			                  WHERE later.payout_account_id = e.payout_account_id AND (later.at, later.id) > (e.at, e.id))
			  AND NOT EXISTS (SELECT 1 FROM payout_accounts newer
			                  WHERE newer.account_id = pa.account_id AND (newer.created_at, newer.id) > (pa.created_at, pa.id))
			ORDER BY e.at DESC, e.id DESC LIMIT $1`, limit)
	})
	if err != nil {
		return ReturnsView{Returns: []ReturnLine{}, NeedsNewAccount: []AccountLine{}}, fmt.Errorf("review: returns: %w", err)
	}
	for i := range view.NeedsNewAccount {
		view.NeedsNewAccount[i].Since = view.NeedsNewAccount[i].Since.UTC()
	}
	return view, nil
}

// JobRun is one attempt of a scheduled job (job_runs).
type JobRun struct {
	ID                     int64
	Job, OccurrenceKey     string
	ScheduledAt, StartedAt time.Time
	FinishedAt             *time.Time // nil while running
	Attempt                int
	Outcome, Error         string  // running, succeeded or failed; the error of a failed one
	DurationSeconds        float64 // from start to finish; 0 while running
}

// JobsView is the jobs page.
type JobsView struct {
	Runs, Failures []JobRun
}

// Jobs is the jobs page: the runs, newest first (by start), at most limit,
// and the failed ones, newest first, at most limit. Errors: a field error
// at "limit" (1..MaxListLimit), the database's.
func (s *Service) Jobs(ctx context.Context, limit int) (JobsView, error) {
	view := JobsView{Runs: []JobRun{}, Failures: []JobRun{}}
	if err := checkLimit(limit); err != nil {
		return view, err
	}
	const columns = `id, job, occurrence_key, scheduled_at, started_at, finished_at, attempt, outcome, coalesce(error, '')`
	err := s.readTx(ctx, false, func(tx *sqlx.Tx) error {
		var err error
		if view.Runs, err = jobRuns(ctx, tx, `SELECT `+columns+` FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1`, limit); err != nil {
			return err
		}
		view.Failures, err = jobRuns(ctx, tx, `SELECT `+columns+` FROM job_runs WHERE outcome = 'failed' ORDER BY started_at DESC, id DESC LIMIT $1`, limit)
		return err
	})
	if err != nil {
		return JobsView{Runs: []JobRun{}, Failures: []JobRun{}}, fmt.Errorf("review: jobs: %w", err)
	}
	return view, nil
}

func jobRuns(ctx context.Context, tx *sqlx.Tx, statement string, limit int) ([]JobRun, error) {
	rows, err := tx.QueryContext(ctx, statement, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	runs := []JobRun{}
	for rows.Next() {
		var run JobRun
		if err := rows.Scan(&run.ID, &run.Job, &run.OccurrenceKey, &run.ScheduledAt, &run.StartedAt, &run.FinishedAt,
			&run.Attempt, &run.Outcome, &run.Error); err != nil {
			return nil, err
		}
		run.ScheduledAt, run.StartedAt = run.ScheduledAt.UTC(), run.StartedAt.UTC()
		if run.FinishedAt != nil {
			finished := run.FinishedAt.UTC()
			run.FinishedAt = &finished
			run.DurationSeconds = finished.Sub(run.StartedAt).Seconds()
		}
		runs = append(runs, run)
	}
	return runs, rows.Err()
}

// Kinds of ImportLine.
const (
	ImportEarnings = "earnings"
	ImportFX       = "fx"
	ImportReturns  = "returns"
)

// ImportLine is one import of the imports page's history.
type ImportLine struct {
	Kind    string // earnings, fx, returns
	Name    string // the file's name; for FX, the month and currencies
	At      time.Time
	Actor   string // "" when nothing recorded who (the CLI)
	Records int64  // earnings: lines imported; fx: rates added or replaced; returns: returns recorded
	Amount  string // USD when known: earnings' total, returns' credited back; "" for FX
}

// Imports is the imports page's history, newest first, at most limit
// lines:
//   - earnings: earnings_imports (file, lines imported, total), with the
//     actor of the admin API's earnings.import audit entry when there is
//     one (the CLI records none);
//   - fx: fx_rate_changes, one line per import (the rows one import wrote
//     share their month, changed_at and changed_by);
//   - returns: no table records a returns import as such. The admin API's
//     returns.import audit entries record every upload (actor, file,
//     returns recorded and USD); payout_returns rows record the file and
//     the instant of every import that recorded a return (CLI and
//     simulator imports too), so the groups of those rows (source_file,
//     recorded_at) that no audit entry of the same file within the hour
//     after covers are listed too, without an actor.
//
// Errors: a field error at "limit" (1..MaxListLimit), the database's.
func (s *Service) Imports(ctx context.Context, limit int) ([]ImportLine, error) {
	lines := []ImportLine{}
	if err := checkLimit(limit); err != nil {
		return lines, err
	}
	err := s.readTx(ctx, false, func(tx *sqlx.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT 'earnings', i.source_name, i.imported_at, coalesce(l.actor, ''), i.lines_imported, i.total_amount::text
			FROM earnings_imports i
			LEFT JOIN LATERAL (SELECT actor FROM audit_log
			                   WHERE account_id IS NULL AND action = 'earnings.import' AND target = 'earnings_import:' || i.id
			                   ORDER BY id LIMIT 1) l ON true
			ORDER BY i.imported_at DESC, i.id DESC LIMIT $1`, limit)
		if err := appendImports(&lines, rows, err); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `
			SELECT 'fx', format('FX rates of %s: %s', to_char(month, 'YYYY-MM'), string_agg(currency, ', ' ORDER BY currency)),
			       changed_at, changed_by, count(*), ''
			FROM fx_rate_changes GROUP BY month, changed_at, changed_by
			ORDER BY changed_at DESC, month DESC LIMIT $1`, limit)
		if err := appendImports(&lines, rows, err); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `
			SELECT 'returns', coalesce(after->>'file', substr(target, length('returns_import:') + 1)), at, actor,
			       CASE WHEN after->>'returned' ~ '^[0-9]{1,18}$' THEN (after->>'returned')::bigint ELSE 0 END,
			       coalesce(after->>'returned_usd', '')
			FROM audit_log WHERE account_id IS NULL AND action = 'returns.import'
			ORDER BY id DESC LIMIT $1`, limit)
		if err := appendImports(&lines, rows, err); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `
			SELECT 'returns', coalesce(r.source_file, ''), r.recorded_at, '', count(*), sum(r.amount_usd)::text
			FROM payout_returns r
			WHERE NOT EXISTS (SELECT 1 FROM audit_log l
			                  WHERE l.account_id IS NULL AND l.action = 'returns.import' AND l.after->>'file' = r.source_file
			                    AND l.at >= r.recorded_at AND l.at < r.recorded_at + interval '1 hour')
			GROUP BY r.source_file, r.recorded_at
			ORDER BY r.recorded_at DESC LIMIT $1`, limit)
		return appendImports(&lines, rows, err)
	})
	if err != nil {
		return []ImportLine{}, fmt.Errorf("review: imports: %w", err)
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].At.After(lines[j].At) })
	if len(lines) > limit {
		lines = lines[:limit]
	}
	return lines, nil
}

type rowsScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

func appendImports(lines *[]ImportLine, rows rowsScanner, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var line ImportLine
		if err := rows.Scan(&line.Kind, &line.Name, &line.At, &line.Actor, &line.Records, &line.Amount); err != nil {
			return err
		}
		line.At = line.At.UTC()
		if amount, err := decimal.NewFromString(line.Amount); err == nil {
			line.Amount = amount.String()
		}
		*lines = append(*lines, line)
	}
	return rows.Err()
}
