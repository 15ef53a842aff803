package sepa

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/payrun/payrun/payout/bankid"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payrun/payrun/internal/money"
	"github.com/shopspring/decimal"
)

// Limits. Each names where its number comes from.
const (
	// MaxIdentifierLength bounds MsgId, PmtInfId, InstrId and EndToEndId:
	// ISO 20022 Max35Text.
	MaxIdentifierLength = 35
	// MaxNameLength bounds party names: the EPC SCT implementation guidelines
	// restrict Nm (Max140Text in ISO 20022) to 70 characters (EPC132-08,
	// type Max140Text_EPC132-08_2023_V1.0_SCT_C2PSP).
	MaxNameLength = 70
	// MaxRemittanceLength bounds RmtInf/Ustrd: ISO 20022 Max140Text, kept by
	// the EPC SCT rulebook (attribute AT-05, 140 characters).
	MaxRemittanceLength = 140
	// MaxTransactions bounds the credit transfers in one message. pain.001
	// allows 15 digits (Max15NumericText); this is payrun's own limit, chosen
	// so that a file (about 1 KB per transaction) and its read-back check stay
	// well under 200 MB of memory. Banks set their own, usually higher, limits.
	MaxTransactions = 100_000
	// MaxAmountDigits is the total number of digits an instructed amount may
	// have: ISO 20022 ActiveOrHistoricCurrencyAndAmount, totalDigits 18.
	MaxAmountDigits = 18
)

// MaxSEPAAmount is the largest amount of one SEPA credit transfer: EPC SCT
// rulebook, AT-04 "the amount of the credit transfer in euro", at most
// 999,999,999.99 (the EPC XSD's maxInclusive on InstdAmt).
var MaxSEPAAmount = decimal.RequireFromString("999999999.99")

// Codes written into the file.
const (
	// ServiceLevelSEPA is PmtTpInf/SvcLvl/Cd of the SEPA block.
	ServiceLevelSEPA = "SEPA"
	// ChargeBearerSEPA (SLEV, "following service level") is the only charge
	// bearer the SEPA scheme allows.
	ChargeBearerSEPA = "SLEV"
	// ChargeBearerCrossBorder (SHAR) splits charges: each side pays its own
	// bank, the usual choice for payouts outside SEPA.
	ChargeBearerCrossBorder = "SHAR"
	// PaymentMethodTransfer is PmtMtd: credit transfer.
	PaymentMethodTransfer = "TRF"
	// debtorAgentNotProvided stands in for a missing debtor BIC in SEPA
	// blocks (EPC SCT implementation guidelines, DbtrAgt/FinInstnId/Othr/Id).
	debtorAgentNotProvided = "NOTPROVIDED"
)

// SEPACountry reports whether an IBAN country code belongs to the SEPA scheme
// (the list lives in package bankid, with its source).
func SEPACountry(code string) bool { return bankid.IsSEPA(code) }

// Message is one pain.001 file: one debtor account paying many creditors.
type Message struct {
	// MessageID is GrpHdr/MsgId: at most 35 characters, stable per cycle so a
	// resent file is recognised by the bank as the same message.
	MessageID string
	// CreationTime is GrpHdr/CreDtTm, written in UTC without fractional
	// seconds. It is given, never read from the clock, so the same cycle
	// always produces the same bytes.
	CreationTime        time.Time
	InitiatingPartyName string
	Debtor              Debtor
	// RequestedExecutionDate is ReqdExctnDt/Dt; only its calendar date (in
	// its own location) is used.
	RequestedExecutionDate time.Time
	Payments               []Payment
}

// Debtor is the paying party: payrun's own account.
type Debtor struct {
	Name string
	// IBAN in electronic format; spaces are removed and letters upper-cased.
	IBAN string
	// BIC of the debtor's bank: 8 or 11 characters. Optional for a SEPA-only
	// message (written as NOTPROVIDED), required for cross-border blocks.
	BIC string
	// Country is ISO 3166-1 alpha-2, written as Dbtr/PstlAdr/Ctry; optional.
	Country string
}

