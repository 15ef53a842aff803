package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payout"
)

// finish is the last step: with every shard done, check the cycle's totals
// (conservation, and the journal against the payouts rows) and that every
// frozen input got exactly one payouts row, then set the state.
func (s *Store) finish(ctx context.Context, ses *session, month time.Time, options CloseOptions) (CloseResult, error) {
	defer func() {
		if !ses.dry {
			ses.rollback()
		}
	}()
	result := CloseResult{Month: payout.MonthName(month), DryRun: options.DryRun}
	tx, err := ses.begin(ctx)
	if err != nil {
		return result, err
	}
	var state string
	var policyJSON []byte
	err = tx.QueryRow(ctx, `SELECT state, policy, shards FROM cycles WHERE month = $1 FOR UPDATE`, month).Scan(&state, &policyJSON, &result.Shards)
	if errors.Is(err, pgx.ErrNoRows) {
		return result, fmt.Errorf("%w: %s", ErrUnknownCycle, payout.MonthName(month))
	}
	if err != nil {
		return result, err
	}
	if state != StateClosing {
		result.State, result.AlreadyClosed = state, true
		result.Totals, err = cycleTotals(ctx, tx, month)
		if err != nil {
			return result, err
		}
		return result, ses.commit(ctx)
	}
	var open, inputs, decided int64
	if err := tx.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE done_at IS NULL), coalesce(sum(accounts), 0), coalesce(sum(accounts_done), 0)
		FROM cycle_shards WHERE month = $1`, month).Scan(&open, &inputs, &decided); err != nil {
		return result, err
	}
	if open > 0 {
		return result, fmt.Errorf("%w: %d of %d shards of %s", ErrShardsPending, open, result.Shards, payout.MonthName(month))
	}
	totals, err := cycleTotals(ctx, tx, month)
	if err != nil {
		return result, err
	}
	if err := totals.check(); err != nil {
		return result, err
	}
	if totals.Accounts != inputs || decided != inputs {
		return result, fmt.Errorf("close of %s: %d accounts in the input, %d decided, %d payouts rows", payout.MonthName(month), inputs, decided, totals.Accounts)
	}
	var policy payout.Policy
	if err := json.Unmarshal(policyJSON, &policy); err != nil {
		return result, fmt.Errorf("cycle policy: %w", err)
	}
	state = StateClosed
	if policy.Approval {
		state = StateAwaitingApproval
	}
	body, err := json.Marshal(totals)
	if err != nil {
		return result, err
	}
	now := s.now()
	if _, err := tx.Exec(ctx, `UPDATE cycles SET state = $2, totals = $3, closed_at = $4, closed_by = $5, closed_by_operator_id = $6 WHERE month = $1`,
		month, state, body, now, options.Actor, nullID(options.Operator)); err != nil {
		return result, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO cycle_events (month, state, at, actor, operator_id) VALUES ($1, $2, $3, $4, $5)`,
		month, state, now, options.Actor, nullID(options.Operator)); err != nil {
		return result, err
	}
	result.State, result.Totals = state, totals
	return result, ses.commit(ctx)
}
