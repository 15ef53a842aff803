package main

import (
	"encoding/json"
	"fmt"
	"github.com/payrun/payrun/ledger"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/tax"
	"github.com/payrun/payrun/tax/taxstore"
)

func (a *app) taxCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tax", Short: "Tax profiles (W-9, W-8BEN, W-8BEN-E) and treaty tables"}
	profile := &cobra.Command{Use: "profile", Short: "Submit and show tax forms"}

	var seller, file, actor string
	submit := &cobra.Command{
		Use:   "submit --seller S --file FORM.json",
		Short: "Submit a tax form (validated; refused forms store nothing); the newest valid form counts",
		Long: "Submit a tax form from JSON, e.g.\n" +
			`  {"form":"W-8BEN","legal_name":"Erika Mustermann","entity_type":"individual","residence_country":"DE",` + "\n" +
			`   "citizenship_country":"DE","permanent_address":{"line1":"Hauptstrasse 1","city":"Berlin","country":"DE"},` + "\n" +
			`   "foreign_tin":"12345678901","treaty":{"country":"DE","article":"12","income_code":"12","rate":"0"},` + "\n" +
			`   "signer_name":"Erika Mustermann","signed_on":"2026-09-04"}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			input, err := readJSONFile(file)
			if err != nil {
				return err
			}
			defer input.Close()
			var submission tax.Submission
			if err := json.NewDecoder(input).Decode(&submission); err != nil {
				return fmt.Errorf("tax form JSON: %w", err)
			}
			return a.withAccount(cmd, seller, func(s *services, account ledger.Account) error {
				view, err := s.taxes.Submit(cmd.Context(), account.ID, submission, actor, a.now())
				if err != nil {
					return err
				}
				if a.jsonOutput {
					return a.printJSON(view)
				}
				fmt.Fprintf(a.stdout, "%s submitted for %s (form %d); it counts from the next cycle whose cutoff is after %s\n",
					view.Form, seller, view.ID, view.SubmittedAt.Format(time.RFC3339))
				return nil
			})
		},
	}
	submit.Flags().StringVar(&seller, "seller", "", "seller id")
	submit.Flags().StringVar(&file, "file", "", "tax form JSON (- for standard input)")
	actorFlag(submit, &actor)
	a.addJSONFlag(submit)

	var showSeller, atText string
	show := &cobra.Command{
		Use:   "show --seller S [--at TIME]",
		Short: "Show a publisher's tax status at an instant (default now) and the form that counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at := a.now().Add(time.Nanosecond)
			if atText != "" {
				parsed, err := time.Parse(time.RFC3339, atText)
				if err != nil {
					return usagef("--at: %q is not an RFC 3339 time", atText)
				}
				at = parsed
			}
			return a.withAccount(cmd, showSeller, func(s *services, account ledger.Account) error {
				standing, form, err := s.taxes.StandingAt(cmd.Context(), account.ID, at)
				if err != nil {
					return err
				}
				if a.jsonOutput {
					return a.printJSON(map[string]any{"status": standing.Status, "cause": standing.Cause, "form": form})
				}
				fmt.Fprintf(a.stdout, "tax status of %s at %s: %s", showSeller, at.Format(time.RFC3339), standing.Status)
				if standing.Cause != "" {
					fmt.Fprintf(a.stdout, " (%s)", standing.Cause)
				}
				fmt.Fprintln(a.stdout)
				if form != nil {
					fmt.Fprintf(a.stdout, "  form %d: %s signed %s by %s, TIN %s%s\n", form.ID, form.Form, form.Submission.SignedOn.Format(time.DateOnly),
						form.Submission.SignerName, form.TINMasked, form.ForeignTIN)
					if form.Treaty != nil {
						fmt.Fprintf(a.stdout, "  treaty claim: %s article %s, income code %s\n", form.Treaty.Country, form.Treaty.Article, form.Treaty.IncomeCode)
					}
				}
				return nil
			})
		},
	}
	show.Flags().StringVar(&showSeller, "seller", "", "seller id")
	show.Flags().StringVar(&atText, "at", "", "instant, RFC 3339 (default now)")
	a.addJSONFlag(show)

	var changeSeller, legalName, tin, changer string
	change := &cobra.Command{
		Use:   "change --seller S [--legal-name N] [--tin T]",
		Short: "Record a change of legal name or TIN without a new form (a W-9 needs re-signing after it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAccount(cmd, changeSeller, func(s *services, account ledger.Account) error {
				if err := s.taxes.ChangeProfile(cmd.Context(), account.ID, legalName, tin, changer, a.now()); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "tax profile of %s changed\n", changeSeller)
				return nil
			})
		},
	}
	change.Flags().StringVar(&changeSeller, "seller", "", "seller id")
	change.Flags().StringVar(&legalName, "legal-name", "", "new legal name")
	change.Flags().StringVar(&tin, "tin", "", "new TIN")
	actorFlag(change, &changer)
	profile.AddCommand(submit, show, change)

	treaties := &cobra.Command{Use: "treaties", Short: "Treaty tables: load a newer one without a release"}
	var loader string
	load := &cobra.Command{
		Use:   "load FILE",
		Short: "Validate and load a treaty table CSV; it applies to cycles whose close is scheduled after now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("treaty table: %w", err)
			}
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			version, created, err := taxstore.LoadTreatyTable(cmd.Context(), database, body, filepath.Base(args[0]), loader, a.now())
			if err != nil {
				return err
			}
			if !created {
				fmt.Fprintf(a.stdout, "treaty table %s was already loaded\n", version[:12])
				return nil
			}
			fmt.Fprintf(a.stdout, "treaty table %s loaded; it applies to cycles closing after %s\n", version[:12], a.now().Format(time.RFC3339))
			return nil
		},
	}
	actorFlag(load, &loader)
	var countryAt string
	showTable := &cobra.Command{
		Use:   "show [--at TIME]",
		Short: "Print the treaty table in effect (income code 12 rates)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at := a.now()
			if countryAt != "" {
				parsed, err := time.Parse(time.RFC3339, countryAt)
				if err != nil {
					return usagef("--at: %q is not an RFC 3339 time", countryAt)
				}
				at = parsed
			}
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			table, err := taxstore.TreatyTableAt(cmd.Context(), database, at)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "treaty table %s\n", table.Version()[:12])
			for _, row := range table.Rows() {
				to := "open"
				if !row.EffectiveTo.IsZero() {
					to = row.EffectiveTo.Format(time.DateOnly)
				}
				fmt.Fprintf(a.stdout, "  %s  code %s  %5s%%  %s .. %s  %s\n", row.Country, row.IncomeCode, row.Rate.Shift(2).String(),
					row.EffectiveFrom.Format(time.DateOnly), to, row.Source)
			}
			return nil
		},
	}
	showTable.Flags().StringVar(&countryAt, "at", "", "instant, RFC 3339 (default now)")
	treaties.AddCommand(load, showTable)
	cmd.AddCommand(profile, treaties, a.taxYearEndCommand())
	return cmd
}
