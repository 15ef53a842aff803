package db

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
)

// Lock is a lock a step may have to wait for, and how an operator hears
// about the wait.
type Lock struct {
	// What names it in the log: "the earnings import lock (held by every
	// running earnings import)".
	What string
	// Try takes it without waiting and returns whether it got it
	// ("SELECT pg_try_advisory_xact_lock($1)"); Take waits for it
	// ("SELECT pg_advisory_xact_lock($1)"). Both get Args.
	Try, Take string
	Args      []any
}

// LockWaitReport is how often a wait is logged again after its first line.
var LockWaitReport = 10 * time.Second

// Locker is what runs the lock's statements: a *pgx.Conn or a pgx.Tx.
type Locker interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// AcquireLock takes lock on q, whose server process is pid. It first tries
// without waiting; when another session holds the lock it logs, at once and
// then every LockWaitReport, what it waits for and who holds it (the
// holders' pids, when their transactions started, what they run: read from
// pg_stat_activity through monitor, another connection), then waits in
// Postgres's own queue — so a stream of shared holders cannot starve it —
// and logs how long it waited once it has the lock.
func AcquireLock(ctx context.Context, q Locker, pid uint32, monitor *sqlx.DB, logger *slog.Logger, lock Lock) error {
	var got bool
	if err := q.QueryRow(ctx, lock.Try, lock.Args...).Scan(&got); err != nil {
		return err
	}
	if got {
		return nil
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The first report waits (a little) until this session is queued
		// behind the holders, so it can name them.
		var holders []Holder
		for deadline := time.Now().Add(2 * time.Second); ; {
			holders = Blockers(ctx, monitor, pid)
			if len(holders) > 0 || time.Now().After(deadline) {
				break
			}
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		ticker := time.NewTicker(LockWaitReport)
		defer ticker.Stop()
		for {
			logger.InfoContext(ctx, waitMessage(lock.What, holders, time.Since(start)),
				"lock", lock.What, "waited_seconds", int(time.Since(start).Seconds()), "held_by_pids", heldBy(holders))
			select {
			case <-done:
				return
			case <-ticker.C:
				holders = Blockers(ctx, monitor, pid)
			}
		}
	}()
	_, err := q.Exec(ctx, lock.Take, lock.Args...)
	close(done)
	wg.Wait()
	if err != nil {
		return err
	}
	logger.InfoContext(ctx, fmt.Sprintf("got %s after waiting %.1f s", lock.What, time.Since(start).Seconds()),
		"lock", lock.What, "waited_seconds", time.Since(start).Seconds())
	return nil
}

// Holder is a session holding a lock another one waits for, or queued for
// it ahead of or beside it (Granted false).
type Holder struct {
	PID         int
	Granted     bool
	XactStart   *time.Time
	State       string
	Application string
	Query       string
}

// Blockers lists the sessions holding the lock pid waits for, then those
// queued for it too, read through monitor from pg_locks and
// pg_stat_activity; nil when pid waits for no lock (yet) or it cannot tell.
func Blockers(ctx context.Context, monitor *sqlx.DB, pid uint32) []Holder {
	rows, err := monitor.QueryContext(ctx, `
		SELECT h.pid, h.granted, a.xact_start, coalesce(a.state, ''), coalesce(a.application_name, ''),
		       left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 120)
		FROM pg_locks w
		JOIN pg_locks h ON h.pid <> w.pid AND h.locktype = w.locktype
		     AND h.database IS NOT DISTINCT FROM w.database AND h.relation IS NOT DISTINCT FROM w.relation
		     AND h.transactionid IS NOT DISTINCT FROM w.transactionid
		     AND h.classid IS NOT DISTINCT FROM w.classid AND h.objid IS NOT DISTINCT FROM w.objid
		     AND h.objsubid IS NOT DISTINCT FROM w.objsubid
		JOIN pg_stat_activity a ON a.pid = h.pid
		WHERE w.pid = $1 AND NOT w.granted
		ORDER BY h.granted DESC, a.xact_start NULLS LAST, h.pid`, int64(pid))
	if err != nil {
		return nil
	}
	defer rows.Close()
	var holders []Holder
	for rows.Next() {
		var h Holder
		if err := rows.Scan(&h.PID, &h.Granted, &h.XactStart, &h.State, &h.Application, &h.Query); err != nil {
			return holders
		}
		holders = append(holders, h)
	}
	return holders
}

func heldBy(holders []Holder) []int {
	var out []int
	for _, h := range holders {
		if h.Granted {
			out = append(out, h.PID)
		}
	}
	return out
}

// waitMessage: "waiting 10 s for the earnings import lock (...): held by
// pid 4242 (its transaction started 2026-11-05T06:00:01Z, 41 s ago, active:
// COPY ...); 1 more session queued for it".
func waitMessage(what string, holders []Holder, waited time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "waiting %d s for %s", int(waited.Seconds()), what)
	var held []string
	queued := 0
	for _, h := range holders {
		if !h.Granted {
			queued++
			continue
		}
		if len(held) == 3 {
			held = append(held, "...")
			continue
		}
		if len(held) > 3 {
			continue
		}
		var details []string
		if h.XactStart != nil {
			details = append(details, fmt.Sprintf("its transaction started %s, %d s ago", h.XactStart.UTC().Format(time.RFC3339), int(time.Since(*h.XactStart).Seconds())))
		}
		if h.Application != "" {
			details = append(details, h.Application)
		}
		if h.State != "" && h.Query != "" {
			details = append(details, h.State+": "+h.Query)
		}
		text := fmt.Sprintf("pid %d", h.PID)
		if len(details) > 0 {
			text += " (" + strings.Join(details, ", ") + ")"
		}
		held = append(held, text)
	}
	if len(held) == 0 {
		b.WriteString(": held by another session")
	} else {
		b.WriteString(": held by " + strings.Join(held, "; "))
	}
	if queued > 0 {
		fmt.Fprintf(&b, "; %d more session(s) queued for it", queued)
	}
	return b.String()
}
