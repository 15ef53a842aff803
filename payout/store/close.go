package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/payout"
)

// Cycle states as the store spells them: payout.CycleState's, where the
// states and their transitions are defined (SPEC §3.4).
const (
	StateOpen             = string(payout.CycleOpen)
	StateClosing          = string(payout.CycleClosing)
	StateClosed           = string(payout.CycleClosed)
	StateAwaitingApproval = string(payout.CycleAwaitingApproval)
	StateReleased         = string(payout.CycleReleased)
	StateSettled          = string(payout.CycleSettled)
)

// DefaultBatchSize is how many accounts one close transaction writes: big
// enough that per-transaction overhead vanishes, small enough that a crash
// loses little work and locks stay short.
const DefaultBatchSize = 2000

// DefaultShards is how many shards a cycle is split into when CloseOptions
// says nothing; MaxShards bounds the count (cycles.shards CHECKs it too).
const (
	DefaultShards = 8
	MaxShards     = 1024
)

// Advisory lock classes (the first key of two-key locks): a close holds
// closeLockClass on YYYYMM while it starts or finishes a month (the CLI's
// Close for its whole run), and a shard's worker holds shardLockClass on
// YYYYMM*1024+shard while it closes that shard.
const (
	closeLockClass int32 = 0x70617972 // "payr"
	shardLockClass int32 = 0x70617973 // "pays"
)

// Errors callers branch on.
var (
	ErrFutureMonth   = errors.New("the cycle's cutoff has not passed yet")
	ErrPreviousOpen  = errors.New("the previous cycle is not closed")
	ErrLaterCycle    = errors.New("a later cycle exists")
	ErrUnknownCycle  = errors.New("no such cycle")
	ErrNotApprovable = errors.New("cycle is not awaiting approval")
	ErrSameOperator  = errors.New("the approver must not be the operator who closed the cycle")
	ErrNotReleasable = errors.New("cycle cannot be released in its state")
	ErrShardsPending = errors.New("shards of the cycle are still open")
	ErrBadShard      = errors.New("no such shard")
)

// Fault is called at named points of the close (see FaultPoints). A non-nil
// error aborts the close there, as a crash would; tests and the simulator
// use it to prove a resumed close gives the same result.
type Fault func(point string) error

// FaultPoints are the named points of a close, in order. The three batch
// points come once per batch of every shard.
var FaultPoints = []string{"after_start", "mid_batch", "before_batch_commit", "after_batch_commit", "before_finish"}

// CloseOptions configure a close, or one of its steps.
type CloseOptions struct {
	Month     time.Time
	Policy    payout.Policy // used when the cycle starts; a resumed close keeps the recorded one
	Actor     string        // the system principal's name ("job:close-cycle") when Operator is 0
	DryRun    bool
	BatchSize int
	Fault     Fault
	// Shards is how many shards a cycle that starts now is split into
	// (0: DefaultShards). A cycle keeps the count it started with, so the
	// result never depends on how many workers close it.
	Shards int
	// Workers is how many shards Close closes at once in this process
	// (0: 1). A dry run always uses one.
	Workers int
	// Progress, when set, gets the number of accounts decided so far (over
	// every shard; calls never overlap).
	Progress func(accounts int64)
	// ShardDone, when set, runs inside the transaction that marks a shard
	// done, after the cycle's row is locked; allDone says whether every
	// shard of the cycle is now done. The job wiring enqueues the finish
	// step there, so exactly one shard does it.
	ShardDone func(ctx context.Context, tx pgx.Tx, allDone bool) error
	// Operator is the id of the operator running the close (the CLI's --by,
	// resolved by Store.Operator); 0 for the system principal named by
	// Actor. An operator's close is recorded by id (closed_by_operator_id,
	// and on its events) under the name "operator:<user name>", and that
	// operator can never approve the cycle (SPEC §3.4, §7.8).
	Operator int64
}

// Querier reads: what pgx.Tx and *pgx.Conn share.
type Querier = querier

