package store_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/dbtest"
	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/tax"
	"github.com/payrun/payrun/tax/taxstore"
)

// world is a small marketplace on a fresh database with a clock the test
// moves by hand.
type world struct {
	t       *testing.T
	db      *sqlx.DB
	now     time.Time
	store   *store.Store
	taxes   *taxstore.Store
	ids     map[string]int64
	lineSeq int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldOn(t, dbtest.New(t))
}

func newWorldOn(t *testing.T, database *sqlx.DB) *world {
	sealer, err := secret.FromConfig("", true)
	require.NoError(t, err)
	w := &world{t: t, db: database, now: at("2026-09-01T00:00:00Z"), ids: map[string]int64{}}
	w.store = &store.Store{DB: database, Sealer: sealer, Clock: func() time.Time { return w.now }}
	w.taxes = &taxstore.Store{DB: database, Sealer: sealer}
	return w
}

func at(text string) time.Time {
	t, err := time.Parse(time.RFC3339, text)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func month(text string) time.Time {
	m, err := payout.ParseMonth(text)
	if err != nil {
		panic(err)
	}
	return m
}

func (w *world) set(text string) { w.now = at(text) }

type publisherOptions struct {
	country       string // registration and residence country
	method        payout.Method
	treaty        bool
	noTax         bool
	noPayout      bool
	unverifiedPay bool
}

// publisher creates a fully payable publisher (verified, payout account
// verified, valid tax form) as of the world's current time.
func (w *world) publisher(seller string, o publisherOptions) int64 {
	w.t.Helper()
	ctx := context.Background()
	if o.country == "" {
		o.country = "US"
	}
	if o.method == "" {
		o.method = payout.Bank
	}
	kind := ledger.Individual
	account, err := ledger.CreateAccount(ctx, w.db, ledger.NewAccount{SellerID: seller, Type: kind, RegistrationCountry: o.country, DisplayName: seller}, w.now)
	require.NoError(w.t, err)
	w.ids[seller] = account.ID
	require.NoError(w.t, w.store.SetAccountStatus(ctx, account.ID, "verified", "test"))
	if !o.noPayout {
		w.payoutAccount(seller, o.country, o.method)
		if !o.unverifiedPay {
			w.verifyLatest(seller)
		}
	}
	if !o.noTax {
		_, err := w.taxes.Submit(ctx, account.ID, taxForm(o.country, o.treaty), "test", w.now)
		require.NoError(w.t, err)
	}
	return account.ID
}

func (w *world) payoutAccount(seller, country string, method payout.Method) int64 {
	w.t.Helper()
	input := payout.AccountInput{Method: method, HolderName: seller, Currency: "USD"}
	switch {
	case method == payout.PayPal:
		input.PayPalEmail = strings.ToLower(seller) + "@example.com"
	case country == "US":
		input.BankCountry, input.RoutingNumber, input.AccountNumber, input.AccountType = "US", "011000015", "123456789", "checking"
	case country == "DE":
		input.BankCountry, input.IBAN, input.BIC, input.Currency = "DE", "DE89370400440532013000", "COBADEFFXXX", "EUR"
	case country == "GB":
		input.BankCountry, input.IBAN, input.BIC, input.Currency = "GB", "GB82WEST12345698765432", "WESTGB2LXXX", "GBP"
	default:
		w.t.Fatalf("no test bank for %s", country)
	}
	view, err := w.store.SetPayoutAccount(context.Background(), w.ids[seller], input, "test")
	require.NoError(w.t, err)
	return view.ID
}

func (w *world) verifyLatest(seller string) {
	w.t.Helper()
	var id int64
	require.NoError(w.t, w.db.Get(&id, `SELECT max(id) FROM payout_accounts WHERE account_id = $1`, w.ids[seller]))
	require.NoError(w.t, w.store.RecordVerification(context.Background(), id, payout.Verified, "", "test"))
}

func taxForm(country string, treaty bool) tax.Submission {
	signed := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	if country == "US" {
		return tax.Submission{Form: tax.FormW9, LegalName: "Test Person", EntityType: tax.EntityIndividual, ResidenceCountry: "US", CitizenshipCountry: "US",
			PermanentAddress: tax.Address{Line1: "1 Main St", City: "Springfield", Region: "IL", PostalCode: "62701", Country: "US"},
			TIN:              "123456789", TINKind: tax.TINSSN, SignerName: "Test Person", SignedOn: signed}
	}
	s := tax.Submission{Form: tax.FormW8BEN, LegalName: "Test Person", EntityType: tax.EntityIndividual, ResidenceCountry: country, CitizenshipCountry: country,
		PermanentAddress: tax.Address{Line1: "Street 1", City: "City", Country: country}, SignerName: "Test Person", SignedOn: signed}
	if treaty {
		s.Treaty = &tax.TreatyClaim{Country: country, Article: "12", IncomeCode: "12", Rate: decimal.Zero}
	}
	return s
}

// earn imports one line for seller that becomes available at eligible (the
// import runs at the world's current time).
func (w *world) earn(seller, market, amount, eligible string) {
	w.t.Helper()
	w.lineSeq++
	kind := "purchase"
	if strings.HasPrefix(amount, "-") {
		kind = "refund"
	}
	eligibleAt := at(eligible)
	transactionAt := eligibleAt.Add(-30 * 24 * time.Hour)
	if transactionAt.After(w.now) {
		transactionAt = w.now
	}
	file := "transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount,eligible_at\n" +
		fmt.Sprintf("line-%06d,%s,app,%s,%s,%s,%s,%s\n", w.lineSeq, seller, kind, market, transactionAt.Format(time.RFC3339), amount, eligibleAt.Format(time.RFC3339))
	_, err := ledger.Import(context.Background(), w.db, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(file)), nil },
		ledger.ImportOptions{SourceName: "test", HoldingPeriod: 30 * 24 * time.Hour, Clock: func() time.Time { return w.now }})
	require.NoError(w.t, err)
}

