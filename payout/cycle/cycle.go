// Package cycle is the cycle's application layer: the steps of a cycle's
// life (close, approve, release, settle) as the command line, the scheduled
// jobs, the admin API and the simulator all run them, so each is composed
// in one place. It sits above payout/store (the exactly-once close and the
// cycle's rows), payout/release (the payment files) and payout/cyclereport
// (the workbook and result.json). Its rules are payout's (Decide,
// CycleState, SettlementDate, LinesKept, JournalKept) and the store's;
// what it adds is their order.
//
//   - Close: the close in one call (store.Close, shards closed by this
//     process), then the cycle's workbook and the finance console's figures
//     of the cycle (payout/review's Prepare); a dry run writes only a DRAFT
//     workbook, read inside the transaction it rolls back. `payrun cycle
//     close` runs it.
//   - ScheduledClose, StartStep, ShardStep, FinishStep: the same close as a
//     chain of job steps, each returning the steps that follow it (Next);
//     FinishStep writes the workbook and the console's figures. The scheduled jobs run them on River
//     and the simulator runs them in-process, one after the other, so a
//     simulation closes as production's scheduled close does. Both ends
//     give identical rows, journal and totals (cmd/payrun's
//     TestShardedCloseOnAnyNumberOfWorkers compares them).
//   - Approve: maker-checker by operator id (store.Approve).
//   - Release: the payment files, then the workbook and result.json written
//     again with them.
//   - Settle: released cycles whose returns window has passed.
//   - MonthsToClose, Releasable, CloseStartedAt: what the scheduled jobs ask
//     of the cycles, without SQL in cmd/.
//   - Retention: the ledger's partition retention rule, from the cycles (the
//     ledger does not read them).
//   - CloseKey, ShardKey, ParseCloseKey: the keys of the close's job steps.
package cycle

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/store"
)

// Service runs a cycle's steps.
type Service struct {
	DB    *sqlx.DB
	Store *store.Store
	// Releaser builds the payment-file writer (it needs configuration that
	// may be missing; the error says what).
	Releaser func() (*release.Releaser, error)
	// OutDir is the output directory: cycles/<M>/ holds a cycle's files.
	OutDir string
}

// Release writes the cycle's payment files as by (release.Releaser.ReleaseAs:
// exactly once, one release at a time, the files checked against the
// manifest on a re-run), then writes the cycle's workbook and result.json
// again so they show the files. Errors: those of the releaser, and of
// writing the outputs (the release stands; running Release again writes
// them).
func (s *Service) Release(ctx context.Context, month time.Time, by store.Principal) (release.Result, error) {
	releaser, err := s.Releaser()
	if err != nil {
		return release.Result{}, err
	}
	result, err := releaser.ReleaseAs(ctx, month, by)
	if err != nil {
		return result, err
	}
	return result, s.WriteOutputs(ctx, month)
}

// WriteOutputs writes a cycle's workbook and result.json from the database.
func (s *Service) WriteOutputs(ctx context.Context, month time.Time) error {
	return db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		if _, err := cyclereport.Write(ctx, conn, s.OutDir, month, false); err != nil {
			return err
		}
		_, err := cyclereport.WriteResult(ctx, conn, s.OutDir, month)
		return err
	})
}

// Releasable lists, oldest first, the months whose cycle a release may
// write now (payout.CycleState.CanRelease: closed, or approved while
// awaiting approval).
func (s *Service) Releasable(ctx context.Context) ([]time.Time, error) {
	return s.Store.ReleasableMonths(ctx)
}

// MonthsToClose lists the months a close-cycle occurrence for until must
// close, in order: until, preceded by every month after the newest closed
// cycle (a catch-up after downtime).
func (s *Service) MonthsToClose(ctx context.Context, until time.Time) ([]time.Time, error) {
	newest, err := s.Store.NewestClosedMonth(ctx)
	if err != nil {
		return nil, err
	}
	if newest == nil || !newest.Before(until) {
		return []time.Time{until}, nil
	}
	var months []time.Time
	for m := newest.AddDate(0, 1, 0); !m.After(until); m = m.AddDate(0, 1, 0) {
		months = append(months, m)
	}
	return months, nil
}

// CloseStartedAt is when the cycle's close first started (for the close
// duration metric), and false when it never did.
func (s *Service) CloseStartedAt(ctx context.Context, month time.Time) (time.Time, bool, error) {
	return s.Store.CloseStartedAt(ctx, month)
}

// CloseKey is the key of a close step: the month it closes and the month
// the chain ends with, e.g. "2026-10/2026-11"; a shard's adds "/<shard>".
func CloseKey(month, until time.Time) string {
	return payout.MonthName(month) + "/" + payout.MonthName(until)
}

// ShardKey is the key of one shard's close step.
func ShardKey(month, until time.Time, shard int) string {
	return CloseKey(month, until) + "/" + strconv.Itoa(shard)
}

// ParseCloseKey reads a close step's key (with a shard when withShard).
// Errors: a key not of the form MONTH/UNTIL (/SHARD), naming the key.
func ParseCloseKey(key string, withShard bool) (month, until time.Time, shard int, err error) {
	parts, want, form := strings.Split(key, "/"), 2, "MONTH/UNTIL"
	if withShard {
		want, form = 3, "MONTH/UNTIL/SHARD"
	}
	if len(parts) != want {
		return month, until, 0, fmt.Errorf("close step key %q is not %s", key, form)
	}
	if month, err = payout.ParseMonth(parts[0]); err != nil {
		return month, until, 0, fmt.Errorf("close step key %q: %w", key, err)
	}
	if until, err = payout.ParseMonth(parts[1]); err != nil {
		return month, until, 0, fmt.Errorf("close step key %q: %w", key, err)
	}
	if withShard {
		if shard, err = strconv.Atoi(parts[2]); err != nil || shard < 0 {
			return month, until, 0, fmt.Errorf("close step key %q: shard %q is not a number", key, parts[2])
		}
	}
	return month, until, shard, nil
}
