package review_test

import (
	"testing"

	"github.com/payrun/payrun/sim"
	market "github.com/payrun/payrun/testsupport/simulated"
)

// simulated is the seeded marketplace of testsupport/simulated: months
// payment months from 2026-11, every cycle closed and released.
func simulated(t *testing.T, seed uint64, publishers, months int) *sim.Services {
	t.Helper()
	return market.Marketplace(t, seed, publishers, months)
}
