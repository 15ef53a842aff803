package sepa

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// epcSchemaName is the EPC implementation-guideline XSD for SCT pain.001.001.09
// (EPC132-08, 2023 version 1.0), vendored unmodified in testdata/ (see
// testdata/README.md for where it comes from).
const epcSchemaName = "pain.001.001.09.EPC-SCT-2023.xsd"

// epcSchema returns the path of the vendored EPC XSD. Tests run in the
// package directory, so testdata/ is relative to it.
func epcSchema(t testing.TB) string {
	t.Helper()
	path := filepath.Join("testdata", epcSchemaName)
	_, err := os.Stat(path)
	require.NoError(t, err, "EPC schema not found at %s", path)
	return path
}

// xmllint returns the path of xmllint. Schema validation is part of the
// contract of this package, so a missing tool fails the test, never skips it.
func xmllint(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint not found: run `make deps` (installs libxml2-utils)")
	}
	return path
}

// validateEPC validates the pain.001 bytes against the EPC XSD with xmllint.
func validateEPC(t testing.TB, tool, schema string, document []byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pain001.xml")
	require.NoError(t, os.WriteFile(file, document, 0o600))
	out, err := exec.Command(tool, "--noout", "--schema", schema, file).CombinedOutput()
	require.NoError(t, err, "xmllint rejected the message:\n%s\n--- document ---\n%s", out, document)
	require.Contains(t, string(out), "validates")
}

func TestSEPAMessagesValidateAgainstEPCSchema(t *testing.T) {
	tool, schema := xmllint(t), epcSchema(t)
	golden, err := os.ReadFile(filepath.Join("testdata", "sepa.golden"))
	require.NoError(t, err)
	validateEPC(t, tool, schema, golden)

	m := sepaOnly(fixtureMessage())
	m.Debtor.BIC = "" // DbtrAgt/FinInstnId/Othr/Id NOTPROVIDED
	m.Debtor.Country = ""
	m.Payments[0].InstructionID = ""
	m.Payments[0].RemittanceInfo = strings.Repeat("Remittance ", 20)
	m.Payments[1].CreditorName = strings.Repeat("Ä", 80)
	document, _ := writeBytes(t, m)
	validateEPC(t, tool, schema, document)
}

// The EPC schema is strict enough to notice a broken writer: make sure the
// validation step actually rejects something.
func TestEPCSchemaRejectsCrossBorderBlocks(t *testing.T) {
	tool, schema := xmllint(t), epcSchema(t)
	document, _ := writeBytes(t, fixtureMessage())
	file := filepath.Join(t.TempDir(), "mixed.xml")
	require.NoError(t, os.WriteFile(file, document, 0o600))
	out, err := exec.Command(tool, "--noout", "--schema", schema, file).CombinedOutput()
	require.Error(t, err, "the EPC schema admits only SLEV, so SHAR blocks must fail:\n%s", out)
	require.Contains(t, string(out), "ChrgBr")
}

// Text drawn from a palette with letters that need transliterating, letters
// that cannot be represented, and the punctuation of the EPC set.
var textPalette = []rune("abcXYZ 019/-?:().,'+éøßÆŒłŻ&_“”€@漢字\t")

func drawText(t *rapid.T, label string, maxRunes int) string {
	runes := rapid.SliceOfN(rapid.SampledFrom(textPalette), 0, maxRunes).Draw(t, label)
	return string(runes)
}

var idAlphabet = []rune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789-.:?()+,'")

func drawPayment(t *rapid.T, i int, sepaOnly bool) Payment {
	type account struct{ currency, iban, bic, country string }
	accounts := []account{
		{"EUR", "DE89370400440532013000", "", "DE"},
		{"EUR", "FR1420041010050500013M02606", "BNPAFRPP", "FR"},
		{"EUR", "NL91ABNA0417164300", "ABNANL2A", ""},
	}
	if !sepaOnly {
		accounts = append(accounts,
			account{"GBP", "GB29NWBK60161331926819", "NWBKGB2L", "GB"},
			account{"CHF", "CH9300762011623852957", "UBSWCHZH80A", "CH"},
			account{"JPY", "GB29NWBK60161331926819", "NWBKGB2L", "GB"},
			account{"BHD", "GB29NWBK60161331926819", "NWBKGB2L", "GB"},
			account{"EUR", "TR330006100519786457841326", "TGBATRIS", "TR"},
		)
	}
	a := rapid.SampledFrom(accounts).Draw(t, "account")
	places := map[string]int32{"EUR": 2, "GBP": 2, "CHF": 2, "JPY": 0, "BHD": 3}[a.currency]
	units := rapid.Int64Range(1, 99_999_999_999).Draw(t, "units")
	suffix := string(rapid.SliceOfN(rapid.SampledFrom(idAlphabet), 0, 20).Draw(t, "id"))
	return Payment{
		EndToEndID:      fmt.Sprintf("P%d-%s", i, suffix),
		Amount:          decimal.New(units, -places),
		Currency:        a.currency,
		CreditorName:    "N" + drawText(t, "name", 90),
		CreditorIBAN:    a.iban,
		CreditorBIC:     a.bic,
		CreditorCountry: a.country,
		RemittanceInfo:  drawText(t, "remittance", 160),
	}
}

