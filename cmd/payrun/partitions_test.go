package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

// `payrun partitions`: bad input is a usage error naming --before; a month
// not consumed is refused naming it and why, changing nothing; a dry run
// changes nothing; then the month is detached and listed as archived.
func TestPartitionsCommand(t *testing.T) {
	t.Parallel()
	databaseURL := dbtest.NewURL(t)
	database := dbtest.Open(t, databaseURL)
	ctx := context.Background()
	_, err := ledger.CreateAccount(ctx, database, ledger.NewAccount{SellerID: "A1", Type: ledger.Company, RegistrationCountry: "US"}, fixture.At("2026-08-01T00:00:00Z"))
	require.NoError(t, err)
	_, err = ledger.Import(ctx, database, func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount\n" +
			"s1,A1,app,purchase,US,2026-08-01T10:00:00Z,3\n")), nil
	}, ledger.ImportOptions{SourceName: "sep.csv", HoldingPeriod: 30 * 24 * time.Hour, Clock: func() time.Time { return fixture.At("2026-09-05T00:00:00Z") }})
	require.NoError(t, err)
	partitions := (*app).partitionsCommand
	list := func() string {
		run := runCommand(t, databaseURL, t.TempDir(), partitions, "list")
		require.NoError(t, run.err)
		return run.stdout
	}
	before := list()
	require.Regexp(t, `earnings_lines\s+earnings_lines_202609\s+2026-09\s+\S+\s+\d+(\.\d)? [KMG]?i?B\s+yes`, before)

	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"detach"}, "--before is required (YYYY-MM)", true},
		{[]string{"detach", "--before", "2026-13"}, `--before: "2026-13" is not a month (YYYY-MM)`, true},
		{[]string{"detach", "--before", "2026-10"}, "--before 2026-10: nothing detached: not consumed yet: earnings_lines 2026-09: no settled cycle has read it yet", false},
	} {
		run := runCommand(t, databaseURL, t.TempDir(), partitions, tc.args...)
		require.ErrorContains(t, run.err, tc.want)
		var usage *usageError
		require.Equal(t, tc.usage, errors.As(run.err, &usage), tc.args)
		require.Equal(t, before, list(), "a refused detach changed the partitions")
	}

	_, err = database.Exec(`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256) VALUES
		('2026-10-01', 'settled', '2026-10-01T00:00:00Z', '2026-10-15', '{}', 'test')`)
	require.NoError(t, err)
	dry := runCommand(t, databaseURL, t.TempDir(), partitions, "detach", "--before", "2026-10", "--dry-run")
	require.NoError(t, dry.err)
	require.Equal(t, "would detach earnings_lines_202609 (earnings_lines 2026-09)\nwould detach postings_202609 (postings 2026-09)\n", dry.stdout)
	require.Equal(t, before, list())

	done := runCommand(t, databaseURL, t.TempDir(), partitions, "detach", "--before", "2026-10")
	require.NoError(t, done.err)
	require.Equal(t, "detached earnings_lines 2026-09: now archive_earnings_lines_202609\ndetached postings 2026-09: now archive_postings_202609\n", done.stdout)
	require.Regexp(t, `earnings_lines\s+archive_earnings_lines_202609\s+2026-09\s+.*no \(archived\)`, list())

	asJSON := runCommand(t, databaseURL, t.TempDir(), partitions, "list", "--json")
	require.NoError(t, asJSON.err)
	var listed []ledger.Partition
	require.NoError(t, json.Unmarshal([]byte(asJSON.stdout), &listed))
	require.NotEmpty(t, listed)
	require.Equal(t, "archive_earnings_lines_202609", listed[0].Name)
	require.False(t, listed[0].Attached)
}

// The maintain-partitions job creates this month's and the next three
// months' partitions, and is a no-op the second time.
func TestMaintainPartitionsJob(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	a := newApp()
	a.now = func() time.Time { return fixture.At("2031-06-20T12:00:00Z") }
	run := a.maintainPartitions(&services{db: database})
	for range 2 {
		require.NoError(t, run(context.Background(), jobs.Occurrence{Name: jobs.MaintainPartitions, Key: "2031-06-20"}))
	}
	var names []string
	require.NoError(t, database.Select(&names, `SELECT relname FROM pg_class WHERE relname ~ '_2031\d\d$' ORDER BY 1`))
	require.Equal(t, []string{
		"earnings_lines_203106", "earnings_lines_203107", "earnings_lines_203108", "earnings_lines_203109",
		"postings_203106", "postings_203107", "postings_203108", "postings_203109",
	}, names)
}
