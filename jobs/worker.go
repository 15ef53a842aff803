package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// Defaults and limits of a Worker.
const (
	// DefaultMaxAttempts is how many times River tries an occurrence before
	// discarding it (until the next start-up catches it up again).
	DefaultMaxAttempts = 5
	// MaxMaxAttempts is River's own default, far more than a scheduled job
	// needs.
	MaxMaxAttempts = 25
	// DefaultShutdownTimeout is how long Stop lets running jobs finish before
	// cancelling their contexts: under Kubernetes' default 30-second grace
	// period, leaving time to record outcomes.
	DefaultShutdownTimeout = 20 * time.Second
	// hardStopTimeout bounds waiting for cancelled jobs to return.
	hardStopTimeout = 5 * time.Second
	// DefaultMaxWorkers is how many jobs a Worker runs at once by default.
	DefaultMaxWorkers = 4
	// busyRetryDelay is when an occurrence retries after finding an earlier
	// run of its job still in progress (River's snooze: no attempt used).
	busyRetryDelay = 30 * time.Second
	// unknownJobRetryDelay and unknownJobMaxSnoozes: an occurrence of a job
	// this replica does not know waits for one that does for an hour (a
	// rolling deploy), then is cancelled.
	unknownJobRetryDelay = time.Minute
	unknownJobMaxSnoozes = 60
	// fireMargin: River fires a periodic job up to 100 ms before its time,
	// so the occurrence is computed a little ahead.
	fireMargin = time.Second
	// rescueMargin is added to the longest job timeout to get the age at
	// which River rescues a job whose worker died.
	rescueMargin = 15 * time.Minute
	// leaderQueryTimeout bounds IsLeader.
	leaderQueryTimeout = 2 * time.Second
)

// queueName is the River queue the jobs run on.
const queueName = "payrun_jobs"

// jobLockClass is the first key of the two-key advisory lock a run holds on
// its job for its whole run ("payj" in ASCII); the second is hashtext(name).
const jobLockClass int32 = 0x7061796a

// Config configures a Worker.
type Config struct {
	// Pool is the database (see OpenPool); the Worker does not close it.
	Pool *pgxpool.Pool
	// Jobs to schedule and run (see Standard).
	Jobs []Job
	// Schedules overrides Job.Schedule by job name (from configuration).
	Schedules map[string]string
	// Clock gives the time occurrences are computed at and runs are
	// recorded with (default time.Now). River's own timers use real time.
	Clock func() time.Time
	// Logger (default slog.Default()) is also River's.
	Logger *slog.Logger
	// MaxAttempts per occurrence (default DefaultMaxAttempts).
	MaxAttempts int
	// RetryBackoff is the delay before attempt+1 after attempt failed
	// (default River's: attempt⁴ seconds with jitter).
	RetryBackoff func(attempt int) time.Duration
	// ShutdownTimeout is how long Stop waits for running jobs before
	// cancelling them (default DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// ID names this process in River's tables (default: host name and
	// start time).
	ID string
	// MaxWorkers is how many jobs this Worker runs at once (default
	// DefaultMaxWorkers): the close's shards run in parallel up to it.
	MaxWorkers int
	// RescueAfter, when set, is the age at which a running job whose
	// Worker died is retried by another (River's RescueStuckJobsAfter);
	// every job's timeout is then capped at three quarters of it. Default:
	// the longest timeout plus 15 minutes, at least an hour.
	RescueAfter time.Duration
	// InstalledAt, when set, is when the database became payrun's
	// (migrations.InstalledAt): the schedule never enqueues an occurrence
	// scheduled at or before it, so catch-up never reaches back before the
	// installation (a new database does not close last month). Zero: no
	// limit. Enqueue, an explicit request, is not limited.
	InstalledAt time.Time

	// fireEvery replaces the cron schedules as River's trigger (tests only:
	// cron's resolution is a minute). Occurrences still come from the cron
	// schedule at Clock's time.
	fireEvery time.Duration
	// testOnly drops River's random start-up delays (tests only).
	testOnly bool
	// busyRetryDelay replaces the constant of that name (tests only).
	busyRetryDelay time.Duration
}

