package sim

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/bankid"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/tax"
	"github.com/payrun/payrun/tax/taxstore"
)

// Services are payrun's real services on one database, driven by a clock
// the simulator moves.
type Services struct {
	DB     *sqlx.DB
	Store  *store.Store
	Taxes  *taxstore.Store
	Clock  *Clock
	Import ledger.ImportOptions
	// Accounts is the account-settings service (verification steps,
	// agreements); nil builds one on DB and Clock.
	Accounts *accounts.Service
}

func (s *Services) accountService() *accounts.Service {
	if s.Accounts == nil {
		s.Accounts = accounts.New(s.DB, s.Clock.Now, "")
	}
	return s.Accounts
}

// Clock is the simulator's fake clock: time moves only when told.
type Clock struct{ now time.Time }

// NewClock starts a clock at an instant.
func NewClock(at time.Time) *Clock { return &Clock{now: at.UTC()} }

// Now reads the clock.
func (c *Clock) Now() time.Time { return c.now }

// Set moves the clock (never backwards: histories are append-only in time).
func (c *Clock) Set(at time.Time) {
	if at.After(c.now) {
		c.now = at.UTC()
	}
}

// Profile is how one generated publisher is set up: every choice is drawn
// from the seed, so the same seed builds the same marketplace.
type Profile struct {
	SellerID  string
	AccountID int64
	Country   string
	Company   bool
	// Tax: "W-9", "W-8BEN", "W-8BEN-E", or "" (no form); Expired backdates
	// a W-8 so it has expired; Treaty claims the residence country's treaty.
	Form    tax.Form
	Treaty  bool
	Expired bool
	// Payout account: "bank", "paypal" or "" (none); Unverified leaves it
	// pending; ChangedLate replaces it on the 28th before the first cutoff.
	Method      payout.Method
	Unverified  bool
	ChangedLate bool
	// Status of the account; Hold switches the payment hold on (HoldAtEdge:
	// one second before the first cutoff; HoldAtCutoff: exactly at it).
	Pending      bool
	Hold         bool
	HoldAtEdge   bool
	HoldAtCutoff bool
	// NoAgreement: never accepts the required agreement's new version.
	NoAgreement bool
}

// currencies of bank payouts by country (IBAN countries; others use PayPal).
var bankCurrency = map[string]string{
	"GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR", "IE": "EUR", "ES": "EUR", "IT": "EUR",
	"HU": "HUF", "SE": "SEK", "PL": "PLN", "BR": "BRL",
}

// treatyCountries have a code-12 treaty row (the embedded table).
func treatyCountry(country string) bool {
	_, result := tax.DefaultTreatyTable().Lookup(country, tax.IncomeCodeOtherRoyalties, time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC))
	return result == tax.TreatyInForce
}

// drawProfile decides how a publisher is set up.
func drawProfile(r *rand.Rand, sellerID, country string, company bool) Profile {
	p := Profile{SellerID: sellerID, Country: country, Company: company}
	roll := func(percent int) bool { return r.IntN(1000) < percent*10 }
	switch {
	case roll(5):
		p.Form = "" // never submitted a form
	case country == "US":
		p.Form = tax.FormW9
	case company:
		p.Form = tax.FormW8BENE
	default:
		p.Form = tax.FormW8BEN
	}
	if p.Form != "" && p.Form != tax.FormW9 {
		p.Treaty = treatyCountry(country) && roll(80)
		p.Expired = roll(4)
	}
	_, hasBank := bankCurrency[country]
	switch {
	case roll(3):
		p.Method = ""
	case country == "US" && !roll(20), hasBank && !roll(25):
		p.Method = payout.Bank
	case payout.PayPalCountries[country]:
		p.Method = payout.PayPal
	case hasBank || country == "US":
		p.Method = payout.Bank
	default:
		p.Method = "" // no payout method offered in this country
	}
	if p.Method != "" {
		p.Unverified = roll(3)
		p.ChangedLate = roll(3)
	}
	p.Pending = roll(2)
	p.Hold = roll(4)
	p.HoldAtEdge = !p.Hold && roll(1)
	p.HoldAtCutoff = !p.Hold && !p.HoldAtEdge && roll(1)
	p.NoAgreement = roll(2)
	return p
}

// Agreement is the publisher agreement the simulated marketplace requires.
const Agreement = "publisher-agreement"

