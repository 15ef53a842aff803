package sepa

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// fixtureMessage is a small cycle: three SEPA EUR payments (one without a
// BIC), one cross-border GBP and one CHF payment, with names that need
// transliteration. The IBANs and BICs are the published specimen ones.
func fixtureMessage() Message {
	return Message{
		MessageID:           "PAYRUN-2026-11-BANK-001",
		CreationTime:        time.Date(2026, 11, 5, 6, 0, 0, 123_000_000, time.UTC),
		InitiatingPartyName: "Payrun Marketplace GmbH",
		Debtor: Debtor{
			Name:    "Payrun Marketplace GmbH",
			IBAN:    "DE89 3704 0044 0532 0130 00",
			BIC:     "COBADEFFXXX",
			Country: "DE",
		},
		RequestedExecutionDate: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC),
		Payments: []Payment{
			{
				EndToEndID: "PO-2026-11-000042", InstructionID: "PO-2026-11-000042",
				Amount: d("1234.5"), Currency: "EUR",
				CreditorName: "Jürgen Groß & Söhne", CreditorIBAN: "FR1420041010050500013M02606",
				CreditorBIC: "BNPAFRPP", CreditorCountry: "FR",
				RemittanceInfo: "payrun payout 2026-11 publisher S-1001",
			},
			{
				EndToEndID: "PO-2026-11-000007",
				Amount:     d("50.00"), Currency: "EUR",
				CreditorName: "Élodie Ørsted-Læssøe", CreditorIBAN: "NL91ABNA0417164300",
				RemittanceInfo: "payrun payout 2026-11 publisher S-1002",
			},
			{
				EndToEndID: "PO-2026-11-000100",
				Amount:     d("999.99"), Currency: "GBP",
				CreditorName: "Zoë O’Brien", CreditorIBAN: "GB29NWBK60161331926819",
				CreditorBIC: "NWBKGB2L", CreditorCountry: "GB",
				RemittanceInfo: "payrun payout 2026-11 publisher S-1003",
			},
			{
				EndToEndID: "PO-2026-11-000101",
				Amount:     d("75.05"), Currency: "CHF",
				CreditorName: "Müller Software AG", CreditorIBAN: "CH9300762011623852957",
				CreditorBIC: "UBSWCHZH80A", CreditorCountry: "CH",
				RemittanceInfo: "payrun payout 2026-11 publisher S-1004",
			},
			{
				EndToEndID: "PO-2026-11-000009",
				Amount:     d("0.01"), Currency: "EUR",
				CreditorName: "Łukasz Żółć", CreditorIBAN: "AT611904300234573201",
				CreditorBIC: "BKAUATWW", CreditorCountry: "AT",
			},
		},
	}
}

// sepaOnly keeps the payments of m that go into the SEPA block.
func sepaOnly(m Message) Message {
	out := m
	out.MessageID = m.MessageID + "-S"
	out.Payments = nil
	for _, p := range m.Payments {
		if p.Currency == "EUR" {
			out.Payments = append(out.Payments, p)
		}
	}
	return out
}

