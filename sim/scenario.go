package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/tax"
)

// MaxScenarioEvents bounds a scenario file: scenarios are stories a person
// reads, not bulk data (generated batches carry the volume).
const MaxScenarioEvents = 10_000

// MaxGeneratedLines bounds one generated earnings batch.
const MaxGeneratedLines = 1_000_000

// Scenario is a scripted story (see SCENARIOS.md for the format): a start
// instant, a policy, timestamped events played through payrun's own
// services, and the outcomes expected per cycle and account.
type Scenario struct {
	Name  string `json:"name"`
	Story string `json:"story"`
	// Start is where the clock begins (default: the first event's time).
	Start *time.Time `json:"start,omitempty"`
	// Policy overrides payout.DefaultPolicy field by field.
	Policy json.RawMessage `json:"policy,omitempty"`
	// HoldingDays is the holding period of lines without eligible_at
	// (default 30).
	HoldingDays *int `json:"holding_days,omitempty"`
	// Seed seeds generated batches and the crash points of --faults.
	Seed   uint64             `json:"seed,omitempty"`
	Events []Event            `json:"events"`
	Expect []CycleExpectation `json:"expect,omitempty"`
}

// Event is one operation. Which fields it uses depends on Do (see
// SCENARIOS.md); unknown fields are refused when the file is read.
type Event struct {
	At   *time.Time `json:"at,omitempty"`
	Do   string     `json:"do"`
	Note string     `json:"note,omitempty"`
	// ExpectError makes the event's refusal the expected outcome: the
	// error must contain this text (case-insensitive).
	ExpectError string `json:"expect_error,omitempty"`

	Seller  string `json:"seller,omitempty"`
	Type    string `json:"type,omitempty"`
	Country string `json:"country,omitempty"`
	Status  string `json:"status,omitempty"`
	Step    string `json:"step,omitempty"`
	State   string `json:"state,omitempty"`

	Agreement string `json:"agreement,omitempty"`
	Version   int    `json:"version,omitempty"`
	Required  *bool  `json:"required,omitempty"`
	GraceDays int    `json:"grace_days,omitempty"`

	Form      *tax.Submission `json:"form,omitempty"`
	LegalName string          `json:"legal_name,omitempty"`
	TIN       string          `json:"tin,omitempty"`
	Matched   *bool           `json:"matched,omitempty"`

	PayoutAccount *payout.AccountInput `json:"payout_account,omitempty"`
	Result        string               `json:"result,omitempty"`
	Reason        string               `json:"reason,omitempty"`
	DelayHours    *int                 `json:"delay_hours,omitempty"`
	IncludeUS     bool                 `json:"include_us,omitempty"`

	On *bool `json:"on,omitempty"`

	Lines    []Line    `json:"lines,omitempty"`
	Generate *Generate `json:"generate,omitempty"`

	Month string            `json:"month,omitempty"`
	Rates map[string]string `json:"rates,omitempty"`
	By    string            `json:"by,omitempty"`
	// import_fx: load rates beyond the policy's fx_max_change.
	ConfirmChange bool `json:"confirm_change,omitempty"`

	// import_return: the sellers whose payments of Month came back, the
	// R-code or PayPal status, and when PayPal processed the payment.
	Sellers     []string   `json:"sellers,omitempty"`
	Code        string     `json:"code,omitempty"`
	ProcessedAt *time.Time `json:"processed_at,omitempty"`
	// Item: only this PayPal item (from 1) of a payment sent as several
	// items comes back (default: every item).
	Item int `json:"item,omitempty"`
}

// Line is one inline earnings line. Defaults: id "<seller>-<n>", source
// "app", type purchase (refund when negative), transaction_at the event's
// time, eligible_at transaction_at + the holding period.
type Line struct {
	ID            string     `json:"id,omitempty"`
	Seller        string     `json:"seller"`
	Source        string     `json:"source,omitempty"`
	Type          string     `json:"type,omitempty"`
	Market        string     `json:"market"`
	Amount        string     `json:"amount"`
	TransactionAt *time.Time `json:"transaction_at,omitempty"`
	EligibleAt    *time.Time `json:"eligible_at,omitempty"`
}