// Populate creates a marketplace before its first cutoff: the generated
// accounts (ledger.GenerateAccounts for the seed), and for each a status,
// payout account, tax form, hold and agreement acceptance as drawn by
// drawProfile. Times are set on the clock: everything happens in the month
// before firstMonth's previous month, except the month-end edge cases, which
// happen around the cutoff of the month before firstMonth. It returns the
// profiles in account order.
func Populate(ctx context.Context, s *Services, seed uint64, publishers int, firstMonth time.Time) ([]Profile, error) {
	opts := ledger.GenerateOptions{Seed: seed, Publishers: publishers, Lines: 0, Month: firstMonth}
	var accounts bytes.Buffer
	if err := ledger.GenerateAccounts(&accounts, opts); err != nil {
		return nil, err
	}
	setup := firstMonth.AddDate(0, -3, 0) // a quarter before the first payment month
	s.Clock.Set(setup)
	if _, _, err := ledger.ImportAccounts(ctx, s.DB, bytes.NewReader(accounts.Bytes()), s.Clock.Now()); err != nil {
		return nil, err
	}
	// The agreement: v1 long ago, v2 published a month before setup ends,
	// required for payouts after a 14-day grace period.
	if _, err := s.DB.ExecContext(ctx, `
		INSERT INTO agreements (name, version, published_at, required_for_payout, grace_days) VALUES
		($1, 1, $2, true, 0), ($1, 2, $3, true, 14) ON CONFLICT DO NOTHING`,
		Agreement, setup.AddDate(-1, 0, 0), setup.AddDate(0, 1, 0)); err != nil {
		return nil, err
	}
	records, err := csv.NewReader(bytes.NewReader(accounts.Bytes())).ReadAll()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x70726f66696c6573))
	profiles := make([]Profile, 0, publishers)
	for _, record := range records[1:] {
		account, err := ledger.AccountBySellerID(ctx, s.DB, record[0])
		if err != nil {
			return nil, err
		}
		p := drawProfile(r, record[0], record[2], record[1] == "company")
		p.AccountID = account.ID
		profiles = append(profiles, p)
	}
	steps := []step{
		{setup.Add(time.Hour), func(p Profile) error { return s.status(ctx, p) }},
		{setup.Add(2 * time.Hour), func(p Profile) error { return s.acceptAgreement(ctx, p, 1) }},
		{setup.AddDate(0, 0, 1), func(p Profile) error { return s.payoutAccount(ctx, r, p, false) }},
		{setup.AddDate(0, 0, 3), func(p Profile) error { return s.verify(ctx, p) }},
		{setup.AddDate(0, 0, 5), func(p Profile) error { return s.taxForm(ctx, p, setup) }},
		{setup.AddDate(0, 1, 2), func(p Profile) error { return s.acceptAgreement(ctx, p, 2) }},
		{setup.AddDate(0, 1, 10), func(p Profile) error { return s.hold(ctx, p, p.Hold) }},
	}
	return profiles, s.run(steps, profiles)
}

type step struct {
	at   time.Time
	step func(Profile) error
}

func (s *Services) run(steps []step, profiles []Profile) error {
	for _, st := range steps {
		s.Clock.Set(st.at)
		for _, p := range profiles {
			if err := st.step(p); err != nil {
				return fmt.Errorf("set up %s: %w", p.SellerID, err)
			}
		}
	}
	return nil
}

func (s *Services) status(ctx context.Context, p Profile) error {
	status := "verified"
	if p.Pending {
		status = "pending"
	}
	return s.Store.SetAccountStatus(ctx, p.AccountID, status, "onboarding")
}

