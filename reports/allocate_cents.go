package reports

import (
	"math/big"
	"math/bits"
)

// remainderUnit is 10^16: money.Allocate divides to places+16 = 18
// decimals, so a share is an integer q of 10^-18 dollars, i.e. of 10^-16
// cents, and q's remainder below the cent is in [0, remainderUnit).
const remainderUnit = 10_000_000_000_000_000

// AllocateWithholdingCents is AllocateWithholding in integers, for callers
// that hold a payout's lines compactly: withheldCents is the withholding in
// cents, amountsMicro the US-sourced lines' amounts in micro-dollars
// (10^-6, the ledger's scale), and the parts are cents. It gives exactly
// AllocateWithholding's parts (the same cents, ties to the same lines) and
// returns nil in the same cases: withheldCents negative, or non-zero with
// no positive amount. (Withholding that is not whole cents cannot be
// written in cents: AllocateWithholding refuses it.)
//
// It reproduces money.Allocate's arithmetic: each positive line's share
// exact = withheld·amount/Σpositive rounded half away from zero to 18
// decimals (shopspring's DivRound at places+16), here the integer
// q = round(withheldCents·amount·10^16 / Σ) in 10^-16 cents; the line gets
// q's whole cents, and the cents left over go one each to the lines with
// the largest remainders q mod 10^16, ties to the earlier line (the stable
// sort). Memory is the parts alone (8 bytes a line): the remainders are
// kept in the parts while the threshold remainder is found by bisection,
// then the whole cents are computed again.
func AllocateWithholdingCents(withheldCents int64, amountsMicro []int64) []int64 {
	if withheldCents < 0 {
		return nil
	}
	var sumHi, sumLo uint64 // Σ positive amounts, 128 bits
	for _, a := range amountsMicro {
		if a > 0 {
			var carry uint64
			sumLo, carry = bits.Add64(sumLo, uint64(a), 0)
			sumHi += carry
		}
	}
	parts := make([]int64, len(amountsMicro))
	if sumHi == 0 && sumLo == 0 {
		if withheldCents != 0 {
			return nil
		}
		return parts // all zero
	}
	if withheldCents == 0 {
		return parts
	}
	share := newShareFunc(uint64(withheldCents), sumHi, sumLo)

	// Pass 1: the whole cents allocated, and each line's remainder (in its part).
	var allocated uint64
	for i, a := range amountsMicro {
		whole, remainder := share(a)
		allocated += whole
		parts[i] = int64(remainder)
	}
	// The whole cents never exceed the withholding (each q is its exact
	// share rounded by at most half of 10^-16 cents), so left >= 0.
	left := int64(0)
	if allocated < uint64(withheldCents) {
		left = int64(uint64(withheldCents) - allocated)
	}
	// money.Allocate gives a cent to each of the first left shares sorted
	// by remainder, largest first, stably. Those are the lines whose
	// remainder is above the threshold (the left-th largest remainder),
	// and the earliest of those at it.
	left = min(left, int64(len(parts))) // fewer than len(parts) (see money.Allocate)
	threshold, atThreshold := int64(remainderUnit), int64(0)
	if left > 0 {
		// The largest t with at least left remainders >= t: count(>= 0) is
		// every line, count(>= remainderUnit) none.
		low, high := int64(0), int64(remainderUnit)
		for high-low > 1 {
			mid := low + (high-low)/2
			if countAtLeast(parts, mid) >= left {
				low = mid
			} else {
				high = mid
			}
		}
		threshold = low
		atThreshold = left - countAtLeast(parts, threshold+1)
	}
	// Pass 2: the whole cents again, plus the cents left over.
	for i, a := range amountsMicro {
		whole, _ := share(a)
		remainder := parts[i]
		if remainder > threshold || (remainder == threshold && atThreshold > 0) {
			if remainder == threshold {
				atThreshold--
			}
			whole++
		}
		parts[i] = int64(whole)
	}
	return parts
}

// countAtLeast counts the remainders >= t.
func countAtLeast(remainders []int64, t int64) int64 {
	var n int64
	for _, r := range remainders {
		if r >= t {
			n++
		}
	}
	return n
}

// newShareFunc returns the function that splits a line's share of total
// cents (amount in micro-dollars over the positive amounts' sum, 128 bits)
// into whole cents and remainder: q = round-half-up(total·amount·10^16 /
// sum), whole = q / 10^16, remainder = q mod 10^16. Non-positive amounts
// weigh 0.
func newShareFunc(total, sumHi, sumLo uint64) func(amount int64) (whole, remainder uint64) {
	if sumHi == 0 {
		sum := sumLo
		return func(amount int64) (uint64, uint64) {
			if amount <= 0 {
				return 0, 0
			}
			// total·amount = a·sum + b; b·10^16 = c·sum + r; then
			// total·amount·10^16 / sum = a·10^16 + c + r/sum. Both
			// divisions' high words are below sum (amount <= sum, b < sum),
			// as bits.Div64 needs.
			hi, lo := bits.Mul64(total, uint64(amount))
			a, b := bits.Div64(hi, lo, sum)
			hi, lo = bits.Mul64(b, remainderUnit)
			c, r := bits.Div64(hi, lo, sum)
			if r >= sum-r { // 2r >= sum: half away from zero
				c++
			}
			if c == remainderUnit {
				a, c = a+1, 0
			}
			return a, c
		}
	}
	// A sum of 2^64 micro-dollars or more (over 18 trillion dollars): big
	// integers.
	var sum, n, q, r, twice big.Int
	sum.SetUint64(sumHi)
	sum.Lsh(&sum, 64)
	sum.Or(&sum, new(big.Int).SetUint64(sumLo))
	scaled := new(big.Int).Mul(new(big.Int).SetUint64(total), big.NewInt(remainderUnit))
	unit := big.NewInt(remainderUnit)
	return func(amount int64) (uint64, uint64) {
		if amount <= 0 {
			return 0, 0
		}
		n.Mul(scaled, n.SetInt64(amount))
		q.QuoRem(&n, &sum, &r)
		if twice.Lsh(&r, 1).Cmp(&sum) >= 0 {
			q.Add(&q, big.NewInt(1))
		}
		q.QuoRem(&q, unit, &r)
		return q.Uint64(), r.Uint64()
	}
}