// Generate is a generated batch: Lines sales spread over [From, To) among
// Sellers, in Markets, priced like the seeded marketplace, a few refunded,
// drawn from Seed (default the scenario's).
type Generate struct {
	Sellers       []string   `json:"sellers"`
	Lines         int        `json:"lines"`
	From          time.Time  `json:"from"`
	To            time.Time  `json:"to"`
	Markets       []string   `json:"markets,omitempty"`
	RefundPercent int        `json:"refund_percent,omitempty"`
	Seed          *uint64    `json:"seed,omitempty"`
	EligibleAt    *time.Time `json:"eligible_at,omitempty"`
}

// CycleExpectation is what a cycle's result.json must show.
type CycleExpectation struct {
	Month string `json:"month"`
	State string `json:"state,omitempty"`
	// SettlementDate is the date the released files settle on (YYYY-MM-DD):
	// manifest.json's settlement_date after a late release, otherwise the
	// payment date.
	SettlementDate string                        `json:"settlement_date,omitempty"`
	Totals         map[string]string             `json:"totals,omitempty"`
	Accounts       map[string]AccountExpectation `json:"accounts,omitempty"`
}

// AccountExpectation is what one account's entry must show; empty fields
// are not compared. Status "none" means the cycle has no entry for the
// account (nothing to evaluate). Amounts compare as decimals.
type AccountExpectation struct {
	Status     string    `json:"status,omitempty"`
	Reasons    *[]string `json:"reasons,omitempty"`
	Balance    string    `json:"balance,omitempty"`
	USBase     string    `json:"us_base,omitempty"`
	Rate       string    `json:"rate,omitempty"`
	RateReason *string   `json:"rate_reason,omitempty"`
	Withheld   string    `json:"withheld,omitempty"`
	Paid       string    `json:"paid,omitempty"`
	Carried    string    `json:"carried,omitempty"`
	Currency   string    `json:"currency,omitempty"`
	PaidIn     string    `json:"paid_in_currency,omitempty"`
	Method     string    `json:"method,omitempty"`
	File       string    `json:"file,omitempty"`
	PaymentID  string    `json:"payment_id,omitempty"`
	// Returned and ReturnReason: the payment came back (SPEC §6.3).
	Returned     string `json:"returned,omitempty"`
	ReturnReason string `json:"return_reason,omitempty"`
	// PayPalItems are the amounts of the payment's items in the cycle's
	// PayPal files, in order: one for a payment under PayPal's per-item
	// maximum (sent under its payment id), several for one above it (sent
	// as <payment id>-1, -2, ...).
	PayPalItems *[]string `json:"paypal_items,omitempty"`
}

// LoadScenario reads a scenario file, refusing unknown fields.
func LoadScenario(path string) (Scenario, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, err
	}
	return ParseScenario(body)
}

// ParseScenario parses a scenario, refusing unknown fields and checking
// that every event names a known operation.
func ParseScenario(body []byte) (Scenario, error) {
	var sc Scenario
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&sc); err != nil {
		return sc, fmt.Errorf("scenario: %w", err)
	}
	if len(sc.Events) == 0 || len(sc.Events) > MaxScenarioEvents {
		return sc, fmt.Errorf("scenario: 1 to %d events, got %d", MaxScenarioEvents, len(sc.Events))
	}
	for i, e := range sc.Events {
		if _, ok := operations[e.Do]; !ok {
			return sc, fmt.Errorf("scenario: event %d: unknown operation %q (one of %s)", i+1, e.Do, strings.Join(operationNames(), ", "))
		}
	}
	return sc, nil
}

// Outcome is what a scenario run produced.
type Outcome struct {
	Months []string
	// Diffs lists every expectation the run did not meet, one per line.
	Diffs []string
}