func (s *Services) acceptAgreement(ctx context.Context, p Profile, version int) error {
	if version > 1 && p.NoAgreement {
		return nil
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO agreement_acceptances (account_id, name, version, accepted_at, accepted_by) VALUES ($1, $2, $3, $4, $5)`,
		p.AccountID, Agreement, version, s.Clock.Now(), p.SellerID)
	return err
}

func (s *Services) hold(ctx context.Context, p Profile, on bool) error {
	if !on {
		return nil
	}
	_, err := s.Store.SetHold(ctx, p.AccountID, true, p.SellerID)
	return err
}

func (s *Services) payoutAccount(ctx context.Context, r *rand.Rand, p Profile, replacement bool) error {
	if p.Method == "" {
		return nil
	}
	input := payout.AccountInput{Method: p.Method, HolderName: "Publisher " + p.SellerID, Currency: "USD"}
	switch {
	case p.Method == payout.PayPal:
		input.PayPalEmail = strings.ToLower(p.SellerID) + "@example.com"
		if p.Country == "JP" {
			input.Currency = "JPY"
		}
	case p.Country == "US":
		input.BankCountry, input.AccountType = "US", []string{"checking", "savings"}[r.IntN(2)]
		input.RoutingNumber = []string{"011000015", "021000021", "026009593", "121000248"}[r.IntN(4)]
		input.AccountNumber = fmt.Sprintf("%09d", r.IntN(1_000_000_000))
	default:
		input.BankCountry, input.Currency = p.Country, bankCurrency[p.Country]
		input.IBAN = generatedIBAN(r, p.Country)
		input.BIC = "DEMO" + p.Country + "2LXXX"
	}
	_, err := s.Store.SetPayoutAccount(ctx, p.AccountID, input, p.SellerID)
	return err
}

// verify verifies the payout account unless the profile leaves it pending.
func (s *Services) verify(ctx context.Context, p Profile) error {
	if p.Method == "" || p.Unverified {
		return nil
	}
	view, err := s.Store.PayoutAccountAt(ctx, p.AccountID, s.Clock.Now())
	if err != nil || view == nil {
		return err
	}
	return s.Store.RecordVerification(ctx, view.ID, payout.Verified, "", "bank")
}

func (s *Services) taxForm(ctx context.Context, p Profile, setup time.Time) error {
	if p.Form == "" {
		return nil
	}
	signed := setup.AddDate(0, 0, 4)
	if p.Expired {
		// Signed in 2022: valid through 2025-12-31, expired for 2026 cycles.
		signed = time.Date(2022, 3, 14, 0, 0, 0, 0, time.UTC)
	}
	return s.taxFormSigned(ctx, p, signed, "")
}

// taxFormSigned submits the profile's form signed on a day, under legalName
// (default "Publisher <seller>").
func (s *Services) taxFormSigned(ctx context.Context, p Profile, signed time.Time, legalName string) error {
	if p.Form == "" {
		return nil
	}
	signed = time.Date(signed.Year(), signed.Month(), signed.Day(), 0, 0, 0, 0, time.UTC)
	if legalName == "" {
		legalName = "Publisher " + p.SellerID
	}
	submission := tax.Submission{
		Form: p.Form, LegalName: legalName, ResidenceCountry: p.Country, SignerName: legalName, SignedOn: signed,
		PermanentAddress: tax.Address{Line1: "1 Market Street", City: "Capital", Country: p.Country},
	}
	switch {
	case p.Form == tax.FormW9 && p.Company:
		submission.EntityType, submission.TINKind, submission.TIN = tax.EntityCorporation, tax.TINEIN, "12"+fmt.Sprintf("%07d", p.AccountID%10_000_000)
	case p.Form == tax.FormW9:
		submission.EntityType, submission.TINKind, submission.CitizenshipCountry = tax.EntityIndividual, tax.TINSSN, "US"
		submission.TIN = fmt.Sprintf("1%02d%02d%04d", 10+p.AccountID%80, 10+p.AccountID%89, 1000+p.AccountID%9000)
	case p.Form == tax.FormW8BENE:
		submission.EntityType, submission.ForeignTIN = tax.EntityCorporation, fmt.Sprintf("FT%08d", p.AccountID)
	default:
		submission.EntityType, submission.CitizenshipCountry, submission.ForeignTIN = tax.EntityIndividual, p.Country, fmt.Sprintf("FT%08d", p.AccountID)
	}
	if p.Treaty {
		submission.Treaty = &tax.TreatyClaim{Country: p.Country, Article: "12", IncomeCode: tax.IncomeCodeOtherRoyalties, Rate: decimal.Zero}
	}
	today := s.Clock.Now()
	if p.Expired {
		// An old form, received when it was signed.
		today = signed.AddDate(0, 0, 1)
	}
	_, err := s.Taxes.Submit(ctx, p.AccountID, submission, p.SellerID, today)
	return err
}

// generatedIBAN builds a valid IBAN for a country: random digits of the
// country's length (bankid's table) with correct ISO 7064 check digits.
func generatedIBAN(r *rand.Rand, country string) string {
	length, ok := bankid.IBANLength(country)
	if !ok {
		panic("no IBAN length for " + country)
	}
	bban := make([]byte, length-4)
	for i := range bban {
		bban[i] = byte('0' + r.IntN(10))
	}
	// Check digits: 98 - (BBAN + country letters as numbers + "00") mod 97.
	rearranged := string(bban) + letterDigits(country) + "00"
	n, _ := new(big.Int).SetString(rearranged, 10)
	check := 98 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return fmt.Sprintf("%s%02d%s", country, check, bban)
}

func letterDigits(letters string) string {
	var b strings.Builder
	for _, c := range letters {
		fmt.Fprintf(&b, "%d", c-'A'+10)
	}
	return b.String()
}

// ImportMonth generates and imports a month of earnings for the marketplace
// (transactions during month, imported on the 2nd of the next month).
func ImportMonth(ctx context.Context, s *Services, seed uint64, publishers int, lines int64, month time.Time) (ledger.ImportResult, error) {
	opts := ledger.GenerateOptions{Seed: seed, Publishers: publishers, Lines: lines, Month: month}
	var earnings bytes.Buffer
	if err := ledger.GenerateEarnings(&earnings, opts); err != nil {
		return ledger.ImportResult{}, err
	}
	s.Clock.Set(month.AddDate(0, 1, 1).Add(2 * time.Hour))
	options := s.Import
	options.SourceName = "earnings-" + month.Format("2006-01") + ".csv"
	options.Clock = s.Clock.Now
	body := earnings.Bytes()
	return ledger.Import(ctx, s.DB, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }, options)
}
