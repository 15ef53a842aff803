package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

func TestOperatorNamesAreCanonical(t *testing.T) {
	t.Parallel()
	for typed, want := range map[string]string{"alice": "alice", "Alice": "alice", " alice": "alice", "operator:alice": "alice",
		"OPERATOR: Alice ": "alice", "operator:": "", "  ": "", "op.alice": "op.alice", "operatoralice": "operatoralice"} {
		require.Equal(t, want, store.CanonicalOperatorName(typed), "%q", typed)
	}
	w := fixture.New(t)
	ctx := context.Background()
	alice := w.Operator("alice", accounts.RoleFinanceApprover)
	for _, typed := range []string{"alice", "Alice", " alice", "operator:alice", "Operator:ALICE"} {
		p, err := w.Store.Operator(ctx, typed)
		require.NoError(t, err, typed)
		require.Equal(t, store.Principal{OperatorID: alice, Name: "operator:alice"}, p, typed)
	}
	for _, typed := range []string{"bob", "", "operator:", "cli:alice", "alice2"} {
		_, err := w.Store.Operator(ctx, typed)
		require.ErrorIs(t, err, store.ErrUnknownOperator, typed)
	}
}

// Maker-checker compares operator ids: the closer — and any operator who
// ran a step of the close — cannot approve, the system principal never
// approves, an operator without finance_approver cannot either; the table
// itself refuses an approver id equal to the closer's.
func TestApproveRefusedToEveryOperatorWhoRanTheClose(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	october(w)
	ctx := context.Background()
	alice := w.Operator("alice", accounts.RoleFinanceApprover)
	bob := w.Operator("bob", accounts.RoleFinanceApprover)
	carol := w.Operator("carol", accounts.RoleFinanceApprover)
	viewer := w.Operator("victor", accounts.RoleFinanceViewer)
	w.Set("2026-11-05T06:00:00Z")
	month := fixture.Month("2026-11")
	policy := payout.DefaultPolicy()
	policy.Approval = true

	// alice starts the close, the job closes the shards, bob finishes it.
	options := store.CloseOptions{Month: month, Policy: policy, Actor: "typed by hand", Operator: alice, Shards: 2}
	started, err := w.Store.StartClose(ctx, options)
	require.NoError(t, err)
	for _, shard := range started.Pending {
		require.NoError(t, w.Store.CloseShard(ctx, month, shard, store.CloseOptions{Policy: policy, Actor: "job:close-shard"}))
	}
	result, err := w.Store.FinishClose(ctx, month, store.CloseOptions{Policy: policy, Actor: "whatever", Operator: bob})
	require.NoError(t, err)
	require.Equal(t, store.StateAwaitingApproval, result.State)
	cycle, err := w.Store.Cycle(ctx, month)
	require.NoError(t, err)
	require.Equal(t, "operator:bob", cycle.ClosedBy, "recorded under the canonical name, not as typed")
	require.Equal(t, bob, cycle.ClosedByOperatorID)

	require.ErrorIs(t, w.Store.Approve(ctx, month, bob), store.ErrSameOperator, "the closer")
	require.ErrorIs(t, w.Store.Approve(ctx, month, alice), store.ErrSameOperator, "the operator who started the close")
	require.ErrorIs(t, w.Store.Approve(ctx, month, 0), store.ErrNotAnApprover, "the system principal")
	require.ErrorIs(t, w.Store.Approve(ctx, month, viewer), store.ErrNotAnApprover, "a finance viewer")
	require.ErrorIs(t, w.Store.Approve(ctx, month, 999999), store.ErrUnknownOperator)
	cycle, err = w.Store.Cycle(ctx, month)
	require.NoError(t, err)
	require.Nil(t, cycle.ApprovedAt, "no refusal recorded anything")

	require.NoError(t, w.Store.Approve(ctx, month, carol))
	cycle, err = w.Store.Cycle(ctx, month)
	require.NoError(t, err)
	require.Equal(t, "operator:carol", cycle.ApprovedBy)
	require.Equal(t, carol, cycle.ApprovedByOperatorID)

	_, err = w.DB.Exec(`UPDATE cycles SET approved_by_operator_id = closed_by_operator_id WHERE month = $1`, month)
	require.ErrorContains(t, err, "cycles_maker_checker")
}

// syncBuffer is a log destination goroutines can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A close waiting for a running earnings import (which holds the import
// lock until it commits) used to wait in silence — 622 s once. It now logs
// what it waits for and who holds it, and closes once the import is done.
func TestCloseLogsWhatItWaitsFor(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	october(w)
	w.Set("2026-11-05T06:00:00Z")
	ctx := context.Background()

	// An import in progress: its transaction holds the lock shared.
	importTx, err := w.DB.BeginTxx(ctx, nil)
	require.NoError(t, err)
	defer importTx.Rollback() //nolint:errcheck
	_, err = importTx.Exec(`SELECT pg_advisory_xact_lock_shared($1)`, ledger.ImportLockKey)
	require.NoError(t, err)
	var importPID int
	require.NoError(t, importTx.Get(&importPID, `SELECT pg_backend_pid()`))

	log := &syncBuffer{}
	logCtx := logging.NewContext(ctx, slog.New(slog.NewTextHandler(log, nil)))
	type outcome struct {
		result store.CloseResult
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		result, err := w.Store.Close(logCtx, store.CloseOptions{Month: fixture.Month("2026-11"), Policy: payout.DefaultPolicy(), Actor: "job:close-cycle"})
		done <- outcome{result, err}
	}()
	require.Eventually(t, func() bool { return strings.Contains(log.String(), "waiting") }, 10*time.Second, 20*time.Millisecond)
	text := log.String()
	require.Contains(t, text, "the earnings import lock")
	require.Contains(t, text, "held by pid "+strconv.Itoa(importPID), text)
	require.Contains(t, text, "its transaction started", text)
	select {
	case o := <-done:
		t.Fatalf("the close went on while the import held its lock: %+v", o)
	case <-time.After(200 * time.Millisecond):
	}

	require.NoError(t, importTx.Commit())
	select {
	case o := <-done:
		require.NoError(t, o.err)
		require.Equal(t, store.StateClosed, o.result.State)
	case <-time.After(30 * time.Second):
		t.Fatal("the close did not finish once the import committed")
	}
	require.Contains(t, log.String(), "got the earnings import lock")
}
