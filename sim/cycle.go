package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cycle"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/store"
)

// SimBatchSize is the close's batch size in simulations: small, so that a
// few hundred publishers make several batches and a crash can fall between
// two of them. The clean and the faulted run use the same size, so their
// journal references are the same.
const SimBatchSize = 40

// CrashPoints are every named crash point: the close's (store.FaultPoints)
// then the release's (release.FaultPoints). Their names do not overlap.
var CrashPoints = append(append([]string{}, store.FaultPoints...), release.FaultPoints...)

// isClosePoint tells a close's crash point from a release's.
func isClosePoint(point string) bool {
	for _, p := range store.FaultPoints {
		if p == point {
			return true
		}
	}
	return false
}

// Faults chooses the crash of each cycle.
type Faults struct {
	// Enabled crashes every cycle once, in its close or in its release, at
	// a point (and occurrence) drawn from the seed and the month, then
	// restarts the crashed step.
	Enabled bool
	// Point, when set, is the only point crashed at (the crash sweep): one
	// of CrashPoints.
	Point string
}

// on tells whether faults are injected.
func (f Faults) on() bool { return f.Enabled || f.Point != "" }

// Check refuses an unknown crash point.
func (f Faults) Check() error {
	if f.Point == "" {
		return nil
	}
	for _, p := range CrashPoints {
		if p == f.Point {
			return nil
		}
	}
	return fmt.Errorf("unknown crash point %q (one of %s)", f.Point, strings.Join(CrashPoints, ", "))
}

// InjectedFault is the error a close is crashed with: a simulated process
// death, or a simulated database failure (it then unwraps to a
// *pgconn.PgError, as a real one would).
type InjectedFault struct {
	Point      string
	Occurrence int
	Database   *pgconn.PgError
}

func (e *InjectedFault) Error() string {
	if e.Database != nil {
		return fmt.Sprintf("injected database error at %s (#%d): %s", e.Point, e.Occurrence, e.Database.Message)
	}
	return fmt.Sprintf("injected crash at %s (#%d)", e.Point, e.Occurrence)
}

func (e *InjectedFault) Unwrap() error {
	if e.Database == nil {
		return nil
	}
	return e.Database
}

// Cycler closes, approves and releases cycles for both simulation modes,
// crashing closes when asked and checking the invariants after every step.
type Cycler struct {
	S       *Services
	Seed    uint64
	Policy  payout.Policy
	Release release.Config
	Faults  Faults
	// Log, when set, hears about injected faults.
	Log func(format string, args ...any)
}

