package payout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
)

func at(t *testing.T, text string) time.Time {
	t.Helper()
	when, err := time.Parse(time.RFC3339, text)
	require.NoError(t, err)
	return when
}

func day(t *testing.T, text string) time.Time {
	t.Helper()
	when, err := time.Parse(time.DateOnly, text)
	require.NoError(t, err)
	return when
}

// SPEC §3.1: the files settle on the scheduled payment date, or, for a
// release on or after it, on the next banking day after the release
// (weekends and the policy's holidays skipped).
func TestSettlementDate(t *testing.T) {
	t.Parallel()
	policy := payout.DefaultPolicy()
	policy.Holidays = []string{"2026-11-26", "2026-12-25"} // Thanksgiving (Thu), Christmas (Fri)
	november := policy.CalendarFor(day(t, "2026-11-01"))
	require.Equal(t, "2026-11-16", november.PaymentDate.Format(time.DateOnly), "the 15th is a Sunday")
	december := policy.CalendarFor(day(t, "2026-12-01"))
	require.Equal(t, "2026-12-15", december.PaymentDate.Format(time.DateOnly), "a Tuesday")

	for _, c := range []struct {
		name     string
		calendar payout.Calendar
		released string
		want     string
	}{
		{"on the close day", november, "2026-11-05T09:00:00Z", "2026-11-16"},
		{"the day before the payment date, last second", november, "2026-11-15T23:59:59Z", "2026-11-16"},
		{"on the payment date, first second", november, "2026-11-16T00:00:00Z", "2026-11-17"},
		{"on the payment date, a Monday", november, "2026-11-16T07:00:00Z", "2026-11-17"},
		{"after the payment date", november, "2026-11-18T10:00:00Z", "2026-11-19"},
		{"on a Friday: the Monday after", november, "2026-11-20T10:00:00Z", "2026-11-23"},
		{"on a Saturday: the Monday after", november, "2026-11-21T10:00:00Z", "2026-11-23"},
		{"on a Sunday: the Monday after", november, "2026-11-22T10:00:00Z", "2026-11-23"},
		{"before a holiday: the day after it", november, "2026-11-25T10:00:00Z", "2026-11-27"},
		{"on a holiday: the next banking day", november, "2026-11-26T10:00:00Z", "2026-11-27"},
		{"in the next month", november, "2026-12-10T23:00:00Z", "2026-12-11"},
		{"a holiday Friday, then the weekend", december, "2026-12-24T08:00:00Z", "2026-12-28"},
		{"the day before December's payment date", december, "2026-12-14T08:00:00Z", "2026-12-15"},
		{"another time zone counts in UTC", november, "2026-11-16T01:00:00+02:00", "2026-11-16"},
	} {
		got := payout.SettlementDate(policy, c.calendar, at(t, c.released))
		require.Equal(t, c.want, got.Format(time.DateOnly), c.name)
		require.True(t, !got.Before(c.calendar.PaymentDate), "%s: never before the payment date", c.name)
		require.Equal(t, time.UTC, got.Location(), c.name)
		require.Zero(t, got.Hour(), c.name)
	}
	// A payment day that is itself a holiday moves, and a release on the
	// day it was moved from is before the payment date.
	moved := policy
	moved.Holidays = []string{"2026-11-16"}
	calendar := moved.CalendarFor(day(t, "2026-11-01"))
	require.Equal(t, "2026-11-17", calendar.PaymentDate.Format(time.DateOnly))
	require.Equal(t, "2026-11-17", payout.SettlementDate(moved, calendar, at(t, "2026-11-16T12:00:00Z")).Format(time.DateOnly))
	require.Equal(t, "2026-11-18", payout.SettlementDate(moved, calendar, at(t, "2026-11-17T12:00:00Z")).Format(time.DateOnly))
}

