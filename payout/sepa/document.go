package sepa

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/shopspring/decimal"
)

// Namespace is the XML namespace of pain.001.001.09
// (CustomerCreditTransferInitiationV09, ISO 20022 message catalogue).
const Namespace = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"

// The types below mirror the subset of pain.001.001.09 that payrun writes, in
// schema order: encoding/xml emits struct fields in declaration order, which
// is what makes the output both schema-valid and byte-stable. Optional
// elements are pointers or omitempty strings. They are exported so that Read
// can hand back what it parsed; the values are the literal XML text.

// Document is the pain.001.001.09 root element.
type Document struct {
	XMLName    xml.Name                         `xml:"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09 Document"`
	Initiation CustomerCreditTransferInitiation `xml:"CstmrCdtTrfInitn"`
}

// CustomerCreditTransferInitiation is CstmrCdtTrfInitn: one group header and
// one or more payment-information blocks.
type CustomerCreditTransferInitiation struct {
	GroupHeader GroupHeader          `xml:"GrpHdr"`
	Payments    []PaymentInformation `xml:"PmtInf"`
}

// GroupHeader is GrpHdr.
type GroupHeader struct {
	MessageID        string    `xml:"MsgId"`
	CreationDateTime string    `xml:"CreDtTm"`
	NumberOfTxs      string    `xml:"NbOfTxs"`
	ControlSum       string    `xml:"CtrlSum"`
	InitiatingParty  PartyName `xml:"InitgPty"`
}

// PartyName is a party identified by name only (InitgPty, Cdtr without address).
type PartyName struct {
	Name    string         `xml:"Nm"`
	Address *PostalAddress `xml:"PstlAdr,omitempty"`
}

// PostalAddress carries the country only: payrun has no structured address
// for the parties (see the package documentation).
type PostalAddress struct {
	Country string `xml:"Ctry"`
}

// PaymentInformation is PmtInf: one debit of the debtor account, shared by
// its credit transfers.
type PaymentInformation struct {
	ID                     string           `xml:"PmtInfId"`
	Method                 string           `xml:"PmtMtd"`
	NumberOfTxs            string           `xml:"NbOfTxs"`
	ControlSum             string           `xml:"CtrlSum"`
	TypeInformation        *PaymentType     `xml:"PmtTpInf,omitempty"`
	RequestedExecutionDate ExecutionDate    `xml:"ReqdExctnDt"`
	Debtor                 PartyName        `xml:"Dbtr"`
	DebtorAccount          Account          `xml:"DbtrAcct"`
	DebtorAgent            Agent            `xml:"DbtrAgt"`
	ChargeBearer           string           `xml:"ChrgBr,omitempty"`
	Transactions           []CreditTransfer `xml:"CdtTrfTxInf"`
}

// PaymentType is PmtTpInf with the service level only.
type PaymentType struct {
	ServiceLevel ServiceLevel `xml:"SvcLvl"`
}

// ServiceLevel is SvcLvl/Cd ("SEPA").
type ServiceLevel struct {
	Code string `xml:"Cd"`
}

// ExecutionDate is ReqdExctnDt; v09 wraps the date in a Dt/DtTm choice.
type ExecutionDate struct {
	Date string `xml:"Dt"`
}

// Account is an account identified by IBAN (DbtrAcct, CdtrAcct).
type Account struct {
	ID AccountID `xml:"Id"`
}

// AccountID is Id/IBAN.
type AccountID struct {
	IBAN string `xml:"IBAN"`
}

// Agent is a bank (DbtrAgt, CdtrAgt): FinInstnId/BICFI, or, for a debtor
// agent without a BIC, FinInstnId/Othr/Id = NOTPROVIDED as the EPC allows.
type Agent struct {
	FinancialInstitution FinancialInstitution `xml:"FinInstnId"`
}

// FinancialInstitution is FinInstnId.
type FinancialInstitution struct {
	BIC   string       `xml:"BICFI,omitempty"`
	Other *OtherBankID `xml:"Othr,omitempty"`
}

// OtherBankID is FinInstnId/Othr.
type OtherBankID struct {
	ID string `xml:"Id"`
}

// CreditTransfer is CdtTrfTxInf: one payment to one creditor.
type CreditTransfer struct {
	PaymentID       PaymentID   `xml:"PmtId"`
	Amount          Amount      `xml:"Amt"`
	CreditorAgent   *Agent      `xml:"CdtrAgt,omitempty"`
	Creditor        PartyName   `xml:"Cdtr"`
	CreditorAccount Account     `xml:"CdtrAcct"`
	Remittance      *Remittance `xml:"RmtInf,omitempty"`
}

// PaymentID is PmtId.
type PaymentID struct {
	InstructionID string `xml:"InstrId,omitempty"`
	EndToEndID    string `xml:"EndToEndId"`
}

// Amount is Amt, holding InstdAmt.
type Amount struct {
	Instructed InstructedAmount `xml:"InstdAmt"`
}

