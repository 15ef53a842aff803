package sim

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/store"
)

// Options describe a seeded simulation.
type Options struct {
	Seed       uint64
	Publishers int
	Months     int
	// LinesPerMonth of generated earnings (default 50 per publisher).
	LinesPerMonth int64
	// FirstMonth is the first payment month (default 2026-11).
	FirstMonth time.Time
	Policy     payout.Policy
	OutDir     string
	Release    release.Config
	// Faults crash every close at a point drawn from the seed (or at
	// Faults.Point) and require the restarted close to equal a clean one.
	Faults Faults
}

// CycleReport is one cycle's outcome, as printed and written.
type CycleReport struct {
	Month    string              `json:"month"`
	State    string              `json:"state"`
	Totals   store.Totals        `json:"totals"`
	Returned decimal.Decimal     `json:"returned"`
	Workbook string              `json:"workbook"`
	Files    []release.File      `json:"files"`
	Imported ledger.ImportResult `json:"-"`
}

// fxRates are the simulated cycle rates (units per USD), nudged per month.
var fxRates = map[string]string{"EUR": "0.9234", "GBP": "0.7911", "HUF": "361.25", "SEK": "10.612", "PLN": "3.9871", "BRL": "5.6012", "JPY": "151.37"}

// Run simulates opts.Months payment months on the database behind s: it
// populates the marketplace, then for each month imports the sales that
// mature into it, plays the month's activity and its month-end edge cases,
// closes the cycle (crashing it first when faults are on), loads the FX
// rates, releases the files and writes the workbook and result.json,
// checking every invariant after each step. The same options give the same
// bytes in every output. Errors: *InvariantError (naming the seed) for a
// broken invariant, or the failing service's error.
func Run(ctx context.Context, s *Services, opts Options, progress io.Writer) ([]CycleReport, error) {
	if err := opts.Faults.Check(); err != nil {
		return nil, err
	}
	if opts.FirstMonth.IsZero() {
		opts.FirstMonth = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.LinesPerMonth == 0 {
		opts.LinesPerMonth = int64(opts.Publishers) * 50
	}
	say := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", args...)
		}
	}
	opts.Release.OutDir = opts.OutDir
	cycler := &Cycler{S: s, Seed: opts.Seed, Policy: opts.Policy, Release: opts.Release, Faults: opts.Faults, Log: say}
	say("populating %d publishers (seed %d)", opts.Publishers, opts.Seed)
	profiles, err := Populate(ctx, s, opts.Seed, opts.Publishers, opts.FirstMonth)
	if err != nil {
		return nil, err
	}
	activity := newActivity(s, opts.Seed, profiles, opts.OutDir)
	var reports []CycleReport
	for i := 0; i < opts.Months; i++ {
		month := opts.FirstMonth.AddDate(0, i, 0)
		sales := month.AddDate(0, -2, 0)
		imported, err := ImportMonth(ctx, s, opts.Seed, opts.Publishers, opts.LinesPerMonth, sales)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", sales.Format("2006-01"), err)
		}
		say("%s: imported %d earnings lines of %s", payout.MonthName(month), imported.Imported, sales.Format("2006-01"))
		if i == 0 {
			if err := Showcase(ctx, s, month); err != nil {
				return nil, err
			}
		}
		if err := activity.month(ctx, month, i); err != nil {
			return nil, fmt.Errorf("activity before %s (seed %d): %w", payout.MonthName(month), opts.Seed, err)
		}
		report, err := closeAndRelease(ctx, s, cycler, opts, month)
		if err != nil {
			return nil, err
		}
		report.Imported = imported
		reports = append(reports, report)
	}
	return reports, nil
}

