// Package financials implements admin.Financials with payrun's own payout
// and tax stores: the admin API's financial endpoints (SPEC §7.4) run the
// same validation and write the same histories as the CLI and the close.
//
// Errors are translated once, here, into *accounts.Error kinds the admin
// package maps to HTTP statuses (a stale If-Match is KindStale, an unknown
// account KindNotFound). A payout account or tax form that fails validation
// (a form that does not fit the person included) is returned as the
// validator's *fielderr.List: the admin package maps field errors to a 400
// naming every bad field, in one place (fieldProblem).
package financials

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/tax"
	"github.com/payrun/payrun/tax/taxstore"
)

// Service is the real Financials.
type Service struct {
	DB     *sqlx.DB
	Cycles *store.Store
	Taxes  *taxstore.Store
	Clock  func() time.Time
	Policy payout.Policy
}

var _ admin.Financials = (*Service)(nil)

func (s *Service) now() time.Time { return s.Clock().UTC() }

// translate maps domain errors to accounts.Error kinds. Field errors
// (*fielderr.List from validation) pass through as they are.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrStale):
		return &accounts.Error{Kind: accounts.KindStale, Field: "If-Match", Reason: "changed since it was read: read it again and retry with its new ETag"}
	case errors.Is(err, store.ErrUnknownAccount), errors.Is(err, taxstore.ErrUnknownAccount):
		return &accounts.Error{Kind: accounts.KindNotFound, Reason: "unknown account"}
	}
	return err
}

// PayoutAccount returns the payout account in force now.
func (s *Service) PayoutAccount(ctx context.Context, accountID int64) (admin.PayoutAccount, error) {
	view, err := s.Cycles.PayoutAccountAt(ctx, accountID, s.now().Add(time.Nanosecond))
	if err != nil || view == nil {
		return admin.PayoutAccount{Version: "0"}, translate(err)
	}
	return shown(*view), nil
}

// version parses an ETag's value (a row id; "0" for none). Anything else can
// never be current: it is stale.
func version(v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, &accounts.Error{Kind: accounts.KindStale, Field: "If-Match", Reason: "not an ETag of this resource: read it again"}
	}
	return id, nil
}

func shown(v store.PayoutAccountView) admin.PayoutAccount {
	created := v.CreatedAt
	return admin.PayoutAccount{Method: string(v.Method), HolderName: v.HolderName, Currency: v.Currency, BankCountry: v.BankCountry,
		AccountType: v.AccountType, RoutingNumber: v.RoutingNumber, AccountNumberMasked: v.NumberMasked, BIC: v.BIC,
		PayPalEmail: v.PayPalEmail, Status: v.Status, StatusReason: v.StatusReason, CreatedAt: &created, Version: strconv.FormatInt(v.ID, 10)}
}

// SetPayoutAccount validates and records a new payout account.
func (s *Service) SetPayoutAccount(ctx context.Context, accountID int64, current string, in admin.PayoutAccountInput, actor accounts.Principal) (admin.PayoutAccount, error) {
	expected, err := version(current)
	if err != nil {
		return admin.PayoutAccount{}, err
	}
	input := payout.AccountInput{Method: payout.Method(in.Method), HolderName: in.HolderName, Currency: in.Currency, BankCountry: in.BankCountry,
		AccountType: in.AccountType, RoutingNumber: in.RoutingNumber, AccountNumber: in.AccountNumber, IBAN: in.IBAN, BIC: in.BIC,
		PayPalEmail: in.PayPalEmail, Phone: in.Phone}
	if in.BillingAddress != nil {
		input.BillingAddress = &payout.Address{Line1: in.BillingAddress.Line1, Line2: in.BillingAddress.Line2, City: in.BillingAddress.City,
			Region: in.BillingAddress.Region, PostalCode: in.BillingAddress.PostalCode, Country: in.BillingAddress.Country}
	}
	view, err := s.Cycles.SetPayoutAccountIf(ctx, accountID, expected, input, actor.Actor())
	if err != nil {
		return admin.PayoutAccount{}, translate(err)
	}
	return shown(view), nil
}

