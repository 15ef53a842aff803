package review

import (
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"regexp"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/country"
	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/internal/textcheck"
	"github.com/payrun/payrun/payout"
)

// Page sizes of the publishers table.
const (
	// DefaultLimit is the page size when Filter.Limit is 0.
	DefaultLimit = 50
	// MaxLimit bounds a page: 200 rows of the table are ~40 kB of HTML,
	// and a rare filter value costs a probe per row.
	MaxLimit = 200
	// MaxQueryLength bounds the search text, in characters: seller ids are
	// at most 64, display names at most 256 (accounts).
	MaxQueryLength = 256
	// maxCursorLength bounds the cursor text before it is decoded: a seller
	// id (64), or an amount (22 characters) and a rank (10 digits), an id
	// (19) and the framing fit in 200 once in base64.
	maxCursorLength = 200
)

// Sort orders of the publishers table. SortSeller is the default.
const (
	SortSeller   = "seller"
	SortBalance  = "balance"
	SortPaid     = "paid"
	SortWithheld = "withheld"
	SortCarried  = "carried"
)

var sorts = []string{SortSeller, SortBalance, SortPaid, SortWithheld, SortCarried}

// The publishers of one cycle (table `payouts` joined to `accounts`),
// server-side paginated, usable at 1M rows.
type Filter struct {
	Status   string // "", paid, held, carried
	Reason   string // "", one of payout's reasons (any reason in payouts.reasons, not just the primary)
	Method   string // "", bank, paypal
	Currency string // "", ISO 4217 upper-case
	Country  string // "", ISO 3166-1 alpha-2 (accounts.registration_country)
	Query    string // "": a seller id (exact, case-insensitive) or the start of a display name (case-insensitive prefix)
	Sort     string // "" or "seller" (default), "balance", "paid", "withheld", "carried"
	Desc     bool
	After    string // opaque keyset cursor from PublisherPage.Next; "" = first page
	Limit    int    // 0 = 50; 1..200
}

// Check validates the filter. Every problem is a *fielderr.Error in a
// *fielderr.List (subject "publishers filter"), at the path the console's
// query string names it: status, reason, method, currency, country, q,
// sort, cursor, limit.
func (f Filter) Check() error {
	problems := &fielderr.List{Subject: "publishers filter"}
	if f.Status != "" && !oneOf(f.Status, string(payout.Paid), string(payout.Held), string(payout.Carried)) {
		problems.Addf("status", fielderr.Invalid, "%q is not a payout status: paid, held or carried", f.Status)
	}
	if f.Reason != "" && payout.Reason(f.Reason).Order() == len(payout.Reasons) {
		names := make([]string, len(payout.Reasons))
		for i, r := range payout.Reasons {
			names[i] = string(r)
		}
		problems.Addf("reason", fielderr.Invalid, "%q is not a payout reason: one of %s", f.Reason, strings.Join(names, ", "))
	}
	if f.Method != "" && !oneOf(f.Method, string(payout.Bank), string(payout.PayPal)) {
		problems.Addf("method", fielderr.Invalid, "%q is not a payout method: bank or paypal", f.Method)
	}
	switch {
	case f.Currency == "":
	case !upperLetters(f.Currency, 3):
		problems.Addf("currency", fielderr.Invalid, "%q is not an ISO 4217 currency code: three upper-case letters, e.g. USD", f.Currency)
	case !money.KnownCurrency(f.Currency):
		problems.Addf("currency", fielderr.Invalid, "%q is not a currency payrun pays in", f.Currency)
	}
	switch {
	case f.Country == "":
	case !upperLetters(f.Country, 2):
		problems.Addf("country", fielderr.Country, "%q is not an ISO 3166-1 alpha-2 country code: two upper-case letters, e.g. DE", f.Country)
	case !country.Valid(f.Country):
		problems.Addf("country", fielderr.Country, "%q is not an assigned ISO 3166-1 alpha-2 country code", f.Country)
	}
	if problem := textcheck.Problem(f.Query); problem != "" {
		problems.Add(fielderr.New("q", fielderr.Character, problem))
	} else if n := textcheck.Length(f.Query); n > MaxQueryLength {
		problems.Addf("q", fielderr.TooLong, "%d characters: at most %d", n, MaxQueryLength)
	}
	if f.Sort != "" && !oneOf(f.Sort, sorts...) {
		problems.Addf("sort", fielderr.Invalid, "%q is not a sort order: one of %s", f.Sort, strings.Join(sorts, ", "))
	}
	if f.After != "" {
		if _, err := f.cursor(); err != nil {
			problems.Fields = append(problems.Fields, fielderr.All(err)...)
		}
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		problems.Addf("limit", fielderr.Range, "%d rows: a page has 1 to %d (0 for %d)", f.Limit, MaxLimit, DefaultLimit)
	}
	return problems.Err()
}

