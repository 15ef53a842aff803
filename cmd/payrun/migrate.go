package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/migrations"
)

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (safe to run from several replicas at once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			applied, err := migrations.Up(cmd.Context(), database.DB)
			if err != nil {
				return err
			}
			pool, err := jobs.OpenPool(cmd.Context(), a.config.DatabaseURL)
			if err != nil {
				return a.databaseError(err)
			}
			defer pool.Close()
			queue, err := jobs.Migrate(cmd.Context(), pool)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "migrations: %d applied, schema up to date (job queue: %d applied)\n", applied, queue)
			return nil
		},
	}
}
