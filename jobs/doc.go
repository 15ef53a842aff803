// Package jobs owns payrun's scheduled jobs (SPEC §8): the registry of jobs
// and their cron schedules, the Worker that runs them on River (a Postgres
// job queue) inside `payrun serve`, the run history (table job_runs) behind
// `payrun jobs list`, and River's own schema (Migrate).
//
// # Jobs
//
// Standard returns the jobs below; the wiring supplies each Run. Schedules
// are robfig/cron standard expressions read in UTC, overridable by job name
// (Config.Schedules, checked by ApplySchedules: a bad expression is an error
// naming the job). Period turns an occurrence's scheduled time into its key.
//
//	job                     schedule      period  timeout
//	close-cycle             0 6 5 * *     month   4h   the 5th, 06:00 UTC
//	release-payments        0 7 * * *     day     1h   releases a cycle when it is ready
//	verify-payout-accounts  0 5 * * *     day     30m  prenotes, matures verifications
//	expire-tax-forms        10 5 * * *    day     30m
//	expire-invitations      20 5 * * *    day     30m
//	key-expiry              30 5 * * *    day     30m
//	maintain-partitions     40 5 * * *    day     30m  this month's and the next 3 months' partitions
//	year-end-tax-reports    0 8 15 1 *    year    4h   15 January
//
// and the tasks the close fans out into (no schedule; Job.Task):
//
//	close-start    MONTH/UNTIL        1h   freeze the cycle's input, enqueue its shards
//	close-shard    MONTH/UNTIL/SHARD  4h   decide and write one shard
//	close-finish   MONTH/UNTIL        1h   check totals, set the state, write the
//	                                       workbook; start MONTH+1 while MONTH < UNTIL
//
// and one enqueued on demand, by the admin API (EnqueueTask, below):
//
//	payouts-export  EXPORT-ID         1h   write one publisher payouts export
//	                                       (payout/publisher, "Exports")
//
// # Tasks
//
// A task is enqueued by another job with EnqueueTx, inside the transaction
// that writes the enqueuing job's effects (usually the one that also calls
// CompleteTx), so the next step exists exactly when this one is done. A task
// occurrence is unique by (task, key) like a scheduled one and runs on the
// same River queue, so any replica runs it; runs of different keys of a task
// run in parallel (their lock is on name and key), up to Config.MaxWorkers
// per replica. The close uses them: close-cycle (the 5th) enqueues
// close-start for the earliest open month; close-start enqueues one
// close-shard per shard; the shard whose done-marking transaction finds every
// shard done enqueues close-finish in that transaction (the cycle's row lock
// makes exactly one shard see it); close-finish chains to the next month up
// to the occurrence's. A replica killed in the middle of a shard leaves the
// River job running; River's rescuer makes it available again after
// Config.RescueAfter (PAYRUN_JOB_RESCUE_AFTER) and another replica resumes
// the shard after its last committed batch.
//
// A task may also be enqueued from outside any job run: EnqueueTask inserts
// it in the caller's transaction (an API request's, which writes the row
// the task will work on), through an insert-only River client, so the
// request needs no Worker. The occurrence is then a task occurrence like
// any other: unique by (task, key), run by a replica whose Worker registers
// the task, retried, recorded in job_runs. payouts-export is such a task
// (one per export, keyed by its id); `payrun serve` registers it on every
// replica whatever PAYRUN_JOBS selects, since requests come to any replica.
//
// # Occurrences and exactly once
//
// An occurrence is (job, key), e.g. (close-cycle, "2026-11"). It is computed
// from the cron schedule and the Worker's clock as the latest time the
// schedule fired at or before now (River's periodic constructor is not told
// the scheduled time, and fires up to 100 ms early, so "now" is taken one
// second ahead). Its effects are written exactly once:
//
//  1. One enqueuer. Only River's elected leader enqueues periodic jobs.
//  2. Unique by occurrence. The River job's arguments carry job and key, and
//     it is inserted unique by those arguments in the states available,
//     pending, scheduled, running, retryable and completed. A double fire, two
//     leaders during a failover, a restart's catch-up or `payrun jobs run`
//     therefore insert nothing while the occurrence waits, runs, retries or
//     after it completed. (Not cancelled or discarded: a discarded occurrence
//     may be enqueued again, which is how it gets retried after its attempts
//     ran out.)
//  3. One worker at a time. River locks a fetched job to one client; a job
//     whose client died is rescued after RescueStuckJobsAfter, set above the
//     longest job timeout so a live run is never "rescued".
//  4. The run history remembers. River deletes completed jobs after 24 hours,
//     after which its uniqueness forgets them. So before running, a Worker
//     checks job_runs for a success of the same (job, key) and, if there is
//     one, completes the River job without running it; and the unique index
//     job_runs_one_success makes a second success impossible to commit.
//  5. Effects and completion in one transaction (CompleteTx, below). If the
//     process dies before the commit, nothing happened and the retry starts
//     afresh; after it, the occurrence is complete and (4) holds.
//
// # Writing a job
//
// A job writes its effects and marks its run done in one transaction:
//
//	func CompleteTx(ctx context.Context, tx pgx.Tx, occurrence Occurrence) error
//
// runs river.JobCompleteTx and marks the job_runs row succeeded inside tx.
// Call it last in the transaction that writes the effects, commit, and return
// nil. It returns ErrAlreadySucceeded if another run of the occurrence
// committed first; the transaction must then roll back. For example:
//
//	Run: func(ctx context.Context, occurrence jobs.Occurrence) error {
//		return db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
//			return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
//				if err := expireForms(ctx, tx, occurrence.ScheduledAt); err != nil {
//					return err
//				}
//				return jobs.CompleteTx(ctx, tx, occurrence)
//			})
//		})
//	},
//
// ctx must be the one Run was given (River finds its client there). A job
// that returns nil without calling CompleteTx is completed by the Worker in a
// transaction of its own (completion and history together, but not with the
// job's writes). That is right for work that spans many transactions and is
// idempotent by itself, such as close-cycle (a closed cycle reports "already
// closed", SPEC §3.4). Either way Run must be idempotent: River promises at
// least once, and the rules above turn that into exactly once only for
// writes made in the completing transaction.
//
// # Catch-up
//
// Every periodic job is registered with RunOnStart: whenever a Worker starts
// and becomes leader (at start-up, or when it takes over from a leader that
// stopped) it enqueues each job's occurrence in effect now. One missed while
// every replica was down therefore runs once at start-up; one already done
// inserts nothing (2) or completes without running (4). Only the latest
// occurrence is caught up, not every missed one: after two missed close days
// the run for the later month must also close the earlier one (store.Close
// refuses a month whose predecessor is open), and a daily job must handle
// everything due, not just "today".
//
// Catch-up never reaches back before the installation: with
// Config.InstalledAt set (`payrun serve` sets it from the database's
// installation table, written by `payrun migrate`), an occurrence scheduled
// at or before it is never enqueued by the schedule — so `payrun serve` on a
// new database does not close last month or write last year's tax reports;
// the first occurrences it runs are those scheduled after the installation.
// Start logs what catch-up will do (CatchUpPlan): the occurrences it runs,
// or "nothing to catch up: installed at ...". Enqueue (an explicit request)
// is not limited.
//
// # Runs never overlap
//
// A run holds a Postgres advisory lock on its job name, on a connection of its
// own (a lock on a pooled connection would stay behind in the pool), for its
// whole run. Another occurrence of the same job that finds the lock taken is
// snoozed for 30 seconds (River's JobSnooze: no attempt used) and records no
// run.
//
// # A run's life (job_runs.outcome)
//
//	start (lock held, not already succeeded)
//	         │
//	         ▼
//	     running ──── Run returns nil / CompleteTx committed ──▶ succeeded
//	         │
//	         ├─ error, panic, timeout, shutdown ──▶ failed (error text)
//	         │
//	         └─ process died ──▶ failed ("abandoned"), written by the
//	                             next run of the same job
//
// Each attempt is a row, so `payrun jobs list` shows retries.
//
// # Failure modes
//
//   - Run returns an error or panics: the run is failed with the error (a
//     panic's stack goes to the log) and River retries with backoff (its
//     default, attempt⁴ seconds, or Config.RetryBackoff) up to MaxAttempts
//     (default 5), then discards the occurrence. The next start-up or leader
//     change enqueues it again.
//   - A run exceeds its Timeout: River cancels its context; it fails and is
//     retried.
//   - Shutdown: Stop (SIGTERM in `payrun serve`), or cancelling Start's
//     context, stops fetching and waits for running jobs; after
//     Config.ShutdownTimeout (default 20 s) their contexts are cancelled. A
//     cancelled run is recorded as failed, and River makes the occurrence
//     available again without using an attempt, so the next Worker runs it.
//   - The process dies mid-run: its lock goes with its connection; River
//     rescues the job after RescueStuckJobsAfter; the next run of the job
//     marks the orphaned 'running' row as abandoned.
//   - A replica that does not know a job (an older version during a rolling
//     deploy) snoozes its occurrence, once a minute for up to an hour, so a
//     replica that knows the job runs it; then it cancels it, and the next
//     start-up of a replica that knows the job enqueues it again.
//   - Recording an outcome uses a context detached from the run's, so a
//     timed-out or cancelled run is still recorded.
//
// # Time
//
// Occurrences and job_runs timestamps come from Config.Clock, so the
// simulator can drive jobs through months; River's own timers (when to fire,
// retry backoff, timeouts) run on real time.
//
// # Leader status
//
// River keeps its elector's state internal, so Worker.Leader and IsLeader
// read River's river_leader table for this client's ID.
//
// # Schema
//
// Migrate applies River's migrations; `payrun migrate` calls it after
// payrun's. River's migrator takes no lock, so Migrate holds an advisory lock
// on a dedicated connection: concurrent replicas apply each migration once.
// The test template (testsupport/dbtest) runs both and is keyed by both
// migrations.Hash and RiverSchemaHash.
package jobs
