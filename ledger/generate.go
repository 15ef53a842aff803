package ledger

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// GenerateOptions describe a synthetic month of earnings. The same options
// give the same bytes, always: the only source of randomness is a PCG
// generator seeded from Seed.
type GenerateOptions struct {
	Seed       uint64
	Publishers int
	Lines      int64
	Month      time.Time // any instant in the month of the transactions
}

// Limits of the generator.
const (
	MaxGeneratedPublishers = 10_000_000
	MaxGeneratedLines      = MaxLinesPerImport
)

// Validate checks the options. Errors name the flag.
func (o GenerateOptions) Validate() error {
	if o.Publishers < 1 || o.Publishers > MaxGeneratedPublishers {
		return fmt.Errorf("publishers: %d is not between 1 and %d", o.Publishers, MaxGeneratedPublishers)
	}
	if o.Lines < 0 || o.Lines > MaxGeneratedLines {
		return fmt.Errorf("lines: %d is not between 0 and %d", o.Lines, MaxGeneratedLines)
	}
	if o.Month.IsZero() {
		return errors.New("month: required (YYYY-MM)")
	}
	return nil
}

// GeneratedSellerID is the seller id of the i-th generated publisher (0-based).
func GeneratedSellerID(seed uint64, i int) string {
	return "G" + strconv.FormatUint(seed, 10) + "-" + fmt.Sprintf("%07d", i+1)
}

// weighted picks values by integer weights.
type weighted[T any] struct {
	values  []T
	cumul   []int
	totalWt int
}

func newWeighted[T any](pairs ...any) weighted[T] {
	var w weighted[T]
	for i := 0; i < len(pairs); i += 2 {
		w.values = append(w.values, pairs[i].(T))
		w.totalWt += pairs[i+1].(int)
		w.cumul = append(w.cumul, w.totalWt)
	}
	return w
}

func (w weighted[T]) pick(r *rand.Rand) T {
	n := r.IntN(w.totalWt)
	for i, c := range w.cumul {
		if n < c {
			return w.values[i]
		}
	}
	return w.values[len(w.values)-1]
}

// Registration countries of generated publishers: a marketplace's mix, with
// treaty (GB, DE, JP, ...), no-treaty (BR, SG) and former-treaty (HU) countries.
var publisherCountries = newWeighted[string](
	"US", 30, "GB", 8, "DE", 8, "FR", 5, "JP", 5, "IN", 6, "CN", 4, "CA", 5, "AU", 4,
	"BR", 4, "NL", 3, "IE", 2, "SG", 3, "HU", 2, "ES", 3, "IT", 3, "KR", 2, "SE", 2, "PL", 1,
)

// Customer markets: about 40% US (the US-sourced share), 17 others.
var markets = newWeighted[string](
	"US", 400, "GB", 80, "DE", 80, "FR", 60, "JP", 60, "CA", 50, "AU", 40, "IN", 40, "BR", 35,
	"CN", 30, "NL", 25, "ES", 25, "IT", 25, "KR", 15, "MX", 15, "SE", 10, "PL", 5, "ZA", 5,
)

var revenueSources = newWeighted[string]("app", 35, "in_app", 25, "subscription", 20, "marketplace", 12, "advertising", 8)

// Prices and revenue shares: the proceeds price × share have up to four
// decimals; marketplace and advertising lines are metered and carry six.
var prices = []string{"0.99", "1.99", "2.99", "4.99", "9.99", "14.99", "19.99", "49.99", "99.99", "299.00"}
var shares = []string{"0.70", "0.85", "0.80"}

// appendPadded appends n with zeros to nine digits: generated transaction
// ids sort in the order they were made, as most order systems' ids do.
func appendPadded(buf []byte, n int64) []byte {
	digits := strconv.FormatInt(n, 10)
	for i := len(digits); i < 9; i++ {
		buf = append(buf, '0')
	}
	return append(buf, digits...)
}