// scenarioRun is one run's state.
type scenarioRun struct {
	s       *Services
	sc      Scenario
	cycler  *Cycler
	outDir  string
	seq     int
	months  map[string]bool
	diffs   []string
	holding time.Duration
}

type operation func(r *scenarioRun, ctx context.Context, e Event) error

var operations map[string]operation

func init() {
	operations = map[string]operation{
		"advance":               func(*scenarioRun, context.Context, Event) error { return nil },
		"create_account":        (*scenarioRun).createAccount,
		"set_status":            (*scenarioRun).setStatus,
		"verification_step":     (*scenarioRun).verificationStep,
		"publish_agreement":     (*scenarioRun).publishAgreement,
		"accept_agreement":      (*scenarioRun).acceptAgreement,
		"submit_tax_form":       (*scenarioRun).submitTaxForm,
		"change_tax_profile":    (*scenarioRun).changeTaxProfile,
		"tin_match":             (*scenarioRun).tinMatch,
		"set_payout_account":    (*scenarioRun).setPayoutAccount,
		"verify_payout_account": (*scenarioRun).verifyPayoutAccount,
		"auto_verify":           (*scenarioRun).autoVerify,
		"hold":                  (*scenarioRun).hold,
		"import_earnings":       (*scenarioRun).importEarnings,
		"import_fx":             (*scenarioRun).importFX,
		"import_return":         (*scenarioRun).importReturn,
		"close":                 (*scenarioRun).close,
		"approve":               (*scenarioRun).approve,
		"release":               (*scenarioRun).release,
	}
}

