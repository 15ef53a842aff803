package payout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetention(t *testing.T) {
	t.Parallel()
	month := func(text string) time.Time {
		m, err := ParseMonth(text)
		require.NoError(t, err)
		return m
	}
	cycle := func(name string, state CycleState) CycleWindow {
		return CycleWindow{Month: month(name), Cutoff: month(name), State: state}
	}
	settledThenReleased := []CycleWindow{cycle("2026-09", CycleSettled), cycle("2026-10", CycleSettled), cycle("2026-11", CycleReleased)}
	lines, journal := LinesKept, JournalKept
	for _, tc := range []struct {
		name   string
		rule   func(time.Time, []CycleWindow) string
		month  string
		cycles []CycleWindow
		want   string // "" consumed, else a part of the reason
	}{
		{"no cycles", lines, "2026-08", nil, "no settled cycle has read it yet (cycle 2026-09 pays its lines)"},
		{"no cycles, journal", journal, "2026-08", nil, "no cycle is settled yet"},
		{"paid by a settled cycle", lines, "2026-09", settledThenReleased, ""},
		{"read by the released cycle", lines, "2026-10", settledThenReleased, "cycle 2026-11 (released) reads the lines available from 2026-10-01T00:00:00Z on"},
		{"after every cycle", lines, "2026-12", settledThenReleased, "cycle 2026-11 (released)"},
		{"first cycle unsettled", lines, "2020-01", []CycleWindow{cycle("2026-11", CycleClosed)}, "cycle 2026-11 (closed) is the first cycle"},
		{"journal before the unsettled cycle", journal, "2026-10", settledThenReleased, ""},
		{"journal of the unsettled cycle", journal, "2026-11", settledThenReleased, "cycle 2026-11 (released) is not settled"},
		{"journal, all settled", journal, "2026-10", settledThenReleased[:2], ""},
		{"journal after the newest settled", journal, "2026-11", settledThenReleased[:2], "after the newest settled cycle (2026-10)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.rule(month(tc.month), tc.cycles)
			if tc.want == "" {
				require.Empty(t, got)
			} else {
				require.Contains(t, got, tc.want)
			}
		})
	}
}
