package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/accounts"
)

func (a *app) operatorsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "operators", Short: "Platform staff who run cycles (finance_viewer, finance_approver, ops)"}
	var user, name, roles string
	create := &cobra.Command{
		Use:   "create --user NAME --role finance_viewer|finance_approver|ops",
		Short: "Create an operator and print a one-time password (changed at first sign-in)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []accounts.Role
			for _, role := range strings.Split(roles, ",") {
				if role = strings.TrimSpace(role); role != "" {
					list = append(list, accounts.Role(role))
				}
			}
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			if name == "" {
				name = user
			}
			operator, password, err := accounts.CreateOperator(cmd.Context(), database, accounts.NewOperator{UserName: user, DisplayName: name, Roles: list}, a.now())
			if err != nil {
				return err
			}
			if a.jsonOutput {
				return a.printJSON(map[string]any{"operator": operator, "one_time_password": password})
			}
			fmt.Fprintf(a.stdout, "operator %s created with roles %s\none-time password (shown once, change it at first sign-in): %s\n", user, roles, password)
			return nil
		},
	}
	create.Flags().StringVar(&user, "user", "", "sign-in name (lowercase letters, digits, . _ -)")
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().StringVar(&roles, "role", "", "finance_viewer, finance_approver or ops (comma-separated for several)")
	a.addJSONFlag(create)
	cmd.AddCommand(create)
	return cmd
}