func operationNames() []string {
	names := make([]string, 0, len(operations))
	for name := range operations {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// ScenarioOptions configure a scenario run.
type ScenarioOptions struct {
	OutDir  string
	Release release.Config
	Faults  Faults
	Log     func(format string, args ...any)
}

// RunScenario plays a scenario on the (empty) database behind s, checking
// every invariant after each close and release, and writes the cycles'
// result.json, workbooks and files under opts.OutDir. It then compares the
// expectations with the result.json files: Outcome.Diffs lists each one not
// met (and each event whose expected refusal did not happen).
// Errors: *InvariantError, or an event that failed without expect_error.
func RunScenario(ctx context.Context, s *Services, sc Scenario, opts ScenarioOptions) (Outcome, error) {
	if err := opts.Faults.Check(); err != nil {
		return Outcome{}, err
	}
	policy := payout.DefaultPolicy()
	if len(sc.Policy) > 0 {
		var err error
		if policy, err = payout.ReadPolicy(bytes.NewReader(sc.Policy)); err != nil {
			return Outcome{}, fmt.Errorf("scenario policy: %w", err)
		}
	}
	opts.Release.OutDir = opts.OutDir
	r := &scenarioRun{s: s, sc: sc, outDir: opts.OutDir, months: map[string]bool{}, holding: 30 * 24 * time.Hour,
		cycler: &Cycler{S: s, Seed: sc.Seed, Policy: policy, Release: opts.Release, Faults: opts.Faults, Log: opts.Log}}
	if sc.HoldingDays != nil {
		r.holding = time.Duration(*sc.HoldingDays) * 24 * time.Hour
	}
	if sc.Start != nil {
		s.Clock.Set(*sc.Start)
	}
	for i, e := range sc.Events {
		if e.At != nil {
			if e.At.Before(s.Clock.Now()) {
				return Outcome{}, fmt.Errorf("event %d (%s): at %s is before the clock (%s): events must be in time order",
					i+1, e.Do, e.At.UTC().Format(time.RFC3339), s.Clock.Now().Format(time.RFC3339))
			}
			s.Clock.Set(*e.At)
		}
		err := operations[e.Do](r, ctx, e)
		var invariant *InvariantError
		switch {
		case errors.As(err, &invariant):
			return Outcome{}, err
		case e.ExpectError != "" && err == nil:
			r.diffs = append(r.diffs, fmt.Sprintf("event %d (%s %s): expected a refusal containing %q, it succeeded", i+1, e.Do, e.Seller, e.ExpectError))
		case e.ExpectError != "" && !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(e.ExpectError)):
			r.diffs = append(r.diffs, fmt.Sprintf("event %d (%s %s): expected a refusal containing %q, got: %v", i+1, e.Do, e.Seller, e.ExpectError, err))
		case e.ExpectError == "" && err != nil:
			return Outcome{}, fmt.Errorf("event %d (%s %s at %s): %w", i+1, e.Do, e.Seller, s.Clock.Now().Format(time.RFC3339), err)
		}
	}
	outcome := Outcome{Diffs: r.diffs}
	for month := range r.months {
		outcome.Months = append(outcome.Months, month)
	}
	sort.Strings(outcome.Months)
	diffs, err := CheckExpectations(opts.OutDir, sc.Expect)
	if err != nil {
		return outcome, err
	}
	outcome.Diffs = append(outcome.Diffs, diffs...)
	return outcome, nil
}

func (r *scenarioRun) account(seller string) (int64, error) {
	if seller == "" {
		return 0, errors.New("seller is required")
	}
	account, err := ledger.AccountBySellerID(context.Background(), r.s.DB, seller)
	if err != nil {
		return 0, fmt.Errorf("seller %s: %w", seller, err)
	}
	return account.ID, nil
}

func (r *scenarioRun) createAccount(ctx context.Context, e Event) error {
	kind := ledger.AccountType(e.Type)
	if kind == "" {
		kind = ledger.Individual
	}
	_, err := ledger.CreateAccount(ctx, r.s.DB, ledger.NewAccount{SellerID: e.Seller, Type: kind, RegistrationCountry: e.Country, DisplayName: e.Seller}, r.s.Clock.Now())
	return err
}

func (r *scenarioRun) setStatus(ctx context.Context, e Event) error {
	id, err := r.account(e.Seller)
	if err != nil {
		return err
	}
	return r.s.Store.SetAccountStatus(ctx, id, e.Status, actor(e, "operator"))
}

func (r *scenarioRun) verificationStep(ctx context.Context, e Event) error {
	id, err := r.account(e.Seller)
	if err != nil {
		return err
	}
	_, err = r.s.accountService().SetVerificationStep(ctx, accounts.System(actor(e, "simulator")), id, accounts.Step(e.Step), accounts.StepState(e.State))
	return err
}

func (r *scenarioRun) publishAgreement(ctx context.Context, e Event) error {
	required := e.Required == nil || *e.Required
	_, err := r.s.accountService().PublishAgreement(ctx, accounts.System(actor(e, "simulator")), accounts.AgreementVersion{
		Name: e.Agreement, Version: e.Version, PublishedAt: r.s.Clock.Now(), RequiredForPayout: required, GraceDays: e.GraceDays})
	return err
}

func (r *scenarioRun) acceptAgreement(ctx context.Context, e Event) error {
	id, err := r.account(e.Seller)
	if err != nil {
		return err
	}
	_, err = r.s.accountService().AcceptAgreement(ctx, accounts.System(actor(e, e.Seller)), id, e.Agreement, e.Version)
	return err
}

func (r *scenarioRun) submitTaxForm(ctx context.Context, e Event) error {
	id, err := r.account(e.Seller)
	if err != nil {
		return err
	}
	if e.Form == nil {
		return errors.New("submit_tax_form needs form")
	}
	_, err = r.s.Taxes.Submit(ctx, id, *e.Form, actor(e, e.Seller), r.s.Clock.Now())
	return err
}

func (r *scenarioRun) changeTaxProfile(ctx context.Context, e Event) error {
	id, err := r.account(e.Seller)
	if err != nil {
		return err
	}
	return r.s.Taxes.ChangeProfile(ctx, id, e.LegalName, e.TIN, actor(e, e.Seller), r.s.Clock.Now())
}

func (r *scenarioRun) tinMatch(ctx context.Context, e Event) error {
	id, err := r.account(e.Seller)
	if err != nil {
		return err
	}
	return r.s.Taxes.RecordTINMatch(ctx, id, e.Matched == nil || *e.Matched, actor(e, "irs-tin-matching"), r.s.Clock.Now())
}

func (r *scenarioRun) setPayoutAccount(ctx context.Context, e Event) error {
	id, err := r.account(e.Seller)
	if err != nil {
		return err
	}
	if e.PayoutAccount == nil {
		return errors.New("set_payout_account needs payout_account")
	}
	_, err = r.s.Store.SetPayoutAccount(ctx, id, *e.PayoutAccount, actor(e, e.Seller))
	return err
}

// verifyPayoutAccount records a verification result for the account's
// newest payout account.
func (r *scenarioRun) verifyPayoutAccount(ctx context.Context, e Event) error {
	id, err := r.account(e.Seller)
	if err != nil {
		return err
	}
	var newest *int64
	if err := r.s.DB.GetContext(ctx, &newest, `SELECT max(id) FROM payout_accounts WHERE account_id = $1`, id); err != nil {
		return err
	}
	if newest == nil {
		return fmt.Errorf("%s has no payout account", e.Seller)
	}
	result := e.Result
	if result == "" {
		result = payout.Verified
	}
	return r.s.Store.RecordVerification(ctx, *newest, result, e.Reason, actor(e, "bank"))
}

func (r *scenarioRun) autoVerify(ctx context.Context, e Event) error {
	delay := autoVerifyDelayDuration
	if e.DelayHours != nil {
		delay = time.Duration(*e.DelayHours) * time.Hour
	}
	_, err := r.s.Store.AutoVerify(ctx, delay, e.IncludeUS)
	return err
}

func (r *scenarioRun) hold(ctx context.Context, e Event) error {
	id, err := r.account(e.Seller)
	if err != nil {
		return err
	}
	if e.On == nil {
		return errors.New("hold needs on: true or false")
	}
	_, err = r.s.Store.SetHold(ctx, id, *e.On, actor(e, e.Seller))
	return err
}

func (r *scenarioRun) importEarnings(ctx context.Context, e Event) error {
	lines := e.Lines
	if e.Generate != nil {
		generated, err := r.generate(*e.Generate)
		if err != nil {
			return err
		}
		lines = append(lines, generated...)
	}
	if len(lines) == 0 {
		return errors.New("import_earnings needs lines or generate")
	}
	var body strings.Builder
	body.WriteString(strings.Join(ledger.EarningsHeader, ",") + "\n")
	now := r.s.Clock.Now()
	for _, l := range lines {
		r.seq++
		id, source, kind, at := l.ID, l.Source, l.Type, now
		if id == "" {
			id = fmt.Sprintf("%s-%d", l.Seller, r.seq)
		}
		if source == "" {
			source = "app"
		}
		if kind == "" {
			kind = "purchase"
			if strings.HasPrefix(l.Amount, "-") {
				kind = "refund"
			}
		}
		if l.TransactionAt != nil {
			at = *l.TransactionAt
		}
		eligible := at.Add(r.holding)
		if l.EligibleAt != nil {
			eligible = *l.EligibleAt
		}
		fmt.Fprintf(&body, "%s,%s,%s,%s,%s,%s,%s,%s\n", id, l.Seller, source, kind, l.Market, at.UTC().Format(time.RFC3339), l.Amount, eligible.UTC().Format(time.RFC3339))
	}
	text := body.String()
	options := r.s.Import
	options.SourceName = fmt.Sprintf("scenario-%d.csv", r.seq)
	options.Clock = r.s.Clock.Now
	_, err := ledger.Import(ctx, r.s.DB, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil }, options)
	return err
}

