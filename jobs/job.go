package jobs

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Names of payrun's jobs (SPEC §8).
const (
	CloseCycle           = "close-cycle"
	ReleasePayments      = "release-payments"
	VerifyPayoutAccounts = "verify-payout-accounts"
	ExpireTaxForms       = "expire-tax-forms"
	ExpireInvitations    = "expire-invitations"
	KeyExpiry            = "key-expiry"
	YearEndTaxReports    = "year-end-tax-reports"
	MaintainPartitions   = "maintain-partitions"
)

// Tasks: jobs with no schedule, enqueued by other jobs (EnqueueTx). The close
// fans out into them: close-cycle starts a close-start task, which freezes
// the cycle's input and enqueues one close-shard task per shard; the shard
// that finds every shard done enqueues close-finish.
const (
	CloseStart  = "close-start"
	CloseShard  = "close-shard"
	CloseFinish = "close-finish"
)

// PayoutsExport is a task enqueued on demand, outside any job run (by the
// admin API, with EnqueueTask): it writes one publisher payouts export,
// keyed by the export's id (payout/publisher, "Exports").
const PayoutsExport = "payouts-export"

// Default schedules: robfig/cron standard five-field expressions, read in UTC.
// The daily housekeeping jobs are spread over the early morning so they do not
// start in the same minute.
const (
	// CloseCycleSchedule is the close day of SPEC §3.1: the 5th, 06:00 UTC.
	CloseCycleSchedule = "0 6 5 * *"
	// ReleasePaymentsSchedule runs daily after the close; the job itself
	// decides whether a cycle is ready (closed, and approved when
	// maker-checker is on).
	ReleasePaymentsSchedule      = "0 7 * * *"
	VerifyPayoutAccountsSchedule = "0 5 * * *"
	ExpireTaxFormsSchedule       = "10 5 * * *"
	ExpireInvitationsSchedule    = "20 5 * * *"
	KeyExpirySchedule            = "30 5 * * *"
	// MaintainPartitionsSchedule creates next months' partitions of the
	// ledger tables ahead of the writers (ledger.EnsurePartitions).
	MaintainPartitionsSchedule = "40 5 * * *"
	// YearEndTaxReportsSchedule is mid-January: after December's cycle has
	// closed (5 January) and before the 1042-S deadline (15 March).
	YearEndTaxReportsSchedule = "0 8 15 1 *"
)

// Limits.
const (
	// DefaultTimeout bounds a run whose Job sets no Timeout.
	DefaultTimeout = 30 * time.Minute
	// MaxTimeout bounds any run: a longer one would still be running when a
	// daily job's next occurrence fires.
	MaxTimeout = 24 * time.Hour
	// maxKeyLength matches the CHECK on job_runs.occurrence_key.
	maxKeyLength = 64
)

// RunFunc does one occurrence of a job. It must be idempotent: River runs an
// occurrence at least once, and the uniqueness rules in doc.go make "at least
// once" "exactly once" for effects written with CompleteTx.
type RunFunc = func(ctx context.Context, occurrence Occurrence) error

// Job is one scheduled job.
type Job struct {
	// Name identifies the job: lower-case letters, digits and dashes.
	Name string
	// Schedule is a robfig/cron standard five-field expression (or a
	// descriptor such as @daily), read in UTC.
	Schedule string
	// Period turns an occurrence's scheduled time (UTC) into its key, e.g.
	// MonthKey ("2026-11") or DayKey ("2026-11-23"). An occurrence runs
	// exactly once per key, so a coarser Period than Schedule means "at most
	// once per period". Nil means the scheduled time itself (TimeKey).
	Period func(t time.Time) string
	// Timeout bounds one attempt (zero: DefaultTimeout; at most MaxTimeout).
	// River cancels the attempt's context when it elapses.
	Timeout time.Duration
	// Task marks a job with no Schedule: other jobs enqueue it with
	// EnqueueTx, once per key. Runs of different keys of a task may run at
	// the same time (on any replicas); runs of one key never do.
	Task bool
	// Run does the work.
	Run RunFunc
}

// Occurrence is one scheduled run of a job, handed to Job.Run.
type Occurrence struct {
	Name string
	// Key is Period(ScheduledAt): the unit of exactly-once.
	Key string
	// ScheduledAt is when the schedule fired (or would have fired, for a
	// catch-up), in UTC.
	ScheduledAt time.Time
	// Attempt counts River's attempts at this occurrence, from 1.
	Attempt int

	run *runState // nil outside a Worker
}

