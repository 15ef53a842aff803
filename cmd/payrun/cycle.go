package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/store"
)

func (a *app) cycleCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cycle", Short: "Close, show, approve and release monthly payout cycles"}
	cmd.AddCommand(a.cycleCloseCommand(), a.cycleShowCommand(), a.cycleApproveCommand(), a.cycleReleaseCommand())
	return cmd
}

// monthFlag parses --month, refusing what is not YYYY-MM (a usage error).
func monthFlag(text string) (time.Time, error) {
	if text == "" {
		return time.Time{}, usagef("--month is required (YYYY-MM)")
	}
	month, err := payout.ParseMonth(text)
	if err != nil {
		return time.Time{}, &usageError{err}
	}
	return month, nil
}

// policyFrom reads --policy (or PAYRUN_POLICY) over the defaults.
func (a *app) policyFrom(path string) (payout.Policy, error) {
	if path == "" {
		path = a.config.PolicyFile
	}
	if path == "" {
		return payout.DefaultPolicy(), nil
	}
	file, err := os.Open(path)
	if err != nil {
		return payout.Policy{}, fmt.Errorf("policy file: %w", err)
	}
	defer file.Close()
	return payout.ReadPolicy(file)
}

func (a *app) cycleCloseCommand() *cobra.Command {
	var monthText, policyPath, actor string
	var dryRun, noWorkbook bool
	var workers, shards int
	cmd := &cobra.Command{
		Use:   "close --month YYYY-MM",
		Short: "Close a cycle: decide who is paid, held or carried, and post the payouts (exactly once)",
		Long: "Close the payout cycle of a payment month. Every fact is read as of the cutoff (the 1st, 00:00 UTC).\n" +
			"Closing twice, from two places at once or after a crash gives one result; a closed cycle is never changed.\n" +
			"--dry-run computes everything and rolls it back (the database is unchanged); it writes only a DRAFT workbook (none with --no-workbook).\n" +
			"The close freezes every account's input, splits the accounts into shards (PAYRUN_CLOSE_SHARDS, fixed for the cycle),\n" +
			"closes --workers shards at a time, then checks the totals. The result is the same with any number of workers.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			month, err := monthFlag(monthText)
			if err != nil {
				return err
			}
			if workers < 1 || workers > 64 {
				return usagef("--workers: %d is outside 1..64", workers)
			}
			if shards < 0 || shards > store.MaxShards {
				return usagef("--shards: %d is outside 1..%d", shards, store.MaxShards)
			}
			policy, err := a.policyFrom(policyPath)
			if err != nil {
				return err
			}
			return a.withServices(cmd, func(s *services) error {
				by, err := cycleOperator(cmd, s, actor, false)
				if err != nil {
					return err
				}
				update, done := a.progress("closing", "accounts decided")
				start := time.Now()
				if shards == 0 {
					shards = a.config.CloseShards
				}
				options := store.CloseOptions{Month: month, Policy: policy, Actor: by.Name, Operator: by.OperatorID, DryRun: dryRun,
					Progress: update, Fault: faultFromEnv(), Shards: shards, Workers: workers}
				closed, err := a.cycles(s).Close(cmd.Context(), options, noWorkbook)
				done()
				if err != nil {
					return err
				}
				result, workbook := closed.CloseResult, closed.Workbook
				if a.jsonOutput {
					return a.printJSON(result)
				}
				switch {
				case result.AlreadyClosed:
					fmt.Fprintf(a.stdout, "cycle %s is already %s: nothing changed\n", result.Month, result.State)
				case result.DryRun:
					fmt.Fprintf(a.stdout, "DRY RUN of cycle %s (%.1f s): %s\n", result.Month, time.Since(start).Seconds(), dryRunWrote(workbook))
				default:
					resumed := ""
					if result.Resumed {
						resumed = " (resumed an interrupted close)"
					}
					fmt.Fprintf(a.stdout, "cycle %s closed%s in %.1f s: state %s\n", result.Month, resumed, time.Since(start).Seconds(), result.State)
					if p := result.Phases; p != nil {
						fmt.Fprintf(a.stdout, "  %d shards, %d at a time: input frozen in %.2f s, shards closed in %.2f s, finished in %.2f s\n",
							result.Shards, workers, p.Start, p.Shards, p.Finish)
					}
				}
				printTotals(a.stdout, result.Totals)
				switch {
				case workbook == "" && result.DryRun:
					workbook = "not written (--no-workbook)"
				case workbook == "":
					workbook = "not written (--no-workbook; closing again writes it)"
				case result.DryRun:
					workbook += " (DRAFT: this dry run's; the real close writes its own)"
				}
				fmt.Fprintf(a.stdout, "  workbook: %s\n", workbook)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&monthText, "month", "", "payment month, YYYY-MM")
	cmd.Flags().StringVar(&policyPath, "policy", "", "policy JSON (thresholds, approval, ...) over the defaults (default: PAYRUN_POLICY)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "compute everything and roll it back (the database is unchanged); writes only a DRAFT workbook")
	cmd.Flags().IntVar(&workers, "workers", min(64, runtime.NumCPU()), "shards closed at once by this process (default: the number of CPUs)")
	cmd.Flags().IntVar(&shards, "shards", 0, "shards of a cycle that starts now, 1..1024 (default: PAYRUN_CLOSE_SHARDS)")
	cmd.Flags().BoolVar(&noWorkbook, "no-workbook", false, "skip the cycle workbook (closing again writes a missing one)")
	operatorFlag(cmd, &actor, "the operator who closes the cycle (an operator's user name; it can then never approve the cycle); "+
		"without it the close is payrun's own (the system principal, as the scheduled close)")
	a.addJSONFlag(cmd)
	return cmd
}

// cliPrincipal is the system principal of a cycle command run without --by.
const cliPrincipal = "system:cli"

// operatorFlag adds --by to a cycle command: an operator's user name
// (looked up in the operators table, never recorded as typed).
func operatorFlag(cmd *cobra.Command, by *string, usage string) {
	cmd.Flags().StringVar(by, "by", "", usage)
}

// cycleOperator resolves a cycle command's --by to the operator it names
// (" Alice", "operator:alice" and "alice" are the same operator, recorded by
// id as "operator:alice"). Without --by the command is the system principal
// (which never approves) unless required; a name that is no operator's is an
// error naming --by.
func cycleOperator(cmd *cobra.Command, s *services, by string, required bool) (store.Principal, error) {
	if !cmd.Flags().Changed("by") {
		if required {
			return store.Principal{}, usagef("--by is required: the user name of the finance approver approving (see `payrun operators create`)")
		}
		return store.SystemPrincipal(cliPrincipal), nil
	}
	operator, err := s.cycles.Operator(cmd.Context(), by)
	if err != nil {
		return store.Principal{}, fmt.Errorf("--by: %w", err)
	}
	return operator, nil
}

// faultFromEnv lets end-to-end tests crash the process at a named point of
// the close: PAYRUN_FAULT=<point>[:<occurrence>] exits with status 3 there,
// as a kill would. Unset in production.
func faultFromEnv() store.Fault {
	spec := os.Getenv("PAYRUN_FAULT")
	if spec == "" {
		return nil
	}
	point, occurrence := spec, 1
	if name, count, ok := strings.Cut(spec, ":"); ok {
		point = name
		fmt.Sscanf(count, "%d", &occurrence)
	}
	var seen atomic.Int64
	return func(p string) error {
		if p == point {
			if seen.Add(1) == int64(occurrence) {
				fmt.Fprintf(os.Stderr, "payrun: PAYRUN_FAULT: crashing at %s\n", spec)
				os.Exit(3)
			}
		}
		return nil
	}
}

func (a *app) cycleShowCommand() *cobra.Command {
	var monthText string
	cmd := &cobra.Command{
		Use:   "show --month YYYY-MM",
		Short: "Show a cycle: state, dates, counts and totals per status and reason",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			month, err := monthFlag(monthText)
			if err != nil {
				return err
			}
			return a.withServices(cmd, func(s *services) error {
				cycle, err := s.cycles.Cycle(cmd.Context(), month)
				if err != nil {
					return err
				}
				if a.jsonOutput {
					return a.printJSON(cycle)
				}
				fmt.Fprintf(a.stdout, "cycle %s: %s\n", cycle.Month, cycle.State)
				fmt.Fprintf(a.stdout, "  cutoff        %s\n  payment date  %s (scheduled)\n", cycle.Cutoff.Format(time.RFC3339), cycle.PaymentDate.Format(time.DateOnly))
				if cycle.SettlementDate != nil {
					note := "the payment date: released before it"
					if !cycle.SettlementDate.Equal(cycle.PaymentDate) {
						note = "released on or after the payment date: the next banking day after the release; amounts and rates unchanged"
					}
					fmt.Fprintf(a.stdout, "  settles on    %s (%s)\n", cycle.SettlementDate.Format(time.DateOnly), note)
				}
				if cycle.ClosedAt != nil {
					fmt.Fprintf(a.stdout, "  closed        %s by %s\n", cycle.ClosedAt.Format(time.RFC3339), cycle.ClosedBy)
				}
				if cycle.ApprovedAt != nil {
					fmt.Fprintf(a.stdout, "  approved      %s by %s\n", cycle.ApprovedAt.Format(time.RFC3339), cycle.ApprovedBy)
				}
				if cycle.ReleasedAt != nil {
					fmt.Fprintf(a.stdout, "  released      %s by %s\n", cycle.ReleasedAt.Format(time.RFC3339), cycle.ReleasedBy)
				}
				for _, file := range cycle.Files {
					fmt.Fprintf(a.stdout, "  file          %s\n", file)
				}
				for _, p := range cycle.SplitPayments {
					places, err := payout.RailMinorUnit(payout.PayoutAccountState{Method: payout.PayPal, Currency: p.Currency})
					if err != nil {
						return err
					}
					amounts := make([]string, len(p.Items))
					for i, item := range p.Items {
						amounts[i] = item.Amount.StringFixed(places)
					}
					usd := ""
					if p.Currency != "USD" {
						usd = " (" + p.AmountUSD.StringFixed(2) + " USD)"
					}
					fmt.Fprintf(a.stdout, "  split         %s %s %s %s%s sent as %d PayPal items: %s\n", p.SellerID, p.PaymentID, p.Amount.StringFixed(places), p.Currency,
						usd, len(p.Items), strings.Join(amounts, " + "))
				}
				for _, r := range cycle.Returns {
					id := r.PaymentID
					if r.ItemID != "" {
						id = r.ItemID + " (PayPal item of " + r.PaymentID + ")"
					}
					fmt.Fprintf(a.stdout, "  returned      %s %s %s USD (%s) on %s\n", r.SellerID, id, r.AmountUSD.StringFixed(2), r.Reason,
						r.ReturnedAt.Format(time.DateOnly))
				}
				if _, err := os.Stat(cyclereport.Path(a.config.Out, month, false)); err == nil {
					fmt.Fprintf(a.stdout, "  workbook      %s\n", cyclereport.Path(a.config.Out, month, false))
				}
				printTotals(a.stdout, cycle.Totals)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&monthText, "month", "", "payment month, YYYY-MM")
	a.addJSONFlag(cmd)
	return cmd
}

// printTotals writes a cycle's summary table: paid, withheld, held by
// reason, carried.
func printTotals(w io.Writer, t store.Totals) {
	table := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(label string, count int64, amount decimal.Decimal) {
		fmt.Fprintf(table, "  %s\t%d\t%s\t\n", label, count, amount.StringFixed(2))
	}
	fmt.Fprintln(table, "\taccounts\tUSD\t")
	row("evaluated", t.Accounts, t.Balance)
	row("paid", t.Paid.Count, t.Paid.Amount)
	for _, key := range slices.Sorted(maps.Keys(t.ByMethod)) {
		row("  by "+key, t.ByMethod[key].Count, t.ByMethod[key].Amount)
	}
	withheldCount := int64(0)
	for _, r := range t.ByRate {
		if r.Withheld.IsPositive() {
			withheldCount += r.Count
		}
	}
	row("withheld (US tax)", withheldCount, t.Withheld)
	for _, key := range slices.Sorted(maps.Keys(t.ByRate)) {
		r := t.ByRate[key]
		if r.Withheld.IsPositive() {
			row("  at "+key, r.Count, r.Withheld)
		}
	}
	row("held", t.Held.Count, t.Held.Amount)
	for _, reason := range payout.Reasons {
		if b, ok := t.ByReason[string(reason)]; ok && reason.Held() {
			row("  "+string(reason), b.Count, b.Amount)
		}
	}
	row("carried", t.Carried.Count, t.Carried.Amount)
	for _, reason := range payout.Reasons {
		if b, ok := t.ByReason[string(reason)]; ok && !reason.Held() {
			row("  "+string(reason), b.Count, b.Amount)
		}
	}
	table.Flush()
}

func (a *app) cycleApproveCommand() *cobra.Command {
	var monthText, actor string
	cmd := &cobra.Command{
		Use:   "approve --month YYYY-MM --by OPERATOR",
		Short: "Approve a cycle awaiting approval (maker-checker: a finance approver other than the operator who closed it)",
		Long: "Approve a cycle awaiting approval (policy \"approval\": true). --by names the approving operator by user name; it must hold\n" +
			"the finance_approver role and must not be the operator who closed the cycle. Operators are compared by id, so no\n" +
			"spelling of the closer's name (\"operator:alice\", \"Alice\", \" alice\") approves a cycle alice closed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			month, err := monthFlag(monthText)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("by") {
				_, err := cycleOperator(cmd, nil, actor, true)
				return err
			}
			return a.withServices(cmd, func(s *services) error {
				by, err := cycleOperator(cmd, s, actor, true)
				if err != nil {
					return err
				}
				if err := a.cycles(s).Approve(cmd.Context(), month, by.OperatorID); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "cycle %s approved by %s: it can be released\n", payout.MonthName(month), by.Name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&monthText, "month", "", "payment month, YYYY-MM")
	operatorFlag(cmd, &actor, "the approving finance approver's operator user name (required)")
	return cmd
}

func (a *app) cycleReleaseCommand() *cobra.Command {
	var monthText, actor string
	cmd := &cobra.Command{
		Use:   "release --month YYYY-MM",
		Short: "Release a closed (and, with maker-checker, approved) cycle: write its payment files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			month, err := monthFlag(monthText)
			if err != nil {
				return err
			}
			return a.withServices(cmd, func(s *services) error {
				by, err := cycleOperator(cmd, s, actor, false)
				if err != nil {
					return err
				}
				_, done := a.progress("releasing "+payout.MonthName(month)+": payment files, manifest, workbook", "")
				result, err := a.cycles(s).Release(cmd.Context(), month, by)
				done()
				if err != nil {
					return err
				}
				if a.jsonOutput {
					return a.printJSON(result)
				}
				if result.AlreadyReleased {
					fmt.Fprintf(a.stdout, "cycle %s was already released (by an earlier or concurrent run): nothing to do; its files match the manifest\n", result.Month)
					if len(result.Rewritten) > 0 {
						fmt.Fprintf(a.stdout, "  written again from the ledger (they were missing; now with their manifest sha256): %s\n", strings.Join(result.Rewritten, ", "))
					}
				} else {
					fmt.Fprintf(a.stdout, "cycle %s released (payments loaded in %.2f s, files written and verified in %.2f s, recorded in %.2f s)\n",
						result.Month, result.LoadSeconds, result.FilesSeconds, result.CommitSeconds)
				}
				if result.Late() {
					fmt.Fprintf(a.stdout, "  released on or after the payment date %s: every file settles on %s (the next banking day after the release); amounts and rates unchanged\n",
						result.PaymentDate, result.SettlementDate)
				} else {
					fmt.Fprintf(a.stdout, "  settles on the payment date %s\n", result.SettlementDate)
				}
				for _, file := range result.Files {
					fmt.Fprintf(a.stdout, "  %-40s %6d records  %14s %s\n", file.Name, file.Records, file.ControlTotal.StringFixed(2), file.Currency)
				}
				fmt.Fprintf(a.stdout, "  manifest: %s\n", result.ManifestPath)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&monthText, "month", "", "payment month, YYYY-MM")
	operatorFlag(cmd, &actor, "the operator who releases the files (an operator's user name); without it the release is payrun's own (the system principal)")
	a.addJSONFlag(cmd)
	return cmd
}