// generate draws a batch of sales (and a few refunds of them).
func (r *scenarioRun) generate(g Generate) ([]Line, error) {
	if len(g.Sellers) == 0 || g.Lines < 1 || g.Lines > MaxGeneratedLines || !g.From.Before(g.To) {
		return nil, fmt.Errorf("generate: sellers, 1 to %d lines and from < to are required", MaxGeneratedLines)
	}
	markets := g.Markets
	if len(markets) == 0 {
		markets = []string{"US", "GB", "DE", "JP", "BR"}
	}
	seed := r.sc.Seed
	if g.Seed != nil {
		seed = *g.Seed
	}
	rng := rand.New(rand.NewPCG(seed, uint64(g.From.Unix())^0x67656e))
	prices := []string{"0.99", "1.99", "4.99", "9.99", "19.99", "49.99"}
	span := g.To.Sub(g.From)
	lines := make([]Line, 0, g.Lines)
	for i := 0; i < g.Lines; i++ {
		at := g.From.Add(time.Duration(float64(span) * (float64(i) + rng.Float64()) / float64(g.Lines))).Truncate(time.Second)
		amount := decimal.RequireFromString(prices[rng.IntN(len(prices))]).Mul(decimal.RequireFromString("0.7"))
		line := Line{Seller: g.Sellers[rng.IntN(len(g.Sellers))], Market: markets[rng.IntN(len(markets))], Amount: amount.String(), TransactionAt: &at, EligibleAt: g.EligibleAt}
		if len(lines) > 0 && rng.IntN(100) < g.RefundPercent {
			earlier := lines[rng.IntN(len(lines))]
			line.Seller, line.Market, line.Amount = earlier.Seller, earlier.Market, "-"+strings.TrimPrefix(earlier.Amount, "-")
		}
		lines = append(lines, line)
	}
	return lines, nil
}

