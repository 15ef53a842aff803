package nacha

import (
	"bytes"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func dollarsOf(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func testOriginator() Originator {
	return Originator{
		ImmediateDestination:     "021000021",
		ImmediateDestinationName: "First Demo Bank",
		ImmediateOrigin:          "1123456789",
		ImmediateOriginName:      "Payrun Marketplace Inc",
		CompanyName:              "PAYRUN MARKETPLC",
		CompanyID:                "1123456789",
		CompanyEntryDescription:  "PAYOUT",
		ODFIRouting:              "02100002",
	}
}

var (
	testCreation  = time.Date(2026, time.November, 13, 9, 30, 0, 0, time.UTC)
	testEffective = time.Date(2026, time.November, 16, 0, 0, 0, 0, time.UTC)
)

func testHeader() FileHeader {
	return FileHeader{Originator: testOriginator(), FileCreation: testCreation, FileIDModifier: 'A'}
}

// tester is what both *testing.T and *rapid.T provide.
type tester interface {
	require.TestingT
	Helper()
}

// batchSpec is a batch to write in tests.
type batchSpec struct {
	class   string
	entries []Entry
}

// writeFile writes batches and returns the bytes, the totals and the traces.
func writeFile(t tester, header FileHeader, batches ...batchSpec) ([]byte, Totals, []string) {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, header)
	require.NoError(t, err)
	var traces []string
	for _, b := range batches {
		require.NoError(t, w.StartBatch(b.class, testEffective, ""))
		for _, e := range b.entries {
			trace, err := w.Add(e)
			require.NoError(t, err)
			traces = append(traces, trace)
		}
		require.NoError(t, w.EndBatch())
	}
	totals, err := w.Close()
	require.NoError(t, err)
	return out.Bytes(), totals, traces
}

// creditBatches: one PPD batch of individuals (checking and savings, a name
// with diacritics and one too long) and one CCD batch of companies.
func creditBatches() []batchSpec {
	return []batchSpec{
		{ClassPPD, []Entry{
			{Kind: Credit, AccountType: Checking, RoutingNumber: "011000015", AccountNumber: "123456789",
				Amount: dollarsOf("1234.56"), IndividualID: "P2026110000001", Name: "Zoë Ångström-Müller"},
			{Kind: Credit, AccountType: Savings, RoutingNumber: "121000358", AccountNumber: "000987654321",
				Amount: dollarsOf("50.00"), IndividualID: "P2026110000002", Name: "Bartholomew Fitzgerald-Smithson"},
		}},
		{ClassCCD, []Entry{
			{Kind: Credit, AccountType: Checking, RoutingNumber: "322271627", AccountNumber: "4455-6677",
				Amount: dollarsOf("99999999.99"), IndividualID: "P2026110000003", Name: "Acme Games LLC"},
			{Kind: Credit, AccountType: Savings, RoutingNumber: "011000028", AccountNumber: "7",
				Amount: dollarsOf("0.01"), IndividualID: "P2026110000004", Name: "Tiny Apps Co."},
		}},
	}
}

func prenoteBatches() []batchSpec {
	return []batchSpec{{ClassPPD, []Entry{
		{Kind: Prenote, AccountType: Checking, RoutingNumber: "011000015", AccountNumber: "123456789",
			Amount: decimal.Zero, IndividualID: "PA0000000017", Name: "Jane Doe"},
		{Kind: Prenote, AccountType: Savings, RoutingNumber: "121000358", AccountNumber: "000987654321",
			Amount: decimal.Zero, IndividualID: "PA0000000018", Name: "John Roe"},
	}}}
}

func lines(data []byte) []string {
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

type writerBuffer = bytes.Buffer

func bytesReader(data []byte) *bytes.Reader { return bytes.NewReader(data) }
