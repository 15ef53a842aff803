package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/payout/prenote"
)

func (a *app) prenoteCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "prenote", Short: "ACH prenotes that verify US bank payout accounts"}
	var bankingDays int
	run := &cobra.Command{
		Use:   "run [--banking-days 3]",
		Short: "Write today's prenote file and verify accounts whose prenote was not returned",
		Long: "Write <out>/prenotes/prenote-YYYY-MM-DD.txt with a zero-dollar ACH prenote (23 checking, 33 savings;\n" +
			"PPD individuals, CCD companies) for every US bank payout account pending verification that has none yet,\n" +
			"and mark verified every prenoted account whose prenote went out at least --banking-days banking days\n" +
			"(Monday to Friday) ago without a return (SPEC §6.1). Running again the same day rewrites the same bytes\n" +
			"and sends no second prenote. Returned prenotes come in through `payrun returns import`.\n" +
			"The originator comes from the PAYRUN_ACH_* settings, as for the cycle's ACH file.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bankingDays < 1 || bankingDays > prenote.MaxBankingDays {
				return usagef("--banking-days must be between 1 and %d", prenote.MaxBankingDays)
			}
			s, err := a.open(cmd)
			if err != nil {
				return err
			}
			defer s.close()
			releaser, err := a.releaser(s)
			if err != nil {
				return err
			}
			result, err := prenote.Run(cmd.Context(), s.db, s.sealer, a.now, releaser.Config.Originator, a.config.Out, bankingDays)
			if err != nil {
				return err
			}
			if a.jsonOutput {
				return a.printJSON(result)
			}
			switch {
			case result.File == "":
				fmt.Fprintf(a.stdout, "prenotes %s: no file (nothing to prenote)\n", result.Day)
			default:
				fmt.Fprintf(a.stdout, "prenotes %s: %s, %d prenotes (%d new)\n", result.Day, result.File, result.Prenotes, result.Sent)
			}
			fmt.Fprintf(a.stdout, "verified: %d payout accounts\n", len(result.Verified))
			for _, r := range result.Refused {
				fmt.Fprintf(a.stdout, "rejected payout account %d: %s\n", r.PayoutAccountID, r.Reason)
			}
			return nil
		},
	}
	run.Flags().IntVar(&bankingDays, "banking-days", prenote.DefaultBankingDays, "banking days a prenote waits for a return before the account is verified")
	a.addJSONFlag(run)
	cmd.AddCommand(run)
	return cmd
}
