package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/internal/db"
)

// PartitionedTables are the tables split into one partition per UTC month
// (migrations/060_partitions.sql): earnings_lines by available_at, postings
// by posted_at.
var PartitionedTables = []string{"earnings_lines", "postings"}

// ArchivePrefix starts the name of a partition detached for archiving
// (archive_earnings_lines_202609).
const ArchivePrefix = "archive_"

// PartitionLockKey is the advisory lock payrun_ensure_partitions takes to
// create partitions and DetachPartitions holds while it detaches
// ("payru" + 2, beside ImportLockKey).
const PartitionLockKey int64 = 0x7061797275_02

// Partition limits and timings.
const (
	// PartitionMonthsAhead is how many months after the current one the
	// maintain-partitions job keeps ready, so a writer rarely creates one.
	PartitionMonthsAhead = 3
	// MaxEnsureMonths bounds one EnsurePartitions call (the SQL function's
	// own limit): 20 years.
	MaxEnsureMonths = 240
	// detachLockTimeout bounds how long a detach waits for its ACCESS
	// EXCLUSIVE locks: a close or an import holding the table makes it fail
	// (and change nothing) rather than stall every reader queued behind it.
	detachLockTimeout = "10s"
)

// CycleSettled is the final state of a cycle (migrations/002_cycle.sql): paid,
// and the returns window has passed. Only what settled cycles read may be
// archived.
const CycleSettled = "settled"

// ErrNotConsumed is returned by DetachPartitions for a month whose rows an
// unsettled (or not yet started) cycle may still read.
var ErrNotConsumed = errors.New("not consumed yet")

// Partition is one monthly partition of a PartitionedTables table: attached,
// or detached and renamed for archiving.
type Partition struct {
	Table        string    `json:"table"`
	Name         string    `json:"partition"`
	Month        time.Time `json:"month"`
	RowsEstimate int64     `json:"rows_estimate"` // pg_class.reltuples; -1 before the first ANALYZE
	Bytes        int64     `json:"bytes"`         // table, indexes and TOAST
	Attached     bool      `json:"attached"`
}

// MonthStart returns the first instant of t's UTC month.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// EnsurePartitions creates, in a transaction of its own, every missing
// partition of both tables for the months from from to to (both included)
// and returns how many it created. It is idempotent and safe to run from
// several sessions at once (payrun_ensure_partitions serialises creators on
// an advisory lock). Creating a partition locks its parent table until the
// commit, which is why this runs on its own, ahead of the writers.
// Errors: to before from or more than MaxEnsureMonths months, or the
// database's error.
func EnsurePartitions(ctx context.Context, database *sqlx.DB, from, to time.Time) (int, error) {
	if err := checkMonths(from, to); err != nil {
		return 0, err
	}
	var created int
	err := database.GetContext(ctx, &created, `SELECT payrun_ensure_partitions($1::date, $2::date)`,
		MonthStart(from), MonthStart(to))
	if err != nil {
		return 0, fmt.Errorf("ensure partitions %s..%s: %w", monthName(from), monthName(to), err)
	}
	return created, nil
}

