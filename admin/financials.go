package admin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/payrun/payrun/accounts"
)

// Financials is what the financial endpoints (SPEC §7.4) call: the payout
// account (§6.1), the tax profile (§5.1), the payment hold (§4) and payout
// statements. The payout and tax services implement it; package admin only
// routes, authorises and audits.
//
// Errors an implementation returns should be (or wrap) *accounts.Error so the
// one error mapping of this package gives them a status: KindInvalid (400,
// with Field naming the JSON field), KindRule (422), KindConflict (409),
// KindNotFound (404). Anything else is a 500 whose message is not shown.
// Implementations never return unmasked account numbers, IBANs or TINs.
type Financials interface {
	// PayoutAccount returns the current payout account; Method is empty
	// when none was ever set. Version is its ETag's value.
	PayoutAccount(ctx context.Context, accountID int64) (PayoutAccount, error)
	// SetPayoutAccount records a new payout account (pending verification)
	// when version is still the current payout account's Version; otherwise
	// KindStale.
	SetPayoutAccount(ctx context.Context, accountID int64, version string, input PayoutAccountInput, actor accounts.Principal) (PayoutAccount, error)
	// TaxProfile returns the tax profile as of now.
	TaxProfile(ctx context.Context, accountID int64) (TaxProfile, error)
	// SubmitTaxForm validates and records a W-9, W-8BEN or W-8BEN-E
	// submission (the JSON body as sent).
	SubmitTaxForm(ctx context.Context, accountID int64, form json.RawMessage, actor accounts.Principal) (TaxProfile, error)
	// Hold returns the payment hold switch. Version is its ETag's value.
	Hold(ctx context.Context, accountID int64) (PaymentHold, error)
	// SetHold switches the payment hold on or off when version is still the
	// hold's Version; otherwise KindStale.
	SetHold(ctx context.Context, accountID int64, version string, on bool, actor accounts.Principal) (PaymentHold, error)
	// Statements lists payout statements, newest first, after cursor (empty:
	// from the newest); it returns the next cursor, empty at the end.
	Statements(ctx context.Context, accountID int64, cursor string, limit int) ([]Statement, string, error)
}

// Address is a postal address (billing address of a payout account).
type Address = accounts.Address

// PayoutAccountInput sets a payout account. Bank fields for method "bank",
// PayPal e-mail for method "paypal"; the implementation validates them
// (ABA checksum, IBAN mod-97, BIC, same country as the registration).
type PayoutAccountInput struct {
	Method         string   `json:"method" enum:"bank,paypal"`
	HolderName     string   `json:"holder_name" minLength:"1" maxLength:"140"`
	Currency       string   `json:"currency" pattern:"^[A-Z]{3}$"`
	BankCountry    string   `json:"bank_country,omitempty" pattern:"^[A-Z]{2}$"`
	AccountType    string   `json:"account_type,omitempty" enum:"checking,savings"`
	RoutingNumber  string   `json:"routing_number,omitempty" pattern:"^[0-9]{9}$"`
	AccountNumber  string   `json:"account_number,omitempty" maxLength:"34"`
	IBAN           string   `json:"iban,omitempty" maxLength:"34"`
	BIC            string   `json:"bic,omitempty" pattern:"^[A-Z0-9]{8}([A-Z0-9]{3})?$"`
	PayPalEmail    string   `json:"paypal_email,omitempty" maxLength:"254"`
	BillingAddress *Address `json:"billing_address,omitempty"`
	Phone          string   `json:"phone,omitempty" maxLength:"16"`
}

// PayoutAccount is a payout account as shown: numbers masked to their last
// four characters.
type PayoutAccount struct {
	Method              string     `json:"method,omitempty"`
	HolderName          string     `json:"holder_name,omitempty"`
	Currency            string     `json:"currency,omitempty"`
	BankCountry         string     `json:"bank_country,omitempty"`
	AccountType         string     `json:"account_type,omitempty"`
	RoutingNumber       string     `json:"routing_number,omitempty"`
	AccountNumberMasked string     `json:"account_number_masked,omitempty"`
	BIC                 string     `json:"bic,omitempty"`
	PayPalEmail         string     `json:"paypal_email,omitempty"`
	Status              string     `json:"status,omitempty"`
	StatusReason        string     `json:"status_reason,omitempty"`
	CreatedAt           *time.Time `json:"created_at,omitempty"`
	// Version backs the ETag (which payout account is current).
	Version string `json:"-"`
}

// TaxProfile is the tax profile as shown (SPEC §5.1). Rates are decimal
// strings ("0.30").
type TaxProfile struct {
	Form          string     `json:"form,omitempty"`
	Status        string     `json:"status"`
	LegalName     string     `json:"legal_name,omitempty"`
	TINMasked     string     `json:"tin_masked,omitempty"`
	TreatyCountry string     `json:"treaty_country,omitempty"`
	Rate          string     `json:"withholding_rate,omitempty"`
	SignedAt      *time.Time `json:"signed_at,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
}

// PaymentHold is the payment hold switch.
type PaymentHold struct {
	On        bool       `json:"on"`
	ChangedAt *time.Time `json:"changed_at,omitempty"`
	ChangedBy string     `json:"changed_by,omitempty"`
	// Version backs the ETag (the last change).
	Version string `json:"-"`
}

// Statement is one cycle's payout statement; amounts are decimal strings in
// USD (converted amounts in Currency).
type Statement struct {
	Month           string `json:"month"`
	Status          string `json:"status"`
	Opening         string `json:"opening"`
	Earnings        string `json:"earnings"`
	Withheld        string `json:"withheld"`
	Paid            string `json:"paid"`
	Carried         string `json:"carried"`
	Currency        string `json:"currency,omitempty"`
	ConvertedAmount string `json:"converted_amount,omitempty"`
	PaymentID       string `json:"payment_id,omitempty"`
}