// Period keys for the common schedules, all in UTC.
func MonthKey(t time.Time) string { return t.UTC().Format("2006-01") }
func DayKey(t time.Time) string   { return t.UTC().Format("2006-01-02") }
func YearKey(t time.Time) string  { return t.UTC().Format("2006") }
func TimeKey(t time.Time) string  { return t.UTC().Format(time.RFC3339) }

// Errors callers branch on.
var (
	ErrUnknownJob   = errors.New("unknown job")
	ErrBadSchedule  = errors.New("bad schedule")
	ErrBadJob       = errors.New("bad job definition")
	ErrNoOccurrence = errors.New("the schedule has not fired yet")
)

// Standard returns payrun's jobs (SPEC §8) with their default schedules,
// periods and timeouts, and the Run from runs under each job's name. Jobs
// without an entry in runs are left out (so the wiring can grow one job at a
// time); a name in runs that is not a standard job is ErrUnknownJob.
func Standard(runs map[string]RunFunc) ([]Job, error) {
	all := standardJobs()
	for name := range runs {
		if !slices.ContainsFunc(all, func(job Job) bool { return job.Name == name }) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownJob, name)
		}
	}
	var selected []Job
	for _, job := range all {
		if run := runs[job.Name]; run != nil {
			job.Run = run
			selected = append(selected, job)
		}
	}
	return selected, nil
}

// standardJobs are payrun's jobs without their Runs.
func standardJobs() []Job {
	return []Job{
		{Name: CloseCycle, Schedule: CloseCycleSchedule, Period: MonthKey, Timeout: 4 * time.Hour},
		{Name: ReleasePayments, Schedule: ReleasePaymentsSchedule, Period: DayKey, Timeout: time.Hour},
		{Name: VerifyPayoutAccounts, Schedule: VerifyPayoutAccountsSchedule, Period: DayKey},
		{Name: ExpireTaxForms, Schedule: ExpireTaxFormsSchedule, Period: DayKey},
		{Name: ExpireInvitations, Schedule: ExpireInvitationsSchedule, Period: DayKey},
		{Name: KeyExpiry, Schedule: KeyExpirySchedule, Period: DayKey},
		{Name: MaintainPartitions, Schedule: MaintainPartitionsSchedule, Period: DayKey},
		{Name: YearEndTaxReports, Schedule: YearEndTaxReportsSchedule, Period: YearKey, Timeout: 4 * time.Hour},
		{Name: CloseStart, Task: true, Timeout: time.Hour},
		{Name: CloseShard, Task: true, Timeout: 4 * time.Hour},
		{Name: CloseFinish, Task: true, Timeout: time.Hour},
		{Name: PayoutsExport, Task: true, Timeout: time.Hour},
	}
}