func drawMessage(t *rapid.T, sepaOnly bool) Message {
	n := rapid.IntRange(1, 30).Draw(t, "payments")
	payments := make([]Payment, n)
	for i := range payments {
		payments[i] = drawPayment(t, i, sepaOnly)
	}
	return Message{
		MessageID:              "PAYRUN-" + string(rapid.SliceOfN(rapid.SampledFrom(idAlphabet), 1, 28).Draw(t, "msgid")),
		CreationTime:           time.Unix(rapid.Int64Range(1e9, 4e9).Draw(t, "created"), rapid.Int64Range(0, 999_999_999).Draw(t, "nanos")),
		InitiatingPartyName:    "Payrun " + drawText(t, "initiator", 80),
		Debtor:                 Debtor{Name: "Payrun GmbH", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		RequestedExecutionDate: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC),
		Payments:               payments,
	}
}

// checkRoundTrip parses the written bytes back and checks the properties
// every message must have.
func checkRoundTrip(t *rapid.T, m Message, written []byte, totals Totals) {
	doc, err := Read(bytes.NewReader(written))
	require.NoError(t, err)
	recomputed, err := doc.Totals()
	require.NoError(t, err)
	require.Equal(t, len(m.Payments), recomputed.Transactions)
	require.Equal(t, totals.Transactions, recomputed.Transactions)
	require.True(t, totals.ControlSum.Equal(recomputed.ControlSum))

	inputSum := decimal.Zero
	for _, p := range m.Payments {
		inputSum = inputSum.Add(p.Amount)
	}
	require.True(t, inputSum.Equal(recomputed.ControlSum), "control sum %s, input sum %s", recomputed.ControlSum, inputSum)

	ids := []string{doc.Initiation.GroupHeader.MessageID}
	texts := []string{doc.Initiation.GroupHeader.InitiatingParty.Name}
	for i, block := range doc.Initiation.Payments {
		require.Equal(t, totals.Blocks[i].Transactions, len(block.Transactions))
		ids = append(ids, block.ID)
		texts = append(texts, block.Debtor.Name)
		for _, tx := range block.Transactions {
			ids = append(ids, tx.PaymentID.EndToEndID)
			if tx.PaymentID.InstructionID != "" {
				ids = append(ids, tx.PaymentID.InstructionID)
			}
			require.LessOrEqual(t, len(tx.Creditor.Name), MaxNameLength)
			texts = append(texts, tx.Creditor.Name)
			if tx.Remittance != nil {
				require.LessOrEqual(t, len(tx.Remittance.Unstructured), MaxRemittanceLength)
				texts = append(texts, tx.Remittance.Unstructured)
			}
		}
	}
	for _, id := range ids {
		require.NoError(t, checkIdentifier("id", id))
	}
	for _, text := range texts {
		require.NotEmpty(t, text)
		for _, r := range text {
			require.True(t, allowedRune(r), "%q in %q is outside the EPC set", r, text)
		}
	}
}

func TestPropertyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := drawMessage(t, false)
		var buf bytes.Buffer
		totals, err := Write(&buf, m)
		require.NoError(t, err)
		checkRoundTrip(t, m, buf.Bytes(), totals)
	})
}

// Every SEPA-only message the writer can produce is valid against the EPC XSD.
func TestPropertySEPAOnlyIsSchemaValid(t *testing.T) {
	tool, schema := xmllint(t), epcSchema(t)
	rapid.Check(t, func(rt *rapid.T) {
		m := drawMessage(rt, true)
		var buf bytes.Buffer
		totals, err := Write(&buf, m)
		require.NoError(rt, err)
		checkRoundTrip(rt, m, buf.Bytes(), totals)
		validateEPC(t, tool, schema, buf.Bytes())
	})
}