// GenerateAccounts writes the accounts CSV (AccountsHeader) for opts.
func GenerateAccounts(w io.Writer, opts GenerateOptions) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(opts.Seed, 0x6163636f756e7473))
	out := bufio.NewWriterSize(w, 1<<16)
	out.WriteString(AccountsHeader + "\n")
	for i := 0; i < opts.Publishers; i++ {
		kind := "individual"
		suffix := ""
		if r.IntN(100) < 40 {
			kind, suffix = "company", " Ltd"
		}
		fmt.Fprintf(out, "%s,%s,%s,Publisher %07d%s\n", GeneratedSellerID(opts.Seed, i), kind, publisherCountries.pick(r), i+1, suffix)
	}
	return out.Flush()
}

// GenerateEarnings writes a month of earnings lines (EarningsHeader without
// eligible_at) for the publishers of GenerateAccounts: popularity follows a
// Zipf law (a few publishers earn most, many earn little), about 2% of lines
// are refunds, chargebacks or reversals of earlier purchases, and a few are
// adjustments. Lines come in time order. Memory is flat in the line count.
func GenerateEarnings(w io.Writer, opts GenerateOptions) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	start := time.Date(opts.Month.Year(), opts.Month.Month(), 1, 0, 0, 0, 0, time.UTC)
	// The month joins the seed: each month of one marketplace differs.
	r := rand.New(rand.NewPCG(opts.Seed, 0x6561726e696e6773^uint64(start.Year()*12+int(start.Month()))))
	span := start.AddDate(0, 1, 0).Sub(start)
	zipf := rand.NewZipf(r, 1.1, 8, uint64(opts.Publishers-1))
	// Scatter popularity ranks over seller ids so the big earners are not
	// simply the first ids.
	rankOffset := r.IntN(opts.Publishers)
	month := start.Format("200601")
	out := bufio.NewWriterSize(w, 1<<20)
	out.WriteString("transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount\n")
	type purchase struct {
		publisher int
		source    string
		market    string
		amount    decimal.Decimal
	}
	var recent [1024]purchase // earlier purchases that refunds can reverse
	recentCount := 0
	buf := make([]byte, 0, 256)
	for i := int64(0); i < opts.Lines; i++ {
		at := start.Add(time.Duration(float64(span) * (float64(i) + r.Float64()) / float64(opts.Lines))).Truncate(time.Second)
		publisher := (int(zipf.Uint64()) + rankOffset) % opts.Publishers
		source := revenueSources.pick(r)
		market := markets.pick(r)
		kind := "purchase"
		var amount decimal.Decimal
		switch roll := r.IntN(1000); {
		case roll < 20 && recentCount > 0: // 2%: undo an earlier purchase
			p := recent[r.IntN(min(recentCount, len(recent)))]
			publisher, source, market = p.publisher, p.source, p.market
			kind = [...]string{"refund", "refund", "refund", "refund", "refund", "refund", "refund", "chargeback", "chargeback", "reversal"}[r.IntN(10)]
			amount = p.amount.Neg()
		case roll < 21: // 0.1%: a correction either way
			kind = "adjustment"
			amount = decimal.New(r.Int64N(20000)-10000, -2)
			if amount.IsZero() {
				amount = decimal.New(1, -2)
			}
		default:
			if source == "marketplace" || source == "advertising" {
				// Metered: units × a unit price with six decimals.
				amount = decimal.New(int64(1+r.IntN(5000)), 0).Mul(decimal.New(int64(1+r.IntN(99999)), -6))
			} else {
				price := decimal.RequireFromString(prices[r.IntN(len(prices))])
				amount = price.Mul(decimal.RequireFromString(shares[r.IntN(len(shares))]))
			}
			recent[recentCount%len(recent)] = purchase{publisher, source, market, amount}
			recentCount++
		}
		buf = buf[:0]
		buf = append(buf, 'T')
		buf = strconv.AppendUint(buf, opts.Seed, 10)
		buf = append(buf, '-')
		buf = append(buf, month...)
		buf = append(buf, '-')
		buf = appendPadded(buf, i+1)
		buf = append(buf, ',')
		buf = append(buf, GeneratedSellerID(opts.Seed, publisher)...)
		buf = append(buf, ',')
		buf = append(buf, source...)
		buf = append(buf, ',')
		buf = append(buf, kind...)
		buf = append(buf, ',')
		buf = append(buf, market...)
		buf = append(buf, ',')
		buf = at.AppendFormat(buf, time.RFC3339)
		buf = append(buf, ',')
		buf = append(buf, amount.String()...)
		buf = append(buf, '\n')
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
	return out.Flush()
}