func (r *scenarioRun) importFX(ctx context.Context, e Event) error {
	month, err := payout.ParseMonth(e.Month)
	if err != nil {
		return err
	}
	var body strings.Builder
	body.WriteString(release.FXHeader + "\n")
	for _, currency := range slices.Sorted(maps.Keys(e.Rates)) {
		fmt.Fprintf(&body, "%s,%s,%s,scenario\n", currency, e.Rates[currency], r.s.Clock.Now().Format(time.DateOnly))
	}
	_, err = release.ImportFXRates(ctx, r.s.DB, month, strings.NewReader(body.String()), release.FXOptions{
		Now: r.s.Clock.Now(), By: actor(e, "simulator"), MaxChange: r.cycler.Policy.FXMaxChange, ConfirmChange: e.ConfirmChange})
	return err
}

// importReturn imports the return of month's payments to the event's
// sellers: the bank's ACH return file built from the cycle's released ACH
// file, or a PayPal status CSV (see ImportReturn and SCENARIOS.md).
func (r *scenarioRun) importReturn(ctx context.Context, e Event) error {
	month, err := payout.ParseMonth(e.Month)
	if err != nil {
		return fmt.Errorf("month: %w", err)
	}
	sellers := e.Sellers
	if e.Seller != "" {
		sellers = append([]string{e.Seller}, sellers...)
	}
	if len(sellers) == 0 {
		return errors.New("import_return needs seller or sellers")
	}
	spec := ReturnSpec{Month: month, Code: e.Code, Reason: e.Reason, ProcessedAt: e.ProcessedAt, Item: e.Item}
	for _, seller := range sellers {
		id, err := r.account(seller)
		if err != nil {
			return err
		}
		spec.AccountIDs = append(spec.AccountIDs, id)
	}
	r.seq++
	_, err = ImportReturn(ctx, r.s, r.outDir, spec, fmt.Sprintf("returns-%s-%d", r.s.Clock.Now().Format("20060102"), r.seq))
	return err
}

func (r *scenarioRun) monthOf(e Event) (time.Time, error) {
	month, err := payout.ParseMonth(e.Month)
	if err != nil {
		return month, fmt.Errorf("month: %w", err)
	}
	r.months[payout.MonthName(month)] = true
	return month, nil
}