func closeAndRelease(ctx context.Context, s *Services, cycler *Cycler, opts Options, month time.Time) (CycleReport, error) {
	calendar := opts.Policy.CalendarFor(month)
	s.Clock.Set(calendar.CloseAt)
	report := CycleReport{Month: payout.MonthName(month)}
	cycler.log("%s: closing the cycle", report.Month)
	result, err := cycler.Close(ctx, month)
	if err != nil {
		return report, err
	}
	var rates strings.Builder
	rates.WriteString(release.FXHeader + "\n")
	for _, currency := range []string{"BRL", "EUR", "GBP", "HUF", "JPY", "PLN", "SEK"} {
		rate := decimal.RequireFromString(fxRates[currency]).Mul(decimal.New(1000+int64(month.Month()), -3)).Round(6)
		fmt.Fprintf(&rates, "%s,%s,%s,simulated reference rate\n", currency, rate, calendar.CloseAt.Format(time.DateOnly))
	}
	if _, err := release.ImportFX(ctx, s.DB, month, strings.NewReader(rates.String()), s.Clock.Now()); err != nil {
		return report, err
	}
	s.Clock.Set(calendar.CloseAt.Add(3 * time.Hour))
	if opts.Policy.Approval {
		if err := cycler.Approve(ctx, month, ""); err != nil {
			return report, err
		}
	}
	cycler.log("%s: releasing: payment files, manifest, workbook, result.json", report.Month)
	released, err := cycler.ReleaseCycle(ctx, month)
	if err != nil {
		return report, err
	}
	report.Files = released.Files
	report.Workbook = cyclereport.Path(opts.OutDir, month, false)
	cycle, err := s.Store.Cycle(ctx, month)
	if err != nil {
		return report, err
	}
	report.State, report.Totals = cycle.State, result.Totals
	if err := s.DB.GetContext(ctx, &report.Returned, `SELECT coalesce(sum(amount_usd), 0) FROM payout_returns WHERE recorded_at >= $1 AND recorded_at < $2`,
		month.AddDate(0, -1, 0), month); err != nil {
		return report, err
	}
	return report, nil
}

// Showcase adds four hand-made publishers whose payable amounts sit exactly
// at, and just under, the threshold (SPEC §3.2: exactly $50.00 is paid,
// $49.99 carried), and one whose refunds exceed its sales.
func Showcase(ctx context.Context, s *Services, month time.Time) error {
	lines := []string{}
	r := rand.New(rand.NewPCG(uint64(month.Unix()), 0x73686f77))
	for _, c := range []struct {
		seller, country, market, amount string
		treaty                          bool
	}{
		{"SHOW-AT-50", "US", "GB", "50.00", false},
		{"SHOW-UNDER-50", "US", "GB", "49.999999", false},
		{"SHOW-W8-AT-50", "DE", "US", "71.43", false},    // 30% of 71.43 = 21.43 → pays 50.00
		{"SHOW-W8-UNDER-50", "DE", "US", "71.42", false}, // 21.43 withheld → 49.99 carried
		{"SHOW-NEGATIVE", "GB", "GB", "-35.50", true},
	} {
		account, err := ledger.CreateAccount(ctx, s.DB, ledger.NewAccount{SellerID: c.seller, Type: ledger.Individual, RegistrationCountry: c.country, DisplayName: c.seller}, s.Clock.Now())
		if err != nil {
			return err
		}
		p := Profile{SellerID: c.seller, AccountID: account.ID, Country: c.country, Method: payout.Bank, Treaty: c.treaty, Form: "W-8BEN"}
		if c.country == "US" {
			p.Form = "W-9"
		}
		for _, step := range []func(Profile) error{
			func(p Profile) error { return s.status(ctx, p) },
			func(p Profile) error { return s.acceptAgreement(ctx, p, 1) },
			func(p Profile) error { return s.acceptAgreement(ctx, p, 2) },
			func(p Profile) error { return s.payoutAccount(ctx, r, p, false) },
			func(p Profile) error { return s.verify(ctx, p) },
			func(p Profile) error { return s.taxForm(ctx, p, s.Clock.Now().AddDate(0, 0, -10)) },
		} {
			s.Clock.Set(s.Clock.Now().Add(time.Minute)) // each step after the one before
			if err := step(p); err != nil {
				return fmt.Errorf("showcase %s: %w", c.seller, err)
			}
		}
		kind := "purchase"
		if strings.HasPrefix(c.amount, "-") {
			kind = "refund"
		}
		at := month.AddDate(0, -1, -20)
		lines = append(lines, fmt.Sprintf("%s-1,%s,app,%s,%s,%s,%s", c.seller, c.seller, kind, c.market, at.Format(time.RFC3339), c.amount))
	}
	body := "transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount\n" + strings.Join(lines, "\n") + "\n"
	options := s.Import
	options.SourceName, options.Clock = "showcase.csv", s.Clock.Now
	_, err := ledger.Import(ctx, s.DB, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }, options)
	return err
}

// result.json (issue contract): one entry per evaluated account. Written by
// package cyclereport, which `payrun returns import` also uses to write it
// again when a released cycle's payments come back.
type (
	accountResult = cyclereport.AccountResult
	cycleResult   = cyclereport.Result
)