func (c *Cycler) log(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

func (c *Cycler) releaser() *release.Releaser {
	return &release.Releaser{DB: c.S.DB, Sealer: c.S.Store.Sealer, Clock: c.S.Clock.Now, Config: c.Release}
}

// drawFault picks the cycle's crash point — in the close or in the release
// — which occurrence of it (the batch points repeat per batch,
// mid_file_write per file) and the kind of failure, from the seed and the
// month.
func (c *Cycler) drawFault(month time.Time) (point string, occurrence int, database bool) {
	r := rand.New(rand.NewPCG(c.Seed, uint64(month.Unix())^0x6661756c74))
	point = CrashPoints[r.IntN(len(CrashPoints))]
	if c.Faults.Point != "" {
		point = c.Faults.Point
	}
	occurrence = 1 + r.IntN(2)
	switch point {
	case "mid_batch", "before_batch_commit", "after_batch_commit", "mid_file_write":
	default:
		occurrence = 1 // once per close or release
	}
	return point, occurrence, r.IntN(3) == 0
}

// injector returns the Fault function that fails the occurrence-th time
// point is reached, as a process death or a database error.
func injector(point string, occurrence int, database bool) func(string) error {
	seen := 0
	return func(at string) error {
		if at != point {
			return nil
		}
		seen++
		if seen != occurrence {
			return nil
		}
		fault := &InjectedFault{Point: at, Occurrence: seen}
		if database {
			fault.Database = &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command (simulated)"}
		}
		return fault
	}
}

// Close closes month at the clock's current time the way the scheduled
// jobs do: the chain of close steps of payout/cycle (start, one step per
// shard, finish), each step's successors run in order, as a job queue with
// one worker would (closeChain). With faults on it first computes the close
// as a dry run (the reference: what an uninterrupted close writes), crashes
// the chain at the drawn point, checks the cycle was left unclosed, runs
// the crashed step again (a job's retry) and requires the result to be
// identical to the reference. Then it checks every invariant of a closed
// cycle and writes the cycle's workbook and result.json.
// Errors: *InvariantError, or the close's own error.
func (c *Cycler) Close(ctx context.Context, month time.Time) (store.CloseResult, error) {
	closer, err := c.operator(ctx, "simulator")
	if err != nil {
		return store.CloseResult{}, err
	}
	options := store.CloseOptions{Month: month, Policy: c.Policy, Actor: "simulator", Operator: closer, BatchSize: SimBatchSize}
	estimates, err := c.estimates(ctx, month)
	if err != nil {
		return store.CloseResult{}, err
	}
	var result store.CloseResult
	if point, _, _ := c.drawFault(month); c.Faults.on() && isClosePoint(point) {
		result, err = c.crashAndResume(ctx, month, options)
	} else {
		result, err = c.closeChain(ctx, month, options, nil)
	}
	if err != nil {
		return result, fmt.Errorf("close %s: %w", payout.MonthName(month), err)
	}
	if err := CheckClosed(ctx, c.S, c.Seed, month); err != nil {
		return result, err
	}
	if err := c.checkEstimates(ctx, month, estimates); err != nil {
		return result, err
	}
	if err := c.checkSummaries(ctx, month); err != nil {
		return result, err
	}
	return result, c.writeOutputs(ctx, month)
}

// closeChain runs the scheduled close of month to its end: the steps
// payout/cycle says follow each other, in order. A step that fails is given
// to retry (when set), which says whether to run it again (nil) or stop.
func (c *Cycler) closeChain(ctx context.Context, month time.Time, options store.CloseOptions, retry func(error) error) (store.CloseResult, error) {
	cycles := c.cycles()
	type job struct {
		step cycle.Step
		key  string
	}
	queue := []job{}
	enqueue := func(next cycle.Next) {
		for _, key := range next.Keys {
			queue = append(queue, job{next.Step, key})
		}
	}
	// The chain of this month alone (ScheduledClose would first close any
	// month left open before it; the simulator closes months one by one).
	enqueue(cycle.Next{Step: cycle.StepStart, Keys: []string{cycle.CloseKey(month, month)}})
	var result store.CloseResult
	for len(queue) > 0 {
		j := queue[0]
		var next cycle.Next
		var err error
		switch j.step {
		case cycle.StepStart:
			_, next, err = cycles.StartStep(ctx, j.key, options)
		case cycle.StepShard:
			err = cycles.ShardStep(ctx, j.key, options, func(_ context.Context, _ pgx.Tx, n cycle.Next) error {
				next = n
				return nil
			})
		case cycle.StepFinish:
			var closed cycle.Closed
			closed, next, err = cycles.FinishStep(ctx, j.key, options)
			result = closed.CloseResult
		}
		if err != nil {
			if retry == nil {
				return result, err
			}
			if err := retry(err); err != nil {
				return result, err
			}
			continue // the same step again
		}
		queue = queue[1:]
		enqueue(next)
	}
	return result, nil
}

func (c *Cycler) crashAndResume(ctx context.Context, month time.Time, options store.CloseOptions) (store.CloseResult, error) {
	checker := checker{s: c.S, seed: c.Seed, month: month}
	var reference string
	if _, err := c.S.Store.DryRun(ctx, options, func(ctx context.Context, q store.Querier) error {
		var err error
		reference, err = dumpWith(ctx, q, month)
		return err
	}); err != nil {
		return store.CloseResult{}, fmt.Errorf("dry run of %s: %w", payout.MonthName(month), err)
	}
	point, occurrence, database := c.drawFault(month)
	faulted := options
	faulted.Fault = injector(point, occurrence, database)
	var injected *InjectedFault
	result, err := c.closeChain(ctx, month, faulted, func(err error) error {
		if !errors.As(err, &injected) {
			return fmt.Errorf("with a fault at %s: %w", point, err)
		}
		c.log("%s: %v; restarting the close", payout.MonthName(month), injected)
		var state string
		if err := c.S.DB.GetContext(ctx, &state, `SELECT state FROM cycles WHERE month = $1`, month); err != nil && !isNoRows(err) {
			return err
		}
		if state != "" && state != store.StateClosing {
			return checker.broken(InvariantCrashResume, "a close crashed at %s left the cycle %s", point, state)
		}
		return nil
	})
	if err != nil {
		return result, err
	}
	if injected == nil {
		c.log("%s: the close never reached %s #%d (no crash)", payout.MonthName(month), point, occurrence)
	} else if result.AlreadyClosed {
		return result, checker.broken(InvariantCrashResume, "the close restarted after a crash at %s found the cycle already closed", point)
	}
	resumed, err := Dump(ctx, c.S, month)
	if err != nil {
		return result, err
	}
	if resumed != reference {
		return result, checker.broken(InvariantCrashResume, "after a crash at %s #%d the close differs from an uninterrupted one: %s", point, occurrence,
			firstDifference(reference, resumed))
	}
	return result, nil
}

// Approve approves a cycle awaiting approval (maker-checker), as the
// simulated operator named approver (created the first time).
func (c *Cycler) Approve(ctx context.Context, month time.Time, approver string) error {
	if approver == "" {
		approver = "simulated-approver"
	}
	id, err := c.operator(ctx, store.CanonicalOperatorName(approver))
	if err != nil {
		return err
	}
	return c.cycles().Approve(ctx, month, id)
}

// operator returns the id of the simulated operator named name, creating it
// the first time (finance_approver and ops; a password hash nothing signs in
// with). The simulator closes as the operator "simulator", so maker-checker
// compares operator ids as in production.
func (c *Cycler) operator(ctx context.Context, name string) (int64, error) {
	var id int64
	err := c.S.DB.GetContext(ctx, &id, `SELECT id FROM operators WHERE user_name = $1`, name)
	if err == nil || !isNoRows(err) {
		return id, err
	}
	err = c.S.DB.GetContext(ctx, &id, `
		INSERT INTO operators (user_name, display_name, roles, password_hash, must_change_password, created_at)
		VALUES ($1, $1, '{finance_approver,ops}', '$argon2id$v=19$m=65536,t=1,p=1$c2ltdWxhdGVk$bm8gc2lnbi1pbiBmb3IgYSBzaW11bGF0ZWQgb3BlcmF0b3I', true, $2)
		RETURNING id`, name, c.S.Clock.Now())
	return id, err
}

// ReleaseCycle releases month's payment files, checks them against the
// ledger (and that releasing again changes nothing), and writes the
// workbook and result.json. With faults on and a release point drawn, it
// first crashes the release there (crashRelease).
func (c *Cycler) ReleaseCycle(ctx context.Context, month time.Time) (release.Result, error) {
	var left map[string][]byte
	if point, _, _ := c.drawFault(month); c.Faults.on() && !isClosePoint(point) {
		var err error
		if left, err = c.crashRelease(ctx, month); err != nil {
			return release.Result{}, err
		}
	}
	releaser := c.releaser()
	released, err := releaser.Release(ctx, month, "simulator")
	if err != nil {
		return released, fmt.Errorf("release %s: %w", payout.MonthName(month), err)
	}
	if left != nil {
		// Every file the crashed release left behind (a bank may already
		// have fetched it) is still there, byte for byte.
		after, err := readDir(release.Directory(c.Release.OutDir, month))
		if err != nil {
			return released, err
		}
		checker := checker{s: c.S, seed: c.Seed, month: month}
		for _, name := range slices.Sorted(maps.Keys(left)) {
			if !bytes.Equal(left[name], after[name]) {
				return released, checker.broken(InvariantCrashResume, "%s, left by a release crashed before, was rewritten differently", name)
			}
		}
	}
	if err := CheckReleased(ctx, c.S, c.Seed, month, releaser); err != nil {
		return released, err
	}
	if err := c.checkSummaries(ctx, month); err != nil {
		return released, err
	}
	return released, c.writeOutputs(ctx, month)
}

// crashRelease crashes the release at the drawn point and checks what the
// crash left: before the commit, the cycle is not released and no payment
// is recorded; after it, the cycle is released. It returns the files in the
// cycle's directory after the crash, which the restarted release must leave
// byte for byte as they are.
func (c *Cycler) crashRelease(ctx context.Context, month time.Time) (map[string][]byte, error) {
	checker := checker{s: c.S, seed: c.Seed, month: month}
	point, occurrence, database := c.drawFault(month)
	releaser := c.releaser()
	releaser.Fault = injector(point, occurrence, database)
	_, err := releaser.Release(ctx, month, "simulator")
	var injected *InjectedFault
	switch {
	case err == nil:
		c.log("%s: the release never reached %s #%d (no crash)", payout.MonthName(month), point, occurrence)
	case errors.As(err, &injected):
		c.log("%s: %v; restarting the release", payout.MonthName(month), injected)
		var state string
		var payments int
		if err := c.S.DB.QueryRowxContext(ctx, `SELECT state, (SELECT count(*) FROM payments WHERE month = $1) FROM cycles WHERE month = $1`, month).
			Scan(&state, &payments); err != nil {
			return nil, err
		}
		released := state == store.StateReleased
		if released != (point == "after_commit") || (!released && payments != 0) {
			return nil, checker.broken(InvariantCrashResume, "a release crashed at %s left the cycle %s with %d payments", point, state, payments)
		}
	default:
		return nil, fmt.Errorf("release %s with a fault at %s: %w", payout.MonthName(month), point, err)
	}
	return readDir(release.Directory(c.Release.OutDir, month))
}

// readDir reads the files of a directory (not its subdirectories), by name.
func readDir(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = body
	}
	return files, nil
}

// cycles is the cycle's application layer over the simulated services:
// the one the CLI, the jobs and the admin API use.
func (c *Cycler) cycles() *cycle.Service {
	return &cycle.Service{DB: c.S.DB, Store: c.S.Store, OutDir: c.Release.OutDir,
		Releaser: func() (*release.Releaser, error) { return c.releaser(), nil }}
}

func (c *Cycler) writeOutputs(ctx context.Context, month time.Time) error {
	return c.cycles().WriteOutputs(ctx, month)
}
