package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Outcomes of a run (job_runs.outcome).
const (
	OutcomeRunning   = "running"
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
)

// Limits.
const (
	// DefaultListLimit is how many runs List returns when asked for none.
	DefaultListLimit = 50
	// MaxListLimit bounds one List.
	MaxListLimit = 1000
	// maxErrorLength matches the CHECK on job_runs.error; longer errors are
	// cut (the whole error is in the log).
	maxErrorLength = 8192
	// recordTimeout bounds writing a run's outcome after its context ended.
	recordTimeout = 10 * time.Second
)

// Errors callers branch on.
var (
	// ErrNotRunning: CompleteTx was given an Occurrence that did not come
	// from a running Worker (or whose run was already finished).
	ErrNotRunning = errors.New("occurrence is not a running job")
	// ErrAlreadySucceeded: another run of the same occurrence has already
	// succeeded; the transaction must roll back.
	ErrAlreadySucceeded = errors.New("occurrence already succeeded")
)

// Run is one row of the run history.
type Run struct {
	ID          int64      `db:"id" json:"id"`
	Job         string     `db:"job" json:"job"`
	Key         string     `db:"occurrence_key" json:"key"`
	ScheduledAt time.Time  `db:"scheduled_at" json:"scheduled_at"`
	Attempt     int        `db:"attempt" json:"attempt"`
	StartedAt   time.Time  `db:"started_at" json:"started_at"`
	FinishedAt  *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	Outcome     string     `db:"outcome" json:"outcome"`
	Error       *string    `db:"error" json:"error,omitempty"`
}

// List returns the newest runs first (limit ≤ 0: DefaultListLimit; at most
// MaxListLimit), for `payrun jobs list`.
func List(ctx context.Context, database sqlx.QueryerContext, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	var runs []Run
	err := sqlx.SelectContext(ctx, database, &runs, `
		SELECT id, job, occurrence_key, scheduled_at, attempt, started_at, finished_at, outcome, error
		FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list job runs: %w", err)
	}
	return runs, nil
}

// LastSuccess returns when job last finished a successful run; ok is false
// when it never has.
func LastSuccess(ctx context.Context, database sqlx.QueryerContext, job string) (finishedAt time.Time, ok bool, err error) {
	err = sqlx.GetContext(ctx, database, &finishedAt, `
		SELECT finished_at FROM job_runs WHERE job = $1 AND outcome = 'succeeded'
		ORDER BY started_at DESC LIMIT 1`, job)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("last success of %s: %w", job, err)
	}
	return finishedAt.UTC(), true, nil
}

// runState ties an Occurrence handed to Job.Run to its River job and its
// job_runs row.
type runState struct {
	job   *river.Job[occurrenceArgs]
	runID int64
	now   func() time.Time
	owner *Worker
	// completeCalled is set once CompleteTx has marked the run in some
	// transaction; whether that transaction committed is checked afterwards.
	completeCalled atomic.Bool
}

// CompleteTx marks occurrence done inside tx: River's job completes
// (river.JobCompleteTx) and the run is recorded as succeeded, both in tx, so
// they commit — or roll back — together with the job's own writes in tx. Call
// it last in the transaction that writes the job's effects, commit, and
// return nil from Run. A job that returns nil without calling it is completed
// by the Worker in a transaction of its own.
//
// tx may be any pgx transaction on payrun's database (for example from
// db.PgxTx); ctx must be the context Run was given (River finds its client
// there).
//
// Errors: ErrNotRunning, ErrAlreadySucceeded (another run of this occurrence
// committed first: roll back), or a database error.
func CompleteTx(ctx context.Context, tx pgx.Tx, occurrence Occurrence) error {
	state := occurrence.run
	if state == nil {
		return ErrNotRunning
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, state.job); err != nil {
		return fmt.Errorf("complete %s %s: %w", occurrence.Name, occurrence.Key, err)
	}
	if err := markSucceeded(ctx, tx, state.runID, state.now()); err != nil {
		return fmt.Errorf("complete %s %s: %w", occurrence.Name, occurrence.Key, err)
	}
	state.completeCalled.Store(true)
	return nil
}

// executor is what job_runs writes need: a pgx pool, connection or tx.
type executor interface {
	Exec(ctx context.Context, sql string, arguments ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, arguments ...any) pgx.Row
}

func markSucceeded(ctx context.Context, tx executor, runID int64, now time.Time) error {
	tag, err := tx.Exec(ctx, `
		UPDATE job_runs SET outcome = 'succeeded', finished_at = greatest($2, started_at)
		WHERE id = $1 AND outcome = 'running'`, runID, now)
	var pgError *pgconn.PgError
	if errors.As(err, &pgError) && pgError.Code == "23505" {
		return ErrAlreadySucceeded
	}
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return ErrNotRunning
	}
	return nil
}

func markFailed(ctx context.Context, database executor, runID int64, now time.Time, runErr error) error {
	message := runErr.Error()
	if len(message) > maxErrorLength {
		message = message[:maxErrorLength-len("…")] + "…"
	}
	_, err := database.Exec(ctx, `
		UPDATE job_runs SET outcome = 'failed', finished_at = greatest($2, started_at), error = $3
		WHERE id = $1 AND outcome = 'running'`, runID, now, message)
	return err
}

// abandonRunning closes runs of job left 'running' by a worker that died: it
// is called under the job's lock, so no run of job is really in progress.
func abandonRunning(ctx context.Context, database executor, job, key string, now time.Time) (int64, error) {
	tag, err := database.Exec(ctx, `
		UPDATE job_runs SET outcome = 'failed', finished_at = greatest($2, started_at),
			error = 'abandoned: the worker running it stopped before recording an outcome'
		WHERE job = $1 AND outcome = 'running' AND ($3 = '' OR occurrence_key = $3)`, job, now, key)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func hasSucceeded(ctx context.Context, database executor, job, key string) (bool, error) {
	var done bool
	err := database.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM job_runs WHERE job = $1 AND occurrence_key = $2 AND outcome = 'succeeded')`,
		job, key).Scan(&done)
	return done, err
}

func insertRunning(ctx context.Context, database executor, occurrence Occurrence, riverJobID int64, now time.Time) (int64, error) {
	var id int64
	err := database.QueryRow(ctx, `
		INSERT INTO job_runs (job, occurrence_key, scheduled_at, river_job_id, attempt, started_at, outcome)
		VALUES ($1, $2, $3, $4, $5, $6, 'running') RETURNING id`,
		occurrence.Name, occurrence.Key, occurrence.ScheduledAt, riverJobID, occurrence.Attempt, now).Scan(&id)
	return id, err
}

func runOutcome(ctx context.Context, database executor, runID int64) (string, error) {
	var outcome string
	err := database.QueryRow(ctx, `SELECT outcome FROM job_runs WHERE id = $1`, runID).Scan(&outcome)
	return outcome, err
}
