package sim_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/reports"
	"github.com/payrun/payrun/sim"
)

// A return imported after the release shows in the released cycle's
// outputs, written again at the import (as `payrun returns import` does):
// the workbook's Exceptions sheet lists the return, its reason and the
// recredit, its Summary counts it, and result.json says the same. The next
// cycle's workbook lists it as recredited into its balances. The payment
// files and the manifest are not touched.
func TestReturnShowsInTheReleasedCycleOutputs(t *testing.T) {
	t.Parallel()
	scenario, err := sim.LoadScenario(filepath.Join("testdata", "scenarios", "returned_ach_payment.json"))
	require.NoError(t, err)
	s := services(t, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	out := t.TempDir()
	outcome, err := sim.RunScenario(context.Background(), s, scenario, sim.ScenarioOptions{OutDir: out, Release: testRelease})
	require.NoError(t, err)
	require.Empty(t, outcome.Diffs)

	november := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	exceptions, summary := workbookRows(t, cyclereport.Path(out, november, false))
	require.Len(t, exceptions, 4, "header, the return, the blank row and the totals: %v", exceptions)
	returned := exceptions[1]
	require.Equal(t, reports.ExceptionReturned, returned[0])
	require.Equal(t, "DE-RET", returned[1])
	require.Equal(t, "P20261100000001", returned[2])
	require.Equal(t, "ACH return R03 NO ACCOUNT/UNABLE TO LOCATE, returned 2026-11-19; 90.00 USD recredited to the publisher's balance (non-US part) for cycle 2026-12", returned[3])
	require.Equal(t, "90", returned[4])
	require.Contains(t, summary, []string{"This cycle's payments returned", "1", "90"})

	body, err := os.ReadFile(cyclereport.ResultPath(out, november))
	require.NoError(t, err)
	var result cyclereport.Result
	require.NoError(t, json.Unmarshal(body, &result))
	require.Equal(t, "90.00", result.Totals["returned_payments"])
	for _, a := range result.Accounts {
		if a.SellerID == "DE-RET" {
			require.Equal(t, "90.00", a.Returned)
			require.Equal(t, "R03", a.ReturnReason)
			require.Equal(t, "NO ACCOUNT/UNABLE TO LOCATE", a.ReturnDetail)
			require.Equal(t, "90.00", a.Recredited)
			require.Equal(t, "2026-12", a.RecreditedIn)
		} else {
			require.Empty(t, a.Recredited, a.SellerID)
		}
	}

	exceptions, summary = workbookRows(t, cyclereport.Path(out, november.AddDate(0, 1, 0), false))
	require.Equal(t, reports.ExceptionRecredited, exceptions[1][0])
	require.Contains(t, exceptions[1][3], "payment of cycle 2026-11: ACH return R03")
	require.Contains(t, summary, []string{"Returned and recredited", "1", "90"})
}

// workbookRows reads a cycle workbook's Exceptions sheet and its Summary
// (values as stored: the formulas' cached values, unformatted).
func workbookRows(t *testing.T, path string) (exceptions, summary [][]string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	require.NoError(t, err)
	defer f.Close()
	exceptions, err = f.GetRows(reports.SheetExceptions, excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	summary, err = f.GetRows(reports.SheetSummary, excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	return exceptions, summary
}
