package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/returns"
)

func (a *app) returnsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "returns", Short: "Import returned payments (ACH return files, PayPal item statuses)"}
	importCmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import an ACH return file or a PayPal status file (CSV or Payouts API JSON), all or nothing",
		Long: "Import the returns in FILE (- for standard input) in one transaction (SPEC §6.3).\n" +
			"The format is detected: an ACH return file (NACHA, return addenda 99), a PayPal Payouts batch-details\n" +
			"JSON document, or a CSV with the header sender_item_id,transaction_status,amount,currency,time_processed[,reason].\n" +
			"Each returned payment is credited back to the publisher's non-US balance (the withholding stays withheld)\n" +
			"and its payout account becomes needs_update; a returned ACH prenote rejects its payout account.\n" +
			"A file naming an unknown payment, another trace or another amount is refused whole, every problem named.\n" +
			"Importing the same returns again changes nothing. Nothing is retried automatically: the next cycle pays.\n" +
			"The returned payments' cycles get their workbook (and result.json, when there is one) written again, showing the returns.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			input, name := os.Stdin, "stdin"
			if args[0] != "-" {
				file, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("return file: %w", err)
				}
				defer file.Close()
				input, name = file, filepath.Base(args[0])
			}
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			result, err := returns.Import(cmd.Context(), database, a.now, input, name)
			if err != nil {
				return err
			}
			// The returned payments' cycles show them: workbook and result.json.
			months := make([]string, len(result.Payments))
			for i, p := range result.Payments {
				months[i] = p.Month
			}
			written, rewriteErr := cyclereport.RewriteAfterReturns(cmd.Context(), database, a.config.Out, months)
			if a.jsonOutput {
				if err := a.printJSON(result); err != nil {
					return err
				}
				return rewriteErr
			}
			fmt.Fprintf(a.stdout, "%s (%s): %d records, %d returned (%s USD credited back), %d prenotes returned, %d skipped, %d duplicates\n",
				result.File, result.Format, result.Records, result.Returned, result.ReturnedUSD.StringFixed(2), result.PrenotesReturned, result.Skipped, result.Duplicates)
			for _, p := range result.Payments {
				what := p.PaymentID
				if p.ItemID != "" {
					what = "PayPal item " + p.ItemID + " of " + p.PaymentID
				}
				fmt.Fprintf(a.stdout, "  returned %s (%s, account %d): %s USD, %s\n", what, p.Month, p.AccountID, p.AmountUSD.StringFixed(2), p.Reason)
			}
			for _, p := range result.Prenotes {
				fmt.Fprintf(a.stdout, "  prenote of payout account %d returned: %s\n", p.PayoutAccountID, p.ReturnCode)
			}
			for _, path := range written {
				fmt.Fprintf(a.stdout, "  rewrote %s\n", path)
			}
			return rewriteErr
		},
	}
	a.addJSONFlag(importCmd)
	cmd.AddCommand(importCmd)
	return cmd
}
