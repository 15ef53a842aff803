package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
)

// exports is the publisher payouts service with what exports need: the
// output directory and the job's enqueuer.
func (a *app) exports(s *services) *publisher.Service {
	return &publisher.Service{DB: s.db, Store: s.cycles, Clock: a.now, OutDir: a.config.Out, Enqueue: enqueueExport,
		Policy: func() (payout.Policy, error) { return a.policyFrom("") }}
}

// enqueueExport enqueues an export's payouts-export job in the transaction
// that records the export (publisher.Service.Enqueue).
func enqueueExport(ctx context.Context, tx pgx.Tx, exportID string, at time.Time) error {
	_, err := jobs.EnqueueTask(ctx, tx, jobs.PayoutsExport, exportID, at)
	return err
}
