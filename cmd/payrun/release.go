package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
)

// releaser builds the payment-file writer from configuration; a missing
// originator setting is an error naming the variable.
func (a *app) releaser(s *services) (*release.Releaser, error) {
	get := func(name string) (string, error) { return a.config.Payment(name) }
	values := map[string]string{}
	for _, name := range []string{"PAYRUN_ACH_DESTINATION", "PAYRUN_ACH_DESTINATION_NAME", "PAYRUN_ACH_ORIGIN", "PAYRUN_ACH_ORIGIN_NAME",
		"PAYRUN_ACH_COMPANY_NAME", "PAYRUN_ACH_COMPANY_ID", "PAYRUN_ACH_ODFI", "PAYRUN_ACH_DESCRIPTION",
		"PAYRUN_SEPA_DEBTOR_NAME", "PAYRUN_SEPA_DEBTOR_IBAN", "PAYRUN_SEPA_DEBTOR_BIC", "PAYRUN_PAYPAL_SUBJECT"} {
		value, err := get(name)
		if err != nil {
			return nil, err
		}
		values[name] = value
	}
	return &release.Releaser{DB: s.db, Sealer: s.sealer, Clock: a.now, Config: release.Config{
		OutDir: a.config.Out,
		Originator: nacha.Originator{
			ImmediateDestination: values["PAYRUN_ACH_DESTINATION"], ImmediateDestinationName: values["PAYRUN_ACH_DESTINATION_NAME"],
			ImmediateOrigin: values["PAYRUN_ACH_ORIGIN"], ImmediateOriginName: values["PAYRUN_ACH_ORIGIN_NAME"],
			CompanyName: values["PAYRUN_ACH_COMPANY_NAME"], CompanyID: values["PAYRUN_ACH_COMPANY_ID"],
			CompanyEntryDescription: values["PAYRUN_ACH_DESCRIPTION"], ODFIRouting: values["PAYRUN_ACH_ODFI"],
		},
		Debtor:        sepa.Debtor{Name: values["PAYRUN_SEPA_DEBTOR_NAME"], IBAN: values["PAYRUN_SEPA_DEBTOR_IBAN"], BIC: values["PAYRUN_SEPA_DEBTOR_BIC"]},
		PayPalSubject: values["PAYRUN_PAYPAL_SUBJECT"],
	}}, nil
}

func (a *app) fxCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "fx", Short: "FX rates of a cycle (units of currency per USD)"}
	var monthText, policyPath, actor string
	var confirmChange bool
	importCmd := &cobra.Command{
		Use:   "import FILE --month YYYY-MM [--confirm-change]",
		Short: "Load or correct a cycle's FX rates from CSV (" + release.FXHeader + "), all or nothing",
		Long: "Load a cycle's FX rates from CSV (" + release.FXHeader + "), all or nothing: units of the currency per USD,\n" +
			"plain decimals (digits and an optional '.', at most 10 digits each side; no sign or exponent).\n" +
			"A rate that moves more than the policy's fx_max_change (default 10%) from the previous cycle's rate for\n" +
			"the currency is refused, showing both rates, unless --confirm-change. Importing again for the same month\n" +
			"replaces the rates it lists (each replacement audited with before and after) until the cycle closes,\n" +
			"never after; the same rate again changes nothing.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			month, err := monthFlag(monthText)
			if err != nil {
				return err
			}
			policy, err := a.policyFrom(policyPath)
			if err != nil {
				return err
			}
			file, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("FX file: %w", err)
			}
			defer file.Close()
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			result, err := release.ImportFXRates(cmd.Context(), database, month, file, release.FXOptions{
				Now: a.now(), By: actor, MaxChange: policy.FXMaxChange, ConfirmChange: confirmChange})
			if err != nil {
				return err
			}
			if a.jsonOutput {
				return a.printJSON(result)
			}
			fmt.Fprintf(a.stdout, "FX rates for %s: %d added, %d replaced, %d unchanged\n", monthText, result.Added, result.Replaced, result.Unchanged)
			for _, c := range result.Changes {
				line := "  " + c.Currency + " "
				if c.Before != nil {
					line += c.Before.String() + " -> "
				}
				line += c.After.String()
				if c.PreviousRate != nil {
					line += fmt.Sprintf(" (%s from %s's %s", release.Percent(*c.Change), c.PreviousMonth, c.PreviousRate)
					if c.Confirmed {
						line += ", confirmed"
					}
					line += ")"
				}
				fmt.Fprintln(a.stdout, line)
			}
			return nil
		},
	}
	importCmd.Flags().StringVar(&monthText, "month", "", "payment month, YYYY-MM")
	importCmd.Flags().BoolVar(&confirmChange, "confirm-change", false,
		"load rates that move more than the policy's fx_max_change from the previous cycle's rate (check them first)")
	importCmd.Flags().StringVar(&policyPath, "policy", "", "policy JSON with fx_max_change (default: PAYRUN_POLICY; else 0.10)")
	actorFlag(importCmd, &actor)
	a.addJSONFlag(importCmd)
	cmd.AddCommand(importCmd)
	return cmd
}
