package sim_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/sim"
	"github.com/payrun/payrun/tax/taxstore"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// testRelease is the payment files' configuration in tests.
var testRelease = release.Config{
	Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
		ImmediateOriginName: "PAYRUN SIM", CompanyName: "PAYRUN SIM", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
	Debtor:        sepa.Debtor{Name: "PAYRUN SIM", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
	PayPalSubject: "Your payout",
}

// services builds payrun's services on a new, empty, migrated database with
// a fake clock.
func services(t *testing.T, start time.Time) *sim.Services {
	t.Helper()
	database := dbtest.New(t)
	sealer, err := secret.FromConfig("", true)
	require.NoError(t, err)
	clock := sim.NewClock(start)
	return &sim.Services{DB: database, Clock: clock,
		Store:  &store.Store{DB: database, Sealer: sealer, Clock: clock.Now},
		Taxes:  &taxstore.Store{DB: database, Sealer: sealer},
		Import: ledger.ImportOptions{HoldingPeriod: 30 * 24 * time.Hour}}
}

func scenarioFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

func runScenario(t *testing.T, path, outDir string, faults sim.Faults) sim.Outcome {
	t.Helper()
	outcome, _ := runScenarioLogged(t, path, outDir, faults)
	return outcome
}

// runScenarioLogged also returns what the run logged (the injected faults).
func runScenarioLogged(t *testing.T, path, outDir string, faults sim.Faults) (sim.Outcome, string) {
	t.Helper()
	scenario, err := sim.LoadScenario(path)
	require.NoError(t, err)
	s := services(t, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	var log strings.Builder
	outcome, err := sim.RunScenario(context.Background(), s, scenario, sim.ScenarioOptions{OutDir: outDir, Release: testRelease, Faults: faults,
		Log: func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) }})
	require.NoError(t, err, "scenario %s", scenario.Name)
	return outcome, log.String()
}

// Every scenario file plays through the real services with every invariant
// checked after each close and release, and meets its expectations (what
// `payrun simulate --scenario FILE --check` does).
func TestScenarios(t *testing.T) {
	t.Parallel()
	for _, path := range scenarioFiles(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			scenario, err := sim.LoadScenario(path)
			require.NoError(t, err)
			require.NotEmpty(t, scenario.Story, "a scenario tells its story")
			require.NotEmpty(t, scenario.Expect, "a scenario states what it expects")
			outcome := runScenario(t, path, t.TempDir(), sim.Faults{})
			require.Empty(t, outcome.Diffs, "%s:\n%s", name, strings.Join(outcome.Diffs, "\n"))
		})
	}
}

// A wrong expectation is reported as a difference, not silently accepted.
func TestScenarioCheckReportsDifferences(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "scenarios", "hungary_treaty_ends.json"))
	require.NoError(t, err)
	wrong := strings.Replace(string(body), `"withheld": "30.00", "paid": "70.00"`, `"withheld": "0.00", "paid": "100.00"`, 1)
	require.NotEqual(t, string(body), wrong)
	path := filepath.Join(t.TempDir(), "wrong.json")
	require.NoError(t, os.WriteFile(path, []byte(wrong), 0o600))
	outcome := runScenario(t, path, t.TempDir(), sim.Faults{})
	require.Equal(t, []string{
		"2024-01 HU-DEV withheld: expected 0.00, got 30.00",
		"2024-01 HU-DEV paid: expected 100.00, got 70.00",
	}, outcome.Diffs)
}

func TestScenarioRefusesUnknownFieldsAndOperations(t *testing.T) {
	t.Parallel()
	_, err := sim.ParseScenario([]byte(`{"name": "x", "events": [{"do": "close", "month": "2026-11", "typo": 1}]}`))
	require.ErrorContains(t, err, `unknown field "typo"`)
	_, err = sim.ParseScenario([]byte(`{"name": "x", "events": [{"do": "pay_everyone"}]}`))
	require.ErrorContains(t, err, `unknown operation "pay_everyone"`)
}

// The returns invariant catches a return credited back with the wrong
// amount (the other checks do not read old returns).
func TestInvariantsCatchAWrongReturn(t *testing.T) {
	t.Parallel()
	scenario, err := sim.LoadScenario(filepath.Join("testdata", "scenarios", "returned_ach_payment.json"))
	require.NoError(t, err)
	s := services(t, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := context.Background()
	outcome, err := sim.RunScenario(ctx, s, scenario, sim.ScenarioOptions{OutDir: t.TempDir(), Release: testRelease})
	require.NoError(t, err)
	require.Empty(t, outcome.Diffs)
	january := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, sim.CheckClosed(ctx, s, 0, january))
	// payout_returns is append-only: a test may lift that to forge a bug.
	_, err = s.DB.Exec(`ALTER TABLE payout_returns DISABLE TRIGGER USER; UPDATE payout_returns SET amount_usd = amount_usd + 1`)
	require.NoError(t, err)
	err = sim.CheckClosed(ctx, s, 0, january)
	var broken *sim.InvariantError
	require.ErrorAs(t, err, &broken)
	require.Equal(t, sim.InvariantReturns, broken.Invariant)
	require.Contains(t, err.Error(), "return of P20261100000001: credited back 91.00 USD, the payment was 90.00 USD")
}