// Payment is one credit transfer to one publisher.
type Payment struct {
	// EndToEndID travels unchanged to the creditor and back in returns: the
	// payout id, at most 35 characters, unique within the message.
	EndToEndID string
	// InstructionID is optional (PmtId/InstrId), at most 35 characters.
	InstructionID string
	// Amount has at most the currency's minor-unit decimals and is > 0.
	Amount   decimal.Decimal
	Currency string
	// CreditorName is transliterated and cut to MaxNameLength.
	CreditorName string
	// CreditorIBAN in electronic format; spaces are removed, letters
	// upper-cased. Its country code decides SEPA or cross-border.
	CreditorIBAN string
	// CreditorBIC is optional for SEPA (IBAN-only), required cross-border.
	CreditorBIC string
	// CreditorCountry is ISO 3166-1 alpha-2: optional for SEPA, required
	// cross-border.
	CreditorCountry string
	// RemittanceInfo is transliterated and cut to MaxRemittanceLength.
	RemittanceInfo string
}

// Totals are what a written message declares: the number of transactions and
// the control sum (the plain sum of all amounts, whatever their currency, as
// ISO 20022 defines CtrlSum), with the same per PmtInf block.
type Totals struct {
	Transactions int
	ControlSum   decimal.Decimal
	Blocks       []BlockTotals
}

// Errors callers may branch on. Every error from Write wraps one of them (or
// ErrInvalidIdentifier) and names the payment by index and EndToEndID.
var (
	ErrEmptyMessage    = errors.New("no payments")
	ErrTooManyPayments = fmt.Errorf("more than %d payments", MaxTransactions)
	ErrInvalidAmount   = errors.New("invalid amount")
	ErrInvalidField    = errors.New("invalid field")
	ErrDuplicateID     = errors.New("duplicate EndToEndID")
)