func (w *world) close(m string, options ...func(*store.CloseOptions)) store.CloseResult {
	w.t.Helper()
	result, err := w.tryClose(m, options...)
	require.NoError(w.t, err)
	return result
}

func (w *world) tryClose(m string, options ...func(*store.CloseOptions)) (store.CloseResult, error) {
	o := store.CloseOptions{Month: month(m), Policy: payout.DefaultPolicy(), Actor: "closer"}
	for _, option := range options {
		option(&o)
	}
	return w.store.Close(context.Background(), o)
}

// payoutRow is the part of a payouts row tests look at.
type payoutRow struct {
	Status   string          `db:"status"`
	Reasons  string          `db:"reasons"`
	Balance  decimal.Decimal `db:"balance"`
	Paid     decimal.Decimal `db:"paid_usd"`
	Withheld decimal.Decimal `db:"withheld"`
	Carried  decimal.Decimal `db:"carried"`
	Reason   string          `db:"rate_reason"`
}

func (w *world) payout(m, seller string) payoutRow {
	w.t.Helper()
	var row payoutRow
	require.NoError(w.t, w.db.Get(&row, `
		SELECT status, array_to_string(reasons, ',') AS reasons, balance_us + balance_other AS balance, paid_usd, withheld,
		       carried_us + carried_other AS carried, rate_reason
		FROM payouts WHERE month = $1 AND account_id = $2`, month(m), w.ids[seller]), "payout of %s in %s", seller, m)
	return row
}

// dump is a canonical text of everything a close writes, to compare runs.
func (w *world) dump() string {
	w.t.Helper()
	var parts []string
	for _, query := range []string{
		`SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', month, account_id, status, reasons, balance_us, balance_other,
			withheld, paid_usd, carried_us, carried_other, rate_reason, payment_id), E'\n' ORDER BY month, account_id) FROM payouts`,
		`SELECT string_agg(format('%s|%s|%s', t.reference, p.ledger_account, p.amount), E'\n' ORDER BY t.reference, p.ledger_account)
		   FROM ledger_transactions t JOIN postings p ON p.transaction_id = t.id WHERE t.kind = 'payout'`,
		`SELECT string_agg(format('%s|%s', ledger_account, balance), E'\n' ORDER BY ledger_account) FROM ledger_balances`,
		`SELECT string_agg(format('%s|%s|%s', month, state, totals), E'\n' ORDER BY month) FROM cycles`,
	} {
		var text *string
		require.NoError(w.t, w.db.Get(&text, query))
		if text != nil {
			parts = append(parts, *text)
		}
	}
	return strings.Join(parts, "\n--\n")
}
