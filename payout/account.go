package payout

import (
	"fmt"
	"strings"

	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/internal/textcheck"
	"github.com/payrun/payrun/payout/bankid"
)

// AccountInput is a payout account as a publisher enters it (SPEC §6.1).
type AccountInput struct {
	Method         Method   `json:"method"`
	HolderName     string   `json:"holder_name"`
	Currency       string   `json:"currency"`
	BankCountry    string   `json:"bank_country,omitempty"`
	AccountType    string   `json:"account_type,omitempty"` // checking | savings (US)
	RoutingNumber  string   `json:"routing_number,omitempty"`
	AccountNumber  string   `json:"account_number,omitempty"`
	IBAN           string   `json:"iban,omitempty"`
	BIC            string   `json:"bic,omitempty"`
	PayPalEmail    string   `json:"paypal_email,omitempty"`
	BillingAddress *Address `json:"billing_address,omitempty"`
	Phone          string   `json:"phone,omitempty"`
}

// Address is a billing address.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country"`
}

// FieldError names an input field and what is wrong with it.
type FieldError struct {
	Field  string
	Reason string
}

// ValidationError lists every problem of an input.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return "payout account: " + strings.Join(parts, "; ")
}

// Has reports whether field has a problem.
func (e *ValidationError) Has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// PayPalCountries are the registration countries where payrun offers PayPal
// payouts (PayPal Payouts is available in these markets; the list is payrun
// configuration, not PayPal's whole footprint). Source: PayPal Payouts
// "supported countries" as of 2026, restricted to markets payrun serves.
var PayPalCountries = map[string]bool{
	"US": true, "CA": true, "GB": true, "DE": true, "FR": true, "IT": true, "ES": true, "NL": true,
	"BE": true, "AT": true, "IE": true, "PT": true, "FI": true, "SE": true, "DK": true, "NO": true,
	"PL": true, "CZ": true, "HU": true, "CH": true, "AU": true, "NZ": true, "JP": true, "SG": true,
	"HK": true, "MX": true, "BR": true, "IL": true, "KR": true,
}

// Normalize trims and upper-cases what is case-insensitive.
func (in AccountInput) Normalize() AccountInput {
	n := in
	n.Method = Method(strings.ToLower(strings.TrimSpace(string(in.Method))))
	n.HolderName = strings.TrimSpace(in.HolderName)
	n.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	n.BankCountry = strings.ToUpper(strings.TrimSpace(in.BankCountry))
	n.AccountType = strings.ToLower(strings.TrimSpace(in.AccountType))
	n.RoutingNumber = strings.TrimSpace(in.RoutingNumber)
	n.AccountNumber = strings.ReplaceAll(strings.TrimSpace(in.AccountNumber), " ", "")
	n.IBAN = bankid.NormalizeIBAN(in.IBAN)
	n.BIC = bankid.NormalizeBIC(in.BIC)
	n.PayPalEmail = strings.TrimSpace(in.PayPalEmail)
	n.Phone = strings.TrimSpace(in.Phone)
	return n
}

// Validate checks a normalised input for an account registered in
// registrationCountry: the bank must be in that country (SPEC §6.1), US banks
// need an ABA routing number (3-7-1 checksum) and an account number, others an
// IBAN (mod-97, per-country length) of that country and a BIC; PayPal needs an
// e-mail and a country where payrun offers PayPal. Every problem is listed.
// Errors: *ValidationError.
func (in AccountInput) Validate(registrationCountry string) error {
	var problems []FieldError
	bad := func(field, reason string) { problems = append(problems, FieldError{field, reason}) }
	if in.HolderName == "" {
		bad("holder_name", "required")
	}
	// Free text goes into payment files (NACHA, pain.001, PayPal) and the
	// database: no control characters (a line break forges a record), no
	// invalid UTF-8 (SPEC §11, internal/textcheck), lengths in characters.
	for _, text := range in.texts() {
		if problem := textcheck.Problem(text.value); problem != "" {
			bad(text.field, problem)
		} else if textcheck.Length(text.value) > text.max {
			bad(text.field, fmt.Sprintf("longer than %d characters", text.max))
		}
	}
	if !money.KnownCurrency(in.Currency) {
		bad("currency", fmt.Sprintf("%q is not a currency payrun pays in", in.Currency))
	}
	switch in.Method {
	case Bank:
		in.validateBank(registrationCountry, bad)
	case PayPal:
		if err := bankid.ValidatePayPalEmail(in.PayPalEmail); err != nil {
			bad("paypal_email", err.Error())
		}
		if !PayPalCountries[registrationCountry] {
			bad("method", fmt.Sprintf("PayPal payouts are not available in %s", registrationCountry))
		}
	default:
		bad("method", fmt.Sprintf("%q is not bank or paypal", in.Method))
	}
	if len(problems) > 0 {
		return &ValidationError{Fields: problems}
	}
	return nil
}

func (in AccountInput) validateBank(registrationCountry string, bad func(field, reason string)) {
	if in.BankCountry != registrationCountry {
		bad("bank_country", fmt.Sprintf("the bank must be in the account's registration country %s, not %q", registrationCountry, in.BankCountry))
	}
	if in.BankCountry == "US" {
		if err := bankid.ValidateABA(in.RoutingNumber); err != nil {
			bad("routing_number", err.Error())
		}
		if len(in.AccountNumber) < 4 || len(in.AccountNumber) > 17 || strings.Trim(in.AccountNumber, "0123456789") != "" {
			bad("account_number", "must be 4 to 17 digits")
		}
		if in.AccountType != "checking" && in.AccountType != "savings" {
			bad("account_type", fmt.Sprintf("%q is not checking or savings", in.AccountType))
		}
		if in.Currency != "USD" {
			bad("currency", "US bank accounts are paid in USD by ACH")
		}
		return
	}
	if err := bankid.ValidateIBAN(in.IBAN); err != nil {
		bad("iban", err.Error())
	} else if country := bankid.IBANCountry(in.IBAN); country != in.BankCountry {
		bad("iban", fmt.Sprintf("an IBAN of %s, but the bank is in %s", country, in.BankCountry))
	}
	if err := bankid.ValidateBIC(in.BIC); err != nil {
		bad("bic", err.Error())
	}
}

// texts are the input's free-text fields with their length limits.
func (in AccountInput) texts() []struct {
	field, value string
	max          int
} {
	type text = struct {
		field, value string
		max          int
	}
	texts := []text{{"holder_name", in.HolderName, 140}, {"account_number", in.AccountNumber, 34}, {"iban", in.IBAN, 34},
		{"paypal_email", in.PayPalEmail, 254}, {"phone", in.Phone, 16}}
	if a := in.BillingAddress; a != nil {
		texts = append(texts, text{"billing_address.line1", a.Line1, 200}, text{"billing_address.line2", a.Line2, 200},
			text{"billing_address.city", a.City, 200}, text{"billing_address.region", a.Region, 200},
			text{"billing_address.postal_code", a.PostalCode, 16}, text{"billing_address.country", a.Country, 2})
	}
	return texts
}

// Last4 is the part of the account number or IBAN kept in the clear.
func (in AccountInput) Last4() string {
	number := in.AccountNumber
	if in.Method == Bank && in.BankCountry != "US" {
		number = in.IBAN
	}
	if in.Method == PayPal {
		return ""
	}
	if len(number) <= 4 {
		return number
	}
	return number[len(number)-4:]
}