func writeBytes(t testing.TB, m Message) ([]byte, Totals) {
	t.Helper()
	var buf bytes.Buffer
	totals, err := Write(&buf, m)
	require.NoError(t, err)
	return buf.Bytes(), totals
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./payout/sepa -update` to create %s", path)
	require.Equal(t, string(want), string(got), "output differs from %s (run with -update if the change is intended)", path)
}

func TestWriteGolden(t *testing.T) {
	got, totals := writeBytes(t, fixtureMessage())
	checkGolden(t, "mixed.golden", got)

	require.Equal(t, 5, totals.Transactions)
	require.True(t, d("2359.55").Equal(totals.ControlSum), "control sum %s", totals.ControlSum)
	require.Len(t, totals.Blocks, 3)
	for i, want := range []struct {
		id, currency string
		count        int
		sum          string
	}{
		{"PAYRUN-2026-11-BANK-001-SEPA", "EUR", 3, "1284.51"},
		{"PAYRUN-2026-11-BANK-001-XCHF", "CHF", 1, "75.05"},
		{"PAYRUN-2026-11-BANK-001-XGBP", "GBP", 1, "999.99"},
	} {
		block := totals.Blocks[i]
		require.Equal(t, want.id, block.PaymentInformationID)
		require.Equal(t, want.currency, block.Currency)
		require.Equal(t, want.count, block.Transactions)
		require.True(t, d(want.sum).Equal(block.ControlSum), "block %d sum %s", i, block.ControlSum)
	}

	sepa, _ := writeBytes(t, sepaOnly(fixtureMessage()))
	checkGolden(t, "sepa.golden", sepa)
}

func TestWriteStructure(t *testing.T) {
	got, _ := writeBytes(t, fixtureMessage())
	doc, err := Read(bytes.NewReader(got))
	require.NoError(t, err)
	header := doc.Initiation.GroupHeader
	require.Equal(t, "2026-11-05T06:00:00Z", header.CreationDateTime, "no fractional seconds, UTC")
	require.Equal(t, "5", header.NumberOfTxs)
	require.Equal(t, "2359.55", header.ControlSum)

	blocks := doc.Initiation.Payments
	require.Len(t, blocks, 3)
	sepa := blocks[0]
	require.Equal(t, "SEPA", sepa.TypeInformation.ServiceLevel.Code)
	require.Equal(t, "SLEV", sepa.ChargeBearer)
	require.Equal(t, "TRF", sepa.Method)
	require.Equal(t, "2026-11-16", sepa.RequestedExecutionDate.Date)
	require.Equal(t, "DE89370400440532013000", sepa.DebtorAccount.ID.IBAN)
	require.Equal(t, "COBADEFFXXX", sepa.DebtorAgent.FinancialInstitution.BIC)
	// Sorted by EndToEndID.
	var ids []string
	for _, tx := range sepa.Transactions {
		ids = append(ids, tx.PaymentID.EndToEndID)
	}
	require.Equal(t, []string{"PO-2026-11-000007", "PO-2026-11-000009", "PO-2026-11-000042"}, ids)
	require.Nil(t, sepa.Transactions[0].CreditorAgent, "SEPA creditor without BIC: no CdtrAgt")
	require.Equal(t, "Elodie Orsted-Laessoe", sepa.Transactions[0].Creditor.Name)
	require.Equal(t, "Lukasz Zolc", sepa.Transactions[1].Creditor.Name)
	require.Equal(t, "Jurgen Gross + Sohne", sepa.Transactions[2].Creditor.Name)
	require.Equal(t, "1234.50", sepa.Transactions[2].Amount.Instructed.Value)
	require.Equal(t, "EUR", sepa.Transactions[2].Amount.Instructed.Currency)

	for _, block := range blocks[1:] {
		require.Nil(t, block.TypeInformation)
		require.Equal(t, "SHAR", block.ChargeBearer)
		require.NotNil(t, block.Transactions[0].CreditorAgent)
		require.NotEmpty(t, block.Transactions[0].CreditorAgent.FinancialInstitution.BIC)
	}
	require.Equal(t, "Zoe O'Brien", blocks[2].Transactions[0].Creditor.Name)
}

func TestWriteIsDeterministic(t *testing.T) {
	first, _ := writeBytes(t, fixtureMessage())
	second, _ := writeBytes(t, fixtureMessage())
	require.Equal(t, first, second)

	// The input order does not matter, nor does the location of the times.
	shuffled := fixtureMessage()
	p := shuffled.Payments
	p[0], p[4] = p[4], p[0]
	p[1], p[3] = p[3], p[1]
	berlin := time.FixedZone("CET", 3600)
	shuffled.CreationTime = shuffled.CreationTime.In(berlin)
	third, _ := writeBytes(t, shuffled)
	require.Equal(t, first, third)
}

func TestWriteRefusesBadPayments(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Payment)
		err    error
		text   string
	}{
		{"zero amount", func(p *Payment) { p.Amount = d("0") }, ErrInvalidAmount, "not positive"},
		{"negative amount", func(p *Payment) { p.Amount = d("-1.00") }, ErrInvalidAmount, "not positive"},
		{"sub-cent amount", func(p *Payment) { p.Amount = d("1.005") }, ErrInvalidAmount, "decimals"},
		{"decimal yen", func(p *Payment) { p.Currency = "JPY"; p.Amount = d("100.5") }, ErrInvalidAmount, "decimals"},
		{"SEPA maximum", func(p *Payment) { p.Amount = d("1000000000.00") }, ErrInvalidAmount, "SEPA maximum"},
		{"unknown currency", func(p *Payment) { p.Currency = "XXX" }, ErrInvalidField, "Currency"},
		{"leading slash", func(p *Payment) { p.EndToEndID = "/PO-1" }, ErrInvalidIdentifier, "'/'"},
		{"trailing slash", func(p *Payment) { p.EndToEndID = "PO-1/" }, ErrInvalidIdentifier, "'/'"},
		{"double slash", func(p *Payment) { p.EndToEndID = "PO//1" }, ErrInvalidIdentifier, "//"},
		{"too long id", func(p *Payment) { p.EndToEndID = strings.Repeat("A", 36) }, ErrInvalidIdentifier, "35"},
		{"non-Latin id", func(p *Payment) { p.EndToEndID = "PO-é" }, ErrInvalidIdentifier, "character set"},
		{"underscore id", func(p *Payment) { p.EndToEndID = "PO_1" }, ErrInvalidIdentifier, "character set"},
		{"bad instruction id", func(p *Payment) { p.InstructionID = "a//b" }, ErrInvalidIdentifier, "InstructionID"},
		{"empty name", func(p *Payment) { p.CreditorName = "株式会社" }, ErrInvalidField, "CreditorName"},
		{"bad IBAN", func(p *Payment) { p.CreditorIBAN = "12345" }, ErrInvalidField, "CreditorIBAN"},
		{"bad BIC", func(p *Payment) { p.CreditorBIC = "BNP" }, ErrInvalidField, "CreditorBIC"},
		{"cross-border without BIC", func(p *Payment) { p.Currency = "GBP"; p.CreditorBIC = "" }, ErrInvalidField, "CreditorBIC is required"},
		{"EUR outside SEPA without BIC", func(p *Payment) { p.CreditorIBAN = "TR330006100519786457841326"; p.CreditorBIC = "" }, ErrInvalidField, "CreditorBIC is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fixtureMessage()
			tc.change(&m.Payments[1])
			var buf bytes.Buffer
			_, err := Write(&buf, m)
			require.ErrorIs(t, err, tc.err)
			require.ErrorContains(t, err, tc.text)
			require.ErrorContains(t, err, "payment 1 (EndToEndID", "the error names the payment")
			require.Zero(t, buf.Len(), "nothing is written on error")
		})
	}
}

func TestWriteRefusesBadMessages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Message)
		err    error
	}{
		{"no payments", func(m *Message) { m.Payments = nil }, ErrEmptyMessage},
		{"message id too long", func(m *Message) { m.MessageID = strings.Repeat("M", 36) }, ErrInvalidIdentifier},
		{"zero creation time", func(m *Message) { m.CreationTime = time.Time{} }, ErrInvalidField},
		{"zero execution date", func(m *Message) { m.RequestedExecutionDate = time.Time{} }, ErrInvalidField},
		{"debtor without IBAN", func(m *Message) { m.Debtor.IBAN = "" }, ErrInvalidField},
		{"cross-border without debtor BIC", func(m *Message) { m.Debtor.BIC = "" }, ErrInvalidField},
		{"duplicate end-to-end id", func(m *Message) { m.Payments[3].EndToEndID = m.Payments[0].EndToEndID }, ErrDuplicateID},
		{"too many payments", func(m *Message) { m.Payments = make([]Payment, MaxTransactions+1) }, ErrTooManyPayments},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fixtureMessage()
			tc.change(&m)
			var buf bytes.Buffer
			_, err := Write(&buf, m)
			require.ErrorIs(t, err, tc.err)
			require.Zero(t, buf.Len())
		})
	}
}

func TestWriteReportsEveryBadPayment(t *testing.T) {
	m := fixtureMessage()
	m.Payments[0].Amount = d("0")
	m.Payments[2].EndToEndID = "//"
	_, err := Write(&bytes.Buffer{}, m)
	require.ErrorContains(t, err, "payment 0")
	require.ErrorContains(t, err, "payment 2")
}

func TestSEPAOnlyWithoutDebtorBIC(t *testing.T) {
	m := sepaOnly(fixtureMessage())
	m.Debtor.BIC = ""
	got, _ := writeBytes(t, m)
	doc, err := Read(bytes.NewReader(got))
	require.NoError(t, err)
	agent := doc.Initiation.Payments[0].DebtorAgent.FinancialInstitution
	require.Empty(t, agent.BIC)
	require.Equal(t, "NOTPROVIDED", agent.Other.ID)
}

func TestZeroDecimalCurrency(t *testing.T) {
	m := fixtureMessage()
	m.Payments = []Payment{{
		EndToEndID: "PO-JPY-1", Amount: d("1235"), Currency: "JPY",
		CreditorName: "Tanaka Taro", CreditorIBAN: "GB29NWBK60161331926819",
		CreditorBIC: "NWBKGB2L", CreditorCountry: "GB",
	}}
	got, totals := writeBytes(t, m)
	require.Contains(t, string(got), `<InstdAmt Ccy="JPY">1235</InstdAmt>`)
	require.Contains(t, string(got), `<CtrlSum>1235</CtrlSum>`)
	require.True(t, d("1235").Equal(totals.ControlSum))
}

func TestPaymentInformationIDFitsWhenMessageIDIsLong(t *testing.T) {
	m := fixtureMessage()
	m.MessageID = "PAYRUN-2026-11-BANK-0000000000/123" // 34 characters, cut lands after '/'
	got, _ := writeBytes(t, m)
	doc, err := Read(bytes.NewReader(got))
	require.NoError(t, err)
	for _, block := range doc.Initiation.Payments {
		require.LessOrEqual(t, len(block.ID), MaxIdentifierLength)
		require.NoError(t, checkIdentifier("PmtInfId", block.ID))
	}
}

func TestReadDetectsTamperedTotals(t *testing.T) {
	got, _ := writeBytes(t, fixtureMessage())
	tampered := strings.Replace(string(got), "<CtrlSum>2359.55</CtrlSum>", "<CtrlSum>2359.56</CtrlSum>", 1)
	require.NotEqual(t, string(got), tampered)
	_, err := Read(strings.NewReader(tampered))
	require.ErrorIs(t, err, ErrTotalsMismatch)

	tampered = strings.Replace(string(got), "<NbOfTxs>3</NbOfTxs>", "<NbOfTxs>4</NbOfTxs>", 1)
	_, err = Read(strings.NewReader(tampered))
	require.ErrorIs(t, err, ErrTotalsMismatch)
}

func TestReadRefusesOtherVersions(t *testing.T) {
	got, _ := writeBytes(t, fixtureMessage())
	old := strings.Replace(string(got), "pain.001.001.09", "pain.001.001.03", 1)
	_, err := Read(strings.NewReader(old))
	require.Error(t, err)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteReportsWriterError(t *testing.T) {
	_, err := Write(failingWriter{}, fixtureMessage())
	require.ErrorContains(t, err, "disk full")
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"mixed.golden", "sepa.golden"} {
		seed, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(seed)
	}
	f.Add([]byte("<Document/>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever Read accepts has consistent totals.
		_, err = doc.Totals()
		require.NoError(t, err)
	})
}

// Read must not hand amount text straight to decimal.NewFromString, which
// accepts exponents: adding "1e999999999" to a cent amount rescales it to a
// billion-digit integer. xs:decimal has no exponent, so Read refuses it.
func TestReadRefusesExponentAmounts(t *testing.T) {
	got, _ := writeBytes(t, fixtureMessage())
	hostile := strings.Replace(string(got), `<InstdAmt Ccy="EUR">50.00</InstdAmt>`, `<InstdAmt Ccy="EUR">1e999999999</InstdAmt>`, 1)
	require.NotEqual(t, string(got), hostile)
	_, err := Read(strings.NewReader(hostile))
	require.ErrorContains(t, err, "InstdAmt")
}
