package reports

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A cycle released on or after its payment date shows both dates: the
// scheduled payment date and the date its files settle on. Released on
// time it shows the payment date alone (the goldens: unchanged).
func TestCycleWorkbookShowsTheSettlementDateOfALateRelease(t *testing.T) {
	fixture := newCycleFixture()
	settles := ts("2026-11-19T00:00:00Z")
	fixture.summary.SettlementDate = &settles
	summary := dumpWorkbook(t, writeFixture(t, fixture)).sheet(t, "Summary")
	require.Equal(t, "2026-11-16T00:00:00", summary.labelRow(t, "Payment date")[1].Value)
	require.Equal(t, "2026-11-19T00:00:00", summary.labelRow(t, "Settles on (released late)")[1].Value)

	onTime := newCycleFixture()
	same := onTime.summary.PaymentDate
	onTime.summary.SettlementDate = &same
	path := writeFixture(t, onTime)
	require.Equal(t, dumpWorkbookJSON(t, writeFixture(t, newCycleFixture())), dumpWorkbookJSON(t, path),
		"released on time: the same workbook as without a settlement date")
}

// A payment sent as several PayPal items is one payment on the statement,
// with its items listed under it; a returned item says so.
func TestStatementListsPayPalItemsAndTheSettlementDate(t *testing.T) {
	header, lines := statementFixture()
	settles := ts("2026-11-20T00:00:00Z")
	header.SettlementDate = &settles
	header.Payout.PaidUSD, header.Payout.PaidInCurrency, header.Payout.Gross = d("24300.95"), d("24300.95"), d("24376.03")
	header.Items = []StatementItem{
		{ItemID: "PAY-2026-11-0003-1", Amount: d("20000.00"), AmountUSD: d("20000.00")},
		{ItemID: "PAY-2026-11-0003-2", Amount: d("4300.95"), AmountUSD: d("4300.95"), Returned: true},
	}
	path := filepath.Join(t.TempDir(), "statement.xlsx")
	require.NoError(t, WriteStatement(path, "", header, SliceRows(lines)))
	statement := dumpWorkbook(t, path).sheet(t, "Statement")
	require.Equal(t, "2026-11-20T00:00:00", statement.labelRow(t, "Settles on (released late)")[1].Value)
	require.Equal(t, "PAY-2026-11-0003", statement.labelRow(t, "Payment ID")[1].Value)
	require.Equal(t, 20000.0, statement.labelRow(t, "PayPal item PAY-2026-11-0003-1")[1].Value)
	require.Equal(t, 4300.95, statement.labelRow(t, "PayPal item PAY-2026-11-0003-2 (returned)")[1].Value)
}
