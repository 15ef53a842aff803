package chart

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/fielderr"
)

// Series is one stacked part of every month's column: Paid, Withheld, Held,
// Carried.
type Series struct {
	// Name is the legend's text ("Paid").
	Name string
	// Class is added to the segments' and the legend swatch's class
	// ("bar paid"); paid, withheld, held and carried pick the default fill.
	Class string
	// Values are USD amounts, one per month, in the months' order. Negative
	// values are clamped: drawn as nothing (the texts keep the exact value).
	Values []decimal.Decimal
}

// Limits and geometry of Trend, in viewBox units.
const (
	// MaxMonths is the most months a trend draws: the console shows the
	// last 12 cycles. Given more, Trend keeps the last MaxMonths.
	MaxMonths = 12
	// MaxSeries is the most series a trend stacks: the console has four;
	// more would not read as a stack.
	MaxSeries   = 6
	trendHeight = 300
	plotLeft    = 56
	plotRight   = Width - 8
	plotTop     = 14
	plotBottom  = 226
	monthY      = 244 // baseline of the month names
	yearY       = 259 // baseline of the years under them
	legendY     = 288 // baseline of the legend
	swatchSize  = 10
	// maxColumnWidth keeps a few months from drawing slabs.
	maxColumnWidth = 40
	columnShare    = 0.6                 // of a month's slot
	maxLegendName  = 140                 // legend text width cap
	legendSpacing  = swatchSize + 5 + 18 // swatch, gap, space to the next entry
	tickGap        = 8                   // between a tick's text and the plot
	monthFormat    = "2006-01"
	emptyTrendText = "No closed cycles yet"
)

// Trend draws the last months as stacked columns, one per month (oldest
// first, as given), each series a segment from the bottom up in the order of
// series; an axis of 4 or 5 round ticks (0, 250k, 500k, ...), the months
// under the columns (a "2006-01" month as its short name, with the year under
// the first column and under each January; any other text as given, cut to
// fit) and the legend under them. Each column's <title> (a tooltip) and the
// description read by screen readers hold every exact value, formatted by
// Amount, in USD.
//
// id, title and desc are as for Bars, and Trend panics with a
// *fielderr.List the same way, and also when a series has not one value per
// month or there are more than MaxSeries series: those are shapes of the
// page's code, not data. Given more than MaxMonths months, Trend draws the
// last MaxMonths. No months: an empty chart saying "No closed cycles yet".
// All totals zero: the zero line and "All values are 0".
func Trend(id, title, desc string, series []Series, months []string) template.HTML {
	checkCaller("Trend", id, title, desc)
	checkSeries(series, months)
	if n := len(months); n > MaxMonths {
		months = months[n-MaxMonths:]
		trimmed := make([]Series, len(series))
		for i, s := range series {
			s.Values = s.Values[n-MaxMonths:]
			trimmed[i] = s
		}
		series = trimmed
	}

	var w writer
	if len(months) == 0 {
		w.open(id, "chart-trend", trendHeight, title, sentence(desc, []string{emptyTrendText + "."}))
		w.empty("line", "class", "axis", "x1", coordinate(plotLeft), "y1", coordinate(plotBottom),
			"x2", coordinate(plotRight), "y2", coordinate(plotBottom), "stroke", axisStroke, "stroke-width", "1")
		w.element("text", emptyTrendText, "class", "empty", "x", coordinate((plotLeft+plotRight)/2),
			"y", coordinate((plotTop+plotBottom)/2), "text-anchor", "middle", "fill", tickInk)
		return w.html()
	}

	monthTexts := make([]string, len(months))
	for m, month := range months {
		parts := make([]string, len(series))
		for s, one := range series {
			parts[s] = strings.TrimSpace(clean(one.Name) + " " + Amount(one.Values[m]) + " USD")
		}
		monthTexts[m] = clean(month) + ": " + strings.Join(parts, ", ") + "."
	}
	w.open(id, "chart-trend", trendHeight, title, sentence(desc, monthTexts))

	totals := make([]decimal.Decimal, len(months))
	largest := decimal.Zero
	for m := range months {
		for _, s := range series {
			totals[m] = totals[m].Add(nonNegative(s.Values[m]))
		}
		if totals[m].GreaterThan(largest) {
			largest = totals[m]
		}
	}

	top := drawAxis(&w, largest)
	slot := float64(plotRight-plotLeft) / float64(len(months))
	column := min(slot*columnShare, maxColumnWidth)
	for m, month := range months {
		center := plotLeft + slot*(float64(m)+0.5)
		w.start("g", "class", "month")
		w.element("title", monthTexts[m])
		// Segments stack on rounded edges, so they touch exactly.
		sum := decimal.Zero
		lower := roundUnit(plotBottom)
		for s, one := range series {
			sum = sum.Add(nonNegative(one.Values[m]))
			upper := roundUnit(yFor(sum, top))
			w.empty("rect", "class", classes("bar", clean(one.Class)), "x", coordinate(center-column/2), "y", coordinate(upper),
				"width", coordinate(column), "height", coordinate(lower-upper), "fill", fillFor(one.Class, s))
			lower = upper
		}
		drawMonth(&w, m, month, center, slot)
		w.end("g")
	}
	drawLegend(&w, series)
	return w.html()
}

