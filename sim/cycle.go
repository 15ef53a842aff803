package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/store"
)

// SimBatchSize is the close's batch size in simulations: small, so that a
// few hundred publishers make several batches and a crash can fall between
// two of them. The clean and the faulted run use the same size, so their
// journal references are the same.
const SimBatchSize = 40

// Faults chooses the crash of each close.
type Faults struct {
	// Enabled crashes every close once, at a point and batch drawn from the
	// seed and the month, then restarts it.
	Enabled bool
	// Point, when set, is the only point crashed at (the crash sweep).
	Point string
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

// drawFault picks the crash point, which occurrence of it (batch points
// repeat per batch) and the kind of failure, from the seed and the month.
func (c *Cycler) drawFault(month time.Time) (point string, occurrence int, database bool) {
	r := rand.New(rand.NewPCG(c.Seed, uint64(month.Unix())^0x6661756c74))
	point = store.FaultPoints[r.IntN(len(store.FaultPoints))]
	if c.Faults.Point != "" {
		point = c.Faults.Point
	}
	occurrence = 1 + r.IntN(2)
	if point == "after_start" || point == "before_finish" {
		occurrence = 1 // once per close; the batch points repeat per batch
	}
	return point, occurrence, r.IntN(3) == 0
}

// Close closes month at the clock's current time. With faults on it first
// computes the close as a dry run (the reference: what an uninterrupted
// close writes), crashes the real close at the drawn point, checks the
// cycle was left unclosed, restarts the close and requires the result to be
// identical to the reference. Then it checks every invariant of a closed
// cycle and writes the cycle's workbook and result.json.
// Errors: *InvariantError, or the close's own error.
func (c *Cycler) Close(ctx context.Context, month time.Time) (store.CloseResult, error) {
	options := store.CloseOptions{Month: month, Policy: c.Policy, Actor: "simulator", BatchSize: SimBatchSize}
	if c.Faults.Enabled || c.Faults.Point != "" {
		if err := c.crashAndResume(ctx, month, options); err != nil {
			return store.CloseResult{}, err
		}
	}
	result, err := c.S.Store.Close(ctx, options)
	if err != nil {
		return result, fmt.Errorf("close %s: %w", payout.MonthName(month), err)
	}
	if err := CheckClosed(ctx, c.S, c.Seed, month); err != nil {
		return result, err
	}
	return result, c.writeOutputs(ctx, month)
}

func (c *Cycler) crashAndResume(ctx context.Context, month time.Time, options store.CloseOptions) error {
	checker := checker{s: c.S, seed: c.Seed, month: month}
	var reference string
	dry := options
	dry.DryRun = true
	dry.Report = func(ctx context.Context, q store.Querier) error {
		var err error
		reference, err = dumpWith(ctx, q, month)
		return err
	}
	if _, err := c.S.Store.Close(ctx, dry); err != nil {
		return fmt.Errorf("dry run of %s: %w", payout.MonthName(month), err)
	}
	point, occurrence, database := c.drawFault(month)
	seen := 0
	faulted := options
	faulted.Fault = func(at string) error {
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
	_, err := c.S.Store.Close(ctx, faulted)
	var injected *InjectedFault
	switch {
	case err == nil:
		c.log("%s: the close never reached %s #%d (no crash)", payout.MonthName(month), point, occurrence)
	case errors.As(err, &injected):
		c.log("%s: %v; restarting the close", payout.MonthName(month), injected)
		var state string
		if err := c.S.DB.GetContext(ctx, &state, `SELECT state FROM cycles WHERE month = $1`, month); err != nil && !isNoRows(err) {
			return err
		}
		if state != "" && state != store.StateClosing {
			return checker.broken(InvariantCrashResume, "a close crashed at %s left the cycle %s", point, state)
		}
	default:
		return fmt.Errorf("close %s with a fault at %s: %w", payout.MonthName(month), point, err)
	}
	result, err := c.S.Store.Close(ctx, options)
	if err != nil {
		return fmt.Errorf("close %s after a crash at %s: %w", payout.MonthName(month), point, err)
	}
	if injected != nil && result.AlreadyClosed {
		return checker.broken(InvariantCrashResume, "the close restarted after a crash at %s found the cycle already closed", point)
	}
	resumed, err := Dump(ctx, c.S, month)
	if err != nil {
		return err
	}
	if resumed != reference {
		return checker.broken(InvariantCrashResume, "after a crash at %s #%d the close differs from an uninterrupted one: %s", point, occurrence,
			firstDifference(reference, resumed))
	}
	return nil
}

// Approve approves a cycle awaiting approval (maker-checker).
func (c *Cycler) Approve(ctx context.Context, month time.Time, approver string) error {
	if approver == "" {
		approver = "simulated-approver"
	}
	return c.S.Store.Approve(ctx, month, approver)
}

// ReleaseCycle releases month's payment files, checks them against the
// ledger (and that releasing again changes nothing), and writes the
// workbook and result.json.
func (c *Cycler) ReleaseCycle(ctx context.Context, month time.Time) (release.Result, error) {
	releaser := c.releaser()
	released, err := releaser.Release(ctx, month, "simulator")
	if err != nil {
		return released, fmt.Errorf("release %s: %w", payout.MonthName(month), err)
	}
	if err := CheckReleased(ctx, c.S, c.Seed, month, releaser); err != nil {
		return released, err
	}
	return released, c.writeOutputs(ctx, month)
}

func (c *Cycler) writeOutputs(ctx context.Context, month time.Time) error {
	return db.WithPgx(ctx, c.S.DB, func(conn *pgx.Conn) error {
		if _, err := cyclereport.Write(ctx, conn, c.Release.OutDir, month, false); err != nil {
			return err
		}
		return writeResult(ctx, conn, c.Release.OutDir, month)
	})
}
