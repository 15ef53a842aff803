package reports

import (
	"math"

	"github.com/shopspring/decimal"
)

// exactSum adds decimals exactly. Amounts of at most 6 decimals (the
// ledger's scale) whose coefficient is small enough add as int64
// micro-units, without allocating; anything else, and any overflow, goes
// through decimal arithmetic. Streaming a million rows adds several amounts
// per row, and decimal.Add allocates every time.
type exactSum struct {
	micro int64           // in units of 10^-6
	rest  decimal.Decimal // everything that did not fit micro
}

// microDigits: below 10^18 a micro-unit amount fits an int64 with room for
// the sign.
const microDigits = 18

var microScale = [...]int64{1, 10, 100, 1_000, 10_000, 100_000, 1_000_000}

func (s *exactSum) add(d decimal.Decimal) {
	exp := d.Exponent()
	if exp >= -6 && exp <= 0 && d.NumDigits()+int(exp+6) < microDigits {
		scaled := d.CoefficientInt64() * microScale[exp+6]
		if (scaled > 0 && s.micro > math.MaxInt64-scaled) || (scaled < 0 && s.micro < math.MinInt64-scaled) {
			s.rest = s.rest.Add(decimal.New(s.micro, -6))
			s.micro = 0
		}
		s.micro += scaled
		return
	}
	s.rest = s.rest.Add(d)
}

// value is the exact total.
func (s *exactSum) value() decimal.Decimal {
	return s.rest.Add(decimal.New(s.micro, -6))
}
