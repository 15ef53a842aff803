package payout

import (
	"fmt"
	"time"
)

// CycleWindow is what the retention rule needs of a cycle: its payment
// month, its cutoff and its state.
type CycleWindow struct {
	Month  time.Time // the payment month, e.g. 2026-11-01
	Cutoff time.Time
	State  CycleState
}

// The retention rule says when the rows of a past month are consumed: no
// cycle will read them again, so the ledger may archive them (ledger's
// DetachPartitions asks it through payout/cycle.Retention). A cycle reads
// the earnings lines available in its window [the previous cycle's cutoff,
// its cutoff) — the first cycle ever, everything before its cutoff — and
// its close, release and returns post to the journal from its month on.
// Only settled cycles are done reading (the returns window has passed).
// cycles must be ordered by month.

// LinesKept says why the earnings lines that became available in month must
// stay, or returns "" when they are consumed: a settled cycle's cutoff is at
// or after the month's end and no unsettled cycle's window starts before
// that end.
func LinesKept(month time.Time, cycles []CycleWindow) string {
	end := monthStart(month).AddDate(0, 1, 0)
	for i, cycle := range cycles {
		if cycle.State == CycleSettled {
			continue
		}
		if i == 0 {
			return fmt.Sprintf("cycle %s (%s) is the first cycle: it reads every line available before its cutoff", MonthName(cycle.Month), cycle.State)
		}
		if start := cycles[i-1].Cutoff; start.Before(end) {
			return fmt.Sprintf("cycle %s (%s) reads the lines available from %s on", MonthName(cycle.Month), cycle.State, start.UTC().Format(time.RFC3339))
		}
	}
	for _, cycle := range cycles {
		if cycle.State == CycleSettled && !cycle.Cutoff.Before(end) {
			return ""
		}
	}
	return fmt.Sprintf("no settled cycle has read it yet (cycle %s pays its lines)", MonthName(end))
}

// JournalKept says why the journal's postings of month must stay, or
// returns "" when they are consumed: the month is before the month of the
// oldest unsettled cycle or, when every cycle is settled, not after the
// newest one's month.
func JournalKept(month time.Time, cycles []CycleWindow) string {
	month = monthStart(month)
	newestSettled := time.Time{}
	for _, cycle := range cycles {
		if cycle.State != CycleSettled {
			if month.Before(monthStart(cycle.Month)) {
				return ""
			}
			return fmt.Sprintf("cycle %s (%s) is not settled: the journal from its month on stays attached", MonthName(cycle.Month), cycle.State)
		}
		newestSettled = monthStart(cycle.Month)
	}
	if newestSettled.IsZero() {
		return "no cycle is settled yet"
	}
	if month.After(newestSettled) {
		return fmt.Sprintf("it is after the newest settled cycle (%s)", MonthName(newestSettled))
	}
	return ""
}

// monthStart is the first instant of t's UTC month.
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