// close closes a cycle at the event's time, or at the policy's close time
// when the event gives none and the clock is before it.
func (r *scenarioRun) close(ctx context.Context, e Event) error {
	month, err := r.monthOf(e)
	if err != nil {
		return err
	}
	if e.At == nil {
		r.s.Clock.Set(r.cycler.Policy.CalendarFor(month).CloseAt)
	}
	_, err = r.cycler.Close(ctx, month)
	return err
}

func (r *scenarioRun) approve(ctx context.Context, e Event) error {
	month, err := r.monthOf(e)
	if err != nil {
		return err
	}
	return r.cycler.Approve(ctx, month, e.By)
}

func (r *scenarioRun) release(ctx context.Context, e Event) error {
	month, err := r.monthOf(e)
	if err != nil {
		return err
	}
	if e.At == nil {
		r.s.Clock.Set(r.cycler.Policy.CalendarFor(month).CloseAt.Add(3 * time.Hour))
	}
	_, err = r.cycler.ReleaseCycle(ctx, month)
	return err
}

func actor(e Event, fallback string) string {
	if e.By != "" {
		return e.By
	}
	return fallback
}

// CheckExpectations compares expectations with the result.json files under
// outDir and returns one line per difference.
func CheckExpectations(outDir string, expectations []CycleExpectation) ([]string, error) {
	var diffs []string
	for _, want := range expectations {
		path := filepath.Join(outDir, "cycles", want.Month, "result.json")
		body, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			diffs = append(diffs, fmt.Sprintf("%s: expected a cycle, none was closed (no %s)", want.Month, path))
			continue
		}
		if err != nil {
			return nil, err
		}
		var got cycleResult
		if err := json.Unmarshal(body, &got); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if want.State != "" && want.State != got.State {
			diffs = append(diffs, fmt.Sprintf("%s: state: expected %s, got %s", want.Month, want.State, got.State))
		}
		cycleDir := filepath.Join(outDir, "cycles", want.Month)
		if want.SettlementDate != "" {
			settlement, err := settlementDate(cycleDir, got.PaymentDate)
			if err != nil {
				return nil, err
			}
			if settlement != want.SettlementDate {
				diffs = append(diffs, fmt.Sprintf("%s: settlement_date: expected %s, got %s", want.Month, want.SettlementDate, settlement))
			}
		}
		for _, key := range slices.Sorted(maps.Keys(want.Totals)) {
			diffs = appendAmountDiff(diffs, want.Month+" totals."+key, want.Totals[key], got.Totals[key])
		}
		bySeller := map[string]accountResult{}
		for _, a := range got.Accounts {
			bySeller[a.SellerID] = a
		}
		for _, seller := range slices.Sorted(maps.Keys(want.Accounts)) {
			w := want.Accounts[seller]
			g, found := bySeller[seller]
			where := want.Month + " " + seller
			if !found {
				if w.Status != "none" {
					diffs = append(diffs, fmt.Sprintf("%s: expected %s, the cycle has no entry for it", where, w.Status))
				}
				continue
			}
			if w.Status == "none" {
				diffs = append(diffs, fmt.Sprintf("%s: expected no entry, got %s %v", where, g.Status, g.Reasons))
				continue
			}
			if w.Status != "" && w.Status != g.Status {
				diffs = append(diffs, fmt.Sprintf("%s status: expected %s, got %s %v", where, w.Status, g.Status, g.Reasons))
			}
			if w.Reasons != nil && strings.Join(*w.Reasons, ",") != strings.Join(g.Reasons, ",") {
				diffs = append(diffs, fmt.Sprintf("%s reasons: expected [%s], got [%s]", where, strings.Join(*w.Reasons, ", "), strings.Join(g.Reasons, ", ")))
			}
			if w.RateReason != nil && *w.RateReason != g.RateReason {
				diffs = append(diffs, fmt.Sprintf("%s rate_reason: expected %q, got %q", where, *w.RateReason, g.RateReason))
			}
			for _, field := range []struct{ name, want, got string }{
				{"balance", w.Balance, g.Balance}, {"us_base", w.USBase, g.USBase}, {"rate", w.Rate, g.Rate},
				{"withheld", w.Withheld, g.Withheld}, {"paid", w.Paid, g.Paid}, {"carried", w.Carried, g.Carried},
				{"paid_in_currency", w.PaidIn, g.PaidInCurrency}, {"returned", w.Returned, g.Returned},
			} {
				diffs = appendAmountDiff(diffs, where+" "+field.name, field.want, field.got)
			}
			if w.PayPalItems != nil {
				items, err := payPalItems(cycleDir, g.PaymentID)
				if err != nil {
					return nil, err
				}
				if strings.Join(*w.PayPalItems, ", ") != strings.Join(items, ", ") {
					diffs = append(diffs, fmt.Sprintf("%s paypal_items: expected [%s], got [%s]", where, strings.Join(*w.PayPalItems, ", "), strings.Join(items, ", ")))
				}
			}
			for _, field := range []struct{ name, want, got string }{{"currency", w.Currency, g.Currency}, {"method", w.Method, g.Method}, {"file", w.File, g.File},
				{"payment_id", w.PaymentID, g.PaymentID}, {"return_reason", w.ReturnReason, g.ReturnReason}} {
				if field.want != "" && field.want != field.got {
					diffs = append(diffs, fmt.Sprintf("%s %s: expected %s, got %s", where, field.name, field.want, field.got))
				}
			}
		}
	}
	return diffs, nil
}

