// Package money holds payrun's rounding rules and currency facts: the only
// places where an amount changes precision.
//
// Every rule of SPEC §1 is one named function here, so a reader can find the
// rule and its tests in one place:
//
//   - [RoundHalfUp] rounds withholding (rate × base) to the cent;
//   - [FloorToMinor] rounds a payable amount down to the currency's minor unit,
//     leaving the sub-unit remainder in the publisher's balance;
//   - [Allocate] splits a total over parts with the largest-remainder method,
//     so the parts always sum exactly to the total;
//   - [ParseAmount] reads a ledger amount (at most [LedgerScale] decimals).
//
// Amounts are shopspring/decimal values everywhere; floats never appear.
// Invariants: no function here invents or loses money — for every total t,
// sum(Allocate(t, ...)) == t, and FloorToMinor(x) + remainder == x.
package money
