package review_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A close prepares the console's figures and has Postgres sample the
// payouts table again, so the planner knows the month's rows before the
// first page asks (pg_class.reltuples is -1 until a table is analyzed).
func TestPrepareAnalyzesPayouts(t *testing.T) {
	t.Parallel()
	s := simulated(t, 5, 20, 1)
	var rows int64
	var estimated float64
	require.NoError(t, s.DB.Get(&rows, `SELECT count(*) FROM payouts`))
	require.NoError(t, s.DB.Get(&estimated, `SELECT reltuples FROM pg_class WHERE relname = 'payouts'`))
	require.Positive(t, rows)
	require.Equal(t, float64(rows), estimated, "a small table is sampled whole")
}
