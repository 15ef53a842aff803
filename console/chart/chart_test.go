package chart

import (
	"errors"
	"fmt"
	"html/template"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
)

func TestAmountKeepsTheExactDigits(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0", "0.00"},
		{"5", "5.00"},
		{"12.1", "12.10"},
		{"12.100", "12.10"},
		{"999.99", "999.99"},
		{"1000", "1,000.00"},
		{"1234567.89", "1,234,567.89"},
		{"38207.116502", "38,207.116502"},
		{"0.000001", "0.000001"},
		{"12.345000", "12.345"},
		{"-50", "-50.00"},
		{"-1234567.5", "-1,234,567.50"},
		{"100000000000000000000.01", "100,000,000,000,000,000,000.01"},
	} {
		require.Equal(t, tc.want, Amount(d(tc.in)), tc.in)
	}
	// A positive exponent (5 × 10³) is written out in full.
	require.Equal(t, "5,000.00", Amount(decimal.New(5, 3)))
}

func TestCount(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 2306: "2,306",
		1234567: "1,234,567", -4321: "-4,321"} {
		require.Equal(t, want, Count(in))
	}
}

func TestCompactTicks(t *testing.T) {
	for in, want := range map[string]string{"0": "0", "350": "350", "2500": "2.5k", "350000": "350k",
		"1000000": "1M", "1200000": "1.2M", "1250000": "1.25M", "3000000000": "3B", "1500000000000": "1.5T",
		"0.25": "0.25", "0.000005": "0.000005"} {
		require.Equal(t, want, compact(d(in)), in)
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		largest string
		want    []string
	}{
		{"1398765.43", []string{"0", "500000", "1000000", "1500000"}},
		{"4801", []string{"0", "2000", "4000", "6000"}},
		{"1000000", []string{"0", "250000", "500000", "750000", "1000000"}},
		{"1", []string{"0", "0.25", "0.5", "0.75", "1"}},
		{"0.03", []string{"0", "0.01", "0.02", "0.03"}},
		{"99", []string{"0", "25", "50", "75", "100"}},
		{"101", []string{"0", "50", "100", "150"}},
		// Div's 16 decimals once rounded the remainder away: 2 steps, not 3.
		{"100000000000000001", []string{"0", "50000000000000000", "100000000000000000", "150000000000000000"}},
	} {
		ticks := niceTicks(d(tc.largest))
		got := make([]string, len(ticks))
		for i, tick := range ticks {
			got[i] = tick.String()
		}
		require.Equal(t, tc.want, got, tc.largest)
	}
}

func TestCleanMakesTextSafeForXML(t *testing.T) {
	require.Equal(t, "a b c", clean("a\x00b\x1bc"))
	require.Equal(t, "line one  line two", clean("line one\u2028 line two"))
	require.Equal(t, "bad \uFFFD byte", clean("bad \xff byte"))
	require.Equal(t, "trim", clean("\t trim \n"))
	_, err := parse(`<t>` + escape("\x01\x02\x7f\u0085<&>\"'") + `</t>`)
	require.NoError(t, err)
}

func TestFitCutsWithAnEllipsis(t *testing.T) {
	shown, ok := fit("Tax form missing", fontSize, 200)
	require.True(t, ok)
	require.Equal(t, "Tax form missing", shown)

	long := strings.Repeat("Contoso International ", 5)
	shown, ok = fit(long, fontSize, 200)
	require.False(t, ok)
	require.True(t, strings.HasSuffix(shown, "…"), shown)
	require.True(t, strings.HasPrefix(long, strings.TrimSuffix(shown, "…")))
	require.LessOrEqual(t, textWidth(shown, fontSize), 200.0)

	// Wide characters count a full em each.
	shown, _ = fit(strings.Repeat("株", 40), fontSize, 120)
	require.Equal(t, strings.Repeat("株", 9)+"…", shown)
}

