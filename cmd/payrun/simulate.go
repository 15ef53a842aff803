package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/migrations"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/sim"
)

func (a *app) simulateCommand() *cobra.Command {
	var opts sim.Options
	var policyPath, firstMonth, scenarioPath, outDir string
	var check bool
	cmd := &cobra.Command{
		Use:   "simulate --seed S --publishers N --months K | --scenario FILE [--check]",
		Short: "Run months of a seeded marketplace through the real close, files and reports",
		Long: "Populate an empty database with a seeded marketplace (tax forms, payout accounts, holds, edge cases)\n" +
			"and run K payment months through payrun's own import, close, release and reports with a fake clock.\n" +
			"Prints a per-cycle table and writes <out>/cycles/<M>/ (workbook, payment files, result.json).\n" +
			"The same seed gives the same bytes. --policy compares thresholds, approval, ... before changing them.\n" +
			"--scenario FILE plays a scripted story instead (format: sim/SCENARIOS.md); --check compares its expectations.\n" +
			"Invariants are checked after every cycle; a broken one exits non-zero naming the seed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if outDir != "" {
				a.config.Out = outDir
			}
			if scenarioPath != "" {
				return a.simulateScenario(cmd, scenarioPath, check, opts.Faults)
			}
			if opts.Publishers < 1 || opts.Months < 1 || opts.Months > 36 {
				return usagef("--publishers must be at least 1 and --months between 1 and 36")
			}
			policy, err := a.policyFrom(policyPath)
			if err != nil {
				return err
			}
			opts.Policy = policy
			if opts.FirstMonth, err = monthFlag(firstMonth); err != nil {
				return err
			}
			s, err := a.open(cmd)
			if err != nil {
				return err
			}
			defer s.close()
			if _, err := migrations.Up(cmd.Context(), s.db.DB); err != nil {
				return err
			}
			accounts, err := ledger.CountAccounts(cmd.Context(), s.db)
			if err != nil {
				return err
			}
			if accounts > 0 {
				return fmt.Errorf("simulate needs an empty database, this one has %d accounts: point DATABASE_URL at a new database", accounts)
			}
			releaser, err := a.releaser(s)
			if err != nil {
				return err
			}
			opts.OutDir = a.config.Out
			opts.Release = releaser.Config
			clock := sim.NewClock(opts.FirstMonth.AddDate(0, -4, 0))
			s.cycles.Clock = clock.Now
			services := &sim.Services{DB: s.db, Store: s.cycles, Taxes: s.taxes, Clock: clock,
				Import: ledger.ImportOptions{HoldingPeriod: a.config.HoldingPeriod}}
			var progress io.Writer
			if a.terminal() || !a.jsonOutput {
				progress = a.stderr
			}
			start := time.Now()
			reports, err := sim.Run(cmd.Context(), services, opts, progress)
			if err != nil {
				return fmt.Errorf("simulation (seed %d): %w", opts.Seed, err)
			}
			if a.jsonOutput {
				return a.printJSON(reports)
			}
			printCycleTable(a.stdout, reports)
			fmt.Fprintf(a.stdout, "\n%d cycle(s) in %.1f s; outputs under %s/cycles/\n", len(reports), time.Since(start).Seconds(), opts.OutDir)
			for _, r := range reports {
				fmt.Fprintf(a.stdout, "  %s: %s\n", r.Month, r.Workbook)
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "random seed: the same seed gives the same outputs")
	cmd.Flags().IntVar(&opts.Publishers, "publishers", 500, "number of publishers")
	cmd.Flags().IntVar(&opts.Months, "months", 3, "number of payment months")
	cmd.Flags().Int64Var(&opts.LinesPerMonth, "lines", 0, "earnings lines per month (default 50 per publisher)")
	cmd.Flags().StringVar(&firstMonth, "first-month", "2026-11", "first payment month, YYYY-MM")
	cmd.Flags().StringVar(&policyPath, "policy", "", "policy JSON (thresholds, approval, ...) over the defaults")
	cmd.Flags().StringVar(&scenarioPath, "scenario", "", "play a scenario file (JSON, see sim/SCENARIOS.md) instead of a seeded marketplace")
	cmd.Flags().BoolVar(&check, "check", false, "with --scenario: compare the scenario's expectations, exit non-zero with the differences")
	cmd.Flags().StringVar(&outDir, "out", "", "output directory (default $PAYRUN_OUT)")
	cmd.Flags().BoolVar(&opts.Faults.Enabled, "faults", false, "crash every close at a point drawn from the seed, restart it and require the same result")
	cmd.Flags().StringVar(&opts.Faults.Point, "fault-point", "", "crash every cycle at this point of its close or release (one of "+strings.Join(sim.CrashPoints, ", ")+")")
	a.addJSONFlag(cmd)
	return cmd
}

