package migrations_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/migrations"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// 120 maps the free-text closers, approvers and releasers recorded before
// it to operator ids ("operator:NAME", "cli:NAME" and "NAME" in any case),
// withdraws the pending approvals that were given by no operator or by the
// closer himself (the maker-checker bypass), keeps released history as it
// was, and from then on the table refuses an approver who is the closer.
func TestCyclePrincipalsBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.EmptyURL(t)
	database := dbtest.Open(t, url)
	_, err := migrations.UpTo(ctx, database.DB, 119)
	require.NoError(t, err)
	_, err = database.Exec(`INSERT INTO operators (user_name, roles, password_hash, created_at) VALUES
		('alice', '{finance_approver}', '$argon2id$x', '2026-01-01'), ('bob', '{finance_approver}', '$argon2id$x', '2026-01-01')`)
	require.NoError(t, err)
	cycle := `INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256, closed_at, closed_by, approved_at, approved_by, released_by)
		VALUES ($1::date, $2, $1::date, $1::date, '{}', 'test', $1::date, $3, $4::timestamptz, $5, $6)`
	for _, row := range [][]any{
		{"2026-01-01", "released", "alice", "2026-01-05", "operator:bob", "job:release-payments"},
		{"2026-02-01", "settled", "operator:alice", "2026-02-05", " Alice", "operator:bob"}, // the bypass, already paid out
		{"2026-03-01", "awaiting_approval", "alice", "2026-03-05", "operator:alice", nil},   // the bypass, pending
		{"2026-04-01", "awaiting_approval", "job:close-cycle", "2026-04-05", "carol", nil},  // no such operator
		{"2026-05-01", "awaiting_approval", "cli:alice", "2026-05-05", " BOB", nil},
		{"2026-06-01", "awaiting_approval", "cli:alice", nil, nil, nil},
	} {
		_, err := database.Exec(cycle, row...)
		require.NoError(t, err, row)
	}

	_, err = migrations.Up(ctx, database.DB)
	require.NoError(t, err)
	database = dbtest.Open(t, url)
	var rows []struct {
		Month    string  `db:"month"`
		Closed   *int64  `db:"closed_by_operator_id"`
		Approved *int64  `db:"approved_by_operator_id"`
		Released *int64  `db:"released_by_operator_id"`
		By       *string `db:"approved_by"`
		At       bool    `db:"approved"`
	}
	require.NoError(t, database.Select(&rows, `SELECT to_char(month, 'YYYY-MM') AS month, closed_by_operator_id, approved_by_operator_id,
		released_by_operator_id, approved_by, approved_at IS NOT NULL AS approved FROM cycles ORDER BY month`))
	id := func(v int64) *int64 { return &v }
	name := func(v string) *string { return &v }
	alice, bob := id(1), id(2)
	require.Equal(t, "2026-01", rows[0].Month)
	require.Equal(t, alice, rows[0].Closed)
	require.Equal(t, bob, rows[0].Approved)
	require.Nil(t, rows[0].Released, "the job is the system principal")

	require.Equal(t, alice, rows[1].Closed)
	require.Nil(t, rows[1].Approved, "the closer's own approval gets no approver id")
	require.Equal(t, name(" Alice"), rows[1].By, "released history is kept as written")
	require.True(t, rows[1].At)
	require.Equal(t, bob, rows[1].Released)

	for _, r := range rows[2:4] {
		require.False(t, r.At, "%s: a pending approval by the closer or by no operator is withdrawn", r.Month)
		require.Nil(t, r.By, r.Month)
		require.Nil(t, r.Approved, r.Month)
	}
	require.Equal(t, alice, rows[2].Closed)
	require.Nil(t, rows[3].Closed)

	require.Equal(t, alice, rows[4].Closed, "the CLI's old default names its OS user: mapped, so alice cannot approve it")
	require.Equal(t, bob, rows[4].Approved)
	require.True(t, rows[4].At)
	require.Equal(t, alice, rows[5].Closed)

	var notes []string
	require.NoError(t, database.Select(&notes, `SELECT to_char(month, 'YYYY-MM') || ' ' || note FROM cycle_events WHERE actor = 'migration:120' ORDER BY month`))
	require.Len(t, notes, 2)
	require.Contains(t, notes[0], "2026-03 approval by operator:alice withdrawn")
	require.Contains(t, notes[1], "2026-04 approval by carol withdrawn")

	_, err = database.Exec(`UPDATE cycles SET approved_at = '2026-06-05', approved_by = 'operator:alice', approved_by_operator_id = 1 WHERE month = '2026-06-01'`)
	require.ErrorContains(t, err, "cycles_maker_checker")
	_, err = database.Exec(`UPDATE cycles SET approved_at = '2026-06-05', approved_by = 'bob' WHERE month = '2026-06-01'`)
	require.ErrorContains(t, err, "cycles_approved_by_operator")

	_, err = migrations.DownTo(ctx, database.DB, 119)
	require.NoError(t, err)
	var columns int
	require.NoError(t, database.Get(&columns, `SELECT count(*) FROM information_schema.columns WHERE column_name LIKE '%operator_id'
		AND table_name IN ('cycles', 'cycle_events')`))
	require.Zero(t, columns)
}
