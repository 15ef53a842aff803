package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
)

// payoutsCommand is `payrun payouts`: a publisher's payouts as it sees them
// in the admin API (issue 20), from package payout/publisher.
func (a *app) payoutsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "payouts", Short: "A publisher's payouts: balance by state and next payment, payments, transactions"}
	cmd.AddCommand(a.payoutsSummaryCommand(), a.payoutsPaymentsCommand(), a.payoutsTransactionsCommand(), a.payoutsExportCommand())
	return cmd
}

// publisher is the payouts service over the command's stores, with the
// configured policy (PAYRUN_POLICY): the one the next close records.
func (a *app) publisher(s *services) *publisher.Service {
	return &publisher.Service{DB: s.db, Store: s.cycles, Clock: a.now, Policy: func() (payout.Policy, error) { return a.policyFrom("") }}
}

// payoutFlags names the flag of each filter the domain's field errors name.
var payoutFlags = map[string]string{"year": "--year", "status": "--status", "from": "--from", "to": "--to", "state": "--state",
	"revenue_source": "--revenue-source", "market": "--market", "transaction_type": "--type", "cursor": "--cursor", "limit": "--limit"}

// flagError makes the domain's refusal of a filter a usage error naming
// the flag (exit code 2).
func flagError(err error) error {
	var field *fielderr.Error
	if errors.As(err, &field) {
		if flag, ok := payoutFlags[field.Path]; ok {
			return usagef("%s: %s", flag, field.Message)
		}
	}
	return err
}

func (a *app) payoutsSummaryCommand() *cobra.Command {
	var seller string
	cmd := &cobra.Command{
		Use:   "summary --seller S",
		Short: "The balance by state as of now, and the next payment estimate (the close's own decision)",
		Long: "The publisher's ledger balance split by what happens to each part next: unprocessed (not available yet),\n" +
			"upcoming (enters the next cycle), held (with each reason and what unblocks it), carried (below the threshold:\n" +
			"how much more it needs) and returned; they add up to the balance. Beside them what is in transit and the\n" +
			"year's sent and withheld, and the next payment: the close's decision as if the next cycle closed now.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seller == "" {
				return usagef("--seller is required")
			}
			return a.withAccount(cmd, seller, func(s *services, account ledger.Account) error {
				summary, err := a.publisher(s).Summary(cmd.Context(), account.ID)
				if err != nil {
					return err
				}
				if a.jsonOutput {
					return a.printJSON(summary)
				}
				printSummary(a.stdout, summary)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&seller, "seller", "", "seller id")
	a.addJSONFlag(cmd)
	return cmd
}

// printSummary shows a summary as a compact block: the balance, one line
// per state with the reasons and their remedies under the state they
// explain, then the next payment.
func printSummary(w io.Writer, s publisher.Summary) {
	line := func(indent, label, amount, note string) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%s%-*s %12s  %s", indent, 15-len(indent), label, amount, note), " "))
	}
	reasons := func(views []publisher.ReasonView) {
		for _, r := range views {
			fmt.Fprintf(w, "%30s- %s: %s\n", "", r.Reason, r.Remedy)
		}
	}
	reconciled := "USD, reconciled with the ledger"
	if !s.Reconciled {
		reconciled = "USD, NOT reconciled with the ledger: report it"
	}
	fmt.Fprintf(w, "payouts of %s as of %s\n", s.SellerID, s.AsOf.Format(time.RFC3339))
	line("", "balance", s.Balance, reconciled)
	line("  ", "unprocessed", s.Unprocessed.Amount, "not available yet")
	for _, part := range s.Unprocessed.Parts {
		line("  ", "", part.Amount, fmt.Sprintf("  available %s (%s)", part.AvailableOn, plural(part.Lines, "line")))
	}
	upcoming := fmt.Sprintf("enters the next cycle (%s available", plural(s.Upcoming.Lines, "line"))
	if s.Upcoming.Since != "" {
		upcoming += " since " + s.Upcoming.Since
	}
	upcoming += ")"
	if s.Upcoming.Remainder != "0.00" {
		upcoming += ", with the sub-cent remainder " + s.Upcoming.Remainder + " of the last payout"
	}
	line("  ", "upcoming", s.Upcoming.Amount, upcoming)
	held := ""
	if s.Held.Cycle != "" {
		held = "cycle " + s.Held.Cycle + " held it:"
	}
	line("  ", "held", s.Held.Amount, held)
	reasons(s.Held.Reasons)
	carried := ""
	if s.Carried.Cycle != "" {
		carried = "cycle " + s.Carried.Cycle + " carried it"
		if s.Carried.Needed != "" {
			carried += fmt.Sprintf(" (needs %s more to reach the %s threshold)", s.Carried.Needed, s.Carried.Threshold)
		}
		carried += ":"
	}
	line("  ", "carried", s.Carried.Amount, carried)
	reasons(s.Carried.Reasons)
	returned := ""
	if len(s.Returned.Payments) > 0 {
		returned = "came back, enters the next cycle:"
	}
	line("  ", "returned", s.Returned.Amount, returned)
	for _, r := range s.Returned.Payments {
		fmt.Fprintf(w, "%30s- %s (cycle %s): %s returned %s, %s\n", "", r.PaymentID, r.Cycle, r.Amount, r.ReturnedAt.Format(time.DateOnly), r.Reason)
	}
	line("", "in transit", s.InTransit.Amount, plural(s.InTransit.Payments, "payment")+" released, not settled")
	line("", fmt.Sprintf("sent in %d", s.YearToDate.Year), s.YearToDate.Sent, "withheld "+s.YearToDate.Withheld)

	n := s.NextPayment
	status := n.Status
	if status == "none" {
		status = "none, nothing to pay"
	}
	fmt.Fprintf(w, "next payment   cycle %s: %s\n", n.Cycle, status)
	reasons(n.Reasons)
	if n.Status != "none" {
		line("  ", "balance", n.Balance, "")
		withheld := ""
		if n.Rate != "" {
			withheld = "at " + n.Rate
			if n.RateReason != "" {
				withheld += " (" + n.RateReason + ")"
			}
		}
		if n.Status != "paid" {
			withheld += ", if it were paid"
		}
		line("  ", "withheld", n.Withheld, strings.TrimPrefix(withheld, ", "))
		payable := "USD"
		if n.Threshold != "" {
			payable += " (threshold " + n.Threshold + ")"
		}
		if n.Method != "" {
			payable += ", by " + n.Method
		}
		line("  ", "payable", n.PayableUSD, payable)
		if n.Payable != "" {
			converted := n.Currency
			if n.FXRate != "" && n.Currency != "USD" {
				converted += " at " + n.FXRate + " per USD"
			}
			line("  ", "", n.Payable, converted)
		}
	}
	line("  ", "payment date", n.PaymentDate, "(cutoff "+n.Cutoff.Format(time.RFC3339)+")")
}