func (f Filter) sort() string {
	if f.Sort == "" {
		return SortSeller
	}
	return f.Sort
}

func (f Filter) limit() int {
	if f.Limit == 0 {
		return DefaultLimit
	}
	return f.Limit
}

// cursor is a position in the publishers table: the last row of a page,
// by its sort key and account id, for the sort order it was made for.
type cursor struct {
	sort      string
	desc      bool
	accountID int64
	seller    string          // SortSeller's key
	amount    decimal.Decimal // the other sorts' key
	// rank: an amount sort's row's rank in the cycle's stored order of
	// that sort (1 the smallest key), 0 when the page that made it was not
	// read from a stored order. A page then starts at this rank; without
	// it, at the rank of (amount, accountID).
	rank int64
}

// The cursor's text: "v1" and its fields separated by "|" (sort, a or d,
// account id, key, and for an amount sort read from a stored order its
// rank) with a CRC-32 of them, in unpadded base64url. It is opaque to the
// console; the CRC makes an edited or truncated cursor an error at
// "cursor" rather than a position the caller never saw. (It is not a
// secret: a cursor only says where a page starts, over rows the caller may
// read anyway.) Cursors without a rank, as this table gave before its
// orders were stored, stay valid.
const cursorVersion = "v1"

var sellerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

func (c cursor) encode() string {
	key := c.seller
	if c.sort != SortSeller {
		key = c.amount.String()
	}
	direction := "a"
	if c.desc {
		direction = "d"
	}
	fields := []string{cursorVersion, c.sort, direction, strconv.FormatInt(c.accountID, 10), key}
	if c.sort != SortSeller && c.rank > 0 {
		fields = append(fields, strconv.FormatInt(c.rank, 10))
	}
	body := strings.Join(fields, "|")
	return base64.RawURLEncoding.EncodeToString([]byte(body + "|" + checksum(body)))
}

func checksum(body string) string { return fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte(body))) }

// maxCursorAmount bounds an amount sort's key: payouts' amounts are
// numeric(20, 6), below 10^14, and sums of two of them below 10^15.
var maxCursorAmount = decimal.New(1, 15)

// cursor decodes f.After and checks it was made for f's sort order.
func (f Filter) cursor() (cursor, error) {
	malformed := fielderr.New("cursor", fielderr.Invalid, "not a cursor this table gave (malformed or edited): start again from the first page")
	if len(f.After) > maxCursorLength {
		return cursor{}, malformed
	}
	var c cursor
	raw, err := base64.RawURLEncoding.DecodeString(f.After)
	if err != nil {
		return cursor{}, malformed
	}
	text := string(raw)
	cut := strings.LastIndexByte(text, '|')
	if cut < 0 {
		return cursor{}, malformed
	}
	body, sum := text[:cut], text[cut+1:]
	if sum != checksum(body) {
		return cursor{}, malformed
	}
	parts := strings.Split(body, "|")
	if len(parts) == 6 && parts[1] != SortSeller {
		// An amount sort's rank, at least 1 and at most maxRank.
		if c.rank, err = strconv.ParseInt(parts[5], 10, 32); err != nil || c.rank < 1 || parts[5] != strconv.FormatInt(c.rank, 10) {
			return cursor{}, malformed
		}
		parts = parts[:5]
	}
	if len(parts) != 5 || parts[0] != cursorVersion || !oneOf(parts[1], sorts...) || !oneOf(parts[2], "a", "d") {
		return cursor{}, malformed
	}
	c.sort, c.desc = parts[1], parts[2] == "d"
	if c.accountID, err = strconv.ParseInt(parts[3], 10, 64); err != nil || c.accountID <= 0 {
		return cursor{}, malformed
	}
	if c.sort == SortSeller {
		if !sellerIDPattern.MatchString(parts[4]) {
			return cursor{}, malformed
		}
		c.seller = parts[4]
	} else if c.amount, err = decimal.NewFromString(parts[4]); err != nil || c.amount.Abs().GreaterThanOrEqual(maxCursorAmount) || c.amount.Exponent() < -6 {
		return cursor{}, malformed
	}
	if c.sort != f.sort() || c.desc != f.Desc {
		return cursor{}, fielderr.New("cursor", fielderr.Inconsistent, "the cursor belongs to another sort order: start again from the first page")
	}
	return c, nil
}

func oneOf(value string, allowed ...string) bool {
	for _, a := range allowed {
		if value == a {
			return true
		}
	}
	return false
}

func upperLetters(value string, n int) bool {
	if len(value) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if value[i] < 'A' || value[i] > 'Z' {
			return false
		}
	}
	return true
}