// InstructedAmount is InstdAmt with its Ccy attribute.
type InstructedAmount struct {
	Currency string `xml:"Ccy,attr"`
	Value    string `xml:",chardata"`
}

// Remittance is RmtInf/Ustrd.
type Remittance struct {
	Unstructured string `xml:"Ustrd"`
}

// ErrTotalsMismatch is returned when a declared NbOfTxs or CtrlSum does not
// match the transactions it covers.
var ErrTotalsMismatch = errors.New("declared totals do not match the transactions")

// BlockTotals are the recomputed totals of one PmtInf block.
type BlockTotals struct {
	PaymentInformationID string
	Currency             string // "" when the block mixes currencies (payrun never writes that)
	Transactions         int
	ControlSum           decimal.Decimal
}

// Read parses a pain.001.001.09 document (as written by Write), recomputes
// every block's and the group header's number of transactions and control
// sum, and compares them with the declared ones.
//
// Errors: XML syntax errors, a wrong root element or namespace (for example
// pain.001.001.03), unparseable amounts or counts, and ErrTotalsMismatch.
func Read(r io.Reader) (*Document, error) {
	var doc Document
	decoder := xml.NewDecoder(r)
	if err := decoder.Decode(&doc); err != nil {
		return nil, fmt.Errorf("sepa: parse pain.001: %w", err)
	}
	if _, err := doc.Totals(); err != nil {
		return nil, err
	}
	return &doc, nil
}

// Totals recomputes the message's totals from its transactions and checks
// them against the declared NbOfTxs and CtrlSum of every PmtInf block and of
// the group header. Totals.Blocks lists the blocks in document order.
// Errors: unparseable numbers and ErrTotalsMismatch.
func (d *Document) Totals() (Totals, error) {
	total := Totals{ControlSum: decimal.Zero}
	for i, block := range d.Initiation.Payments {
		bt := BlockTotals{PaymentInformationID: block.ID, ControlSum: decimal.Zero}
		for j, tx := range block.Transactions {
			amount, err := parseXMLAmount(tx.Amount.Instructed.Value)
			if err != nil {
				return Totals{}, fmt.Errorf("sepa: PmtInf %d (%s) CdtTrfTxInf %d: InstdAmt %q: %w", i+1, block.ID, j+1, tx.Amount.Instructed.Value, err)
			}
			if j == 0 {
				bt.Currency = tx.Amount.Instructed.Currency
			} else if bt.Currency != tx.Amount.Instructed.Currency {
				bt.Currency = ""
			}
			bt.Transactions++
			bt.ControlSum = bt.ControlSum.Add(amount)
		}
		if err := compareDeclared(fmt.Sprintf("PmtInf %d (%s)", i+1, block.ID), block.NumberOfTxs, block.ControlSum, bt.Transactions, bt.ControlSum); err != nil {
			return Totals{}, err
		}
		total.Transactions += bt.Transactions
		total.ControlSum = total.ControlSum.Add(bt.ControlSum)
		total.Blocks = append(total.Blocks, bt)
	}
	header := d.Initiation.GroupHeader
	if err := compareDeclared("GrpHdr", header.NumberOfTxs, header.ControlSum, total.Transactions, total.ControlSum); err != nil {
		return Totals{}, err
	}
	return total, nil
}

// maxAmountTextLength bounds the amount text Read accepts: 18 digits (ISO
// 20022 totalDigits), a decimal point and room for leading zeros. Without a
// bound, a hostile "1e999999999" would make decimal arithmetic crawl.
const maxAmountTextLength = 40

// parseXMLAmount reads an xs:decimal as pain.001 uses it: digits with an
// optional fraction, no sign, no exponent.
func parseXMLAmount(text string) (decimal.Decimal, error) {
	if text == "" || len(text) > maxAmountTextLength {
		return decimal.Zero, fmt.Errorf("not a pain.001 amount (1 to %d characters)", maxAmountTextLength)
	}
	dots := 0
	for _, c := range text {
		switch {
		case c == '.':
			dots++
		case c < '0' || c > '9':
			return decimal.Zero, fmt.Errorf("not a pain.001 amount: %q", c)
		}
	}
	if dots > 1 || text == "." {
		return decimal.Zero, errors.New("not a pain.001 amount")
	}
	return decimal.NewFromString(text)
}

func compareDeclared(where, declaredCount, declaredSum string, count int, sum decimal.Decimal) error {
	n, err := strconv.Atoi(declaredCount)
	if err != nil {
		return fmt.Errorf("sepa: %s: NbOfTxs %q: %w", where, declaredCount, err)
	}
	s, err := parseXMLAmount(declaredSum)
	if err != nil {
		return fmt.Errorf("sepa: %s: CtrlSum %q: %w", where, declaredSum, err)
	}
	if n != count {
		return fmt.Errorf("sepa: %s: NbOfTxs %d but %d transactions: %w", where, n, count, ErrTotalsMismatch)
	}
	if !s.Equal(sum) {
		return fmt.Errorf("sepa: %s: CtrlSum %s but transactions sum to %s: %w", where, s, sum, ErrTotalsMismatch)
	}
	return nil
}