// CloseResult reports a close.
type CloseResult struct {
	Month         string `json:"month"`
	State         string `json:"state"`
	AlreadyClosed bool   `json:"already_closed"`
	Resumed       bool   `json:"resumed"`
	DryRun        bool   `json:"dry_run"`
	Shards        int    `json:"shards"`
	Totals        Totals `json:"totals"`
	// Phases are the seconds each step of this call took (Close only).
	Phases *Phases `json:"phases,omitempty"`
}

// Phases are the wall-clock seconds of a close's three steps.
type Phases struct {
	Start  float64 `json:"start_seconds"`
	Shards float64 `json:"shards_seconds"`
	Finish float64 `json:"finish_seconds"`
}

// prepared checks options and fills in the defaults.
func (s *Store) prepared(options CloseOptions) (payout.Calendar, CloseOptions, error) {
	calendar := options.Policy.CalendarFor(options.Month)
	if err := options.Policy.Validate(); err != nil {
		return calendar, options, err
	}
	if options.BatchSize <= 0 {
		options.BatchSize = DefaultBatchSize
	}
	if options.Shards == 0 {
		options.Shards = DefaultShards
	}
	if options.Shards < 1 || options.Shards > MaxShards {
		return calendar, options, fmt.Errorf("shards: %d is outside 1..%d", options.Shards, MaxShards)
	}
	if options.Workers <= 0 || options.DryRun {
		options.Workers = 1
	}
	if options.Fault == nil {
		options.Fault = func(string) error { return nil }
	}
	if options.Progress != nil {
		var mu sync.Mutex
		progress := options.Progress
		options.Progress = func(accounts int64) {
			mu.Lock()
			defer mu.Unlock()
			progress(accounts)
		}
	}
	return calendar, options, nil
}

// Close closes a cycle exactly once (SPEC §3.4), in three steps (see
// package doc): start (freeze every account's input and split the accounts
// into shards), close each shard (options.Workers at a time), finish (check
// the totals, set the state). Two closes of one month serialise on an
// advisory lock; the second finds the cycle closed and reports
// AlreadyClosed without changing anything. A close that crashed is resumed
// after each shard's last committed batch and ends with exactly the result
// an uninterrupted close would have. A dry run computes everything in one
// transaction and rolls it back.
// Errors: ErrFutureMonth, ErrPreviousOpen, ErrLaterCycle, a fault's error.
func (s *Store) Close(ctx context.Context, options CloseOptions) (CloseResult, error) {
	return s.close(ctx, options, nil)
}

// DryRun is Close with options.DryRun: the whole close in one transaction,
// rolled back. Before the rollback, inspect (when not nil) reads the
// transaction as the close left it (the cycle's DRAFT workbook, the
// simulator's reference dump): the caller reads, the store never calls up.
// Errors: as Close, and inspect's.
func (s *Store) DryRun(ctx context.Context, options CloseOptions, inspect func(ctx context.Context, q Querier) error) (CloseResult, error) {
	options.DryRun = true
	return s.close(ctx, options, inspect)
}

func (s *Store) close(ctx context.Context, options CloseOptions, inspect func(ctx context.Context, q Querier) error) (CloseResult, error) {
	calendar, options, err := s.prepared(options)
	if err != nil {
		return CloseResult{}, err
	}
	if err := s.checkCutoff(calendar); err != nil {
		return CloseResult{}, err
	}
	if err := s.resolveActor(ctx, &options); err != nil {
		return CloseResult{}, err
	}
	var result CloseResult
	err = s.withLock(ctx, closeLockClass, monthKey(calendar.Month), closeLockName(calendar.Month), func(conn *pgx.Conn) error {
		if options.DryRun {
			result, err = s.dryRun(ctx, conn, calendar, options, inspect)
			return err
		}
		var phases Phases
		clock := time.Now()
		lap := func() float64 {
			now := time.Now()
			seconds := now.Sub(clock).Seconds()
			clock = now
			return seconds
		}
		started, err := s.start(ctx, &session{conn: conn}, calendar, options)
		if err != nil {
			return err
		}
		if started.closed != nil {
			result = *started.closed
			return nil
		}
		phases.Start = lap()
		if err := options.Fault("after_start"); err != nil {
			return err
		}
		if err := s.closeShards(ctx, calendar.Month, started.pending, started.done, options); err != nil {
			return err
		}
		phases.Shards = lap()
		if err := options.Fault("before_finish"); err != nil {
			return err
		}
		result, err = s.finish(ctx, &session{conn: conn}, calendar.Month, options)
		if err != nil {
			return err
		}
		phases.Finish = lap()
		result.Resumed, result.Phases = started.resumed, &phases
		return nil
	})
	return result, err
}

