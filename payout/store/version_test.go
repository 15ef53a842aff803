package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

// TestConcurrentUpdatesWithOneVersionOneWins: two callers that read the same
// payout account (or hold) and write at once cannot both succeed — the
// lost-update guard behind the admin API's If-Match is in the transaction
// that writes, under the account's row lock.
func TestConcurrentUpdatesWithOneVersionOneWins(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	id := w.Publisher("DE1", fixture.Publisher{Country: "DE", Method: payout.PayPal})
	ctx := context.Background()
	current, err := w.Store.PayoutAccountAt(ctx, id, w.Now().Add(time.Second))
	require.NoError(t, err)
	hold, err := w.Store.HoldAt(ctx, id, w.Now().Add(time.Second))
	require.NoError(t, err)
	require.Nil(t, hold, "never switched: version 0")

	for name, write := range map[string]func(i int) error{
		"payout account": func(i int) error {
			_, err := w.Store.SetPayoutAccountIf(ctx, id, current.ID, payout.AccountInput{Method: payout.PayPal, HolderName: "Racer",
				Currency: "EUR", PayPalEmail: "racer@example.com"}, "racer")
			return err
		},
		"hold": func(i int) error {
			_, err := w.Store.SetHoldIf(ctx, id, 0, true, "racer")
			return err
		},
	} {
		var wins, stale int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := write(i)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, store.ErrStale):
					stale++
				default:
					t.Errorf("%s: %v", name, err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, 1, wins, name)
		require.Equal(t, 7, stale, name)
	}
	_, err = w.Store.SetHoldIf(ctx, id, 424242, false, "late")
	require.ErrorIs(t, err, store.ErrStale)
	_, err = w.Store.SetHoldIf(ctx, 999999, store.AnyVersion, false, "nobody")
	require.ErrorIs(t, err, store.ErrUnknownAccount)
}
