package review_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/sim"
	"github.com/payrun/payrun/tax/taxstore"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// firstMonth is the first payment month of the simulated marketplaces.
var firstMonth = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// simulated runs a seeded simulation of months payment months from
// firstMonth on a new database (holds, returns, treaties, refunds, PayPal
// splits, every cycle closed and released) and returns its services: the
// same marketplace payout/publisher's tests use (written again here, test
// files are not shared across packages).
func simulated(t *testing.T, seed uint64, publishers, months int) *sim.Services {
	t.Helper()
	database := dbtest.New(t)
	sealer, err := secret.FromConfig("", true)
	require.NoError(t, err)
	clock := sim.NewClock(firstMonth.AddDate(0, -4, 0))
	s := &sim.Services{DB: database, Clock: clock, Store: &store.Store{DB: database, Sealer: sealer, Clock: clock.Now},
		Taxes: &taxstore.Store{DB: database, Sealer: sealer}, Import: ledger.ImportOptions{HoldingPeriod: 30 * 24 * time.Hour}}
	config := release.Config{
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN SIM", CompanyName: "PAYRUN SIM", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN SIM", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}
	_, err = sim.Run(context.Background(), s, sim.Options{Seed: seed, Publishers: publishers, Months: months, FirstMonth: firstMonth,
		Policy: payout.DefaultPolicy(), OutDir: t.TempDir(), Release: config}, nil)
	require.NoError(t, err)
	return s
}