// StartClose is the first step of a close run by separate jobs: it starts
// the cycle (or finds it started) and returns the shards still open. A
// cycle already closed comes back with AlreadyClosed in Closed.
// Errors: as Close.
func (s *Store) StartClose(ctx context.Context, options CloseOptions) (Started, error) {
	calendar, options, err := s.prepared(options)
	if err != nil {
		return Started{}, err
	}
	if options.DryRun {
		return Started{}, errors.New("StartClose: a dry run is one Close")
	}
	if err := s.checkCutoff(calendar); err != nil {
		return Started{}, err
	}
	if err := s.resolveActor(ctx, &options); err != nil {
		return Started{}, err
	}
	var started Started
	err = s.withLock(ctx, closeLockClass, monthKey(calendar.Month), closeLockName(calendar.Month), func(conn *pgx.Conn) error {
		st, err := s.start(ctx, &session{conn: conn}, calendar, options)
		if err != nil {
			return err
		}
		started = Started{Month: payout.MonthName(calendar.Month), Shards: st.shards, Pending: st.pending, Closed: st.closed}
		if st.closed == nil {
			return options.Fault("after_start")
		}
		return nil
	})
	return started, err
}

// Started is what StartClose found or did.
type Started struct {
	Month   string
	Shards  int
	Pending []int        // shards not yet done, in order
	Closed  *CloseResult // set when the cycle was already closed
}

// CloseShard closes one shard of a started cycle (the second step), under
// the shard's advisory lock, resuming after its last committed batch. A
// shard already done, or a cycle no longer closing, is a no-op.
// Errors: ErrUnknownCycle, ErrBadShard, a fault's error.
func (s *Store) CloseShard(ctx context.Context, month time.Time, shard int, options CloseOptions) error {
	options.Month = month
	_, options, err := s.prepared(options)
	if err != nil {
		return err
	}
	var counter atomic.Int64
	return s.closeShard(ctx, month, shard, options, &counter)
}

// FinishClose is the last step: once every shard is done it checks the
// totals and moves the cycle to closed (or awaiting_approval). A cycle
// already past closing reports AlreadyClosed.
// Errors: ErrUnknownCycle, ErrShardsPending, a broken conservation check.
func (s *Store) FinishClose(ctx context.Context, month time.Time, options CloseOptions) (CloseResult, error) {
	options.Month = month
	_, options, err := s.prepared(options)
	if err != nil {
		return CloseResult{}, err
	}
	if err := s.resolveActor(ctx, &options); err != nil {
		return CloseResult{}, err
	}
	var result CloseResult
	err = s.withLock(ctx, closeLockClass, monthKey(month), closeLockName(month), func(conn *pgx.Conn) error {
		if err := options.Fault("before_finish"); err != nil {
			return err
		}
		result, err = s.finish(ctx, &session{conn: conn}, month, options)
		return err
	})
	return result, err
}

