package payout

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// TestReasonsOrderAndHeldRule: Reasons is SPEC §3.2's table order, every
// reason once; the held reasons (a check before the amount failed) come
// before the carried ones (the amount itself), and Order is the index.
func TestReasonsOrderAndHeldRule(t *testing.T) {
	seen := map[Reason]bool{}
	carriedFrom := -1
	for i, r := range Reasons {
		require.False(t, seen[r], "%s listed twice", r)
		seen[r] = true
		require.Equal(t, i, r.Order())
		if !r.Held() && carriedFrom < 0 {
			carriedFrom = i
		}
		if carriedFrom >= 0 {
			require.False(t, r.Held(), "%s holds but comes after a carried reason", r)
		}
	}
	require.Equal(t, []Reason{NegativeBalance, ZeroBalance, BelowThreshold}, Reasons[carriedFrom:])
	require.Equal(t, AccountNotVerified, Reasons[0])
	require.Equal(t, len(Reasons), Reason("unknown").Order(), "unknown reasons sort last")
}

// TestDecideAssertsConservation: the invariant Decide checks on return
// refuses a decision that invents or loses money (a doctored one: Decide
// itself never builds such a decision, which the property test checks).
func TestDecideAssertsConservation(t *testing.T) {
	d := Decision{AccountID: 7, BalanceUS: decimal.RequireFromString("100"), BalanceOther: decimal.RequireFromString("0.004"),
		Paid: decimal.RequireFromString("70"), Withheld: decimal.RequireFromString("30"), CarriedOther: decimal.RequireFromString("0.004")}
	require.NoError(t, d.conserved())
	d.Paid = decimal.RequireFromString("70.01")
	require.ErrorIs(t, d.conserved(), ErrNotConserved)
	d.Paid, d.Withheld = decimal.RequireFromString("100.008"), decimal.RequireFromString("-0.004")
	d.CarriedOther = decimal.Zero
	require.ErrorIs(t, d.conserved(), ErrNotConserved, "nothing is withheld below zero")
}

// Every reason says what unblocks it, so no summary shows a blank remedy.
func TestEveryReasonHasARemedy(t *testing.T) {
	for _, r := range Reasons {
		if r.Remedy() == "" {
			t.Errorf("%s has no remedy", r)
		}
	}
	if Reason("made_up").Remedy() != "" {
		t.Error("an unknown reason has a remedy")
	}
}