// TestLabelsAreEscaped: labels, texts, classes, titles and descriptions are
// data and can hold markup; it comes out as text.
func TestLabelsAreEscaped(t *testing.T) {
	hostile := `<script>"&`
	svg := Bars("x", hostile, hostile, []Bar{{Label: hostile, Value: d("1"), Text: hostile, Class: `held" onload="alert(1)`}})
	root := parseSVG(t, svg)
	requireAccessible(t, svg, root, "x")
	require.NotContains(t, string(svg), "<script>")
	require.NotContains(t, string(svg), `" onload`)
	require.Contains(t, string(svg), `&lt;script&gt;&#34;&amp;`)
	label := root.all(hasClass("label"))[0]
	require.Equal(t, hostile, label.text)
	require.Equal(t, hostile, root.all(hasClass("value"))[0].text)
	bar := root.all(hasClass("bar"))[0]
	require.Equal(t, `bar held" onload="alert(1)`, bar.attrs["class"])
	_, injected := bar.attrs["onload"]
	require.False(t, injected)

	trend := Trend("y", hostile, hostile, []Series{{Name: hostile, Class: hostile, Values: []decimal.Decimal{d("1")}}}, []string{hostile})
	root = parseSVG(t, trend)
	requireAccessible(t, trend, root, "y")
	require.NotContains(t, string(trend), "<script>")
	require.Equal(t, hostile, root.all(hasClass("month-name"))[0].text)
	require.Equal(t, hostile, root.all(hasClass("legend-label"))[0].text)
}

func TestBarsWriteEveryValueAsText(t *testing.T) {
	bars := heldBars()
	svg := Bars("held", "Held and carried publishers by reason", "By reason.", bars)
	root := parseSVG(t, svg)
	requireAccessible(t, svg, root, "held")
	desc := root.children[1].text
	rows := root.all(hasClass("row"))
	require.Len(t, rows, len(bars))
	for i, b := range bars {
		row := rows[i]
		require.Equal(t, b.Label, row.all(hasClass("label"))[0].text)
		require.Equal(t, b.Text, row.all(hasClass("value"))[0].text)
		require.Equal(t, b.Label+": "+b.Text, row.child("title").text)
		require.Contains(t, desc, b.Label+": "+b.Text+".")
		bar := row.all(hasClass("bar"))[0]
		require.Equal(t, "bar "+b.Class, bar.attrs["class"])
		require.Equal(t, fills[b.Class], bar.attrs["fill"])
	}
	require.True(t, strings.HasPrefix(desc, "By reason. Tax form missing: 412 publishers · 1,234,567.89 USD."), desc)
	// The largest bar reaches the right edge and holds its text inside.
	first := rows[0].all(hasClass("bar"))[0]
	require.InDelta(t, Width-edge, first.number(t, "x")+first.number(t, "width"), 0.01)
	require.Equal(t, "value inside", rows[0].all(hasClass("value"))[0].attrs["class"])
	// A value without Text is written with Amount.
	root = parseSVG(t, Bars("a", "A", "", []Bar{{Label: "DE", Value: d("1234.5")}}))
	require.Equal(t, "1,234.50", root.all(hasClass("value"))[0].text)
}

func TestBarsZeroNegativeAndEmpty(t *testing.T) {
	svg := Bars("z", "Zero", "", []Bar{{Label: "a", Value: decimal.Zero}, {Label: "b", Value: decimal.Zero}})
	root := parseSVG(t, svg)
	requireAccessible(t, svg, root, "z")
	for _, bar := range root.all(hasClass("bar")) {
		require.Equal(t, "0", bar.attrs["width"])
	}

	svg = Bars("n", "Negative", "", []Bar{{Label: "a", Value: d("-10"), Text: "-10.00 USD"}, {Label: "b", Value: d("5")}})
	root = parseSVG(t, svg)
	bars := root.all(hasClass("bar"))
	require.Equal(t, "0", bars[0].attrs["width"], "a negative value is clamped to an empty bar")
	require.Equal(t, "-10.00 USD", root.all(hasClass("value"))[0].text, "its text says what the caller has")
	require.Greater(t, bars[1].number(t, "width"), 100.0)

	svg = Bars("e", "Nothing", "No publisher was held.", nil)
	root = parseSVG(t, svg)
	requireAccessible(t, svg, root, "e")
	require.Equal(t, "No values to show", root.all(hasClass("empty"))[0].text)
	require.Equal(t, "No publisher was held. No values to show.", root.children[1].text)
}

func TestBarsDrawAtMostMaxBars(t *testing.T) {
	bars := make([]Bar, MaxBars+7)
	for i := range bars {
		bars[i] = Bar{Label: fmt.Sprintf("Country %d", i), Value: decimal.NewFromInt(int64(i + 1))}
	}
	root := parseSVG(t, Bars("many", "Many", "", bars))
	require.Len(t, root.all(hasClass("bar")), MaxBars)
	require.Equal(t, "7 more rows not shown", root.all(hasClass("more"))[0].text)
	require.Contains(t, root.children[1].text, "7 more rows not shown.")
}