// settlementDate is the date a released cycle's files settle on, as its
// manifest.json says: settlement_date after a late release, otherwise the
// payment date.
func settlementDate(cycleDir, paymentDate string) (string, error) {
	body, err := os.ReadFile(filepath.Join(cycleDir, "manifest.json"))
	if errors.Is(err, os.ErrNotExist) {
		return "(not released)", nil
	}
	if err != nil {
		return "", err
	}
	var manifest struct {
		SettlementDate string `json:"settlement_date"`
	}
	if err := json.Unmarshal(body, &manifest); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(cycleDir, "manifest.json"), err)
	}
	if manifest.SettlementDate == "" {
		return paymentDate, nil
	}
	return manifest.SettlementDate, nil
}

// payPalItems reads the cycle's PayPal request files and returns the
// amounts of paymentID's items, in order. Items of a payment sent as
// several items must be numbered <payment id>-1, -2, ... in that order; an
// item that is not is shown with its id.
func payPalItems(cycleDir, paymentID string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(cycleDir, "paypal-*.json"))
	if err != nil {
		return nil, err
	}
	items := []string{}
	var ids []string
	for _, path := range paths {
		body, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var request struct {
			Items []struct {
				SenderItemID string `json:"sender_item_id"`
				Amount       struct {
					Value string `json:"value"`
				} `json:"amount"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &request); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, item := range request.Items {
			if paymentID != "" && (item.SenderItemID == paymentID || strings.HasPrefix(item.SenderItemID, paymentID+"-")) {
				items, ids = append(items, item.Amount.Value), append(ids, item.SenderItemID)
			}
		}
	}
	for i, id := range ids {
		if want := payout.PayPalItemID(paymentID, i+1); len(ids) > 1 && id != want || len(ids) == 1 && id != paymentID {
			items[i] += " (as " + id + ")"
		}
	}
	return items, nil
}

func appendAmountDiff(diffs []string, where, want, got string) []string {
	if want == "" {
		return diffs
	}
	w, errWant := decimal.NewFromString(want)
	g, errGot := decimal.NewFromString(got)
	if errWant != nil || errGot != nil || !w.Equal(g) {
		return append(diffs, fmt.Sprintf("%s: expected %s, got %s", where, want, got))
	}
	return diffs
}
