package metrics

import (
	"context"
	"database/sql"
	"fmt"
)

// Querier is what Refresh reads through: *sql.DB, *sqlx.DB and their
// transactions all have it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// snapshot is what Refresh reads, applied only once every query succeeded.
type snapshot struct {
	months         map[string]string
	lastClosed     sql.NullFloat64
	totals         *CycleTotals
	jobLastSuccess map[string]float64
	jobFailures    map[string]float64
}

// Refresh sets the gauges that describe the database rather than this
// process from the cycles and job_runs tables, so they are right after a
// restart and agree across replicas: the state of the newest
// MaxCycleStateMonths cycles, the last close time, the totals of the newest
// closed cycle, and per job its last success and failures since. Counters,
// payrun_job_running and payrun_leader belong to the process and are left
// alone. Call it at start and then periodically (a minute is plenty).
// On error nothing is changed.
// Errors: a database error, or totals JSON that does not parse.
func (m *Metrics) Refresh(ctx context.Context, db Querier) error {
	if m == nil {
		return nil
	}
	s, err := readSnapshot(ctx, db)
	if err != nil {
		return fmt.Errorf("metrics: refresh: %w", err)
	}
	m.mu.Lock()
	m.months = s.months
	m.cycleState.Reset()
	m.writeCycleStatesLocked()
	m.mu.Unlock()
	if s.lastClosed.Valid {
		m.lastClosed.Set(s.lastClosed.Float64)
	}
	if s.totals != nil {
		m.setTotals(*s.totals)
	}
	for job, at := range s.jobLastSuccess {
		m.jobLastSuccess.WithLabelValues(job).Set(at)
	}
	for job, failures := range s.jobFailures {
		m.jobFailuresInARow.WithLabelValues(job).Set(failures)
	}
	return nil
}

func readSnapshot(ctx context.Context, db Querier) (snapshot, error) {
	s := snapshot{months: map[string]string{}, jobLastSuccess: map[string]float64{}, jobFailures: map[string]float64{}}
	err := each(ctx, db, `SELECT to_char(month, 'YYYY-MM'), state FROM cycles ORDER BY month DESC LIMIT $1`,
		[]any{MaxCycleStateMonths}, func(rows *sql.Rows) error {
			var month, state string
			if err := rows.Scan(&month, &state); err != nil {
				return err
			}
			s.months[month] = state
			return nil
		})
	if err != nil {
		return s, fmt.Errorf("cycle states: %w", err)
	}
	err = each(ctx, db, `SELECT extract(epoch FROM max(closed_at))::float8 FROM cycles`, nil, func(rows *sql.Rows) error {
		return rows.Scan(&s.lastClosed)
	})
	if err != nil {
		return s, fmt.Errorf("last close: %w", err)
	}
	err = each(ctx, db, `SELECT totals FROM cycles WHERE totals IS NOT NULL ORDER BY month DESC LIMIT 1`, nil, func(rows *sql.Rows) error {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return err
		}
		totals, err := ParseCycleTotals(raw)
		if err != nil {
			return err
		}
		s.totals = &totals
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("totals of the newest closed cycle: %w", err)
	}
	// Failures since the last success: the "failing twice in a row" alert.
	err = each(ctx, db, `
		WITH last_success AS (
			SELECT job, max(started_at) AS started_at, max(finished_at) AS finished_at
			FROM job_runs WHERE outcome = 'succeeded' GROUP BY job)
		SELECT r.job, extract(epoch FROM s.finished_at)::float8,
		       count(*) FILTER (WHERE r.outcome = 'failed' AND r.started_at > coalesce(s.started_at, '-infinity'))
		FROM job_runs r LEFT JOIN last_success s USING (job)
		GROUP BY r.job, s.finished_at`, nil, func(rows *sql.Rows) error {
		var job string
		var lastSuccess sql.NullFloat64
		var failures int64
		if err := rows.Scan(&job, &lastSuccess, &failures); err != nil {
			return err
		}
		if lastSuccess.Valid {
			s.jobLastSuccess[job] = lastSuccess.Float64
		}
		s.jobFailures[job] = float64(failures)
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("job runs: %w", err)
	}
	return s, nil
}

// each runs query and calls scan for every row.
func each(ctx context.Context, db Querier, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