func TestTrendDrawsStackedMonths(t *testing.T) {
	series, months := trendSeries()
	svg := Trend("trend", "The last 12 cycles", "Per cycle.", series, months)
	root := parseSVG(t, svg)
	requireAccessible(t, svg, root, "trend")

	columns := root.all(hasClass("month"))
	require.Len(t, columns, 12)
	desc := root.children[1].text
	for m, column := range columns {
		want := months[m] + ": Paid " + Amount(series[0].Values[m]) + " USD, Withheld " + Amount(series[1].Values[m]) +
			" USD, Held " + Amount(series[2].Values[m]) + " USD, Carried " + Amount(series[3].Values[m]) + " USD."
		require.Equal(t, want, column.child("title").text)
		require.Contains(t, desc, want)
		segments := column.all(hasClass("bar"))
		require.Len(t, segments, 4)
		for s, segment := range segments {
			require.Equal(t, "bar "+series[s].Class, segment.attrs["class"])
			if s > 0 { // stacked: each segment sits on the one before
				require.Equal(t, segments[s-1].attrs["y"], coordinate(segment.number(t, "y")+segment.number(t, "height")))
			}
		}
		require.Equal(t, coordinate(plotBottom), coordinate(segments[0].number(t, "y")+segments[0].number(t, "height")))
	}
	var ticks []string
	for _, tick := range root.all(hasClass("tick")) {
		ticks = append(ticks, tick.text)
	}
	require.Equal(t, []string{"500k", "1M", "1.5M", "0"}, ticks)
	var names []string
	for _, label := range root.all(hasClass("month-name")) {
		names = append(names, label.text)
	}
	require.Equal(t, []string{"Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov"}, names)
	var years []string
	for _, label := range root.all(hasClass("year")) {
		years = append(years, label.text)
	}
	require.Equal(t, []string{"2025", "2026"}, years, "the year under the first month and under January")
	var legend []string
	for _, label := range root.all(hasClass("legend-label")) {
		legend = append(legend, label.text)
	}
	require.Equal(t, []string{"Paid", "Withheld", "Held", "Carried"}, legend)
	swatches := root.all(hasClass("swatch"))
	require.Equal(t, fills["held"], swatches[2].attrs["fill"])
}

func TestTrendKeepsTheLastTwelveMonths(t *testing.T) {
	months := make([]string, 14)
	values := make([]decimal.Decimal, 14)
	for i := range months {
		months[i] = fmt.Sprintf("2025-%02d", i%12+1)
		values[i] = decimal.NewFromInt(int64(100 * (i + 1)))
	}
	root := parseSVG(t, Trend("t", "T", "", []Series{{Name: "Paid", Class: "paid", Values: values}}, months))
	columns := root.all(hasClass("month"))
	require.Len(t, columns, MaxMonths)
	require.Equal(t, "2025-03: Paid 300.00 USD.", columns[0].child("title").text)
	require.Equal(t, "2025-02: Paid 1,400.00 USD.", columns[11].child("title").text)
}

func TestTrendEmptyAndZero(t *testing.T) {
	svg := Trend("none", "Cycles", "No cycle yet.", []Series{{Name: "Paid", Class: "paid"}}, nil)
	root := parseSVG(t, svg)
	requireAccessible(t, svg, root, "none")
	require.Equal(t, "No closed cycles yet", root.all(hasClass("empty"))[0].text)
	require.Equal(t, "No cycle yet. No closed cycles yet.", root.children[1].text)
	require.Empty(t, root.all(hasClass("bar")))

	zero := []decimal.Decimal{decimal.Zero, d("-3")}
	svg = Trend("zero", "Cycles", "", []Series{{Name: "Paid", Class: "paid", Values: zero}}, []string{"2026-01", "2026-02"})
	root = parseSVG(t, svg)
	requireAccessible(t, svg, root, "zero")
	require.Equal(t, "All values are 0", root.all(hasClass("empty"))[0].text)
	for _, bar := range root.all(hasClass("bar")) {
		require.Equal(t, "0", bar.attrs["height"])
	}
	require.Contains(t, root.children[1].text, "2026-02: Paid -3.00 USD.", "a clamped value keeps its text")
}

func TestTrendMonthLabelsThatAreNotMonths(t *testing.T) {
	root := parseSVG(t, Trend("t", "T", "", []Series{{Name: "Paid", Values: []decimal.Decimal{d("1"), d("2")}}},
		[]string{"Jan 26", strings.Repeat("a very long label that is no month at all ", 3)}))
	names := root.all(hasClass("month-name"))
	require.Equal(t, "Jan 26", names[0].text)
	require.True(t, strings.HasSuffix(names[1].text, "…"), names[1].text)
	require.Empty(t, root.all(hasClass("year")))
	require.Equal(t, defaultFill, root.all(hasClass("bar"))[0].attrs["fill"], "no class: the first other colour")
}