// ensurePartitionsTx is EnsurePartitions inside tx: nearly free when the
// partitions exist (a name lookup per month and table, no lock).
func ensurePartitionsTx(ctx context.Context, tx pgx.Tx, from, to time.Time) error {
	if err := checkMonths(from, to); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT payrun_ensure_partitions($1::date, $2::date)`, MonthStart(from), MonthStart(to)); err != nil {
		return fmt.Errorf("ensure partitions %s..%s: %w", monthName(from), monthName(to), err)
	}
	return nil
}

func checkMonths(from, to time.Time) error {
	first, last := MonthStart(from), MonthStart(to)
	if last.Before(first) {
		return fmt.Errorf("partitions: to %s is before from %s", monthName(to), monthName(from))
	}
	if !last.Before(first.AddDate(0, MaxEnsureMonths, 0)) {
		return fmt.Errorf("partitions: %s to %s is more than %d months", monthName(from), monthName(to), MaxEnsureMonths)
	}
	return nil
}

func monthName(t time.Time) string { return t.UTC().Format("2006-01") }

// partitionsQuery lists the monthly partitions, attached (children of the
// two parents) and archived (detached, renamed archive_<name>).
const partitionsQuery = `
SELECT parent.relname, child.relname, true, child.reltuples::bigint, pg_total_relation_size(child.oid)
  FROM pg_inherits i
  JOIN pg_class parent ON parent.oid = i.inhparent
  JOIN pg_class child ON child.oid = i.inhrelid
 WHERE parent.relname = ANY($1) AND parent.relnamespace = current_schema()::regnamespace
UNION ALL
SELECT substring(c.relname FROM '^archive_(.*)_[0-9]{6}$'), c.relname, false, c.reltuples::bigint, pg_total_relation_size(c.oid)
  FROM pg_class c
 WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
   AND c.relname ~ ('^archive_(' || array_to_string($1::text[], '|') || ')_[0-9]{6}$')`

// Partitions lists every monthly partition, attached or archived, by table
// and month.
func Partitions(ctx context.Context, database *sqlx.DB) ([]Partition, error) {
	var partitions []Partition
	err := db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		var err error
		partitions, err = listPartitions(ctx, conn)
		return err
	})
	return partitions, err
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func listPartitions(ctx context.Context, q querier) ([]Partition, error) {
	rows, err := q.Query(ctx, partitionsQuery, PartitionedTables)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var partitions []Partition
	for rows.Next() {
		var p Partition
		if err := rows.Scan(&p.Table, &p.Name, &p.Attached, &p.RowsEstimate, &p.Bytes); err != nil {
			return nil, err
		}
		suffix := p.Name[len(p.Name)-6:]
		month, err := time.Parse("200601", suffix)
		if err != nil {
			return nil, fmt.Errorf("partition %s: name does not end in YYYYMM", p.Name)
		}
		p.Month = month
		partitions = append(partitions, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(partitions, func(a, b int) bool {
		pa, pb := partitions[a], partitions[b]
		if pa.Table != pb.Table {
			return pa.Table < pb.Table
		}
		if !pa.Month.Equal(pb.Month) {
			return pa.Month.Before(pb.Month)
		}
		return pa.Attached && !pb.Attached
	})
	return partitions, nil
}

// CycleState is what the detach rule needs of a cycle.
type CycleState struct {
	Month  time.Time // the payment month, e.g. 2026-11-01
	Cutoff time.Time
	State  string
}

// DetachRefusal says why the partition of table for month must stay
// attached, or returns "" when every cycle that reads it is settled.
// cycles must be ordered by month.
//
// A cycle reads the earnings lines available in its window [the previous
// cycle's cutoff, its cutoff) — the first cycle ever, everything before its
// cutoff. So a month of earnings_lines is consumed when a settled cycle's
// cutoff is at or after the month's end and no unsettled cycle's window
// starts before that end. A month of postings is consumed when it is before
// the month of the oldest unsettled cycle (that cycle's close, release and
// returns post from its month on), or, when every cycle is settled, not
// after the newest one's month.
func DetachRefusal(table string, month time.Time, cycles []CycleState) string {
	month = MonthStart(month)
	end := month.AddDate(0, 1, 0)
	switch table {
	case "earnings_lines":
		for i, cycle := range cycles {
			if cycle.State == CycleSettled {
				continue
			}
			if i == 0 {
				return fmt.Sprintf("cycle %s (%s) is the first cycle: it reads every line available before its cutoff", monthName(cycle.Month), cycle.State)
			}
			if start := cycles[i-1].Cutoff; start.Before(end) {
				return fmt.Sprintf("cycle %s (%s) reads the lines available from %s on", monthName(cycle.Month), cycle.State, start.UTC().Format(time.RFC3339))
			}
		}
		for _, cycle := range cycles {
			if cycle.State == CycleSettled && !cycle.Cutoff.Before(end) {
				return ""
			}
		}
		return fmt.Sprintf("no settled cycle has read it yet (cycle %s pays its lines)", monthName(end))
	case "postings":
		newestSettled := time.Time{}
		for _, cycle := range cycles {
			if cycle.State != CycleSettled {
				if month.Before(MonthStart(cycle.Month)) {
					return ""
				}
				return fmt.Sprintf("cycle %s (%s) is not settled: the journal from its month on stays attached", monthName(cycle.Month), cycle.State)
			}
			newestSettled = MonthStart(cycle.Month)
		}
		if newestSettled.IsZero() {
			return "no cycle is settled yet"
		}
		if month.After(newestSettled) {
			return fmt.Sprintf("it is after the newest settled cycle (%s)", monthName(newestSettled))
		}
		return ""
	}
	return fmt.Sprintf("%s is not a partitioned table", table)
}

// DetachPartitions detaches, in one transaction, every attached partition
// of both tables for a month before before, and renames each to
// archive_<name> (append-only still: UPDATE, DELETE, TRUNCATE and INSERT
// raise; DROP TABLE is the operator's, after pg_dump). It refuses the whole
// request, changing nothing, when any of those months is not consumed (see
// DetachRefusal). dryRun checks and lists without detaching. Balances are
// kept in ledger_balances and stay right; the archived rows simply stop
// appearing in queries of the parents.
// Errors: ErrNotConsumed (naming every refused month and why), or the
// database's error (a lock not granted within detachLockTimeout among them).
func DetachPartitions(ctx context.Context, database *sqlx.DB, before time.Time, dryRun bool) ([]Partition, error) {
	before = MonthStart(before)
	var detached []Partition
	err := db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+detachLockTimeout+`'`); err != nil {
				return err
			}
			// One detacher or creator at a time (see payrun_ensure_partitions).
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, PartitionLockKey); err != nil {
				return err
			}
			cycles, err := loadCycles(ctx, tx)
			if err != nil {
				return err
			}
			partitions, err := listPartitions(ctx, tx)
			if err != nil {
				return err
			}
			var refusals []string
			for _, p := range partitions {
				if !p.Attached || !p.Month.Before(before) {
					continue
				}
				if reason := DetachRefusal(p.Table, p.Month, cycles); reason != "" {
					refusals = append(refusals, fmt.Sprintf("%s %s: %s", p.Table, monthName(p.Month), reason))
					continue
				}
				detached = append(detached, p)
			}
			if len(refusals) > 0 {
				detached = nil
				return fmt.Errorf("%w: %s", ErrNotConsumed, strings.Join(refusals, "; "))
			}
			if dryRun {
				return nil
			}
			for i, p := range detached {
				archive := ArchivePrefix + p.Name
				if err := execAll(ctx, tx,
					fmt.Sprintf(`ALTER TABLE %s DETACH PARTITION %s`, quote(p.Table), quote(p.Name)),
					fmt.Sprintf(`ALTER TABLE %s RENAME TO %s`, quote(p.Name), quote(archive)),
					// DETACH drops the row triggers cloned from the parent; the
					// statement triggers of the partition (TRUNCATE, INSERT) stay.
					fmt.Sprintf(`CREATE TRIGGER %s BEFORE UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION append_only()`,
						quote(archive+"_append_only"), quote(archive)),
				); err != nil {
					return fmt.Errorf("detach %s: %w", p.Name, err)
				}
				detached[i].Name, detached[i].Attached = archive, false
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return detached, nil
}

func loadCycles(ctx context.Context, tx pgx.Tx) ([]CycleState, error) {
	rows, err := tx.Query(ctx, `SELECT month, cutoff, state FROM cycles ORDER BY month`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (CycleState, error) {
		var c CycleState
		err := row.Scan(&c.Month, &c.Cutoff, &c.State)
		return c, err
	})
}

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }
