package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/statement"
	"github.com/payrun/payrun/reports"
)

// statementCommand is `payrun statement`: one publisher's payout statement
// for one closed cycle (SPEC §2), as xlsx and CSV.
func (a *app) statementCommand() *cobra.Command {
	var seller, monthText, outDir string
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "statement --seller S --month YYYY-MM [--out DIR] [--overwrite]",
		Short: "Write a publisher's payout statement for a closed cycle (xlsx and CSV)",
		Long: "Write <out>/statements/<seller>/statement-<M>.xlsx and .csv: every earnings line the cycle considered,\n" +
			"with its status (unprocessed, reserved, processed, sent, returned), its share of the tax withheld\n" +
			"(the Withheld column sums exactly to the payout's withholding) and the payment.\n" +
			"Existing files are kept unless --overwrite is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seller == "" {
				return usagef("--seller is required")
			}
			month, err := monthFlag(monthText)
			if err != nil {
				return err
			}
			if outDir == "" {
				outDir = a.config.Out
			}
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			result, err := statement.Write(cmd.Context(), database, statement.Request{
				SellerID: seller, Month: month, OutDir: outDir, Overwrite: overwrite, Now: a.now()})
			switch {
			case errors.Is(err, reports.ErrFileExists):
				return fmt.Errorf("statement: %w; pass --overwrite to replace it", err)
			case err != nil:
				return fmt.Errorf("statement of %s for %s: %w", seller, monthText, err)
			}
			if a.jsonOutput {
				return a.printJSON(result)
			}
			fmt.Fprintf(a.stdout, "statement of %s for %s: %s", result.SellerID, result.Month, result.Decision)
			if len(result.Reasons) > 0 {
				fmt.Fprintf(a.stdout, " (%s)", strings.Join(result.Reasons, ", "))
			}
			if result.PaymentID != "" {
				fmt.Fprintf(a.stdout, ", payment %s %s, withheld %s USD", result.PaymentID, result.PaymentStatus, result.Withheld.StringFixed(2))
			}
			fmt.Fprintf(a.stdout, "\n  payment date %s (scheduled)", result.PaymentDate)
			if result.SettlementDate != "" {
				fmt.Fprintf(a.stdout, ", settles on %s", result.SettlementDate)
			}
			fmt.Fprintln(a.stdout)
			for _, item := range result.Items {
				returned := ""
				if item.Returned {
					returned = " (returned)"
				}
				amount := item.Amount.String()
				if places, err := payout.RailMinorUnit(payout.PayoutAccountState{Method: payout.PayPal, Currency: item.Currency}); err == nil {
					amount = item.Amount.StringFixed(places)
				}
				fmt.Fprintf(a.stdout, "  PayPal item %s: %s %s (%s USD)%s\n", item.ItemID, amount, item.Currency, item.AmountUSD.StringFixed(2), returned)
			}
			fmt.Fprintf(a.stdout, "  %d line(s)%s\n  xlsx: %s\n  csv:  %s\n", result.Lines, byStatus(result.ByStatus), result.XLSX, result.CSV)
			return nil
		},
	}
	cmd.Flags().StringVar(&seller, "seller", "", "seller id")
	cmd.Flags().StringVar(&monthText, "month", "", "payment month of a closed cycle, YYYY-MM")
	cmd.Flags().StringVar(&outDir, "out", "", "output directory (default $PAYRUN_OUT)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace existing statement files")
	a.addJSONFlag(cmd)
	return cmd
}

// byStatus shows line counts by status in SPEC §2 order: " (3 sent, 1 unprocessed)".
func byStatus(counts map[string]int) string {
	order := map[string]int{reports.LineUnprocessed: 0, reports.LineReserved: 1, reports.LineProcessed: 2, reports.LineSent: 3, reports.LineReturned: 4}
	statuses := make([]string, 0, len(counts))
	for status := range counts {
		statuses = append(statuses, status)
	}
	sort.Slice(statuses, func(i, j int) bool { return order[statuses[i]] < order[statuses[j]] })
	parts := make([]string, len(statuses))
	for i, status := range statuses {
		parts[i] = fmt.Sprintf("%d %s", counts[status], status)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
