package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout"
)

// Service reads what the finance console shows (see the package
// documentation). It writes only its own cache of closed cycles'
// figures and orders (cycle_breakdowns, cycle_review_keys, cycle_review_orders
// and its blocks).
type Service struct {
	DB *sqlx.DB
	// Clock stamps the figures it stores (computed_at), in UTC. nil: the
	// database's clock (statement_timestamp()), so this package never reads
	// the wall clock itself (internal/clockcheck).
	Clock func() time.Time

	// orderBlock: the ranks per stored block of the orders this Service
	// stores (0: orderBlockSize). Tests make it small, so that pages cross
	// blocks on a small cycle; readers use each cycle's stored size.
	orderBlock int
}

func (s *Service) blockSize() int {
	if s.orderBlock > 0 {
		return s.orderBlock
	}
	return orderBlockSize
}

// ErrNotFound: the seller id names no account (Publisher). Returned
// wrapped, with the seller id; test with errors.Is.
var ErrNotFound = errors.New("review: not found")

// monthStart is the first instant of month's UTC month: the cycle's key.
func monthStart(month time.Time) time.Time {
	month = month.UTC()
	return time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// stamp is the instant recorded with stored figures: the injected clock's,
// or nil for the database's.
func (s *Service) stamp() *time.Time {
	if s.Clock == nil {
		return nil
	}
	now := s.Clock().UTC()
	return &now
}

// cycleState is the state of month's cycle, "" when there is none.
func cycleState(ctx context.Context, q sqlx.QueryerContext, month time.Time) (payout.CycleState, error) {
	var state string
	err := sqlx.GetContext(ctx, q, &state, `SELECT state FROM cycles WHERE month = $1`, month)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("review: cycle %s: %w", payout.MonthName(month), err)
	}
	return payout.CycleState(state), nil
}

// readTx runs fn in a transaction planned statement by statement: a
// statement the driver caches gets a generic plan after five runs, which
// cannot know that a filter value is rare or a name prefix long, nor use
// the name index for LIKE with a parameter (see payout/publisher's
// transactions for the same cure). Without parallel, no parallel workers:
// a page reads a few hundred rows, and starting workers cost 10-200 ms of
// it on the 2-core machines measured (a walk near the end of the seller
// order was planned with a Gather Merge: 119-208 ms instead of 7-33 ms).
// Only a scan of a whole month (an amount sort, an export) gains from
// them.
func (s *Service) readTx(ctx context.Context, parallel bool, fn func(tx *sqlx.Tx) error) error {
	return db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
			return err
		}
		if !parallel {
			if _, err := tx.ExecContext(ctx, `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}