// TestCallerMistakesPanicWithFieldErrors: the id, the title and the
// series' shape come from the page's code; a mistake is a *fielderr.List
// naming the field.
func TestCallerMistakesPanicWithFieldErrors(t *testing.T) {
	one := []decimal.Decimal{d("1")}
	for _, tc := range []struct {
		name, want string
		draw       func() template.HTML
	}{
		{"empty id", "chart.Bars: id: is required: the prefix of the chart's ids, unique on the page",
			func() template.HTML { return Bars("", "T", "", nil) }},
		{"id with a space", `chart.Bars: id: "held reasons" must start with a letter and hold only letters, digits, '-' and '_'`,
			func() template.HTML { return Bars("held reasons", "T", "", nil) }},
		{"id with a digit first", `chart.Trend: id: "1x" must start with a letter and hold only letters, digits, '-' and '_'`,
			func() template.HTML { return Trend("1x", "T", "", nil, nil) }},
		{"long id", "chart.Bars: id: is 65 characters, at most 64",
			func() template.HTML { return Bars(strings.Repeat("a", 65), "T", "", nil) }},
		{"no title", "chart.Bars: title: is required: it is the chart's accessible name",
			func() template.HTML { return Bars("a", " \n", "", nil) }},
		{"long desc", "chart.Bars: desc: is 1001 characters, at most 1000",
			func() template.HTML { return Bars("a", "T", strings.Repeat("d", 1001), nil) }},
		{"values per month", "chart.Trend: series[1].values: has 1 values for 2 months: one value per month",
			func() template.HTML {
				return Trend("a", "T", "", []Series{{Values: []decimal.Decimal{d("1"), d("2")}}, {Values: one}}, []string{"2026-01", "2026-02"})
			}},
		{"too many series", "chart.Trend: series: has 7 series, at most 6",
			func() template.HTML { return Trend("a", "T", "", make([]Series, 7), nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var recovered any
			func() {
				defer func() { recovered = recover() }()
				tc.draw()
			}()
			err, ok := recovered.(error)
			require.True(t, ok, "want a panic with an error, got %v", recovered)
			require.Equal(t, tc.want, err.Error())
			var list *fielderr.List
			require.True(t, errors.As(err, &list))
		})
	}
}

// TestTemplateTurnsAPanicIntoAnError: a page calling a chart from its
// template gets the caller mistake as the template's error.
func TestTemplateTurnsAPanicIntoAnError(t *testing.T) {
	page := template.Must(template.New("page").Funcs(template.FuncMap{"bars": Bars}).
		Parse(`<figure>{{bars .ID "Held by reason" "" .Bars}}</figure>`))
	var out strings.Builder
	require.NoError(t, page.Execute(&out, map[string]any{"ID": "held", "Bars": heldBars()}))
	require.True(t, strings.HasPrefix(out.String(), `<figure><svg xmlns="http://www.w3.org/2000/svg"`), "the chart is not escaped again")
	out.Reset()
	err := page.Execute(&out, map[string]any{"ID": "held reasons", "Bars": heldBars()})
	require.ErrorContains(t, err, "chart.Bars: id:")
}

// TestPalette: each default fill carries white or near-black text at 4.5:1
// or better and stands out from a white page at 3:1 or better.
func TestPalette(t *testing.T) {
	all := append([]string{}, otherFills...)
	for _, fill := range fills {
		all = append(all, fill)
	}
	for _, fill := range all {
		require.GreaterOrEqual(t, contrast(fill, inkOn(fill)), 4.5, fill)
		require.GreaterOrEqual(t, contrast(fill, whiteInk), 3.0, fill)
	}
	for _, ink := range []string{labelInk, valueInk, tickInk} {
		require.GreaterOrEqual(t, contrast(ink, whiteInk), 4.5, ink)
	}
}

func TestFixed(t *testing.T) {
	for _, c := range []struct {
		amount string
		places int32
		want   string
	}{
		{"3552.08605", 6, "3,552.086050"},
		{"903.3015", 6, "903.301500"},
		{"0", 6, "0.000000"},
		{"9142161", 0, "9,142,161"},
		{"9142161.000", 0, "9,142,161"},
		{"-1234.5", 2, "-1,234.50"},
		{"1.2345678", 6, "1.2345678"}, // never rounds a digit away
	} {
		if got := Fixed(decimal.RequireFromString(c.amount), c.places); got != c.want {
			t.Errorf("Fixed(%s, %d) = %q, want %q", c.amount, c.places, got, c.want)
		}
	}
}
