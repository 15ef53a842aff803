package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/payrun/payrun/reports"
	"github.com/payrun/payrun/tax/taxstore"
	"github.com/payrun/payrun/tax/yearend"
)

// taxYearEndCommand is `payrun tax year-end`: the 1042-S and 1099 data of a
// tax year (SPEC §5.5), as CSV and workbooks.
func (a *app) taxYearEndCommand() *cobra.Command {
	var (
		year                int
		outDir              string
		fullTINs, overwrite bool
		kGross, miscGross   string
		kTransactions       int
	)
	defaults := yearend.DefaultThresholds()
	cmd := &cobra.Command{
		Use:   "year-end --year Y [--out DIR] [--full-tins]",
		Short: "Write the year's 1042-S data (W-8 recipients) and 1099 data (W-9 recipients), CSV and xlsx",
		Long: "For payments dated in the tax year (released cycles whose payment date is in it), write per recipient the\n" +
			"gross US-sourced amount paid, rate, tax withheld, income code 12, reason and the recipient's data from the\n" +
			"tax form that counted. TINs are masked; --full-tins also writes tins-<Y>-UNMASKED.csv (mode 0600).\n" +
			"1099 form choice: 1099-K at gross >= --1099k-gross and transactions >= --1099k-transactions (0 = no count test),\n" +
			"otherwise 1099-MISC at gross >= --1099misc-gross or when backup withholding was taken.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if year == 0 {
				return usagef("--year is required")
			}
			thresholds := reports.Thresholds1099{KTransactions: kTransactions}
			for _, flag := range []struct {
				name, text string
				into       *decimal.Decimal
			}{{"--1099k-gross", kGross, &thresholds.KGross}, {"--1099misc-gross", miscGross, &thresholds.MISC}} {
				value, err := decimal.NewFromString(flag.text)
				if err != nil || value.IsNegative() {
					return usagef("%s: %q is not a non-negative amount in USD", flag.name, flag.text)
				}
				*flag.into = value
			}
			if kTransactions < 0 {
				return usagef("--1099k-transactions must not be negative")
			}
			if outDir == "" {
				outDir = filepath.Join(a.config.Out, "tax", strconv.Itoa(year))
			}
			// Only --full-tins opens TINs, and so needs the data key.
			var taxes *taxstore.Store
			var database *sqlx.DB
			if fullTINs {
				s, err := a.open(cmd)
				if err != nil {
					return err
				}
				defer s.close()
				database, taxes = s.db, s.taxes
			} else {
				var err error
				if database, err = a.openDB(cmd); err != nil {
					return err
				}
				defer database.Close()
			}
			_, done := a.progress(fmt.Sprintf("writing the %d year-end tax reports", year), "")
			result, err := yearend.Write(cmd.Context(), database, taxes, yearend.Options{
				Year: year, Dir: outDir, Thresholds: thresholds, FullTINs: fullTINs, Overwrite: overwrite})
			done()
			switch {
			case errors.Is(err, yearend.ErrYear):
				return &usageError{err}
			case errors.Is(err, reports.ErrFileExists):
				return fmt.Errorf("tax year-end %d: %w; pass --overwrite to replace it", year, err)
			case err != nil:
				return fmt.Errorf("tax year-end %d: %w", year, err)
			}
			if result.TINFile != "" {
				fmt.Fprintf(a.stderr, "WARNING: %s holds %d full, unmasked TIN record(s) (mode 0600): keep it off shared drives and e-mail, and delete it once the forms are filed\n",
					result.TINFile, result.TINRecords)
			}
			if a.jsonOutput {
				return a.printJSON(result)
			}
			fmt.Fprintf(a.stdout, "tax year %d\n", year)
			fmt.Fprintf(a.stdout, "  1042-S: %d row(s), %d recipient(s), gross %s USD, withheld %s USD\n", result.Form1042S.Rows,
				result.Form1042S.Recipients, result.Form1042S.Gross.StringFixed(2), result.Form1042S.Withheld.StringFixed(2))
			fmt.Fprintf(a.stdout, "  1099:   %d recipient(s), gross %s USD, backup withholding %s USD\n", result.Form1099.Recipients,
				result.Form1099.Gross.StringFixed(2), result.Form1099.Withheld.StringFixed(2))
			for _, file := range result.Files {
				fmt.Fprintf(a.stdout, "  %s\n", file)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&year, "year", 0, "tax year (payments dated in it)")
	cmd.Flags().StringVar(&outDir, "out", "", "output directory (default $PAYRUN_OUT/tax/<year>)")
	cmd.Flags().BoolVar(&fullTINs, "full-tins", false, "also write the unmasked TINs to a separate 0600 file (needs the data key)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace existing files")
	cmd.Flags().StringVar(&kGross, "1099k-gross", defaults.KGross.StringFixed(2), "1099-K gross threshold, USD (IRC 6050W(e))")
	cmd.Flags().IntVar(&kTransactions, "1099k-transactions", defaults.KTransactions, "1099-K transaction-count threshold (0 = none)")
	cmd.Flags().StringVar(&miscGross, "1099misc-gross", defaults.MISC.StringFixed(2), "1099-MISC threshold, USD (royalties, box 2)")
	a.addJSONFlag(cmd)
	return cmd
}
