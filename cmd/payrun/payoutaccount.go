package main

import (
	"encoding/json"
	"fmt"
	"github.com/payrun/payrun/ledger"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/payout"
)

func (a *app) payoutAccountCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "payout-account", Short: "Set, show and verify publishers' payout accounts"}

	var seller, file, actor string
	set := &cobra.Command{
		Use:   "set --seller S --file ACCOUNT.json",
		Short: "Set (or change) a publisher's payout account; it starts pending_verification",
		Long: "Set a payout account from JSON, e.g.\n" +
			`  {"method":"bank","holder_name":"Jane Doe","currency":"USD","bank_country":"US","account_type":"checking","routing_number":"011000015","account_number":"123456789"}` + "\n" +
			`  {"method":"bank","holder_name":"Erika M","currency":"EUR","bank_country":"DE","iban":"DE89370400440532013000","bic":"COBADEFFXXX"}` + "\n" +
			`  {"method":"paypal","holder_name":"Jane Doe","currency":"USD","paypal_email":"jane@example.com"}` + "\n" +
			"The previous payout account is never paid again; the new one is paid once verified.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			input, err := readJSONFile(file)
			if err != nil {
				return err
			}
			defer input.Close()
			var account payout.AccountInput
			decoder := json.NewDecoder(input)
			decoder.DisallowUnknownFields()
			if err := decoder.Decode(&account); err != nil {
				return fmt.Errorf("payout account JSON: %w", err)
			}
			return a.withAccount(cmd, seller, func(s *services, owner ledger.Account) error {
				view, err := s.cycles.SetPayoutAccount(cmd.Context(), owner.ID, account, actor)
				if err != nil {
					return err
				}
				if a.jsonOutput {
					return a.printJSON(view)
				}
				fmt.Fprintf(a.stdout, "payout account %d for %s: %s %s %s, %s\n", view.ID, seller, view.Method, view.Currency, view.NumberMasked+view.PayPalEmail, view.Status)
				return nil
			})
		},
	}
	set.Flags().StringVar(&seller, "seller", "", "seller id")
	set.Flags().StringVar(&file, "file", "", "payout account JSON (- for standard input)")
	actorFlag(set, &actor)
	a.addJSONFlag(set)

	var showSeller string
	show := &cobra.Command{
		Use:   "show --seller S",
		Short: "Show the payout account in force now (numbers masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAccount(cmd, showSeller, func(s *services, owner ledger.Account) error {
				view, err := s.cycles.PayoutAccountAt(cmd.Context(), owner.ID, a.now().Add(time.Nanosecond))
				if err != nil {
					return err
				}
				if view == nil {
					return fmt.Errorf("%s has no payout account", showSeller)
				}
				if a.jsonOutput {
					return a.printJSON(view)
				}
				fmt.Fprintf(a.stdout, "payout account %d: %s, %s, holder %s, %s%s, %s since %s\n", view.ID, view.Method, view.Currency, view.HolderName,
					view.NumberMasked, view.PayPalEmail, view.Status, view.CreatedAt.Format(time.RFC3339))
				return nil
			})
		},
	}
	show.Flags().StringVar(&showSeller, "seller", "", "seller id")
	a.addJSONFlag(show)

	var result, reason, verifier string
	verify := &cobra.Command{
		Use:   "verify ID --result verified|rejected|needs_update",
		Short: "Record a verification result for a payout account (operator decision or bank answer)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usagef("payout account id %q is not a number", args[0])
			}
			if result != payout.Verified && result != payout.Rejected && result != payout.NeedsUpdate {
				return usagef("--result: %q is not verified, rejected or needs_update", result)
			}
			return a.withServices(cmd, func(s *services) error {
				if err := s.cycles.RecordVerification(cmd.Context(), id, result, reason, verifier); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "payout account %d: %s\n", id, result)
				return nil
			})
		},
	}
	verify.Flags().StringVar(&result, "result", "", "verified, rejected or needs_update")
	verify.Flags().StringVar(&reason, "reason", "", "why (e.g. a return code)")
	actorFlag(verify, &verifier)

	var delay time.Duration
	var includeUS bool
	auto := &cobra.Command{
		Use:   "auto-verify --delay 72h",
		Short: "Verify every payout account pending longer than --delay (a stand-in for banks in simulations)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withServices(cmd, func(s *services) error {
				n, err := s.cycles.AutoVerify(cmd.Context(), delay, includeUS)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "verified %d payout accounts\n", n)
				return nil
			})
		},
	}
	auto.Flags().DurationVar(&delay, "delay", 72*time.Hour, "how long an account must have been pending")
	auto.Flags().BoolVar(&includeUS, "include-us", false, "also US bank accounts (normally verified by ACH prenotes)")
	cmd.AddCommand(set, show, verify, auto)
	return cmd
}
