package chart

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// Tolerance of a comparison of two lengths the SVG carries: each is rounded
// to 0.01, so each is within 0.005 of its exact value.
const rounding = 0.011

// amountGenerator draws non-negative amounts from zero to far beyond any
// float64 (10^55): geometry must not overflow, texts must stay exact.
func amountGenerator() *rapid.Generator[decimal.Decimal] {
	return rapid.Custom(func(t *rapid.T) decimal.Decimal {
		coefficient := rapid.OneOf(rapid.Just(int64(0)), rapid.Int64Range(0, 1_000), rapid.Int64Range(0, 1_000_000_000_000_000)).Draw(t, "coefficient")
		exponent := rapid.OneOf(rapid.Int32Range(-6, 2), rapid.Int32Range(-8, 40)).Draw(t, "exponent")
		return decimal.New(coefficient, exponent)
	})
}

// textGenerator draws data text: plain words, any Unicode (control
// characters included), markup and invalid UTF-8.
func textGenerator() *rapid.Generator[string] {
	return rapid.OneOf(
		rapid.StringMatching(`[A-Za-z ]{0,60}`),
		rapid.String(),
		rapid.SampledFrom([]string{`<script>"&`, "a\x00b\x1bc\u2028", "\xff\xfe", "株式会社サンプル", "", "   "}),
		rapid.Map(rapid.SliceOfN(rapid.Byte(), 0, 40), func(b []byte) string { return string(b) }),
	)
}

var idGenerator = rapid.StringMatching(`[A-Za-z][A-Za-z0-9_-]{0,20}`)

var classGenerator = rapid.SampledFrom([]string{"", "paid", "withheld", "held", "carried", "country", "held reason-tax"})

func TestBarsProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		id := idGenerator.Draw(t, "id")
		bars := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) Bar {
			return Bar{
				Label: textGenerator().Draw(t, "label"),
				Value: amountGenerator().Draw(t, "value"),
				Text:  textGenerator().Draw(t, "text"),
				Class: classGenerator.Draw(t, "class"),
			}
		}), 0, MaxBars+3).Draw(t, "bars")

		svg := Bars(id, textGenerator().Draw(t, "title")+"T", textGenerator().Draw(t, "desc"), bars)
		root := parseSVG(t, svg)
		requireAccessible(t, svg, root, id)
		desc := root.children[1].text

		drawn := bars[:min(len(bars), MaxBars)]
		rows := root.all(hasClass("row"))
		require.Len(t, rows, len(drawn))
		if len(drawn) == 0 {
			return
		}
		largest := decimal.Zero
		for _, b := range drawn {
			largest = decimal.Max(largest, b.Value)
		}
		rects := make([]*node, len(rows))
		for i, row := range rows {
			rects[i] = row.all(hasClass("bar"))[0]
		}
		x0 := rects[0].number(t, "x")
		var scale float64 // the drawn length of a bar of the largest value
		for i, b := range drawn {
			if largest.IsPositive() && b.Value.Equal(largest) {
				scale = rects[i].number(t, "width")
			}
		}
		for i, b := range drawn {
			row, rect := rows[i], rects[i]
			width := rect.number(t, "width")
			require.Equal(t, x0, rect.number(t, "x"), "every bar starts at the axis")
			require.GreaterOrEqual(t, width, 0.0)
			require.LessOrEqual(t, x0+width, Width-edge+rounding, "bar %d leaves the chart", i)
			ratio := 0.0
			if largest.IsPositive() && b.Value.IsPositive() {
				ratio = b.Value.Div(largest).InexactFloat64()
			}
			require.InDelta(t, ratio*scale, width, rounding, "bar %d is not proportional: %s of %s", i, b.Value, largest)

			label := row.all(hasClass("label"))[0]
			full := clean(b.Label)
			require.True(t, strings.HasPrefix(full, strings.TrimSuffix(label.text, "…")), "label %q is not a cut of %q", label.text, full)
			if label.text != "" {
				require.LessOrEqual(t, edge+textWidth(label.text, fontSize), x0-labelGap+rounding, "label %q runs into the bars", label.text)
			}

			text := clean(b.Text)
			if text == "" {
				text = Amount(b.Value)
			}
			require.Equal(t, full+": "+text, row.child("title").text)
			require.Contains(t, desc, full+": "+text+".")
			value := row.all(hasClass("value"))[0]
			require.True(t, strings.HasPrefix(text, strings.TrimSuffix(value.text, "…")))
			x, w := value.number(t, "x"), textWidth(value.text, fontSize)
			if value.attrs["class"] == "value inside" {
				require.GreaterOrEqual(t, x-w, x0+insidePad-rounding, "text %q spills out of its bar", value.text)
				require.LessOrEqual(t, x, x0+width+rounding)
			} else {
				require.GreaterOrEqual(t, x, x0+width-rounding)
				require.LessOrEqual(t, x+w, Width-edge+rounding, "text %q leaves the chart", value.text)
			}
		}
	})
}

func TestTrendProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		id := idGenerator.Draw(t, "id")
		months := rapid.SliceOfN(rapid.OneOf(rapid.StringMatching(`20[0-9]{2}-(0[1-9]|1[0-2])`), textGenerator()), 0, MaxMonths+3).Draw(t, "months")
		series := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) Series {
			return Series{
				Name:   textGenerator().Draw(t, "name"),
				Class:  classGenerator.Draw(t, "class"),
				Values: rapid.SliceOfN(amountGenerator(), len(months), len(months)).Draw(t, "values"),
			}
		}), 0, MaxSeries).Draw(t, "series")

		svg := Trend(id, "Trend", textGenerator().Draw(t, "desc"), series, months)
		root := parseSVG(t, svg)
		requireAccessible(t, svg, root, id)

		first := max(len(months)-MaxMonths, 0)
		months = months[first:]
		columns := root.all(hasClass("month"))
		require.Len(t, columns, len(months))
		if len(months) == 0 {
			require.Equal(t, emptyTrendText, root.all(hasClass("empty"))[0].text)
			return
		}
		largest := decimal.Zero
		for m := range months {
			total := decimal.Zero
			for _, s := range series {
				total = total.Add(s.Values[first+m])
			}
			largest = decimal.Max(largest, total)
		}
		ticks := root.all(hasClass("tick"))
		top := decimal.Zero
		if largest.IsPositive() {
			require.True(t, len(ticks) == 4 || len(ticks) == 5, "%d ticks", len(ticks))
			nice := niceTicks(largest)
			top = nice[len(nice)-1]
			require.Equal(t, compact(top), ticks[len(ticks)-2].text, "the highest tick is the plot's top")
		}
		for m, column := range columns {
			segments := column.all(hasClass("bar"))
			require.Len(t, segments, len(series))
			for s, segment := range segments {
				x, y := segment.number(t, "x"), segment.number(t, "y")
				width, height := segment.number(t, "width"), segment.number(t, "height")
				require.GreaterOrEqual(t, x, float64(plotLeft))
				require.LessOrEqual(t, x+width, plotRight+rounding)
				require.GreaterOrEqual(t, height, 0.0)
				require.GreaterOrEqual(t, y, plotTop-rounding)
				require.LessOrEqual(t, y+height, plotBottom+rounding)
				want := 0.0
				if top.IsPositive() {
					want = series[s].Values[first+m].Div(top).InexactFloat64() * (plotBottom - plotTop)
				}
				require.InDelta(t, want, height, rounding, "month %d series %d is not proportional", m, s)
			}
			require.Contains(t, column.child("title").text, clean(months[m])+":")
		}
	})
}

// TestNiceTicksProperties: 4 or 5 ticks from 0, a round step, the last at or
// above the largest value and the one before it below.
func TestNiceTicksProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		largest := amountGenerator().Filter(func(v decimal.Decimal) bool { return v.IsPositive() }).Draw(t, "largest")
		ticks := niceTicks(largest)
		require.True(t, len(ticks) == 4 || len(ticks) == 5, "%d ticks for %s", len(ticks), largest)
		require.True(t, ticks[0].IsZero())
		require.True(t, ticks[len(ticks)-1].GreaterThanOrEqual(largest))
		require.True(t, ticks[len(ticks)-2].LessThan(largest))
		step := ticks[1]
		for i, tick := range ticks {
			require.True(t, tick.Equal(step.Mul(decimal.NewFromInt(int64(i)))))
		}
		mantissa := step.Shift(-int32(step.NumDigits()) - step.Exponent() + 1) // in [1, 10)
		require.Contains(t, []string{"1", "2", "2.5", "5"}, mantissa.String(), "step %s", step)
	})
}

// TestAmountProperties: Amount is the decimal's exact value, grouped by
// threes, with at least two decimals.
func TestAmountProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		amount := decimal.New(rapid.Int64().Draw(t, "coefficient"), rapid.Int32Range(-10, 20).Draw(t, "exponent"))
		text := Amount(amount)
		require.Regexp(t, `^-?[0-9]{1,3}(,[0-9]{3})*\.[0-9]{2,}$`, text)
		back, err := decimal.NewFromString(strings.ReplaceAll(text, ",", ""))
		require.NoError(t, err)
		require.True(t, back.Equal(amount), "%s came back as %s", amount, back)
	})
}
