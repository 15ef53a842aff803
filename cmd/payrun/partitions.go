package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout/cycle"
)

// maintainPartitions is the maintain-partitions job: the partitions of this
// month and the next ledger.PartitionMonthsAhead, created ahead of the
// writers (which would otherwise create them themselves, holding a lock on
// the table until they commit). Idempotent: a second run creates nothing.
func (a *app) maintainPartitions(s *services) jobs.RunFunc {
	return func(ctx context.Context, _ jobs.Occurrence) error {
		month := ledger.MonthStart(a.now())
		created, err := ledger.EnsurePartitions(ctx, s.db, month, month.AddDate(0, ledger.PartitionMonthsAhead, 0))
		if err != nil {
			return err
		}
		logging.FromContext(ctx).Info("partitions ensured", "from", month.Format("2006-01"),
			"months_ahead", ledger.PartitionMonthsAhead, "created", created)
		return nil
	}
}

func (a *app) partitionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "partitions",
		Short: "Monthly partitions of earnings_lines and postings: list, detach for archiving",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the monthly partitions, attached and archived, with estimated rows and size",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			partitions, err := ledger.Partitions(cmd.Context(), database)
			if err != nil {
				return err
			}
			if a.jsonOutput {
				return a.printJSON(partitions)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "TABLE\tPARTITION\tMONTH\tROWS (ESTIMATE)\tSIZE\tATTACHED")
			for _, p := range partitions {
				rows := "-" // never analyzed
				if p.RowsEstimate >= 0 {
					rows = strconv.FormatInt(p.RowsEstimate, 10)
				}
				attached := "yes"
				if !p.Attached {
					attached = "no (archived)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Table, p.Name, p.Month.Format("2006-01"), rows, byteSize(p.Bytes), attached)
			}
			return w.Flush()
		},
	}
	a.addJSONFlag(list)

	var beforeText string
	var dryRun bool
	detach := &cobra.Command{
		Use:   "detach --before YYYY-MM [--dry-run]",
		Short: "Detach the partitions of every month before YYYY-MM, for archiving",
		Long: "Detach the earnings_lines and postings partitions of every month before --before, in one transaction,\n" +
			"and rename each to archive_<partition> (e.g. archive_earnings_lines_202609). An archived table keeps its\n" +
			"rows and stays append-only; dump it with `pg_dump --table archive_earnings_lines_202609` and then drop it.\n" +
			"Its rows no longer appear in queries of the parent table; balances are unaffected (ledger_balances).\n\n" +
			"Only consumed months are detached: an earnings month once a settled cycle's cutoff is at or after its end\n" +
			"and no unsettled cycle's window starts before that end; a journal month once it is before the oldest\n" +
			"unsettled cycle's month (or, when all are settled, not after the newest). If any month before --before\n" +
			"is not consumed, nothing is detached and the error lists each such month and why.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if beforeText == "" {
				return usagef("--before is required (YYYY-MM)")
			}
			before, err := time.Parse("2006-01", beforeText)
			if err != nil {
				return usagef("--before: %q is not a month (YYYY-MM)", beforeText)
			}
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			detached, err := ledger.DetachPartitions(cmd.Context(), database, before, dryRun, cycle.Retention)
			if errors.Is(err, ledger.ErrNotConsumed) {
				return fmt.Errorf("--before %s: nothing detached: %w", beforeText, err)
			}
			if err != nil {
				return err
			}
			if a.jsonOutput {
				return a.printJSON(map[string]any{"dry_run": dryRun, "partitions": detached})
			}
			verb := "detached"
			if dryRun {
				verb = "would detach"
			}
			if len(detached) == 0 {
				fmt.Fprintf(a.stdout, "no attached partition before %s\n", beforeText)
			}
			for _, p := range detached {
				if dryRun {
					fmt.Fprintf(a.stdout, "%s %s (%s %s)\n", verb, p.Name, p.Table, p.Month.Format("2006-01"))
				} else {
					fmt.Fprintf(a.stdout, "%s %s %s: now %s\n", verb, p.Table, p.Month.Format("2006-01"), p.Name)
				}
			}
			return nil
		},
	}
	detach.Flags().StringVar(&beforeText, "before", "", "detach the months before this one, YYYY-MM")
	detach.Flags().BoolVar(&dryRun, "dry-run", false, "check and list, detach nothing")
	a.addJSONFlag(detach)
	cmd.AddCommand(list, detach)
	return cmd
}

// byteSize prints a size in bytes with a binary unit.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value, suffix := float64(n), "B"
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		value /= unit
		suffix = s
		if value < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", value, suffix)
}
