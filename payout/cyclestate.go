package payout

import (
	"errors"
	"fmt"
)

// CycleState is where a cycle is in its life (SPEC §3.4). The states and
// their transitions are written here once; the store records them, the
// release, the metrics and the reports read them.
//
//	open ──close starts──▶ closing ──close finishes──▶ closed ─────────────release──────────────▶ released
//	                        │  ▲            │                                                  ▲        │
//	                        └──┘            │ (policy "approval": true)                        │        │ returns window
//	          a crash: the next close       └──────────▶ awaiting_approval ──approve──▶ (approved)       ▼ passed
//	          resumes after the last                                                                  settled
//	          committed batch
//
// A closed cycle (closed or any later state) is immutable: closing it again
// changes nothing. Rejecting a cycle awaiting approval (SPEC §3.4) is not
// implemented; docs/behaviour.md lists it among the known differences.
type CycleState string

// Cycle states, in lifecycle order.
const (
	CycleOpen             CycleState = "open"
	CycleClosing          CycleState = "closing"
	CycleClosed           CycleState = "closed"
	CycleAwaitingApproval CycleState = "awaiting_approval"
	CycleReleased         CycleState = "released"
	CycleSettled          CycleState = "settled"
)

// CycleStates lists every state in lifecycle order.
var CycleStates = []CycleState{CycleOpen, CycleClosing, CycleClosed, CycleAwaitingApproval, CycleReleased, CycleSettled}

// CycleEvent is what moves a cycle from one state to the next.
type CycleEvent string

// Cycle events.
const (
	CloseStarted  CycleEvent = "close_started"
	CloseFinished CycleEvent = "close_finished"
	Approved      CycleEvent = "approved"
	Released      CycleEvent = "released"
	Settled       CycleEvent = "settled"
)

// ErrTransition: the event cannot happen in the cycle's state.
var ErrTransition = errors.New("cycle state transition not allowed")

// Next is the state an event moves a cycle to. approvalRequired is the
// cycle's policy (maker-checker), approved whether a finance approver has
// approved it. Errors: ErrTransition, naming the state and the event.
func (s CycleState) Next(e CycleEvent, approvalRequired, approved bool) (CycleState, error) {
	switch {
	case e == CloseStarted && (s == CycleOpen || s == CycleClosing):
		return CycleClosing, nil // a crashed close starts again where it stopped
	case e == CloseFinished && s == CycleClosing && approvalRequired:
		return CycleAwaitingApproval, nil
	case e == CloseFinished && s == CycleClosing:
		return CycleClosed, nil
	case e == Approved && s == CycleAwaitingApproval:
		return CycleAwaitingApproval, nil // approved, awaiting its release
	case e == Released && s.CanRelease(approved):
		return CycleReleased, nil
	case e == Settled && s == CycleReleased:
		return CycleSettled, nil
	}
	return s, fmt.Errorf("%w: %s in state %s", ErrTransition, e, s)
}

// CanRelease reports whether a release may write the cycle's files now: a
// closed cycle, or one awaiting approval that a finance approver approved.
func (s CycleState) CanRelease(approved bool) bool {
	return s == CycleClosed || s == CycleAwaitingApproval && approved
}

// ReleasedOrLater reports whether the cycle's files were released.
func (s CycleState) ReleasedOrLater() bool { return s == CycleReleased || s == CycleSettled }

// Closed reports whether the close finished: the cycle is immutable.
func (s CycleState) Closed() bool {
	return s == CycleClosed || s == CycleAwaitingApproval || s.ReleasedOrLater()
}
