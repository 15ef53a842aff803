package review

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
)

func TestFilterCheckNamesEveryBadField(t *testing.T) {
	t.Parallel()
	sellerCursor := cursor{sort: SortSeller, accountID: 7, seller: "S000000007"}.encode()
	cases := []struct {
		name   string
		filter Filter
		path   string
		says   string
	}{
		{"status", Filter{Status: "PAID"}, "status", "paid, held or carried"},
		{"reason", Filter{Reason: "tax_missing"}, "reason", "below_threshold"},
		{"method", Filter{Method: "wire"}, "method", "bank or paypal"},
		{"currency lower case", Filter{Currency: "eur"}, "currency", "three upper-case letters"},
		{"currency unknown", Filter{Currency: "XYZ"}, "currency", "not a currency payrun pays in"},
		{"country lower case", Filter{Country: "de"}, "country", "two upper-case letters"},
		{"country unassigned", Filter{Country: "XX"}, "country", "not an assigned"},
		{"query control character", Filter{Query: "acme\x00"}, "q", "control character"},
		{"query too long", Filter{Query: strings.Repeat("é", MaxQueryLength+1)}, "q", "at most 256"},
		{"sort", Filter{Sort: "name"}, "sort", "seller, balance, paid, withheld, carried"},
		{"cursor not base64", Filter{After: "not a cursor!"}, "cursor", "malformed"},
		{"cursor too long", Filter{After: strings.Repeat("A", 300)}, "cursor", "malformed"},
		{"cursor of another sort", Filter{After: sellerCursor, Sort: SortBalance}, "cursor", "another sort order"},
		{"cursor of another direction", Filter{After: sellerCursor, Desc: true}, "cursor", "another sort order"},
		{"limit negative", Filter{Limit: -1}, "limit", "1 to 200"},
		{"limit too large", Filter{Limit: MaxLimit + 1}, "limit", "1 to 200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.filter.Check()
			require.Error(t, err)
			fields := fielderr.All(err)
			require.Len(t, fields, 1, "%v", err)
			require.Equal(t, c.path, fields[0].Path)
			require.Contains(t, fields[0].Message, c.says)
			require.Contains(t, err.Error(), "publishers filter")
		})
	}

	all := Filter{Status: "x", Reason: "x", Method: "x", Currency: "x", Country: "x", Query: "\n", Sort: "x", After: "x", Limit: 1000}
	var paths []string
	for _, field := range fielderr.All(all.Check()) {
		paths = append(paths, field.Path)
	}
	require.Equal(t, []string{"status", "reason", "method", "currency", "country", "q", "sort", "cursor", "limit"}, paths, "every problem at once, in field order")

	good := Filter{Status: "held", Reason: "tax_profile_missing", Method: "bank", Currency: "EUR", Country: "DE", Query: "Acme 100%",
		Sort: SortBalance, Desc: true, After: cursor{sort: SortBalance, desc: true, accountID: 3, amount: decimal.RequireFromString("-12.5")}.encode(), Limit: MaxLimit}
	require.NoError(t, good.Check())
	require.NoError(t, Filter{}.Check())
	require.NoError(t, Filter{After: sellerCursor, Sort: SortSeller}.Check(), "seller is the default sort, named or not")
}

func TestCursorRoundTripsAndRefusesEdits(t *testing.T) {
	t.Parallel()
	for _, c := range []cursor{
		{sort: SortSeller, accountID: 1, seller: "a"},
		{sort: SortSeller, desc: true, accountID: 9_223_372_036_854_775_807, seller: "S-" + strings.Repeat("x", 62)},
		{sort: SortBalance, accountID: 42, amount: decimal.RequireFromString("123456789012345.123456")},
		{sort: SortCarried, desc: true, accountID: 42, amount: decimal.RequireFromString("-0.000001")},
		{sort: SortPaid, accountID: 5, amount: decimal.Zero},
		{sort: SortWithheld, accountID: 5, amount: decimal.RequireFromString("30.25")},
		{sort: SortPaid, desc: true, accountID: 5, amount: decimal.RequireFromString("30.25"), rank: 1},
		{sort: SortBalance, desc: true, accountID: 9_223_372_036_854_775_807, amount: decimal.RequireFromString("-123456789012345.123456"), rank: maxRank},
	} {
		text := c.encode()
		require.LessOrEqual(t, len(text), maxCursorLength)
		got, err := Filter{Sort: c.sort, Desc: c.desc, After: text}.cursor()
		require.NoError(t, err)
		require.Equal(t, c.sort, got.sort)
		require.Equal(t, c.desc, got.desc)
		require.Equal(t, c.accountID, got.accountID)
		require.Equal(t, c.seller, got.seller)
		require.True(t, c.amount.Equal(got.amount), "%s vs %s", c.amount, got.amount)
		require.Equal(t, c.rank, got.rank)

		// Any one byte changed (or cut off) is refused, never a 500.
		raw, err := base64.RawURLEncoding.DecodeString(text)
		require.NoError(t, err)
		for i := range raw {
			edited := append([]byte(nil), raw...)
			edited[i] ^= 0x01
			_, err := Filter{Sort: c.sort, Desc: c.desc, After: base64.RawURLEncoding.EncodeToString(edited)}.cursor()
			require.Error(t, err, "byte %d edited", i)
		}
		_, err = Filter{Sort: c.sort, Desc: c.desc, After: text[:len(text)-2]}.cursor()
		require.Error(t, err)
	}

	// Well-formed cursors with impossible contents are refused too.
	forge := func(body string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(body + "|" + checksum(body)))
	}
	for _, body := range []string{
		"v2|seller|a|1|S1",                    // unknown version
		"v1|seller|a|0|S1",                    // no account 0
		"v1|seller|a|-4|S1",                   // negative id
		"v1|seller|x|1|S1",                    // direction
		"v1|seller|a|1|S 1",                   // not a seller id
		"v1|seller|a|1|S1|extra",              // a field too many
		"v1|balance|a|1|twelve",               // not an amount
		"v1|balance|a|1|1e400000000",          // an absurd amount
		"v1|balance|a|1|0.0000001",            // finer than any payouts amount
		"v1|name|a|1|S1",                      // unknown sort
		"v1|seller|a|99999999999999999999|S1", // id overflows
		"v1|seller|a|1|S1|7",                  // a seller cursor has no rank
		"v1|balance|a|1|12|0",                 // ranks start at 1
		"v1|balance|a|1|12|-3",                // negative rank
		"v1|balance|a|1|12|007",               // not as the table writes it
		"v1|balance|a|1|12|2147483648",        // beyond any stored rank
		"v1|balance|a|1|12|x",                 // not a rank
		"v1|balance|a|1|12|5|6",               // a field too many
	} {
		sort := strings.Split(body, "|")[1]
		_, err := Filter{Sort: sort, After: forge(body)}.cursor()
		require.Error(t, err, body)
		require.Equal(t, "cursor", fielderr.All(err)[0].Path, body)
	}
}

func TestLikePrefixEscapesWildcards(t *testing.T) {
	t.Parallel()
	require.Equal(t, `100\%%`, likePrefix("100%"))
	require.Equal(t, `a\_b%`, likePrefix("a_b"))
	require.Equal(t, `back\\slash%`, likePrefix(`back\slash`))
	require.Equal(t, "%", likePrefix(""))
}
