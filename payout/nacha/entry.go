package nacha

import (
	"fmt"
	"strconv"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout/bankid"
	"github.com/shopspring/decimal"
)

// Kind is what an entry does.
type Kind int

const (
	// Credit pays Amount into the receiver's account.
	Credit Kind = iota + 1
	// Prenote is a zero-dollar prenotification that verifies a new account
	// (SPEC §6.1): Amount must be exactly zero.
	Prenote
)

func (k Kind) String() string {
	switch k {
	case Credit:
		return "credit"
	case Prenote:
		return "prenote"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// AccountType is the receiver's account type.
type AccountType int

const (
	// Checking: a demand deposit account (transaction codes 22, 23).
	Checking AccountType = iota + 1
	// Savings: a savings account (transaction codes 32, 33).
	Savings
)

func (a AccountType) String() string {
	switch a {
	case Checking:
		return "checking"
	case Savings:
		return "savings"
	}
	return "AccountType(" + strconv.Itoa(int(a)) + ")"
}

// TransactionCode returns the NACHA transaction code for an entry: 22/32 for
// checking/savings credits, 23/33 for their prenotes.
func TransactionCode(kind Kind, account AccountType) (int, error) {
	switch {
	case kind == Credit && account == Checking:
		return CodeCheckingCredit, nil
	case kind == Credit && account == Savings:
		return CodeSavingsCredit, nil
	case kind == Prenote && account == Checking:
		return CodeCheckingPrenote, nil
	case kind == Prenote && account == Savings:
		return CodeSavingsPrenote, nil
	case kind != Credit && kind != Prenote:
		return 0, fieldError(entryRecord, edTransaction, fielderr.Invalid, nil, "entry kind %v is neither credit nor prenote", kind)
	}
	return 0, fieldError(entryRecord, edTransaction, fielderr.Invalid, nil, "account type %v is neither checking nor savings", account)
}

// kindOf is the inverse of TransactionCode for the codes payrun writes.
func kindOf(code int) (Kind, AccountType, bool) {
	switch code {
	case CodeCheckingCredit:
		return Credit, Checking, true
	case CodeSavingsCredit:
		return Credit, Savings, true
	case CodeCheckingPrenote:
		return Prenote, Checking, true
	case CodeSavingsPrenote:
		return Prenote, Savings, true
	}
	return 0, 0, false
}

// Entry is one payment (or prenote) to one bank account.
type Entry struct {
	Kind        Kind
	AccountType AccountType
	// RoutingNumber is the receiving bank's 9-digit ABA routing number,
	// written as the 8-digit RDFI identification and its check digit.
	RoutingNumber string
	// AccountNumber is written exactly as given: at most 17 capital letters,
	// digits or hyphens, never transliterated or truncated (a changed
	// account number would pay someone else).
	AccountNumber string
	// Amount in USD, a whole number of cents: a Credit is more than zero and
	// at most MaxEntryAmount ($99,999,999.99); a Prenote is exactly zero.
	Amount decimal.Decimal
	// IndividualID is the payout id (at most 15 characters), written exactly
	// as given: returns are matched by trace number, but people search for
	// it. May be empty.
	IndividualID string
	// Name is the receiver's name (individual for PPD, company for CCD). It
	// is transliterated (é→E) and truncated to 22 characters, since banks do
	// not match it against the account and refusing a long legal name would
	// hold a payment for no reason. A name with no representable characters
	// is refused.
	Name string
	// DiscretionaryData is 2 characters for the ODFI's own use; usually empty.
	DiscretionaryData string
}

// entryValues are an entry's fields as written.
type entryValues struct {
	code          int
	rdfi          string // 8 digits
	checkDigit    byte
	account       string
	cents         int64
	individualID  string
	name          string
	discretionary string
}

// values validates an entry and returns what gets written. Errors are
// *fielderr.Error naming the entry field (see fieldError).
func (e Entry) values() (entryValues, error) {
	var v entryValues
	var err error
	if v.code, err = TransactionCode(e.Kind, e.AccountType); err != nil {
		return v, err
	}
	if err := bankid.ValidateABA(e.RoutingNumber); err != nil {
		return v, fieldError(entryRecord, edRoutingNumber, "", err, "%v", err)
	}
	v.rdfi, v.checkDigit = e.RoutingNumber[:8], e.RoutingNumber[8]
	if err := validateAccountNumber(e.AccountNumber); err != nil {
		return v, err
	}
	v.account = e.AccountNumber
	if v.cents, err = entryCents(e.Kind, e.Amount); err != nil {
		return v, err
	}
	if err := identifier(entryRecord, edIndividualID, e.IndividualID, IndividualIDMaxLength); err != nil {
		return v, err
	}
	v.individualID = e.IndividualID
	name := Transliterate(e.Name)
	if name == "" {
		if e.Name == "" {
			return v, fieldError(entryRecord, edName, fielderr.Required, nil, "missing")
		}
		return v, fieldError(entryRecord, edName, fielderr.Character, nil, "has no characters an ACH file can carry (A-Z, 0-9, punctuation)")
	}
	if len(name) > NameMaxLength {
		name = Transliterate(name[:NameMaxLength]) // drops a trailing space left by the cut
	}
	v.name = name
	if v.discretionary, err = freeText(entryRecord, edDiscretionary, e.DiscretionaryData, false); err != nil {
		return v, err
	}
	return v, nil
}

func validateAccountNumber(account string) error {
	if account == "" {
		return fieldError(entryRecord, edAccount, fielderr.Required, nil, "missing")
	}
	if len(account) > AccountNumberMaxLength {
		return fieldError(entryRecord, edAccount, fielderr.TooLong, nil,
			"is %d characters, the field holds %d (an account number is never truncated)", len(account), AccountNumberMaxLength)
	}
	for i, r := range account {
		if !(r >= '0' && r <= '9') && !(r >= 'A' && r <= 'Z') && r != '-' {
			return fieldError(entryRecord, edAccount, fielderr.Character, nil,
				"character at byte %d is %q; only digits, capital letters and hyphens are allowed", i+1, r)
		}
	}
	return nil
}

// entryCents checks an amount and converts it to cents.
func entryCents(kind Kind, amount decimal.Decimal) (int64, error) {
	cents := amount.Shift(2)
	if !cents.IsInteger() {
		return 0, fieldError(entryRecord, edAmount, fielderr.Invalid, nil, "%s is not a whole number of cents", amount.String())
	}
	if kind == Prenote {
		if !amount.IsZero() {
			return 0, fieldError(entryRecord, edAmount, fielderr.Range, nil, "a prenote carries no money, amount must be 0, got %s", amount.StringFixed(2))
		}
		return 0, nil
	}
	if !amount.IsPositive() {
		return 0, fieldError(entryRecord, edAmount, fielderr.Range, nil, "a credit must be more than zero, got %s", amount.StringFixed(2))
	}
	if amount.GreaterThan(MaxEntryAmount) {
		return 0, fieldError(entryRecord, edAmount, fielderr.Range, nil,
			"%s exceeds the NACHA maximum of $%s per entry (10-digit amount field)", dollars(amount), dollars(MaxEntryAmount))
	}
	return cents.IntPart(), nil
}

// dollars formats an amount with thousands separators: 99,999,999.99.
func dollars(amount decimal.Decimal) string {
	text := amount.StringFixed(2)
	sign := ""
	if text[0] == '-' {
		sign, text = "-", text[1:]
	}
	whole, fraction := text[:len(text)-3], text[len(text)-3:]
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return sign + whole + fraction
}

// centsToDollars converts cents to a decimal dollar amount.
func centsToDollars(cents int64) decimal.Decimal { return decimal.New(cents, -2) }

// traceNumber is the ODFI's 8-digit identification + a 7-digit sequence.
func traceNumber(odfi string, sequence int) string {
	return fmt.Sprintf("%s%07d", odfi, sequence)
}