// simulateScenario plays a scenario file on an empty database.
func (a *app) simulateScenario(cmd *cobra.Command, path string, check bool, faults sim.Faults) error {
	scenario, err := sim.LoadScenario(path)
	if err != nil {
		return &usageError{err}
	}
	s, err := a.open(cmd)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := migrations.Up(cmd.Context(), s.db.DB); err != nil {
		return err
	}
	accounts, err := ledger.CountAccounts(cmd.Context(), s.db)
	if err != nil {
		return err
	}
	if accounts > 0 {
		return fmt.Errorf("simulate needs an empty database, this one has %d accounts: point DATABASE_URL at a new database", accounts)
	}
	releaser, err := a.releaser(s)
	if err != nil {
		return err
	}
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := sim.NewClock(start)
	s.cycles.Clock = clock.Now
	services := &sim.Services{DB: s.db, Store: s.cycles, Taxes: s.taxes, Clock: clock,
		Import: ledger.ImportOptions{HoldingPeriod: a.config.HoldingPeriod}}
	logf := func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }
	outcome, err := sim.RunScenario(cmd.Context(), services, scenario, sim.ScenarioOptions{OutDir: a.config.Out, Release: releaser.Config, Faults: faults, Log: logf})
	if err != nil {
		return fmt.Errorf("scenario %s (seed %d): %w", scenario.Name, scenario.Seed, err)
	}
	fmt.Fprintf(a.stdout, "scenario %s: %d cycle(s) (%s); outputs under %s/cycles/\n", scenario.Name, len(outcome.Months), strings.Join(outcome.Months, ", "), a.config.Out)
	if !check {
		return nil
	}
	if len(outcome.Diffs) > 0 {
		fmt.Fprintf(a.stdout, "%d expectation(s) not met:\n", len(outcome.Diffs))
		for _, d := range outcome.Diffs {
			fmt.Fprintf(a.stdout, "  %s\n", d)
		}
		return fmt.Errorf("scenario %s: %d expectation(s) not met", scenario.Name, len(outcome.Diffs))
	}
	fmt.Fprintln(a.stdout, "every expectation met")
	return nil
}

// printCycleTable is the per-cycle table: paid, withheld, held by reason,
// carried.
func printCycleTable(w io.Writer, reports []sim.CycleReport) {
	table := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(table, "cycle\tpaid\tpaid USD\twithheld USD\theld\theld USD\tcarried\tcarried USD\treturned USD\t")
	for _, r := range reports {
		t := r.Totals
		fmt.Fprintf(table, "%s\t%d\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t\n", r.Month, t.Paid.Count, t.Paid.Amount.StringFixed(2), t.Withheld.StringFixed(2),
			t.Held.Count, t.Held.Amount.StringFixed(2), t.Carried.Count, t.Carried.Amount.StringFixed(2), r.Returned.StringFixed(2))
	}
	table.Flush()
	for _, r := range reports {
		fmt.Fprintf(w, "\n%s held and carried by primary reason:\n", r.Month)
		for _, reason := range payout.Reasons {
			if b, ok := r.Totals.ByReason[string(reason)]; ok {
				fmt.Fprintf(w, "  %-28s %6d  %14s USD\n", reason, b.Count, b.Amount.StringFixed(2))
			}
		}
	}
}
