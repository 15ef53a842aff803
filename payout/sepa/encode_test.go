package sepa

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// encode writes what encoding/xml's Encoder writes for the same document,
// indented the same way: every element, optional ones present or absent,
// and text with every character XML escapes (and some it must replace).
// The documents are drawn directly, not through build, so that text build
// would refuse or transliterate is covered too.
func TestEncodeIsEncodingXML(t *testing.T) {
	palette := []rune("aZ0 -.&<>\"'\t\n\r\u00e9\u6f22\ufffd\x01")
	text := func(t *rapid.T, label string) string {
		return string(rapid.SliceOfN(rapid.SampledFrom(palette), 0, 8).Draw(t, label))
	}
	party := func(t *rapid.T, label string) PartyName {
		p := PartyName{Name: text(t, label+".name")}
		if rapid.Bool().Draw(t, label+".address") {
			p.Address = &PostalAddress{Country: text(t, label+".country")}
		}
		return p
	}
	agent := func(t *rapid.T, label string) Agent {
		var a Agent
		if rapid.Bool().Draw(t, label+".bic") {
			a.FinancialInstitution.BIC = text(t, label+".bic")
		}
		if rapid.Bool().Draw(t, label+".other") {
			a.FinancialInstitution.Other = &OtherBankID{ID: text(t, label+".other")}
		}
		return a
	}
	rapid.Check(t, func(t *rapid.T) {
		doc := &Document{}
		doc.Initiation.GroupHeader = GroupHeader{MessageID: text(t, "msgid"), CreationDateTime: text(t, "created"),
			NumberOfTxs: text(t, "n"), ControlSum: text(t, "sum"), InitiatingParty: party(t, "initiator")}
		for range rapid.IntRange(0, 3).Draw(t, "blocks") {
			block := PaymentInformation{ID: text(t, "block.id"), Method: text(t, "method"), NumberOfTxs: text(t, "block.n"),
				ControlSum: text(t, "block.sum"), RequestedExecutionDate: ExecutionDate{Date: text(t, "date")},
				Debtor: party(t, "debtor"), DebtorAccount: Account{ID: AccountID{IBAN: text(t, "debtor.iban")}},
				DebtorAgent: agent(t, "debtor.agent"), ChargeBearer: rapid.SampledFrom([]string{"", "SLEV", "a&b"}).Draw(t, "bearer")}
			if rapid.Bool().Draw(t, "type") {
				block.TypeInformation = &PaymentType{ServiceLevel: ServiceLevel{Code: text(t, "code")}}
			}
			for range rapid.IntRange(0, 3).Draw(t, "transactions") {
				tx := CreditTransfer{
					PaymentID:       PaymentID{InstructionID: rapid.SampledFrom([]string{"", "I1", "<i>"}).Draw(t, "instr"), EndToEndID: text(t, "e2e")},
					Amount:          Amount{Instructed: InstructedAmount{Currency: text(t, "ccy"), Value: text(t, "amount")}},
					Creditor:        party(t, "creditor"),
					CreditorAccount: Account{ID: AccountID{IBAN: text(t, "creditor.iban")}},
				}
				if rapid.Bool().Draw(t, "creditor.agent") {
					a := agent(t, "creditor.agent")
					tx.CreditorAgent = &a
				}
				if rapid.Bool().Draw(t, "remittance") {
					tx.Remittance = &Remittance{Unstructured: text(t, "ustrd")}
				}
				block.Transactions = append(block.Transactions, tx)
			}
			doc.Initiation.Payments = append(doc.Initiation.Payments, block)
		}
		var want bytes.Buffer
		encoder := xml.NewEncoder(&want)
		encoder.Indent("", "  ")
		require.NoError(t, encoder.Encode(doc))
		var got bytes.Buffer
		encode(&got, doc)
		require.Equal(t, want.String(), got.String())
	})
}
