package cycle

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/review"
	"github.com/payrun/payrun/payout/store"
)

// Closed is what a close did: the store's result, and the path of the
// workbook written ("" when none was).
type Closed struct {
	store.CloseResult
	Workbook string
	// StartedAt is when the close first started (FinishStep, when this call
	// closed the cycle): the close duration metric's start.
	StartedAt time.Time
}

// Close closes the cycle of options.Month in one call (store.Close: exactly
// once, in shards options.Workers at a time, resumed after a crash) and
// writes its workbook and the console's figures unless noWorkbook (publish). A dry run (options.DryRun) rolls
// everything back and writes only a DRAFT workbook, read inside its
// transaction. A cycle already closed gets its workbook written again, so a
// lost one is restored by closing again.
// Errors: the store's (ErrFutureMonth, ErrPreviousOpen, ErrLaterCycle, ...)
// and writing the workbook's (the close stands; closing again writes it).
func (s *Service) Close(ctx context.Context, options store.CloseOptions, noWorkbook bool) (Closed, error) {
	var closed Closed
	var err error
	if options.DryRun {
		var inspect func(context.Context, store.Querier) error
		if !noWorkbook {
			inspect = func(ctx context.Context, q store.Querier) error {
				closed.Workbook, err = cyclereport.Write(ctx, q, s.OutDir, options.Month, true)
				return err
			}
		}
		closed.CloseResult, err = s.Store.DryRun(ctx, options, inspect)
		return closed, err
	}
	if closed.CloseResult, err = s.Store.Close(ctx, options); err != nil || noWorkbook {
		return closed, err
	}
	closed.Workbook, err = s.publish(ctx, options.Month)
	return closed, err
}

// The scheduled close runs as a chain of job steps (payout/store's package
// doc): start freezes a month's input and fans out one step per shard, the
// last shard to finish enqueues finish, and finish closes the month and
// starts the next one up to the month the chain ends with (a catch-up after
// downtime). Each step's key carries the month it closes and the month the
// chain ends with (CloseKey, ShardKey); each step returns the steps that
// follow it, which the caller enqueues in the transaction that completes
// the step, so the next steps exist exactly when this one is done.

// Step names a step of the scheduled close.
type Step string

// The steps, in order.
const (
	StepStart  Step = "start"
	StepShard  Step = "shard"
	StepFinish Step = "finish"
)

// Next is what follows a step: one job per key, or nothing when Step is "".
type Next struct {
	Step Step
	Keys []string
}

func then(step Step, keys ...string) Next { return Next{Step: step, Keys: keys} }

// ScheduledClose is the first step of a scheduled close occurrence for
// until: it starts the earliest month still to close (MonthsToClose).
func (s *Service) ScheduledClose(ctx context.Context, until time.Time) (Next, error) {
	months, err := s.MonthsToClose(ctx, until)
	if err != nil {
		return Next{}, err
	}
	return then(StepStart, CloseKey(months[0], until)), nil
}

// StartStep starts the close of the month key names (store.StartClose) and
// says what follows: its open shards; the finish when every shard is done
// (a finish that was lost); or, for a cycle already closed, the next month
// of the chain. options carries the policy, shard count, actor and fault;
// its Month is the key's.
func (s *Service) StartStep(ctx context.Context, key string, options store.CloseOptions) (store.Started, Next, error) {
	month, until, _, err := ParseCloseKey(key, false)
	if err != nil {
		return store.Started{}, Next{}, err
	}
	options.Month = month
	started, err := s.Store.StartClose(ctx, options)
	if err != nil {
		return started, Next{}, fmt.Errorf("start close of %s: %w", payout.MonthName(month), err)
	}
	if started.Closed != nil {
		return started, nextMonth(month, until), nil
	}
	if len(started.Pending) == 0 {
		return started, then(StepFinish, CloseKey(month, until)), nil
	}
	keys := make([]string, len(started.Pending))
	for i, shard := range started.Pending {
		keys[i] = ShardKey(month, until, shard)
	}
	return started, then(StepShard, keys...), nil
}

