package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/ledger"
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

// exportFlags names the flag of each request field an export's field
// errors name.
var exportFlags = map[string]string{"kind": "--kind", "format": "--format", "from": "--from", "to": "--to"}

// payoutsExportCommand is `payrun payouts export`: one export written in
// this process, with the job's writer and row (publisher.Service.ExportNow);
// it prints the file's path.
func (a *app) payoutsExportCommand() *cobra.Command {
	var seller, kind, format, from, to, by string
	cmd := &cobra.Command{
		Use:   "export --seller S --from YYYY-MM --to YYYY-MM --format csv|xlsx [--kind transactions|payments]",
		Short: "Export a publisher's transactions or payments of a month range as CSV or xlsx, and print the file's path",
		Long: "Write <out>/exports/<seller>/<id>.csv or .xlsx (PAYRUN_OUT) in this process, as the payouts-export job does for\n" +
			"`POST /v1/accounts/{seller_id}/payouts/exports`, and print its path. transactions: every earnings line available\n" +
			"in the months, with its state, cycle, payment and withholding share (the pages of `payrun payouts transactions`);\n" +
			"payments: the payments of the cycles. At most 24 months. The export is recorded (status, rows, size, sha256).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seller == "" {
				return usagef("--seller is required")
			}
			return a.withAccount(cmd, seller, func(s *services, account ledger.Account) error {
				e, err := a.exports(s).ExportNow(cmd.Context(), account.ID, publisher.ExportRequest{Kind: kind, Format: format, From: from, To: to}, by)
				var field *fielderr.Error
				if errors.As(err, &field) && exportFlags[field.Path] != "" {
					return usagef("%s: %s", exportFlags[field.Path], field.Message)
				}
				if err != nil {
					return err
				}
				if a.jsonOutput {
					return a.printJSON(struct {
						publisher.Export
						File string `json:"file"`
					}{e, e.File})
				}
				fmt.Fprintf(a.stderr, "export %s: %s of %s %s..%s, %d rows, %d bytes, sha256 %s\n", e.ID, e.Kind, e.SellerID, e.From, e.To,
					e.Rows, e.Size, e.SHA256)
				fmt.Fprintln(a.stdout, e.File)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&seller, "seller", "", "seller id")
	cmd.Flags().StringVar(&kind, "kind", publisher.ExportTransactions, "transactions or payments")
	cmd.Flags().StringVar(&format, "format", "", "csv or xlsx")
	cmd.Flags().StringVar(&from, "from", "", "first month (YYYY-MM): of the lines' availability, or the payments' cycles")
	cmd.Flags().StringVar(&to, "to", "", "last month (YYYY-MM), at most 23 after --from")
	actorFlag(cmd, &by)
	a.addJSONFlag(cmd)
	return cmd
}
