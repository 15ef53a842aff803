package payout

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCycleLifecycle walks both paths of SPEC §3.4 and checks that every
// other event in every state is refused, changing nothing.
func TestCycleLifecycle(t *testing.T) {
	walk := func(approval bool, steps ...CycleEvent) CycleState {
		s, approved := CycleOpen, false
		for _, e := range steps {
			next, err := s.Next(e, approval, approved)
			require.NoError(t, err, "%s in %s", e, s)
			approved = approved || e == Approved
			s = next
		}
		return s
	}
	require.Equal(t, CycleSettled, walk(false, CloseStarted, CloseFinished, Released, Settled))
	require.Equal(t, CycleSettled, walk(true, CloseStarted, CloseStarted, CloseFinished, Approved, Released, Settled))

	allowed := map[CycleState][]CycleEvent{
		CycleOpen: {CloseStarted}, CycleClosing: {CloseStarted, CloseFinished}, CycleClosed: {Released},
		CycleAwaitingApproval: {Approved}, CycleReleased: {Settled}, CycleSettled: {},
	}
	for _, s := range CycleStates {
		for _, e := range []CycleEvent{CloseStarted, CloseFinished, Approved, Released, Settled} {
			_, err := s.Next(e, false, false)
			ok := false
			for _, a := range allowed[s] {
				ok = ok || a == e
			}
			if ok {
				require.NoError(t, err, "%s in %s", e, s)
			} else {
				require.True(t, errors.Is(err, ErrTransition), "%s in %s must be refused", e, s)
			}
		}
	}
	require.False(t, CycleAwaitingApproval.CanRelease(false), "maker-checker: not before the approval")
	require.True(t, CycleAwaitingApproval.CanRelease(true))
	require.False(t, CycleClosing.Closed())
	require.True(t, CycleAwaitingApproval.Closed())
	require.True(t, CycleSettled.ReleasedOrLater())
}
