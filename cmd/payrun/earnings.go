package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/internal/atomicfile"
	"github.com/payrun/payrun/ledger"
)

func (a *app) earningsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "earnings", Short: "Import and generate earnings lines"}
	cmd.AddCommand(a.earningsImportCommand(), a.earningsGenerateCommand())
	return cmd
}

func (a *app) earningsImportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import an earnings CSV atomically (all lines or none) and idempotently",
		Long: "Import an earnings CSV with the header\n  " + strings.Join(ledger.EarningsHeader[:len(ledger.EarningsHeader)-1], ",") + "[,eligible_at]\n" +
			"A file with any bad line imports nothing and lists the first 100 bad lines.\n" +
			"Lines imported before with the same content are skipped; a different line under a used id is refused.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			info, err := os.Stat(path)
			if err != nil {
				return fmt.Errorf("earnings file: %w", err)
			}
			if info.IsDir() {
				return fmt.Errorf("earnings file: %s is a directory", path)
			}
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			update, done := a.progress("importing", "lines")
			start := time.Now()
			result, err := ledger.Import(cmd.Context(), database,
				func() (io.ReadCloser, error) { return os.Open(path) },
				ledger.ImportOptions{SourceName: filepath.Base(path), HoldingPeriod: a.config.HoldingPeriod, Clock: a.now, Progress: update})
			done()
			if err != nil {
				return err
			}
			elapsed := time.Since(start)
			if a.jsonOutput {
				return a.printJSON(map[string]any{
					"import_id": result.ImportID, "lines_read": result.LinesRead, "imported": result.Imported,
					"skipped": result.Skipped, "total": result.Total.StringFixed(6), "seconds": elapsed.Seconds(),
				})
			}
			fmt.Fprintf(a.stdout, "imported %d, skipped %d duplicates, in %.1f s (total %s USD)\n",
				result.Imported, result.Skipped, elapsed.Seconds(), result.Total.StringFixed(6))
			return nil
		},
	}
	a.addJSONFlag(cmd)
	return cmd
}

func (a *app) earningsGenerateCommand() *cobra.Command {
	var opts ledger.GenerateOptions
	var month, out, accountsOut string
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write a seeded, realistic month of earnings (and its accounts) as CSV",
		Long: "Write a reproducible month of earnings lines: the same seed gives the same bytes.\n" +
			"About 40% of lines are US-sourced, 17 other markets, 5 revenue sources, ~2% refunds,\n" +
			"sub-cent amounts. The matching publisher accounts go to --accounts (default: next to\n" +
			"--out, named <out>.accounts.csv); load them with 'payrun accounts import' first.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			parsed, err := time.Parse("2006-01", month)
			if err != nil {
				return usagef("--month: %q is not YYYY-MM", month)
			}
			opts.Month = parsed
			if err := opts.Validate(); err != nil {
				return &usageError{err}
			}
			if accountsOut == "" && out != "" {
				accountsOut = strings.TrimSuffix(out, ".csv") + ".accounts.csv"
			}
			if accountsOut != "" {
				if err := atomicfile.Write(accountsOut, 0o644, func(w io.Writer) error { return ledger.GenerateAccounts(w, opts) }); err != nil {
					return err
				}
			}
			if out == "" || out == "-" {
				w := bufio.NewWriter(a.stdout)
				if err := ledger.GenerateEarnings(w, opts); err != nil {
					return err
				}
				return w.Flush()
			}
			if err := atomicfile.Write(out, 0o644, func(w io.Writer) error { return ledger.GenerateEarnings(w, opts) }); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "wrote %d lines to %s and %d accounts to %s\n", opts.Lines, out, opts.Publishers, accountsOut)
			return nil
		},
	}
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "random seed: the same seed gives the same bytes")
	cmd.Flags().IntVar(&opts.Publishers, "publishers", 1000, "number of publisher accounts")
	cmd.Flags().Int64Var(&opts.Lines, "lines", 100_000, "number of earnings lines")
	cmd.Flags().StringVar(&month, "month", "", "month of the transactions, YYYY-MM (required)")
	cmd.Flags().StringVar(&out, "out", "", "earnings CSV to write (default: standard output)")
	cmd.Flags().StringVar(&accountsOut, "accounts", "", "accounts CSV to write")
	_ = cmd.MarkFlagRequired("month")
	return cmd
}