// TaxProfile returns the tax standing now, with the rate the next payment
// date would apply.
func (s *Service) TaxProfile(ctx context.Context, accountID int64) (admin.TaxProfile, error) {
	now := s.now()
	standing, form, err := s.Taxes.StandingAt(ctx, accountID, now.Add(time.Nanosecond))
	if err != nil {
		return admin.TaxProfile{}, translate(err)
	}
	profile := admin.TaxProfile{Status: string(standing.Status)}
	if form == nil {
		return profile, nil
	}
	profile.Form, profile.LegalName, profile.TINMasked = string(form.Form), form.Submission.LegalName, form.TINMasked+form.ForeignTIN
	signed := form.Submission.SignedOn
	profile.SignedAt = &signed
	if expires, ok := form.Submission.ExpiresAt(); ok {
		profile.ExpiresAt = &expires
	}
	if form.Treaty != nil {
		profile.TreatyCountry = form.Treaty.Country
	}
	next := s.Policy.CalendarFor(now.AddDate(0, 1, 0))
	table, err := taxstore.TreatyTableAt(ctx, s.DB, next.CloseAt)
	if err != nil {
		return profile, err
	}
	if rate, _, err := tax.Rate(standing.Status, standing.Record, table, next.PaymentDate, tax.Policy{BackupWithholding: s.Policy.BackupWithholding}); err == nil {
		profile.Rate = rate.StringFixed(2)
	}
	return profile, nil
}

// SubmitTaxForm validates and stores a form.
func (s *Service) SubmitTaxForm(ctx context.Context, accountID int64, body json.RawMessage, actor accounts.Principal) (admin.TaxProfile, error) {
	var submission tax.Submission
	if err := json.Unmarshal(body, &submission); err != nil {
		return admin.TaxProfile{}, &accounts.Error{Kind: accounts.KindInvalid, Field: "body", Reason: "tax form: " + err.Error()}
	}
	if _, err := s.Taxes.Submit(ctx, accountID, submission, actor.Actor(), s.now()); err != nil {
		return admin.TaxProfile{}, translate(err)
	}
	return s.TaxProfile(ctx, accountID)
}

// Hold returns the payment hold now.
func (s *Service) Hold(ctx context.Context, accountID int64) (admin.PaymentHold, error) {
	event, err := s.Cycles.HoldAt(ctx, accountID, s.now().Add(time.Nanosecond))
	if err != nil || event == nil {
		return admin.PaymentHold{Version: "0"}, translate(err)
	}
	at := event.At
	return admin.PaymentHold{On: event.On, ChangedAt: &at, ChangedBy: event.Actor, Version: strconv.FormatInt(event.ID, 10)}, nil
}

// SetHold switches the payment hold.
func (s *Service) SetHold(ctx context.Context, accountID int64, current string, on bool, actor accounts.Principal) (admin.PaymentHold, error) {
	expected, err := version(current)
	if err != nil {
		return admin.PaymentHold{}, err
	}
	if _, err := s.Cycles.SetHoldIf(ctx, accountID, expected, on, actor.Actor()); err != nil {
		return admin.PaymentHold{}, translate(err)
	}
	return s.Hold(ctx, accountID)
}

// Statements lists the account's cycles, newest first; the cursor is the
// month ("2026-11") to continue before.
func (s *Service) Statements(ctx context.Context, accountID int64, cursor string, limit int) ([]admin.Statement, string, error) {
	before := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if cursor != "" {
		month, err := payout.ParseMonth(cursor)
		if err != nil {
			return nil, "", &accounts.Error{Kind: accounts.KindInvalid, Field: "cursor", Reason: err.Error()}
		}
		before = month
	}
	if limit <= 0 || limit > 100 {
		limit = 24
	}
	rows, err := s.DB.QueryxContext(ctx, `
		SELECT p.month, p.status, p.opening_us + p.opening_other, p.new_us + p.new_other, p.withheld, p.paid_usd, p.carried_us + p.carried_other,
		       coalesce(m.currency, ''), m.amount_in_currency, coalesce(p.payment_id, '')
		FROM payouts p LEFT JOIN payments m ON m.month = p.month AND m.account_id = p.account_id
		WHERE p.account_id = $1 AND p.month < $2 ORDER BY p.month DESC LIMIT $3`, accountID, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var statements []admin.Statement
	for rows.Next() {
		var month time.Time
		var st admin.Statement
		var opening, earnings, withheld, paid, carried decimal.Decimal
		var converted *decimal.Decimal
		if err := rows.Scan(&month, &st.Status, &opening, &earnings, &withheld, &paid, &carried, &st.Currency, &converted, &st.PaymentID); err != nil {
			return nil, "", err
		}
		st.Month = payout.MonthName(month)
		st.Opening, st.Earnings, st.Carried = opening.StringFixed(6), earnings.StringFixed(6), carried.StringFixed(6)
		st.Withheld, st.Paid = withheld.StringFixed(2), paid.StringFixed(2)
		if converted != nil {
			st.ConvertedAmount = converted.String()
		}
		statements = append(statements, st)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(statements) > limit {
		statements = statements[:limit]
		next = statements[limit-1].Month
	}
	return statements, next, nil
}