// SPEC §6.2: PayPal items are at most 20,000.00 USD, or its equivalent at
// the cycle's rate rounded down to the currency's PayPal minor unit, unless
// the policy names the currency's maximum.
func TestPayPalItemMaxFor(t *testing.T) {
	t.Parallel()
	d := decimal.RequireFromString
	policy := payout.DefaultPolicy()
	for _, c := range []struct {
		currency, rate, want string
	}{
		{"USD", "1", "20000"},
		{"EUR", "0.9234", "18468"},
		{"GBP", "0.79117", "15823.4"},         // 15823.40 exactly
		{"JPY", "151.3799", "3027598"},        // 3,027,598 (0 decimals)
		{"HUF", "361.255", "7225100"},         // PayPal takes no decimals for HUF
		{"SEK", "10.6123456", "212246.91"},    // 212,246.912 rounded down
		{"CAD", "1.3999999999", "27999.99"},   // 27,999.999998 rounded down
		{"BRL", "5.60123456789", "112024.69"}, // 112,024.6913578 rounded down
	} {
		got, err := policy.PayPalItemMaxFor(c.currency, d(c.rate))
		require.NoError(t, err, c.currency)
		require.True(t, d(c.want).Equal(got), "%s: want %s, got %s", c.currency, c.want, got)
	}
	_, err := policy.PayPalItemMaxFor("EUR", decimal.Zero)
	require.ErrorContains(t, err, "no rate")
	_, err = policy.PayPalItemMaxFor("XYZ", decimal.NewFromInt(1))
	require.Error(t, err)

	configured, err := payout.ReadPolicy(strings.NewReader(`{"paypal_item_max": {"USD": "10000.00", "JPY": "1000000"}}`))
	require.NoError(t, err)
	for _, c := range []struct{ currency, rate, want string }{
		{"USD", "1", "10000"}, {"JPY", "151.37", "1000000"}, {"EUR", "0.9234", "9234"},
	} {
		got, err := configured.PayPalItemMaxFor(c.currency, d(c.rate))
		require.NoError(t, err)
		require.True(t, d(c.want).Equal(got), "%s: want %s, got %s", c.currency, c.want, got)
	}
	for _, bad := range []string{`{"USD": "0"}`, `{"USD": "-1"}`, `{"USD": "100.001"}`, `{"JPY": "1000.5"}`, `{"XYZ": "10"}`} {
		_, err := payout.ReadPolicy(strings.NewReader(`{"paypal_item_max": ` + bad + `}`))
		require.ErrorContains(t, err, "paypal_item_max", bad)
	}
	// Left out of the recorded policy when not set: a cycle's policy JSON
	// is unchanged.
	require.Nil(t, payout.DefaultPolicy().PayPalItemMax)
}

// Cap-sized items, then the remainder: they sum exactly to the amount and
// each is above zero.
func TestSplitPayPalAmount(t *testing.T) {
	t.Parallel()
	d := decimal.RequireFromString
	for _, c := range []struct {
		amount, max string
		want        []string
	}{
		{"19999.99", "20000", []string{"19999.99"}},
		{"20000.00", "20000", []string{"20000.00"}},
		{"20000.01", "20000", []string{"20000", "0.01"}},
		{"20455.24", "20000", []string{"20000", "455.24"}},
		{"24300.95", "20000", []string{"20000", "4300.95"}},
		{"69325.69", "20000", []string{"20000", "20000", "20000", "9325.69"}},
		{"60000.00", "20000", []string{"20000", "20000", "20000"}},
		{"11999190", "3027598", []string{"3027598", "3027598", "3027598", "2916396"}},
		{"0.01", "20000", []string{"0.01"}},
	} {
		got := payout.SplitPayPalAmount(d(c.amount), d(c.max))
		require.Len(t, got, len(c.want), c.amount)
		require.Equal(t, int64(len(c.want)), payout.PayPalItemCount(d(c.amount), d(c.max)), c.amount)
		sum := decimal.Zero
		for i, item := range got {
			require.True(t, d(c.want[i]).Equal(item), "%s item %d: want %s, got %s", c.amount, i+1, c.want[i], item)
			require.True(t, item.IsPositive())
			require.True(t, item.LessThanOrEqual(d(c.max)))
			sum = sum.Add(item)
		}
		require.True(t, sum.Equal(d(c.amount)), "%s: the items sum to %s", c.amount, sum)
	}
	require.Equal(t, "P20261100000042-1", payout.PayPalItemID("P20261100000042", 1))
	require.Equal(t, "P20261100000042-12", payout.PayPalItemID("P20261100000042", 12))
}
