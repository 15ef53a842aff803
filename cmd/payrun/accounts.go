package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/ledger"
)

func (a *app) accountsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "Create and load publisher accounts"}
	cmd.AddCommand(a.accountsCreateCommand(), a.accountsImportCommand(), a.accountsStatusCommand())
	return cmd
}

func (a *app) accountsStatusCommand() *cobra.Command {
	var seller, status, actor string
	cmd := &cobra.Command{
		Use:   "status --seller S --status pending|verified|suspended|closed",
		Short: "Record an account status change (the close reads the status as of its cutoff)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAccount(cmd, seller, func(s *services, account ledger.Account) error {
				if err := s.cycles.SetAccountStatus(cmd.Context(), account.ID, status, actor); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "account %s is %s\n", seller, status)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&seller, "seller", "", "seller id")
	cmd.Flags().StringVar(&status, "status", "", "pending, verified, suspended or closed")
	actorFlag(cmd, &actor)
	return cmd
}

func (a *app) accountsCreateCommand() *cobra.Command {
	var account ledger.NewAccount
	var accountType string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a publisher account; payrun assigns its seller and publisher ids",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account.Type = ledger.AccountType(accountType)
			if err := account.Validate(); err != nil {
				return &usageError{err}
			}
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			created, err := ledger.CreateAccount(cmd.Context(), database, account, a.now())
			if err != nil {
				return err
			}
			if a.jsonOutput {
				return a.printJSON(created)
			}
			fmt.Fprintf(a.stdout, "created %s account %s (publisher id %s) registered in %s\n",
				created.Type, created.SellerID, created.PublisherID, created.RegistrationCountry)
			return nil
		},
	}
	cmd.Flags().StringVar(&accountType, "type", "", "company or individual (required)")
	cmd.Flags().StringVar(&account.RegistrationCountry, "country", "", "registration country, ISO 3166-1 alpha-2 (required)")
	cmd.Flags().StringVar(&account.DisplayName, "name", "", "publisher display name")
	cmd.Flags().StringVar(&account.SellerID, "seller-id", "", "keep an existing seller id (migrating publishers); default: assigned")
	_ = cmd.MarkFlagRequired("type")
	_ = cmd.MarkFlagRequired("country")
	a.addJSONFlag(cmd)
	return cmd
}

func (a *app) accountsImportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load publisher accounts from CSV (" + ledger.AccountsHeader + "), all or none",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("accounts file: %w", err)
			}
			defer file.Close()
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			created, skipped, err := ledger.ImportAccounts(cmd.Context(), database, file, a.now())
			if err != nil {
				return err
			}
			if a.jsonOutput {
				return a.printJSON(map[string]int64{"created": created, "skipped": skipped})
			}
			fmt.Fprintf(a.stdout, "accounts: created %d, skipped %d existing\n", created, skipped)
			return nil
		},
	}
	a.addJSONFlag(cmd)
	return cmd
}