// ApplySchedules returns a copy of jobs with the schedules in overrides
// (job name → expression) and checks every job. Errors name the job:
// ErrUnknownJob for an override of a job not in jobs, ErrBadSchedule for an
// expression cron.ParseStandard refuses (or one that never fires), ErrBadJob
// for the rest.
func ApplySchedules(jobs []Job, overrides map[string]string) ([]Job, error) {
	out := slices.Clone(jobs)
	for name, expression := range overrides {
		index := slices.IndexFunc(out, func(job Job) bool { return job.Name == name })
		if index < 0 {
			return nil, fmt.Errorf("%w: schedule given for %q", ErrUnknownJob, name)
		}
		if out[index].Task {
			return nil, fmt.Errorf("%w: %q is a task enqueued by other jobs; it has no schedule", ErrBadSchedule, name)
		}
		out[index].Schedule = expression
	}
	seen := make(map[string]bool, len(out))
	for _, job := range out {
		if err := checkJob(job); err != nil {
			return nil, err
		}
		if seen[job.Name] {
			return nil, fmt.Errorf("%w: job %q defined twice", ErrBadJob, job.Name)
		}
		seen[job.Name] = true
	}
	return out, nil
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func checkJob(job Job) error {
	if !namePattern.MatchString(job.Name) {
		return fmt.Errorf("%w: name %q must match %s", ErrBadJob, job.Name, namePattern)
	}
	if job.Run == nil {
		return fmt.Errorf("%w: job %q has no Run", ErrBadJob, job.Name)
	}
	if job.Timeout < 0 || job.Timeout > MaxTimeout {
		return fmt.Errorf("%w: job %q timeout %s is outside 0..%s", ErrBadJob, job.Name, job.Timeout, MaxTimeout)
	}
	if job.Task {
		if job.Schedule != "" {
			return fmt.Errorf("%w: task %q must not have a schedule", ErrBadJob, job.Name)
		}
		return nil
	}
	if _, err := ParseSchedule(job.Name, job.Schedule); err != nil {
		return err
	}
	return nil
}

// ParseSchedule parses a job's cron expression with cron.ParseStandard and
// reads it in UTC. It refuses time-zone prefixes (schedules are UTC by
// definition), @every (its fire times depend on when the process started, so
// it has no stable occurrences) and expressions that never fire. Errors wrap
// ErrBadSchedule and name the job.
func ParseSchedule(name, expression string) (cron.Schedule, error) {
	trimmed := strings.TrimSpace(expression)
	switch {
	case trimmed == "":
		return nil, fmt.Errorf("%w for job %q: empty expression", ErrBadSchedule, name)
	case strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ="):
		return nil, fmt.Errorf("%w for job %q: %q: schedules are UTC; drop the time-zone prefix", ErrBadSchedule, name, expression)
	case strings.HasPrefix(trimmed, "@every"):
		return nil, fmt.Errorf("%w for job %q: %q: @every has no fixed occurrences; use a cron expression", ErrBadSchedule, name, expression)
	}
	parsed, err := cron.ParseStandard(trimmed)
	if err != nil {
		return nil, fmt.Errorf("%w for job %q: %q: %w", ErrBadSchedule, name, expression, err)
	}
	schedule := utcSchedule{parsed}
	if schedule.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("%w for job %q: %q never fires", ErrBadSchedule, name, expression)
	}
	return schedule, nil
}

// utcSchedule reads a cron schedule in UTC whatever the process's time zone
// (robfig/cron reads an expression without prefix in the zone of the time it
// is given). It is also River's PeriodicSchedule: both have Next(time.Time).
type utcSchedule struct{ inner cron.Schedule }

func (s utcSchedule) Next(t time.Time) time.Time {
	next := s.inner.Next(t.UTC())
	if next.IsZero() {
		return next
	}
	return next.UTC()
}

// lookbacks are the windows previousFire searches, smallest first, so that a
// frequent schedule is stepped through few times and a yearly one is still
// found. The last is robfig/cron's own horizon (it gives up after five years).
var lookbacks = []time.Duration{
	2 * time.Minute,
	2 * time.Hour,
	2 * 24 * time.Hour,
	32 * 24 * time.Hour,
	367 * 24 * time.Hour,
	5 * 367 * 24 * time.Hour,
}

// previousFire returns the latest time at or before t at which schedule
// fires. ok is false when it has not fired in the last five years.
func previousFire(schedule cron.Schedule, t time.Time) (fire time.Time, ok bool) {
	t = t.UTC()
	for _, lookback := range lookbacks {
		fire = schedule.Next(t.Add(-lookback))
		if fire.IsZero() || fire.After(t) {
			continue
		}
		for {
			next := schedule.Next(fire)
			if next.IsZero() || next.After(t) {
				return fire, true
			}
			fire = next
		}
	}
	return time.Time{}, false
}

// occurrenceAt is the occurrence of job in effect at t: the latest fire at or
// before t, with its key.
func occurrenceAt(job *registered, t time.Time) (Occurrence, error) {
	fire, ok := previousFire(job.schedule, t)
	if !ok {
		return Occurrence{}, fmt.Errorf("%w: job %q before %s", ErrNoOccurrence, job.Name, t.UTC().Format(time.RFC3339))
	}
	period := job.Period
	if period == nil {
		period = TimeKey
	}
	key := period(fire)
	if key == "" || len(key) > maxKeyLength {
		return Occurrence{}, fmt.Errorf("%w: job %q: period key %q must have 1..%d bytes", ErrBadJob, job.Name, key, maxKeyLength)
	}
	return Occurrence{Name: job.Name, Key: key, ScheduledAt: fire}, nil
}