// checkSeries panics when the series do not have one value per month.
func checkSeries(series []Series, months []string) {
	var problems fielderr.List
	problems.Subject = "chart.Trend"
	if len(series) > MaxSeries {
		problems.Addf("series", fielderr.TooLong, "has %d series, at most %d", len(series), MaxSeries)
	}
	for i, s := range series {
		if len(s.Values) != len(months) {
			problems.Addf("series["+strconv.Itoa(i)+"].values", fielderr.Length,
				"has %d values for %d months: one value per month", len(s.Values), len(months))
		}
	}
	if err := problems.Err(); err != nil {
		panic(err)
	}
}

// drawAxis draws the grid lines and tick labels and returns the value at the
// top of the plot (the last tick; zero when everything is zero).
func drawAxis(w *writer, largest decimal.Decimal) decimal.Decimal {
	line := func(class, stroke string, y float64) {
		w.empty("line", "class", class, "x1", coordinate(plotLeft), "y1", coordinate(y),
			"x2", coordinate(plotRight), "y2", coordinate(y), "stroke", stroke, "stroke-width", "1")
	}
	tick := func(label string, y float64) {
		w.element("text", label, "class", "tick", "x", coordinate(plotLeft-tickGap), "y", coordinate(y+0.35*fontSize),
			"text-anchor", "end", "fill", tickInk)
	}
	if !largest.IsPositive() {
		line("axis", axisStroke, plotBottom)
		tick("0", plotBottom)
		w.element("text", "All values are 0", "class", "empty", "x", coordinate((plotLeft+plotRight)/2),
			"y", coordinate((plotTop+plotBottom)/2), "text-anchor", "middle", "fill", tickInk)
		return decimal.Zero
	}
	ticks := niceTicks(largest)
	top := ticks[len(ticks)-1]
	w.start("g", "class", "ticks")
	for _, value := range ticks[1:] {
		y := roundUnit(yFor(value, top))
		line("grid", gridStroke, y)
		tick(compact(value), y)
	}
	tick("0", plotBottom)
	w.end("g")
	line("axis", axisStroke, plotBottom)
	return top
}

// niceTicks returns 0 and the multiples of a round step (1, 2, 2.5 or 5
// times a power of ten) up to the first one at or above largest (> 0): 4 or
// 5 ticks. The step is the smallest round one with largest/step ≤ 4; the
// round step before it is at most half as large and had largest/step > 4,
// so largest/step > 2 and 3 or 4 steps reach largest.
func niceTicks(largest decimal.Decimal) []decimal.Decimal {
	raw := largest.Div(decimal.NewFromInt(4))
	magnitude := int32(raw.NumDigits()) + raw.Exponent() - 1 // floor(log10(raw))
	power := decimal.New(1, magnitude)
	step := power.Mul(decimal.NewFromInt(10))
	for _, mantissa := range []string{"1", "2", "2.5", "5"} {
		candidate := power.Mul(decimal.RequireFromString(mantissa))
		if candidate.GreaterThanOrEqual(raw) {
			step = candidate
			break
		}
	}
	// Div rounds to 16 decimals: correct its ceiling when the rounding
	// lost a remainder (10^17 + 1 is not 2 steps of 5 × 10^16).
	steps := largest.Div(step).Ceil().IntPart()
	for step.Mul(decimal.NewFromInt(steps)).LessThan(largest) {
		steps++
	}
	ticks := make([]decimal.Decimal, 0, steps+1)
	for i := int64(0); i <= steps; i++ {
		ticks = append(ticks, step.Mul(decimal.NewFromInt(i)))
	}
	return ticks
}

// yFor is the height of value on the plot whose top is top (> 0).
func yFor(value, top decimal.Decimal) float64 {
	if !top.IsPositive() {
		return plotBottom
	}
	return plotBottom - value.Div(top).InexactFloat64()*(plotBottom-plotTop)
}

// drawMonth writes a month's name under its column.
func drawMonth(w *writer, position int, month string, center, slot float64) {
	month = clean(month)
	label := func(text string, y float64, class string) {
		w.element("text", text, "class", class, "x", coordinate(center), "y", coordinate(y), "text-anchor", "middle", "fill", tickInk)
	}
	if at, err := time.Parse(monthFormat, month); err == nil {
		label(at.Format("Jan"), monthY, "month-name")
		if position == 0 || at.Month() == time.January {
			label(at.Format("2006"), yearY, "year")
		}
		return
	}
	shown, _ := fit(month, fontSize, slot-4)
	label(shown, monthY, "month-name")
}

// drawLegend writes a swatch and the name of every series, left to right
// under the months.
func drawLegend(w *writer, series []Series) {
	w.start("g", "class", "legend")
	x := float64(plotLeft)
	// Each entry gets an equal share of the plot's width at most.
	room := min(float64(plotRight-plotLeft)/float64(max(len(series), 1))-legendSpacing, maxLegendName)
	for s, one := range series {
		name, _ := fit(clean(one.Name), fontSize, room)
		w.empty("rect", "class", classes("swatch", clean(one.Class)), "x", coordinate(x), "y", coordinate(legendY-swatchSize+1),
			"width", coordinate(swatchSize), "height", coordinate(swatchSize), "rx", "2", "fill", fillFor(one.Class, s))
		w.element("text", name, "class", "legend-label", "x", coordinate(x+swatchSize+5), "y", coordinate(legendY), "fill", valueInk)
		x += textWidth(name, fontSize) + legendSpacing
	}
	w.end("g")
}

func nonNegative(value decimal.Decimal) decimal.Decimal {
	if value.IsNegative() {
		return decimal.Zero
	}
	return value
}

// roundUnit rounds a coordinate to the precision the SVG carries.
func roundUnit(v float64) float64 {
	return math.Round(v*100) / 100
}
