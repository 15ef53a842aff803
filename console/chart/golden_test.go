package chart

import (
	"flag"
	"html/template"
	"os"
	"path/filepath"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.svg from the current output")

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// heldBars is a cycle's held and carried publishers by reason, with counts
// and USD, as the cycle review page shows them.
func heldBars() []Bar {
	rows := []struct {
		label, class string
		count        int64
		usd          string
	}{
		{"Tax form missing", "held", 412, "1234567.89"},
		{"Payout account not verified", "held", 187, "482113.40"},
		{"Below the payout threshold", "carried", 2306, "38207.116502"},
		{"Payment hold", "held", 23, "96400.00"},
		{"No payout account", "held", 9, "5120.75"},
		{"Balance not positive", "carried", 61, "0"},
	}
	bars := make([]Bar, len(rows))
	for i, r := range rows {
		bars[i] = Bar{
			Label: r.label,
			Value: d(r.usd),
			Text:  Count(r.count) + " publishers · " + Amount(d(r.usd)) + " USD",
			Class: r.class,
		}
	}
	return bars
}

// trendSeries is twelve closed cycles of a growing marketplace.
func trendSeries() ([]Series, []string) {
	months := []string{"2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
		"2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"}
	paid := []string{"812340.12", "845120.00", "790433.50", "901220.75", "955010.10", "987654.32",
		"1012345.67", "1054321.00", "998877.66", "1103456.78", "1150200.00", "1198765.43"}
	withheld := []string{"41200.00", "43010.55", "39870.10", "45600.00", "47310.20", "49001.99",
		"50210.00", "52340.45", "49900.00", "55120.30", "57400.00", "59870.12"}
	held := []string{"120400.00", "98000.00", "143210.77", "110000.00", "87650.40", "95400.00",
		"101230.00", "99870.55", "130045.00", "88760.00", "92100.35", "96400.00"}
	carried := []string{"35200.10", "36120.00", "34870.99", "37010.00", "38207.12", "36540.00",
		"37890.45", "38100.00", "39020.00", "38800.10", "39540.00", "38207.12"}
	return []Series{
		{Name: "Paid", Class: "paid", Values: decimals(paid)},
		{Name: "Withheld", Class: "withheld", Values: decimals(withheld)},
		{Name: "Held", Class: "held", Values: decimals(held)},
		{Name: "Carried", Class: "carried", Values: decimals(carried)},
	}, months
}

func decimals(texts []string) []decimal.Decimal {
	out := make([]decimal.Decimal, len(texts))
	for i, s := range texts {
		out[i] = d(s)
	}
	return out
}

func goldenCharts() map[string]template.HTML {
	series, months := trendSeries()
	short := make([]Series, len(series))
	for i, s := range series {
		s.Values = []decimal.Decimal{d("1200.50"), d("0"), d("310.25")}
		short[i] = s
	}
	zero := make([]Series, len(series))
	for i, s := range series {
		s.Values = []decimal.Decimal{decimal.Zero, decimal.Zero}
		zero[i] = s
	}
	return map[string]template.HTML{
		"bars-held": Bars("held-reasons", "Held and carried publishers by reason",
			"Publishers whose balance the 2026-11 close held or carried, by reason, with their USD balance.", heldBars()),
		"bars-methods": Bars("by-method", "Paid by method", "USD paid in 2026-11 by payment method.", []Bar{
			{Label: "ACH", Value: d("6120345.10"), Text: "18,204 payments · 6,120,345.10 USD"},
			{Label: "SEPA (pain.001)", Value: d("2050111.95"), Text: "7,310 payments · 2,050,111.95 USD"},
			{Label: "PayPal", Value: d("412003.40"), Text: "9,877 payments · 412,003.40 USD"},
		}),
		"bars-long": Bars("long", "Long and hostile labels", "Labels cut with an ellipsis, a zero and a negative value.", []Bar{
			{Label: "Contoso International Holdings GmbH & Co. KG (Deutschland)", Value: d("98765.43"), Class: "paid"},
			{Label: `<script>"&`, Value: d("12.5"), Text: `<b>5 publishers</b> · 12.50 USD`},
			{Label: "株式会社サンプル・ソフトウェア開発センター東京", Value: d("4321.00"), Class: "carried"},
			{Label: "Zero", Value: decimal.Zero, Text: "0 publishers · 0.00 USD"},
			{Label: "Negative (clamped)", Value: d("-50"), Text: "1 publisher · -50.00 USD", Class: "withheld"},
		}),
		"bars-zero": Bars("zero", "All zero", "Every value is zero.", []Bar{
			{Label: "Held", Value: decimal.Zero, Class: "held"},
			{Label: "Carried", Value: decimal.Zero, Class: "carried"},
		}),
		"bars-empty":  Bars("none", "Held publishers by reason", "No publisher was held.", nil),
		"trend-12":    Trend("trend", "The last 12 cycles", "Paid, withheld, held and carried USD per closed cycle.", series, months),
		"trend-3":     Trend("trend-short", "The last 3 cycles", "A young marketplace.", short, []string{"2026-09", "2026-10", "2026-11"}),
		"trend-zero":  Trend("trend-zero", "The last 2 cycles", "Nothing paid yet.", zero, []string{"2026-12", "2027-01"}),
		"trend-empty": Trend("trend-empty", "The last 12 cycles", "No cycle has closed.", series[:0], nil),
	}
}

// TestGolden compares every chart with testdata/<name>.svg (rewrite them
// with go test ./console/chart -update, then look at them).
func TestGolden(t *testing.T) {
	for name, svg := range goldenCharts() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".svg")
			got := []byte(xmlPrologue + string(svg))
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./console/chart -update to write it")
			require.Equal(t, string(want), string(got), "%s differs: run with -update and look at the change", path)
			parseSVG(t, svg)
		})
	}
}

// xmlPrologue makes the golden files standalone SVG documents that image
// viewers open; the page embeds the charts without it.
const xmlPrologue = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