func (s *Store) checkCutoff(calendar payout.Calendar) error {
	if now := s.now(); now.Before(calendar.Cutoff) {
		return fmt.Errorf("%w: %s closes after %s (now %s)", ErrFutureMonth, payout.MonthName(calendar.Month), calendar.Cutoff.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return nil
}

// closeShards closes the pending shards, options.Workers at a time, each on
// a connection of its own. The first error cancels the others.
func (s *Store) closeShards(ctx context.Context, month time.Time, pending []int, done int64, options CloseOptions) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var counter atomic.Int64
	counter.Store(done)
	queue := make(chan int, len(pending))
	for _, shard := range pending {
		queue <- shard
	}
	close(queue)
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	for range min(options.Workers, len(pending)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for shard := range queue {
				if ctx.Err() != nil {
					return
				}
				if err := s.closeShard(ctx, month, shard, options, &counter); err != nil {
					once.Do(func() { first = err; cancel(err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// withLock runs fn on a connection holding the two-key session advisory
// lock (class, key), waiting for it — and saying so in the log, with who
// holds it, at once and every db.LockWaitReport (db.AcquireLock).
func (s *Store) withLock(ctx context.Context, class, key int32, what string, fn func(conn *pgx.Conn) error) error {
	return db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		if err := db.AcquireLock(ctx, conn, conn.PgConn().PID(), s.DB, logging.FromContext(ctx), db.Lock{What: what,
			Try: `SELECT pg_try_advisory_lock($1, $2)`, Take: `SELECT pg_advisory_lock($1, $2)`, Args: []any{class, key}}); err != nil {
			return err
		}
		defer func() {
			unlockCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = conn.Exec(unlockCtx, `SELECT pg_advisory_unlock($1, $2)`, class, key)
		}()
		return fn(conn)
	})
}

func monthKey(month time.Time) int32 { return int32(month.Year()*100 + int(month.Month())) }

// closeLockName is how the log names the month's close lock.
func closeLockName(month time.Time) string {
	return "the close lock of " + payout.MonthName(month) + " (another close of the month is starting or finishing it)"
}

// session is the transactions of one close step on one connection. In a
// dry run every begin returns the same transaction and commit does nothing,
// so the whole close is one transaction that is rolled back at the end.
type session struct {
	conn *pgx.Conn
	dry  bool
	tx   pgx.Tx
}

func (s *session) begin(ctx context.Context) (pgx.Tx, error) {
	if s.tx != nil && s.dry {
		return s.tx, nil
	}
	if s.tx != nil {
		return nil, errors.New("session: transaction already open")
	}
	tx, err := s.conn.Begin(ctx)
	s.tx = tx
	return tx, err
}

func (s *session) commit(ctx context.Context) error {
	if s.dry {
		return nil
	}
	err := s.tx.Commit(ctx)
	s.tx = nil
	return err
}

// rollback ends an open transaction (deferred by every step).
func (s *session) rollback() {
	if s.tx == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.tx.Rollback(ctx)
	s.tx = nil
}

// dryRun runs the three steps in one transaction on conn, lets inspect read
// it, and rolls it back.
func (s *Store) dryRun(ctx context.Context, conn *pgx.Conn, calendar payout.Calendar, options CloseOptions, inspect func(ctx context.Context, q Querier) error) (CloseResult, error) {
	ses := &session{conn: conn, dry: true}
	defer ses.rollback()
	started, err := s.start(ctx, ses, calendar, options)
	if err != nil {
		return CloseResult{}, err
	}
	if started.closed != nil {
		result := *started.closed
		result.DryRun = true
		return result, nil
	}
	var counter atomic.Int64
	counter.Store(started.done)
	for _, shard := range started.pending {
		if err := s.runShard(ctx, ses, calendar.Month, shard, options, &counter); err != nil {
			return CloseResult{}, err
		}
	}
	result, err := s.finish(ctx, ses, calendar.Month, options)
	if err != nil {
		return result, err
	}
	result.Resumed, result.DryRun = started.resumed, true
	if inspect != nil {
		if err := inspect(ctx, ses.tx); err != nil {
			return result, err
		}
	}
	return result, nil
}
