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

// ErrNotConsumed is returned by DetachPartitions for a month whose rows the
// retention rule keeps (an unsettled, or not yet started, cycle may still
// read them).
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

// RetentionRule says why the partition of table for month must stay
// attached, or returns "" when nothing will read its rows again.
type RetentionRule func(table string, month time.Time) string

// Retention gives the retention rule as of tx: the detach's own transaction,
// which holds the partition lock. The ledger does not know who reads its
// rows; the cycles do (payout/cycle.Retention is the rule payrun uses: a
// month is consumed once the cycles that read it are settled).
type Retention func(ctx context.Context, tx pgx.Tx) (RetentionRule, error)

// DetachPartitions detaches, in one transaction, every attached partition
// of both tables for a month before before, and renames each to
// archive_<name> (append-only still: UPDATE, DELETE, TRUNCATE and INSERT
// raise; DROP TABLE is the operator's, after pg_dump). It refuses the whole
// request, changing nothing, when retention refuses any of those months.
// dryRun checks and lists without detaching. Balances are kept in
// ledger_balances and stay right; the archived rows simply stop appearing
// in queries of the parents.
// Errors: ErrNotConsumed (naming every refused month and why), or the
// database's error (a lock not granted within detachLockTimeout among them).
func DetachPartitions(ctx context.Context, database *sqlx.DB, before time.Time, dryRun bool, retention Retention) ([]Partition, error) {
	if retention == nil {
		return nil, errors.New("detach partitions: no retention rule")
	}
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
			refusal, err := retention(ctx, tx)
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
				if reason := refusal(p.Table, p.Month); reason != "" {
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

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }
