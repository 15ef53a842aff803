package tax

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/payrun/payrun/internal/country"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestDefaultTreatyTableCarriesSpecRates(t *testing.T) {
	table := DefaultTreatyTable()
	paid := date(2026, time.November, 16)
	for country, want := range map[string]string{
		"GB": "0", "DE": "0", "FR": "0", "JP": "0", "IE": "0", "NL": "0", "CA": "0",
		"AU": "0.05", "CN": "0.10", "IN": "0.15",
	} {
		row, result := table.Lookup(country, IncomeCodeOtherRoyalties, paid)
		require.Equal(t, TreatyInForce, result, country)
		require.True(t, dec(want).Equal(row.Rate), "%s: %s", country, row.Rate)
		require.Equal(t, country, row.Country)
		require.NotEmpty(t, row.Source)
	}
	for _, country := range []string{"BR", "SG"} {
		row, result := table.Lookup(country, "12", paid)
		require.Equal(t, NoTreatyCountry, result, country)
		require.Equal(t, TreatyRow{}, row)
	}

	row, result := table.Lookup("HU", "12", date(2023, time.December, 31))
	require.Equal(t, TreatyInForce, result)
	require.True(t, row.Rate.IsZero())
	_, result = table.Lookup("HU", "12", date(2024, time.January, 1))
	require.Equal(t, TreatyNotInForce, result)

	// Only the UTC date of the payment instant counts; country case does not.
	_, result = table.Lookup("hu", "12", time.Date(2023, time.December, 31, 23, 59, 59, 0, time.UTC))
	require.Equal(t, TreatyInForce, result)
	// A country with rows, but not for this income code.
	_, result = table.Lookup("GB", "10", paid)
	require.Equal(t, NoTreatyCountry, result)

	sum := sha256.Sum256(defaultTreatyCSV)
	require.Equal(t, hex.EncodeToString(sum[:]), table.Version())
	require.Same(t, table, DefaultTreatyTable())

	for _, row := range table.Rows() {
		require.True(t, strings.Contains(row.Source, "IRS Tax Treaty Table 1"), "line %d", row.Line)
		require.False(t, row.Rate.IsNegative())
		require.False(t, row.Rate.GreaterThan(StatutoryRate))
	}
}

func TestTreatyRowDatesAreInclusive(t *testing.T) {
	table, err := ParseTreatyTable(strings.NewReader(
		"country,income_code,rate,effective_from,effective_to,source\n" +
			"HU,12,0,2020-01-01,2023-12-31,test\n" +
			"HU,12,0.05,2024-01-01,2024-01-01,test\n" +
			"PL,12,0.10,2025-03-01,,test\n"))
	require.NoError(t, err)
	for _, tc := range []struct {
		country string
		on      time.Time
		result  LookupResult
		rate    string
	}{
		{"HU", date(2019, time.December, 31), TreatyNotInForce, ""},
		{"HU", date(2020, time.January, 1), TreatyInForce, "0"},
		{"HU", date(2023, time.December, 31), TreatyInForce, "0"},
		{"HU", date(2024, time.January, 1), TreatyInForce, "0.05"},
		{"HU", date(2024, time.January, 2), TreatyNotInForce, ""},
		{"PL", date(2025, time.February, 28), TreatyNotInForce, ""},
		{"PL", date(2025, time.March, 1), TreatyInForce, "0.10"},
		{"PL", date(2999, time.March, 1), TreatyInForce, "0.10"},
		{"BR", date(2025, time.March, 1), NoTreatyCountry, ""},
	} {
		row, result := table.Lookup(tc.country, "12", tc.on)
		require.Equal(t, tc.result, result, "%s %s", tc.country, tc.on)
		if tc.rate != "" {
			require.True(t, dec(tc.rate).Equal(row.Rate), "%s %s", tc.country, tc.on)
		}
	}
}

const header = "country,income_code,rate,effective_from,effective_to,source\n"

func TestParseTreatyTableErrorsNameLineAndColumn(t *testing.T) {
	for _, tc := range []struct {
		name string
		csv  string
		want []string
	}{
		{"lower-case country", header + "gb,12,0,2020-01-01,,s\n",
			[]string{`line 2, column country: "gb" is not an upper-case ISO 3166-1 alpha-2 country code`}},
		{"unknown country", header + "XX,12,0,2020-01-01,,s\n", []string{"line 2, column country"}},
		{"US", header + "US,12,0,2020-01-01,,s\n", []string{"line 2, column country: US has no tax treaty with itself"}},
		{"income code", header + "GB,1,0,2020-01-01,,s\n", []string{"line 2, column income_code"}},
		{"rate above 30%", header + "GB,12,0.31,2020-01-01,,s\n", []string{"line 2, column rate: 0.31 is outside [0, 0.30]"}},
		{"negative rate", header + "GB,12,-0.01,2020-01-01,,s\n", []string{"line 2, column rate"}},
		{"rate with exponent", header + "GB,12,1e-1,2020-01-01,,s\n", []string{"line 2, column rate"}},
		{"percent rate", header + "GB,12,5%,2020-01-01,,s\n", []string{"line 2, column rate"}},
		{"bad from", header + "GB,12,0,2020-13-01,,s\n", []string{"line 2, column effective_from"}},
		{"missing from", header + "GB,12,0,,,s\n", []string{"line 2, column effective_from"}},
		{"bad to", header + "GB,12,0,2020-01-01,2020/12/31,s\n", []string{"line 2, column effective_to"}},
		{"from after to", header + "GB,12,0,2021-01-01,2020-12-31,s\n",
			[]string{"line 2, column effective_to: 2020-12-31 is before effective_from 2021-01-01"}},
		{"no source", header + "GB,12,0,2020-01-01,, \n", []string{"line 2, column source: required"}},
		{"overlap", header + "GB,12,0,2020-01-01,2022-12-31,s\nDE,12,0,2020-01-01,,s\nGB,12,0.05,2022-12-31,,s\n",
			[]string{"line 4, column effective_from: GB 12 from 2022-12-31 to open-ended overlaps line 2 (GB 2020-01-01 to 2022-12-31)"}},
		{"overlap of open-ended rows", header + "GB,12,0,2020-01-01,,s\nGB,12,0,2030-01-01,,s\n",
			[]string{"line 3, column effective_from", "overlaps line 2"}},
		{"field count", header + "GB,12,0,2020-01-01,s\n", []string{"line 2: 5 fields, want 6"}},
		{"header", "country,code,rate,effective_from,effective_to,source\nGB,12,0,2020-01-01,,s\n",
			[]string{"line 1: header is"}},
		{"empty", "", []string{"line 1: empty file"}},
		{"no rows", header + "# nothing yet\n", []string{"line 1: no rows"}},
		{"quote syntax", header + "GB,12,0,2020-01-01,,\"unterminated\n", []string{"line 2, column character"}},
		{"comments count as lines", "# table\n" + header + "# note\n\nGB,12,0.5,2020-01-01,,s\n",
			[]string{"line 5, column rate"}},
		{"every problem", header + "XX,12,0,2020-01-01,,s\nGB,12,0.4,2020-01-01,,s\nDE,12,0,bad,,\n", []string{
			"line 2, column country", "line 3, column rate",
			"line 4, column effective_from", "line 4, column source",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table, err := ParseTreatyTable(strings.NewReader(tc.csv))
			require.Nil(t, table)
			require.Error(t, err)
			var tableErr *TreatyTableError
			require.ErrorAs(t, err, &tableErr)
			for _, want := range tc.want {
				require.ErrorContains(t, err, want)
			}
			var rowErr *RowError
			require.True(t, errors.As(err, &rowErr), "errors.As reaches the row errors")
		})
	}
}

func TestParseTreatyTableLimits(t *testing.T) {
	big := header + strings.Repeat("# padding padding padding padding padding padding padding\n", MaxTreatyTableBytes/50)
	_, err := ParseTreatyTable(strings.NewReader(big))
	require.ErrorContains(t, err, "larger than")

	var many strings.Builder
	many.WriteString(header)
	for i := 0; i < 2*MaxTreatyErrors; i++ {
		many.WriteString("XX,12,0,2020-01-01,,s\n")
	}
	_, err = ParseTreatyTable(strings.NewReader(many.String()))
	var tableErr *TreatyTableError
	require.ErrorAs(t, err, &tableErr)
	require.Len(t, tableErr.Rows, MaxTreatyErrors)
	require.True(t, tableErr.Truncated)
	require.ErrorContains(t, err, "more problems left out")
}

func TestParseTreatyTableAcceptsBOMAndQuotes(t *testing.T) {
	table, err := ParseTreatyTable(strings.NewReader("\ufeff" + header + `GB,12,0,2020-01-01,,"IRS Table 1, code 12"` + "\n"))
	require.NoError(t, err)
	require.Equal(t, "IRS Table 1, code 12", table.Rows()[0].Source)
	require.Equal(t, 2, table.Rows()[0].Line)
}

// treatyColumns pairs each column with a value that is always wrong for it.
var treatyColumns = []struct{ name, bad string }{
	{"country", "ZZ"}, {"income_code", "123"}, {"rate", "0.301"},
	{"effective_from", "2020-02-30"}, {"effective_to", "someday"}, {"source", ""},
}

// TestParseTreatyTableNamesLineAndColumnProperty: corrupt one cell of a
// valid table; the error names exactly that line and column.
func TestParseTreatyTableNamesLineAndColumnProperty(t *testing.T) {
	codes := country.Codes()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(t, "rows")
		comments := rapid.IntRange(0, 3).Draw(t, "leading comments")
		var lines []string
		lines = append(lines, strings.TrimSuffix(header, "\n"))
		for i := 0; i < comments; i++ {
			lines = append(lines, "# comment")
		}
		first := len(lines) + 1
		used := map[string]bool{}
		for i := 0; i < n; i++ {
			country := rapid.SampledFrom(codes).Filter(func(c string) bool { return c != "US" && !used[c] }).Draw(t, "country")
			used[country] = true
			rate := fmt.Sprintf("0.%02d", rapid.IntRange(0, 30).Draw(t, "rate"))
			lines = append(lines, fmt.Sprintf("%s,12,%s,2020-01-01,,IRS Tax Treaty Table 1", country, rate))
		}
		valid := strings.Join(lines, "\n") + "\n"
		_, err := ParseTreatyTable(strings.NewReader(valid))
		require.NoError(t, err)

		row := rapid.IntRange(0, n-1).Draw(t, "bad row")
		column := rapid.IntRange(0, len(treatyColumns)-1).Draw(t, "bad column")
		cells := strings.Split(lines[first-1+row], ",")
		cells[column] = treatyColumns[column].bad
		lines[first-1+row] = strings.Join(cells, ",")
		_, err = ParseTreatyTable(strings.NewReader(strings.Join(lines, "\n") + "\n"))
		var tableErr *TreatyTableError
		require.ErrorAs(t, err, &tableErr)
		require.Len(t, tableErr.Rows, 1, "%v", err)
		require.Equal(t, first+row, tableErr.Rows[0].Line)
		require.Equal(t, treatyColumns[column].name, tableErr.Rows[0].Column)
	})
}

func FuzzParseTreatyTable(f *testing.F) {
	f.Add(defaultTreatyCSV)
	f.Add([]byte(header + "GB,12,0,2020-01-01,,s\n"))
	f.Add([]byte(header + "GB,12,0,2020-01-01,2019-01-01,s\nGB,12,0,2020-01-01,,s\n"))
	f.Add([]byte("\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		table, err := ParseTreatyTable(bytes.NewReader(data))
		if err != nil {
			require.Nil(t, table)
			return
		}
		for _, row := range table.Rows() {
			require.False(t, row.Rate.IsNegative())
			require.False(t, row.Rate.GreaterThan(StatutoryRate))
			require.True(t, row.EffectiveTo.IsZero() || !row.EffectiveTo.Before(row.EffectiveFrom))
			require.True(t, ValidCountry(row.Country))
		}
	})
}