var (
	ibanShape    = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$`)
	bicShape     = regexp.MustCompile(`^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`)
	countryShape = regexp.MustCompile(`^[A-Z]{2}$`)
)

// group is one PmtInf block under construction.
type group struct {
	key      string // "SEPA" or the cross-border currency
	sepa     bool
	currency string
	places   int32
	payments []Payment
}

// Write validates m, writes it to w as pain.001.001.09 and returns the
// totals it declares. The bytes depend only on m: blocks come in a fixed
// order (the SEPA block first, then one cross-border block per currency in
// alphabetical order), transactions inside a block are sorted by EndToEndID,
// and no clock or map iteration is involved.
//
// Before anything reaches w, the document is encoded in memory, read back
// with Read and its totals compared with the ones computed from m; on any
// error nothing is written.
//
// Errors: ErrEmptyMessage, ErrTooManyPayments, ErrInvalidAmount,
// ErrInvalidField, ErrDuplicateID, ErrInvalidIdentifier (all wrapped with the
// payment's index and EndToEndID), ErrTotalsMismatch, and w's write error.
func Write(w io.Writer, m Message) (Totals, error) {
	doc, want, err := build(m)
	if err != nil {
		return Totals{}, err
	}
	// Sized once: a transaction takes 650-1,000 bytes indented, and a
	// buffer grown by doubling cleared and copied twice the file's size
	// (a third of the writing's time for 20k transactions).
	var buf bytes.Buffer
	buf.Grow(bufferEstimate(len(m.Payments)))
	buf.WriteString(xml.Header)
	encode(&buf, doc)
	buf.WriteByte('\n')
	// Recompute the totals from the bytes, as a bank would, and compare them
	// with the ones computed from the input (pairs of totals, see STYLE.md).
	back, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return Totals{}, fmt.Errorf("sepa: reading back the written message: %w", err)
	}
	got, err := back.Totals()
	if err != nil {
		return Totals{}, err
	}
	if err := sameTotals(got, want); err != nil {
		return Totals{}, err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return Totals{}, fmt.Errorf("sepa: write: %w", err)
	}
	return want, nil
}

// bufferEstimate is the bytes reserved for a message of n transactions:
// the group header and a block's, and 800 bytes a transaction (the
// buffer grows once more for longer names and remittance texts).
func bufferEstimate(n int) int { return 4<<10 + n*800 }

// sameTotals compares the totals read back from the bytes with the ones
// computed from the input, block by block.
func sameTotals(got, want Totals) error {
	mismatch := func(what string, g, w any) error {
		return fmt.Errorf("sepa: written %s %v, expected %v: %w", what, g, w, ErrTotalsMismatch)
	}
	if got.Transactions != want.Transactions {
		return mismatch("NbOfTxs", got.Transactions, want.Transactions)
	}
	if !got.ControlSum.Equal(want.ControlSum) {
		return mismatch("CtrlSum", got.ControlSum, want.ControlSum)
	}
	if len(got.Blocks) != len(want.Blocks) {
		return mismatch("PmtInf blocks", len(got.Blocks), len(want.Blocks))
	}
	for i := range got.Blocks {
		g, w := got.Blocks[i], want.Blocks[i]
		if g.PaymentInformationID != w.PaymentInformationID || g.Currency != w.Currency ||
			g.Transactions != w.Transactions || !g.ControlSum.Equal(w.ControlSum) {
			return mismatch(fmt.Sprintf("PmtInf %d", i+1), g, w)
		}
	}
	return nil
}

// build validates m and turns it into a Document and its totals.
func build(m Message) (*Document, Totals, error) {
	if err := checkIdentifier("MessageID", m.MessageID); err != nil {
		return nil, Totals{}, fmt.Errorf("sepa: %w", err)
	}
	if m.CreationTime.IsZero() {
		return nil, Totals{}, fmt.Errorf("sepa: CreationTime is zero: %w", ErrInvalidField)
	}
	if m.RequestedExecutionDate.IsZero() {
		return nil, Totals{}, fmt.Errorf("sepa: RequestedExecutionDate is zero: %w", ErrInvalidField)
	}
	initiator := Transliterate(m.InitiatingPartyName, MaxNameLength)
	if initiator == "" {
		return nil, Totals{}, fmt.Errorf("sepa: InitiatingPartyName %q is empty in the EPC character set: %w", m.InitiatingPartyName, ErrInvalidField)
	}
	debtor, err := normaliseDebtor(m.Debtor)
	if err != nil {
		return nil, Totals{}, err
	}
	switch {
	case len(m.Payments) == 0:
		return nil, Totals{}, fmt.Errorf("sepa: %w", ErrEmptyMessage)
	case len(m.Payments) > MaxTransactions:
		return nil, Totals{}, fmt.Errorf("sepa: %d payments: %w", len(m.Payments), ErrTooManyPayments)
	}

	groups, err := groupPayments(m.Payments, debtor)
	if err != nil {
		return nil, Totals{}, err
	}

	executionDate := m.RequestedExecutionDate.Format(time.DateOnly)
	doc := &Document{}
	total := Totals{ControlSum: decimal.Zero}
	maxPlaces := int32(0)
	for _, g := range groups {
		block, bt := buildBlock(m.MessageID, executionDate, debtor, g)
		doc.Initiation.Payments = append(doc.Initiation.Payments, block)
		total.Blocks = append(total.Blocks, bt)
		total.Transactions += bt.Transactions
		total.ControlSum = total.ControlSum.Add(bt.ControlSum)
		maxPlaces = max(maxPlaces, g.places)
	}
	doc.Initiation.GroupHeader = GroupHeader{
		MessageID:        m.MessageID,
		CreationDateTime: m.CreationTime.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z"),
		NumberOfTxs:      strconv.Itoa(total.Transactions),
		ControlSum:       total.ControlSum.StringFixed(maxPlaces),
		InitiatingParty:  PartyName{Name: initiator},
	}
	return doc, total, nil
}

func normaliseDebtor(d Debtor) (Debtor, error) {
	out := Debtor{
		Name:    Transliterate(d.Name, MaxNameLength),
		IBAN:    normaliseCode(d.IBAN),
		BIC:     normaliseCode(d.BIC),
		Country: d.Country,
	}
	switch {
	case out.Name == "":
		return Debtor{}, fmt.Errorf("sepa: Debtor.Name %q is empty in the EPC character set: %w", d.Name, ErrInvalidField)
	case !ibanShape.MatchString(out.IBAN):
		return Debtor{}, fmt.Errorf("sepa: Debtor.IBAN is not an IBAN: %w", ErrInvalidField)
	case out.BIC != "" && !bicShape.MatchString(out.BIC):
		return Debtor{}, fmt.Errorf("sepa: Debtor.BIC %q is not a BIC: %w", d.BIC, ErrInvalidField)
	case out.Country != "" && !countryShape.MatchString(out.Country):
		return Debtor{}, fmt.Errorf("sepa: Debtor.Country %q is not an ISO 3166-1 alpha-2 code: %w", d.Country, ErrInvalidField)
	}
	return out, nil
}

// normaliseCode turns "de89 3704 0044..." into "DE893704 0044..." without
// spaces: IBANs and BICs are case-insensitive and often printed in groups.
func normaliseCode(code string) string {
	return strings.ToUpper(strings.ReplaceAll(code, " ", ""))
}

// groupPayments validates every payment and sorts them into blocks.
func groupPayments(payments []Payment, debtor Debtor) ([]*group, error) {
	seen := make(map[string]int, len(payments))
	byKey := map[string]*group{}
	var errs []error
	for i, p := range payments {
		where := fmt.Sprintf("payment %d (EndToEndID %q)", i, p.EndToEndID)
		normal, g, err := validatePayment(p, debtor)
		if err != nil {
			errs = append(errs, fmt.Errorf("sepa: %s: %w", where, err))
			if len(errs) == maxReportedErrors {
				break
			}
			continue
		}
		if first, dup := seen[p.EndToEndID]; dup {
			errs = append(errs, fmt.Errorf("sepa: %s: also used by payment %d: %w", where, first, ErrDuplicateID))
			continue
		}
		seen[p.EndToEndID] = i
		existing, ok := byKey[g.key]
		if !ok {
			existing = g
			byKey[g.key] = g
		}
		existing.payments = append(existing.payments, normal)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	groups := make([]*group, 0, len(byKey))
	for _, g := range byKey {
		groups = append(groups, g)
	}
	// The SEPA block first, then cross-border blocks by currency code.
	sort.Slice(groups, func(a, b int) bool {
		if groups[a].sepa != groups[b].sepa {
			return groups[a].sepa
		}
		return groups[a].key < groups[b].key
	})
	for _, g := range groups {
		sort.Slice(g.payments, func(a, b int) bool { return g.payments[a].EndToEndID < g.payments[b].EndToEndID })
	}
	return groups, nil
}

// maxReportedErrors caps the problems Write reports at once: enough to fix a
// file in one go, not so many that the error drowns the log.
const maxReportedErrors = 50

// validatePayment checks and normalises one payment and says which block it
// belongs to.
func validatePayment(p Payment, debtor Debtor) (Payment, *group, error) {
	if err := checkIdentifier("EndToEndID", p.EndToEndID); err != nil {
		return Payment{}, nil, err
	}
	if p.InstructionID != "" {
		if err := checkIdentifier("InstructionID", p.InstructionID); err != nil {
			return Payment{}, nil, err
		}
	}
	places, err := money.MinorUnit(p.Currency)
	if err != nil {
		return Payment{}, nil, fmt.Errorf("Currency: %v: %w", err, ErrInvalidField)
	}
	switch {
	case !p.Amount.IsPositive():
		return Payment{}, nil, fmt.Errorf("Amount %s %s is not positive: %w", p.Amount, p.Currency, ErrInvalidAmount)
	case !p.Amount.Equal(p.Amount.Truncate(places)):
		return Payment{}, nil, fmt.Errorf("Amount %s has more than the %d decimals of %s: %w", p.Amount, places, p.Currency, ErrInvalidAmount)
	case len(p.Amount.Truncate(0).Abs().String())+int(places) > MaxAmountDigits:
		return Payment{}, nil, fmt.Errorf("Amount %s has more than %d digits: %w", p.Amount, MaxAmountDigits, ErrInvalidAmount)
	}
	normal := p
	normal.CreditorName = Transliterate(p.CreditorName, MaxNameLength)
	normal.RemittanceInfo = Transliterate(p.RemittanceInfo, MaxRemittanceLength)
	normal.CreditorIBAN = normaliseCode(p.CreditorIBAN)
	normal.CreditorBIC = normaliseCode(p.CreditorBIC)
	switch {
	case normal.CreditorName == "":
		return Payment{}, nil, fmt.Errorf("CreditorName %q is empty in the EPC character set: %w", p.CreditorName, ErrInvalidField)
	case !ibanShape.MatchString(normal.CreditorIBAN):
		return Payment{}, nil, fmt.Errorf("CreditorIBAN is not an IBAN: %w", ErrInvalidField)
	case normal.CreditorBIC != "" && !bicShape.MatchString(normal.CreditorBIC):
		return Payment{}, nil, fmt.Errorf("CreditorBIC %q is not a BIC: %w", p.CreditorBIC, ErrInvalidField)
	case p.CreditorCountry != "" && !countryShape.MatchString(p.CreditorCountry):
		return Payment{}, nil, fmt.Errorf("CreditorCountry %q is not an ISO 3166-1 alpha-2 code: %w", p.CreditorCountry, ErrInvalidField)
	}
	sepa := p.Currency == "EUR" && SEPACountry(normal.CreditorIBAN[:2]) && SEPACountry(debtor.IBAN[:2])
	if sepa {
		if p.Amount.GreaterThan(MaxSEPAAmount) {
			return Payment{}, nil, fmt.Errorf("Amount %s EUR exceeds the SEPA maximum %s: %w", p.Amount, MaxSEPAAmount, ErrInvalidAmount)
		}
		return normal, &group{key: ServiceLevelSEPA, sepa: true, currency: "EUR", places: places}, nil
	}
	switch {
	case normal.CreditorBIC == "":
		return Payment{}, nil, fmt.Errorf("CreditorBIC is required for a cross-border %s transfer: %w", p.Currency, ErrInvalidField)
	case p.CreditorCountry == "":
		return Payment{}, nil, fmt.Errorf("CreditorCountry is required for a cross-border %s transfer: %w", p.Currency, ErrInvalidField)
	case debtor.BIC == "":
		return Payment{}, nil, fmt.Errorf("Debtor.BIC is required for a cross-border %s transfer: %w", p.Currency, ErrInvalidField)
	}
	return normal, &group{key: p.Currency, currency: p.Currency, places: places}, nil
}

// paymentInformationID derives PmtInfId from MsgId: MsgId (cut to leave room)
// + "-SEPA" for the SEPA block, + "-X" + currency for a cross-border block,
// e.g. "PAYRUN-2026-11-SEPA", "PAYRUN-2026-11-XGBP". Both suffixes are five
// characters, so MsgIds up to 30 characters are kept whole.
func paymentInformationID(messageID string, g *group) string {
	suffix := "-X" + g.currency
	if g.sepa {
		suffix = "-" + ServiceLevelSEPA
	}
	prefix := messageID
	if len(prefix)+len(suffix) > MaxIdentifierLength {
		prefix = prefix[:MaxIdentifierLength-len(suffix)]
	}
	// Cutting may leave a trailing '/' or '-'; '/' would break the EPC rule
	// against "//" and trailing slashes once the suffix is added.
	prefix = strings.TrimRight(prefix, "/")
	return prefix + suffix
}

func buildBlock(messageID, executionDate string, debtor Debtor, g *group) (PaymentInformation, BlockTotals) {
	block := PaymentInformation{
		ID:                     paymentInformationID(messageID, g),
		Method:                 PaymentMethodTransfer,
		RequestedExecutionDate: ExecutionDate{Date: executionDate},
		Debtor:                 PartyName{Name: debtor.Name, Address: countryAddress(debtor.Country)},
		DebtorAccount:          Account{ID: AccountID{IBAN: debtor.IBAN}},
		DebtorAgent:            Agent{FinancialInstitution: FinancialInstitution{BIC: debtor.BIC}},
		Transactions:           make([]CreditTransfer, 0, len(g.payments)),
	}
	if debtor.BIC == "" {
		block.DebtorAgent.FinancialInstitution.Other = &OtherBankID{ID: debtorAgentNotProvided}
	}
	if g.sepa {
		block.TypeInformation = &PaymentType{ServiceLevel: ServiceLevel{Code: ServiceLevelSEPA}}
		block.ChargeBearer = ChargeBearerSEPA
	} else {
		block.ChargeBearer = ChargeBearerCrossBorder
	}
	bt := BlockTotals{PaymentInformationID: block.ID, Currency: g.currency, ControlSum: decimal.Zero}
	for _, p := range g.payments {
		tx := CreditTransfer{
			PaymentID: PaymentID{InstructionID: p.InstructionID, EndToEndID: p.EndToEndID},
			Amount: Amount{Instructed: InstructedAmount{
				Currency: p.Currency,
				Value:    p.Amount.StringFixed(g.places),
			}},
			Creditor:        PartyName{Name: p.CreditorName, Address: countryAddress(p.CreditorCountry)},
			CreditorAccount: Account{ID: AccountID{IBAN: p.CreditorIBAN}},
		}
		if p.CreditorBIC != "" {
			tx.CreditorAgent = &Agent{FinancialInstitution: FinancialInstitution{BIC: p.CreditorBIC}}
		}
		if p.RemittanceInfo != "" {
			tx.Remittance = &Remittance{Unstructured: p.RemittanceInfo}
		}
		block.Transactions = append(block.Transactions, tx)
		bt.Transactions++
		bt.ControlSum = bt.ControlSum.Add(p.Amount)
	}
	block.NumberOfTxs = strconv.Itoa(bt.Transactions)
	block.ControlSum = bt.ControlSum.StringFixed(g.places)
	return block, bt
}

func countryAddress(country string) *PostalAddress {
	if country == "" {
		return nil
	}
	return &PostalAddress{Country: country}
}