// registered is a checked Job with its parsed schedule.
type registered struct {
	Job
	schedule interface{ Next(time.Time) time.Time }
}

// Worker runs the jobs on River: the elected leader among all Workers on the
// database enqueues each occurrence, any Worker runs it.
type Worker struct {
	client      *river.Client[pgx.Tx]
	pool        *pgxpool.Pool
	jobs        map[string]*registered
	clock       func() time.Time
	logger      *slog.Logger
	maxAttempts int
	busyDelay   time.Duration
	installedAt time.Time
}

// NewWorker checks config and builds a Worker. Errors: ErrBadJob,
// ErrBadSchedule and ErrUnknownJob, each naming the job; an error from River.
func NewWorker(config Config) (*Worker, error) {
	if config.Pool == nil {
		return nil, errors.New("jobs: Config.Pool is required")
	}
	list, err := ApplySchedules(config.Jobs, config.Schedules)
	if err != nil {
		return nil, err
	}
	if config.MaxAttempts == 0 {
		config.MaxAttempts = DefaultMaxAttempts
	}
	if config.MaxAttempts < 1 || config.MaxAttempts > MaxMaxAttempts {
		return nil, fmt.Errorf("jobs: MaxAttempts %d is outside 1..%d", config.MaxAttempts, MaxMaxAttempts)
	}
	if config.ShutdownTimeout <= 0 {
		config.ShutdownTimeout = DefaultShutdownTimeout
	}
	if config.Clock == nil {
		config.Clock = time.Now
	}
	if config.Logger == nil {
		config.Logger = slog.Default()
	}
	w := &Worker{
		pool:        config.Pool,
		jobs:        make(map[string]*registered, len(list)),
		clock:       func() time.Time { return config.Clock().UTC() },
		logger:      config.Logger.With("component", "jobs"),
		maxAttempts: config.MaxAttempts,
		busyDelay:   busyRetryDelay,
		installedAt: config.InstalledAt.UTC(),
	}
	if config.busyRetryDelay > 0 {
		w.busyDelay = config.busyRetryDelay
	}
	if config.MaxWorkers == 0 {
		config.MaxWorkers = DefaultMaxWorkers
	}
	if config.MaxWorkers < 1 || config.MaxWorkers > 64 {
		return nil, fmt.Errorf("jobs: MaxWorkers %d is outside 1..64", config.MaxWorkers)
	}
	longest := time.Duration(0)
	periodic := make([]*river.PeriodicJob, 0, len(list))
	for _, job := range list {
		if job.Timeout == 0 {
			job.Timeout = DefaultTimeout
		}
		if config.RescueAfter > 0 {
			job.Timeout = min(job.Timeout, config.RescueAfter*3/4)
		}
		longest = max(longest, job.Timeout)
		if job.Task {
			w.jobs[job.Name] = &registered{Job: job}
			continue
		}
		schedule, err := ParseSchedule(job.Name, job.Schedule)
		if err != nil {
			return nil, err
		}
		entry := &registered{Job: job, schedule: schedule}
		w.jobs[job.Name] = entry
		var trigger river.PeriodicSchedule = schedule
		if config.fireEvery > 0 {
			trigger = river.PeriodicInterval(config.fireEvery)
		}
		periodic = append(periodic, river.NewPeriodicJob(trigger, w.constructor(entry), &river.PeriodicJobOpts{
			ID:         job.Name,
			RunOnStart: true,
		}))
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &riverWorker{owner: w, backoff: config.RetryBackoff}); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	rescueAfter := max(longest+rescueMargin, time.Hour)
	if config.RescueAfter > 0 {
		rescueAfter = config.RescueAfter
	}
	client, err := river.NewClient(riverpgxv5.New(config.Pool), &river.Config{
		ID:          config.ID,
		Logger:      slog.New(riverLogHandler{config.Logger.Handler()}),
		MaxAttempts: config.MaxAttempts,
		// A job still running past this age is taken for dead and retried;
		// it must exceed every timeout or a live run would be "rescued".
		RescueStuckJobsAfter: rescueAfter,
		JobTimeout:           min(DefaultTimeout, longest),
		PeriodicJobs:         periodic,
		Queues:               map[string]river.QueueConfig{queueName: {MaxWorkers: config.MaxWorkers}},
		SoftStopTimeout:      config.ShutdownTimeout,
		TestOnly:             config.testOnly,
		Workers:              workers,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	w.client = client
	return w, nil
}

// Start starts scheduling and running jobs. At start-up (and whenever this
// Worker becomes leader) the occurrence in effect now of every job is
// enqueued, which catches up one missed while every replica was down and is
// a no-op for one already run — unless it was scheduled at or before
// Config.InstalledAt. What that catch-up will do is logged first (see
// CatchUpPlan). Cancelling ctx later stops the Worker as Stop does.
func (w *Worker) Start(ctx context.Context) error {
	names := make([]string, 0, len(w.jobs))
	for name := range w.jobs {
		names = append(names, name)
	}
	slices.Sort(names)
	w.logger.InfoContext(ctx, "starting job worker", "jobs", names, "river_client", w.client.ID())
	if plan, err := w.CatchUpPlan(ctx); err != nil {
		w.logger.WarnContext(ctx, "could not work out the start-up catch-up", "error", err)
	} else {
		plan.log(ctx, w.logger)
	}
	if err := w.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching new jobs and waits for running ones to finish; after
// Config.ShutdownTimeout their contexts are cancelled (they are recorded as
// failed and River makes them available again without using an attempt). If
// ctx ends first, running jobs are cancelled at once. Stop returns when every
// job has returned, or with ctx's error.
func (w *Worker) Stop(ctx context.Context) error {
	err := w.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	w.logger.WarnContext(ctx, "job worker stop interrupted; cancelling running jobs", "error", err)
	hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopTimeout)
	defer cancel()
	if err := w.client.StopAndCancel(hardCtx); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return ctx.Err()
}

// Leader reports whether this Worker is River's elected leader (the one that
// enqueues periodic jobs). River keeps the answer internal, so this reads its
// river_leader table.
func (w *Worker) Leader(ctx context.Context) (bool, error) {
	var leader bool
	err := w.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM river_leader WHERE leader_id = $1 AND expires_at > now())`,
		w.client.ID()).Scan(&leader)
	if err != nil {
		return false, fmt.Errorf("jobs: leader: %w", err)
	}
	return leader, nil
}

// IsLeader is Leader for a metrics gauge: false when the question cannot be
// answered within two seconds.
func (w *Worker) IsLeader() bool {
	ctx, cancel := context.WithTimeout(context.Background(), leaderQueryTimeout)
	defer cancel()
	leader, err := w.Leader(ctx)
	return err == nil && leader
}

// Enqueue enqueues the occurrence of job name in effect at at (the latest
// time its schedule fired at or before at), as the schedule would have, for
// `payrun jobs run`. inserted is false when that occurrence is already queued,
// running or completed. Errors: ErrUnknownJob, ErrNoOccurrence.
func (w *Worker) Enqueue(ctx context.Context, name string, at time.Time) (occurrence Occurrence, inserted bool, err error) {
	job, ok := w.jobs[name]
	if !ok {
		return Occurrence{}, false, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	if job.Task {
		return Occurrence{}, false, fmt.Errorf("%w: %q is a task; the job that needs it enqueues it", ErrBadJob, name)
	}
	occurrence, err = occurrenceAt(job, at)
	if err != nil {
		return Occurrence{}, false, err
	}
	args, opts := w.insertParams(occurrence)
	result, err := w.client.Insert(ctx, args, opts)
	if err != nil {
		return Occurrence{}, false, fmt.Errorf("jobs: enqueue %s %s: %w", name, occurrence.Key, err)
	}
	return occurrence, !result.UniqueSkippedAsDuplicate, nil
}

// constructor is River's periodic job constructor for job: it enqueues the
// occurrence in effect at the Worker's clock, unless that was scheduled at
// or before the installation (a start-up or a new leader would otherwise
// catch it up).
func (w *Worker) constructor(job *registered) river.PeriodicJobConstructor {
	return func() (river.JobArgs, *river.InsertOpts) {
		occurrence, err := occurrenceAt(job, w.clock().Add(fireMargin))
		if err != nil {
			w.logger.Error("no occurrence to enqueue", "job", job.Name, "error", err)
			return nil, nil
		}
		if w.beforeInstallation(occurrence) {
			w.logger.Debug("occurrence scheduled before the installation: not enqueued", "job", job.Name, "key", occurrence.Key,
				"scheduled_at", occurrence.ScheduledAt, "installed_at", w.installedAt)
			return nil, nil
		}
		return w.insertParams(occurrence)
	}
}

// beforeInstallation reports whether occurrence was scheduled at or before
// Config.InstalledAt (never, when that is zero).
func (w *Worker) beforeInstallation(occurrence Occurrence) bool {
	return !w.installedAt.IsZero() && !occurrence.ScheduledAt.After(w.installedAt)
}

// CatchUp is what start-up catch-up does with each scheduled job's
// occurrence in effect at the Worker's clock (see CatchUpPlan).
type CatchUp struct {
	// At is the Worker's clock when the plan was made.
	At time.Time
	// InstalledAt is Config.InstalledAt (zero: no limit).
	InstalledAt time.Time
	// Due occurrences, scheduled after the installation and not yet
	// succeeded, are run now: the elected leader enqueues them (once, however
	// many replicas start).
	Due []Occurrence
	// Done occurrences already succeeded: nothing to do.
	Done []Occurrence
	// BeforeInstallation occurrences were scheduled at or before
	// InstalledAt: they are never run (their next occurrence is).
	BeforeInstallation []Occurrence
}

// CatchUpPlan works out, without enqueuing anything, what start-up catch-up
// does with each scheduled job (tasks are enqueued by their jobs, never
// caught up), in job-name order. A job whose schedule has not fired yet at
// the clock's time has no occurrence in effect and is left out.
func (w *Worker) CatchUpPlan(ctx context.Context) (CatchUp, error) {
	now := w.clock()
	plan := CatchUp{At: now, InstalledAt: w.installedAt}
	names := make([]string, 0, len(w.jobs))
	for name, job := range w.jobs {
		if !job.Task {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		occurrence, err := occurrenceAt(w.jobs[name], now.Add(fireMargin))
		if errors.Is(err, ErrNoOccurrence) {
			continue
		}
		if err != nil {
			return plan, err
		}
		if w.beforeInstallation(occurrence) {
			plan.BeforeInstallation = append(plan.BeforeInstallation, occurrence)
			continue
		}
		done, err := hasSucceeded(ctx, w.pool, occurrence.Name, occurrence.Key)
		if err != nil {
			return plan, fmt.Errorf("jobs: catch-up plan: %w", err)
		}
		if done {
			plan.Done = append(plan.Done, occurrence)
		} else {
			plan.Due = append(plan.Due, occurrence)
		}
	}
	return plan, nil
}

// Message is the plan in one line: what will run, or "nothing to catch up"
// with the installation instant.
func (p CatchUp) Message() string {
	if len(p.Due) == 0 {
		if p.InstalledAt.IsZero() {
			return "nothing to catch up"
		}
		return "nothing to catch up: installed at " + p.InstalledAt.Format(time.RFC3339)
	}
	return "catching up missed occurrences: " + strings.Join(describe(p.Due), ", ")
}

// log writes the plan at start-up, at info level.
func (p CatchUp) log(ctx context.Context, logger *slog.Logger) {
	attrs := []any{"due", describe(p.Due), "already_done", describe(p.Done), "before_installation", describe(p.BeforeInstallation)}
	if !p.InstalledAt.IsZero() {
		attrs = append(attrs, "installed_at", p.InstalledAt)
	}
	logger.InfoContext(ctx, p.Message(), attrs...)
}

// riverLogHandler passes River's log lines on, but the one River writes at
// info level for every occurrence the constructor declines (scheduled before
// the installation) goes at debug level: Start has already logged the
// catch-up plan, and River's "nil returned from periodic job constructor,
// skipping" says less.
type riverLogHandler struct{ slog.Handler }

func (h riverLogHandler) Handle(ctx context.Context, record slog.Record) error {
	if record.Level == slog.LevelInfo && strings.Contains(record.Message, "nil returned from periodic job constructor") {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		record.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, record)
}

func (h riverLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return riverLogHandler{h.Handler.WithAttrs(attrs)}
}

func (h riverLogHandler) WithGroup(name string) slog.Handler {
	return riverLogHandler{h.Handler.WithGroup(name)}
}

// describe names occurrences as "job key (scheduled at T)".
func describe(occurrences []Occurrence) []string {
	names := make([]string, 0, len(occurrences))
	for _, o := range occurrences {
		names = append(names, fmt.Sprintf("%s %s (scheduled %s)", o.Name, o.Key, o.ScheduledAt.UTC().Format(time.RFC3339)))
	}
	return names
}

// insertParams makes an occurrence unique by (job, key) in every state but
// cancelled and discarded: a second enqueue while it waits, runs or after it
// completed inserts nothing. A discarded occurrence (all attempts failed) can
// be enqueued again, which is how a restart retries it.
func (w *Worker) insertParams(occurrence Occurrence) (river.JobArgs, *river.InsertOpts) {
	return insertParams(occurrence, w.maxAttempts)
}

func insertParams(occurrence Occurrence, maxAttempts int) (river.JobArgs, *river.InsertOpts) {
	return occurrenceArgs{Job: occurrence.Name, Key: occurrence.Key, ScheduledAt: occurrence.ScheduledAt}, &river.InsertOpts{
		MaxAttempts: maxAttempts,
		Queue:       queueName,
		// No ScheduledAt: River would insert the job as 'scheduled' and
		// leave it until its scheduler's next pass (every 5 s), where
		// without one it is 'available' at once.
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable,
				rivertype.JobStateCompleted,
				rivertype.JobStatePending,
				rivertype.JobStateRetryable,
				rivertype.JobStateRunning,
				rivertype.JobStateScheduled,
			},
		},
	}
}

// EnqueueTx enqueues task name for key inside tx, so it exists exactly when
// tx commits. from is the occurrence whose Run enqueues it, and ctx the
// context that Run was given (River's client travels in it). A key
// already waiting, running or completed inserts nothing; inserted says
// whether this call inserted it. Errors: ErrUnknownJob for a name that is
// not a task of this Worker; River's error.
func EnqueueTx(ctx context.Context, tx pgx.Tx, from Occurrence, name, key string) (inserted bool, err error) {
	run := from.run
	if run == nil {
		return false, fmt.Errorf("jobs: EnqueueTx %s %s: not inside a job run", name, key)
	}
	job, ok := run.owner.jobs[name]
	if !ok || !job.Task {
		return false, fmt.Errorf("%w: %q is not a task of this worker", ErrUnknownJob, name)
	}
	if key == "" || len(key) > maxKeyLength {
		return false, fmt.Errorf("%w: task %q: key %q must have 1..%d bytes", ErrBadJob, name, key, maxKeyLength)
	}
	args, opts := run.owner.insertParams(Occurrence{Name: name, Key: key, ScheduledAt: run.owner.clock()})
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return false, fmt.Errorf("jobs: EnqueueTx %s %s: %w", name, key, err)
	}
	result, err := client.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return false, fmt.Errorf("jobs: enqueue %s %s: %w", name, key, err)
	}
	return !result.UniqueSkippedAsDuplicate, nil
}

// EnqueueTask enqueues task name for key inside tx from outside any job run
// (an admin API request, which has no Worker at hand): it exists exactly
// when tx commits, and whichever Worker registers the task runs it, as it
// runs a task another job enqueued (unique by name and key, its runs of one
// key never overlapping, retried up to DefaultMaxAttempts). at is the
// occurrence's ScheduledAt (the request's time). The insert goes through an
// insert-only River client (no pool, no queues: River inserts in the
// caller's transaction and runs nothing). Errors: ErrUnknownJob for a name
// that is not a standard task; ErrBadJob for a bad key; River's error.
func EnqueueTask(ctx context.Context, tx pgx.Tx, name, key string, at time.Time) (inserted bool, err error) {
	if !slices.ContainsFunc(standardJobs(), func(job Job) bool { return job.Name == name && job.Task }) {
		return false, fmt.Errorf("%w: %q is not a task", ErrUnknownJob, name)
	}
	if key == "" || len(key) > maxKeyLength {
		return false, fmt.Errorf("%w: task %q: key %q must have 1..%d bytes", ErrBadJob, name, key, maxKeyLength)
	}
	client, err := insertOnlyClient()
	if err != nil {
		return false, fmt.Errorf("jobs: %w", err)
	}
	args, opts := insertParams(Occurrence{Name: name, Key: key, ScheduledAt: at.UTC()}, DefaultMaxAttempts)
	result, err := client.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return false, fmt.Errorf("jobs: enqueue %s %s: %w", name, key, err)
	}
	return !result.UniqueSkippedAsDuplicate, nil
}

// insertOnlyClient is the River client EnqueueTask inserts with: no pool,
// no queues, no workers.
var insertOnlyClient = sync.OnceValues(func() (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(nil), &river.Config{Logger: slog.New(slog.DiscardHandler)})
})

// occurrenceArgs are the River job's arguments; only job and key take part
// in its uniqueness.
type occurrenceArgs struct {
	Job         string    `json:"job" river:"unique"`
	Key         string    `json:"key" river:"unique"`
	ScheduledAt time.Time `json:"scheduled_at"`
}

func (occurrenceArgs) Kind() string { return "payrun_job" }

// riverWorker runs every job kind's occurrences for River.
type riverWorker struct {
	river.WorkerDefaults[occurrenceArgs]
	owner   *Worker
	backoff func(attempt int) time.Duration
}

func (r *riverWorker) Timeout(job *river.Job[occurrenceArgs]) time.Duration {
	if entry, ok := r.owner.jobs[job.Args.Job]; ok {
		return entry.Timeout
	}
	return DefaultTimeout
}

func (r *riverWorker) NextRetry(job *river.Job[occurrenceArgs]) time.Time {
	if r.backoff == nil {
		return time.Time{} // River's policy
	}
	return time.Now().Add(r.backoff(job.Attempt))
}

func (r *riverWorker) Work(ctx context.Context, job *river.Job[occurrenceArgs]) error {
	return r.owner.work(ctx, job)
}

// work runs one attempt at an occurrence: under the job's lock, skip it if it
// already succeeded, record it as running, run it, and record the outcome —
// success in the same transaction as River's completion.
func (w *Worker) work(ctx context.Context, job *river.Job[occurrenceArgs]) error {
	entry, ok := w.jobs[job.Args.Job]
	if !ok {
		// A replica with a newer job list enqueued it (a rolling deploy):
		// leave it for one that knows the job, for a while.
		err := fmt.Errorf("%w: %q is not registered in this worker", ErrUnknownJob, job.Args.Job)
		var metadata struct {
			Snoozes int `json:"snoozes"`
		}
		_ = json.Unmarshal(job.Metadata, &metadata)
		if metadata.Snoozes >= unknownJobMaxSnoozes {
			return river.JobCancel(err)
		}
		w.logger.WarnContext(ctx, "job not registered here; leaving it for another replica", "job", job.Args.Job, "key", job.Args.Key)
		return river.JobSnooze(unknownJobRetryDelay)
	}
	occurrence := Occurrence{Name: entry.Name, Key: job.Args.Key, ScheduledAt: job.Args.ScheduledAt.UTC(), Attempt: job.Attempt}
	log := w.logger.With("job", occurrence.Name, "key", occurrence.Key, "attempt", occurrence.Attempt)

	lockConn, err := dedicatedConn(ctx, w.pool)
	if err != nil {
		return err
	}
	defer closeConn(lockConn) // drops the lock too
	// A scheduled job's runs never overlap; a task's runs of one key never
	// do (its keys run in parallel), so a task's lock and its abandoned runs
	// are per key.
	lockName, scopeKey := entry.Name, ""
	if entry.Task {
		lockName, scopeKey = entry.Name+"/"+occurrence.Key, occurrence.Key
	}
	var locked bool
	if err := lockConn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, jobLockClass, lockName).Scan(&locked); err != nil {
		return fmt.Errorf("lock %s: %w", entry.Name, err)
	}
	if !locked {
		log.InfoContext(ctx, "an earlier run of this job is still in progress; retrying later")
		return river.JobSnooze(w.busyDelay)
	}

	done, err := hasSucceeded(ctx, w.pool, occurrence.Name, occurrence.Key)
	if err != nil {
		return fmt.Errorf("check %s %s: %w", occurrence.Name, occurrence.Key, err)
	}
	if done {
		// River forgot the completed job (retention) and it was enqueued
		// again; the run history remembers.
		log.InfoContext(ctx, "occurrence already succeeded; not running it again")
		return nil
	}
	if abandoned, err := abandonRunning(ctx, w.pool, occurrence.Name, scopeKey, w.clock()); err != nil {
		return fmt.Errorf("close abandoned runs of %s: %w", occurrence.Name, err)
	} else if abandoned > 0 {
		log.WarnContext(ctx, "closed runs left running by a stopped worker", "runs", abandoned)
	}
	runID, err := insertRunning(ctx, w.pool, occurrence, job.ID, w.clock())
	if err != nil {
		return fmt.Errorf("record start of %s %s: %w", occurrence.Name, occurrence.Key, err)
	}
	state := &runState{job: job, runID: runID, now: w.clock, owner: w}
	occurrence.run = state

	started := time.Now()
	log.InfoContext(ctx, "job started", "scheduled_at", occurrence.ScheduledAt)
	runErr := runSafely(ctx, log, entry.Run, occurrence)

	// Outcomes are written even when ctx is over (timeout, shutdown).
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if state.completeCalled.Load() {
		outcome, err := runOutcome(recordCtx, w.pool, runID)
		if err != nil {
			return fmt.Errorf("read outcome of %s %s: %w", occurrence.Name, occurrence.Key, err)
		}
		if outcome == OutcomeSucceeded {
			if runErr != nil {
				log.WarnContext(ctx, "job returned an error after committing its completion; the completion stands", "error", runErr)
			}
			log.InfoContext(ctx, "job succeeded", "duration", time.Since(started))
			return nil
		}
		if runErr == nil {
			runErr = errors.New("Run returned nil but the transaction it passed to CompleteTx did not commit")
		}
	}
	if runErr == nil {
		runErr = w.complete(recordCtx, job, runID)
		if runErr == nil {
			log.InfoContext(ctx, "job succeeded", "duration", time.Since(started))
			return nil
		}
	}
	if ctx.Err() != nil && !errors.Is(runErr, ctx.Err()) {
		runErr = fmt.Errorf("%w (%w)", runErr, ctx.Err())
	}
	if err := markFailed(recordCtx, w.pool, runID, w.clock(), runErr); err != nil {
		log.ErrorContext(ctx, "could not record failed run", "error", err, "run_error", runErr)
	}
	log.WarnContext(ctx, "job failed", "error", runErr, "duration", time.Since(started), "max_attempts", job.MaxAttempts)
	return runErr
}

// complete finishes a run whose job returned nil without CompleteTx: River's
// completion and the success record in one transaction of our own. ctx must
// carry River's client (it is derived from the work context).
func (w *Worker) complete(ctx context.Context, job *river.Job[occurrenceArgs], runID int64) error {
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("complete: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	if err := markSucceeded(ctx, tx, runID, w.clock()); err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("complete: commit: %w", err)
	}
	return nil
}

// runSafely turns a panic in a job into an error, so the run is recorded as
// failed and retried like any other failure.
// The stack goes to the log, not into job_runs.
func runSafely(ctx context.Context, log *slog.Logger, run RunFunc, occurrence Occurrence) (err error) {
	defer func() {
		if recovered := recover(); recovered != nil {
			err = fmt.Errorf("panic: %v", recovered)
			log.ErrorContext(ctx, "job panicked", "panic", fmt.Sprint(recovered), "stack", string(debug.Stack()))
		}
	}()
	return run(ctx, occurrence)
}