// ShardStep closes the shard key names (store.CloseShard). done runs inside
// the transaction that marks the shard done, with what follows: the finish
// when this was the cycle's last open shard, else nothing. The caller
// enqueues it and completes its job there, so exactly one shard enqueues
// the finish.
func (s *Service) ShardStep(ctx context.Context, key string, options store.CloseOptions, done func(ctx context.Context, tx pgx.Tx, next Next) error) error {
	month, until, shard, err := ParseCloseKey(key, true)
	if err != nil {
		return err
	}
	options.ShardDone = func(ctx context.Context, tx pgx.Tx, allDone bool) error {
		var next Next
		if allDone {
			next = then(StepFinish, CloseKey(month, until))
		}
		return done(ctx, tx, next)
	}
	if err := s.Store.CloseShard(ctx, month, shard, options); err != nil {
		return fmt.Errorf("close shard %d of %s: %w", shard, payout.MonthName(month), err)
	}
	return nil
}

// FinishStep finishes the close of the month key names (store.FinishClose),
// writes its workbook, and says what follows: the next month of the chain.
// Errors: the store's (ErrShardsPending, ...) and writing the workbook's.
func (s *Service) FinishStep(ctx context.Context, key string, options store.CloseOptions) (Closed, Next, error) {
	month, until, _, err := ParseCloseKey(key, false)
	if err != nil {
		return Closed{}, Next{}, err
	}
	var closed Closed
	if closed.CloseResult, err = s.Store.FinishClose(ctx, month, options); err != nil {
		return closed, Next{}, fmt.Errorf("finish close of %s: %w", payout.MonthName(month), err)
	}
	if !closed.AlreadyClosed {
		if closed.StartedAt, _, err = s.CloseStartedAt(ctx, month); err != nil {
			return closed, Next{}, err
		}
	}
	if closed.Workbook, err = s.publish(ctx, month); err != nil {
		return closed, Next{}, err
	}
	return closed, nextMonth(month, until), nil
}

// nextMonth is the start of the chain's next month, or nothing after until.
func nextMonth(month, until time.Time) Next {
	if month.Before(until) {
		return then(StepStart, CloseKey(month.AddDate(0, 1, 0), until))
	}
	return Next{}
}

// publish writes what a close leaves beside its rows, once they are
// committed: the workbook (with its checks), and the finance console's
// figures of the cycle (review.Prepare: the breakdown and the keys its
// publishers table pages by), so the first reviewer does not wait for them.
// Both are derived from the cycle's rows: a crash before or between them
// loses nothing (closing again, or the first view, writes them).
func (s *Service) publish(ctx context.Context, month time.Time) (string, error) {
	path, err := s.WriteWorkbook(ctx, month)
	if err != nil {
		return path, err
	}
	reviews := review.Service{DB: s.DB, Clock: s.Store.Clock}
	if err := reviews.Prepare(ctx, month); err != nil {
		return path, fmt.Errorf("the console's figures of %s: %w", payout.MonthName(month), err)
	}
	return path, nil
}

// WriteWorkbook writes a closed cycle's workbook from the database.
func (s *Service) WriteWorkbook(ctx context.Context, month time.Time) (string, error) {
	var path string
	err := db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		var err error
		path, err = cyclereport.Write(ctx, conn, s.OutDir, month, false)
		return err
	})
	return path, err
}

// Approve approves a cycle awaiting approval as the operator approver
// (store.Approve: maker-checker by operator id; the system principal never
// approves). The cycle can then be released.
func (s *Service) Approve(ctx context.Context, month time.Time, approver int64) error {
	return s.Store.Approve(ctx, month, approver)
}

// Settle marks released cycles whose returns window has passed as settled
// (store.Settle) and returns their months.
func (s *Service) Settle(ctx context.Context, actor string) ([]time.Time, error) {
	return s.Store.Settle(ctx, actor)
}

// Retention is the ledger's partition retention rule as the cycles give it
// (a ledger.Retention): it reads every cycle's window and state in tx, the
// detach's own transaction, and keeps a month of earnings lines or of the
// journal while a cycle may read it (payout.LinesKept, payout.JournalKept).
func Retention(ctx context.Context, tx pgx.Tx) (ledger.RetentionRule, error) {
	cycles, err := store.CycleWindows(ctx, tx)
	if err != nil {
		return nil, err
	}
	return func(table string, month time.Time) string {
		switch table {
		case "earnings_lines":
			return payout.LinesKept(month, cycles)
		case "postings":
			return payout.JournalKept(month, cycles)
		}
		return fmt.Sprintf("%s is not a partitioned table", table)
	}, nil
}