// plural is "1 line", "2 lines".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func (a *app) payoutsPaymentsCommand() *cobra.Command {
	var seller, status string
	var year int
	cmd := &cobra.Command{
		Use:   "payments --seller S [--year YYYY] [--status sent|returned|settled]",
		Short: "Every payment, newest first: date, method, masked destination, amounts, rate, status and PayPal items",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seller == "" {
				return usagef("--seller is required")
			}
			filter := publisher.PaymentFilter{Year: year, Status: status}
			if err := filter.Check(); err != nil {
				return flagError(err)
			}
			return a.withAccount(cmd, seller, func(s *services, account ledger.Account) error {
				service := a.publisher(s)
				payments := []publisher.Payment{}
				cursor := ""
				for {
					page, next, err := service.Payments(cmd.Context(), account.ID, filter, cursor, publisher.MaxPageSize)
					if err != nil {
						return flagError(err)
					}
					payments = append(payments, page...)
					if next == "" {
						break
					}
					cursor = next
				}
				if a.jsonOutput {
					return a.printJSON(admin.Page[publisher.Payment]{Items: payments})
				}
				printPayments(a.stdout, payments)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&seller, "seller", "", "seller id")
	cmd.Flags().IntVar(&year, "year", 0, "only payments scheduled in this year")
	cmd.Flags().StringVar(&status, "status", "", "only payments with this status: "+strings.Join(publisher.PaymentStatuses, ", "))
	a.addJSONFlag(cmd)
	return cmd
}

// printPayments shows payments as a table, each PayPal item on a row under
// its payment.
func printPayments(w io.Writer, payments []publisher.Payment) {
	if len(payments) == 0 {
		fmt.Fprintln(w, "no payments")
		return
	}
	table := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(table, "PAYMENT\tCYCLE\tDATE\tMETHOD\tDESTINATION\tUSD\tWITHHELD\tRATE\tAMOUNT\tFX RATE\tSTATUS")
	for _, p := range payments {
		date := p.PaymentDate
		if p.PaymentDate != p.ScheduledDate {
			date += " (scheduled " + p.ScheduledDate + ")"
		}
		status := p.Status
		if p.ReturnedUSD != "" {
			status += " (" + p.ReturnedUSD + " USD: " + p.ReturnReason + ")"
		}
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s %s\t%s\t%s\n", p.PaymentID, p.Cycle, date, p.Method, p.Destination,
			p.AmountUSD, p.Withheld, p.Rate, p.AmountInCurrency, p.Currency, p.FXRate, status)
		for _, item := range p.Items {
			state := "sent"
			if item.Returned {
				state = "returned: " + item.ReturnReason
			}
			fmt.Fprintf(table, "  item %s\t\t\t\t\t%s\t\t\t%s %s\t\t%s\n", item.ItemID, item.AmountUSD, item.AmountInCurrency, p.Currency, state)
		}
	}
	table.Flush()
}

