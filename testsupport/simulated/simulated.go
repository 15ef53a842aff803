// Package simulated gives tests a seeded simulated marketplace on a new
// database: package sim's publishers (holds, returns, treaties, refunds,
// PayPal splits) through every cycle of the months asked for, each closed
// and released, with the services that ran it. Tests of the read models
// (payout/publisher, payout/review) use it to check their figures against
// a marketplace that exercises every rule.
package simulated

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

// FirstMonth is the first payment month of every simulated marketplace.
var FirstMonth = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Marketplace runs a seeded simulation of months payment months from
// FirstMonth on a new database and returns its services (the database,
// the simulation's clock, the stores).
func Marketplace(t *testing.T, seed uint64, publishers, months int) *sim.Services {
	t.Helper()
	database := dbtest.New(t)
	sealer, err := secret.FromConfig("", true)
	require.NoError(t, err)
	clock := sim.NewClock(FirstMonth.AddDate(0, -4, 0))
	s := &sim.Services{DB: database, Clock: clock, Store: &store.Store{DB: database, Sealer: sealer, Clock: clock.Now},
		Taxes: &taxstore.Store{DB: database, Sealer: sealer}, Import: ledger.ImportOptions{HoldingPeriod: 30 * 24 * time.Hour}}
	config := release.Config{
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN SIM", CompanyName: "PAYRUN SIM", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN SIM", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}
	_, err = sim.Run(context.Background(), s, sim.Options{Seed: seed, Publishers: publishers, Months: months, FirstMonth: FirstMonth,
		Policy: payout.DefaultPolicy(), OutDir: t.TempDir(), Release: config}, nil)
	require.NoError(t, err)
	return s
}
