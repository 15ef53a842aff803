package payout

import (
	"strings"

	"github.com/payrun/payrun/internal/fielderr"
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

// AccountSubject names a payout account in the message of its
// *fielderr.List: "payout account: iban: ...; bic: ...".
const AccountSubject = "payout account"

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
// e-mail and a country where payrun offers PayPal. Every problem is listed,
// by JSON path ("billing_address.city"); a bankid error keeps its code and
// sentinel (errors.Is(err, bankid.ErrCheckDigit)).
// Errors: *fielderr.List (subject AccountSubject).
func (in AccountInput) Validate(registrationCountry string) error {
	problems := fielderr.List{Subject: AccountSubject}
	if in.HolderName == "" {
		problems.Addf("holder_name", fielderr.Required, "required")
	}
	// Free text goes into payment files (NACHA, pain.001, PayPal) and the
	// database: no control characters (a line break forges a record), no
	// invalid UTF-8 (SPEC §11, internal/textcheck), lengths in characters.
	for _, text := range in.texts() {
		if problem := textcheck.Problem(text.value); problem != "" {
			problems.Add(fielderr.New(text.field, fielderr.Character, problem))
		} else if textcheck.Length(text.value) > text.max {
			problems.Addf(text.field, fielderr.TooLong, "longer than %d characters", text.max)
		}
	}
	if !money.KnownCurrency(in.Currency) {
		problems.Addf("currency", fielderr.Invalid, "%q is not a currency payrun pays in", in.Currency)
	}
	switch in.Method {
	case Bank:
		in.validateBank(registrationCountry, &problems)
	case PayPal:
		problems.Add(fielderr.At("paypal_email", bankid.ValidatePayPalEmail(in.PayPalEmail)))
		if !PayPalCountries[registrationCountry] {
			problems.Addf("method", fielderr.Country, "PayPal payouts are not available in %s", registrationCountry)
		}
	default:
		problems.Addf("method", fielderr.Invalid, "%q is not bank or paypal", in.Method)
	}
	return problems.Err()
}

func (in AccountInput) validateBank(registrationCountry string, problems *fielderr.List) {
	if in.BankCountry != registrationCountry {
		problems.Addf("bank_country", fielderr.Country, "the bank must be in the account's registration country %s, not %q", registrationCountry, in.BankCountry)
	}
	if in.BankCountry == "US" {
		problems.Add(fielderr.At("routing_number", bankid.ValidateABA(in.RoutingNumber)))
		if len(in.AccountNumber) < 4 || len(in.AccountNumber) > 17 || strings.Trim(in.AccountNumber, "0123456789") != "" {
			problems.Addf("account_number", fielderr.Invalid, "must be 4 to 17 digits")
		}
		if in.AccountType != "checking" && in.AccountType != "savings" {
			problems.Addf("account_type", fielderr.Invalid, "%q is not checking or savings", in.AccountType)
		}
		if in.Currency != "USD" {
			problems.Addf("currency", fielderr.Inconsistent, "US bank accounts are paid in USD by ACH")
		}
		return
	}
	if err := bankid.ValidateIBAN(in.IBAN); err != nil {
		problems.Add(fielderr.At("iban", err))
	} else if country := bankid.IBANCountry(in.IBAN); country != in.BankCountry {
		problems.Addf("iban", fielderr.Country, "an IBAN of %s, but the bank is in %s", country, in.BankCountry)
	}
	problems.Add(fielderr.At("bic", bankid.ValidateBIC(in.BIC)))
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