func (a *app) payoutsTransactionsCommand() *cobra.Command {
	var seller, cursor string
	var filter publisher.TransactionFilter
	var limit int
	cmd := &cobra.Command{
		Use:   "transactions --seller S [--from YYYY-MM] [--to YYYY-MM] [--state S] [--revenue-source R] [--market CC] [--type T] [--limit N]",
		Short: "Earnings lines with their states, newest available first: the cycle and payment that paid each, its share of withholding",
		Long: "Earnings lines, newest available first, one page of --limit lines (continue with the --cursor printed last).\n" +
			"States: " + strings.Join(publisher.LineStates, ", ") + ".\n" +
			"--from and --to are months of availability (the cycle window each line falls in), both included, at most\n" +
			fmt.Sprintf("%d months apart.", publisher.MaxTransactionMonths),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seller == "" {
				return usagef("--seller is required")
			}
			if limit < 1 || limit > publisher.MaxPageSize {
				return usagef("--limit: %d is outside 1..%d", limit, publisher.MaxPageSize)
			}
			return a.withAccount(cmd, seller, func(s *services, account ledger.Account) error {
				lines, next, err := a.publisher(s).Transactions(cmd.Context(), account.ID, filter, cursor, limit)
				if err != nil {
					return flagError(err)
				}
				if a.jsonOutput {
					return a.printJSON(admin.Page[publisher.Transaction]{Items: lines, NextCursor: next})
				}
				printTransactions(a.stdout, lines)
				if next != "" {
					fmt.Fprintf(a.stdout, "more: --cursor %s\n", next)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&seller, "seller", "", "seller id")
	cmd.Flags().StringVar(&filter.From, "from", "", "first month of availability, YYYY-MM")
	cmd.Flags().StringVar(&filter.To, "to", "", "last month of availability, YYYY-MM")
	cmd.Flags().StringVar(&filter.State, "state", "", "only lines in this state")
	cmd.Flags().StringVar(&filter.RevenueSource, "revenue-source", "", "only this revenue source: "+strings.Join(ledger.RevenueSources, ", "))
	cmd.Flags().StringVar(&filter.Market, "market", "", "only this market (two upper-case letters)")
	cmd.Flags().StringVar(&filter.TransactionType, "type", "", "only this transaction type: "+strings.Join(ledger.TransactionTypes, ", "))
	cmd.Flags().IntVar(&limit, "limit", 50, fmt.Sprintf("lines per page, 1..%d", publisher.MaxPageSize))
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue after the page that printed it")
	a.addJSONFlag(cmd)
	return cmd
}

// printTransactions shows earnings lines as a table.
func printTransactions(w io.Writer, lines []publisher.Transaction) {
	if len(lines) == 0 {
		fmt.Fprintln(w, "no transactions")
		return
	}
	table := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(table, "AVAILABLE\tTRANSACTION\tSOURCE\tTYPE\tMARKET\tAMOUNT\tSTATE\tCYCLE\tPAYMENT\tWITHHELD")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, t := range lines {
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.AvailableAt.Format(time.DateOnly), t.TransactionID, t.RevenueSource,
			t.TransactionType, t.Market, t.Amount, t.State, dash(t.Cycle), dash(t.PaymentID), dash(t.Withheld))
	}
	table.Flush()
}
