package chart

import (
	"html/template"
	"math"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"
)

// Bar is one row of a horizontal bar chart.
type Bar struct {
	// Label names the row ("Tax form missing", "ACH", "DE"); data, escaped.
	// Longer than the label column, it is cut with an ellipsis and the full
	// label is the row's <title> (a tooltip).
	Label string
	// Value sets the bar's length, proportional to the largest Value of the
	// chart. Negative values are clamped: drawn as an empty bar (money here
	// is never negative; the row's Text still says what the caller has).
	Value decimal.Decimal
	// Text is written beside the bar, exactly as given ("412 publishers ·
	// 1,234.56 USD": format with Count and Amount). Empty: Amount(Value).
	Text string
	// Class is added to the bar's class ("bar held"): the console's
	// stylesheet colours it. paid, withheld, held and carried also pick the
	// default fill; other classes get the neutral one.
	Class string
}

// Limits and geometry of Bars, in viewBox units.
const (
	// MaxBars is the most rows a chart draws: 50 rows is 1,400 units tall,
	// already two screens. Beyond it the chart says how many it left out;
	// the page's table lists them all.
	MaxBars = 50
	// maxLabelWidth caps the label column (about 30 characters at 12 px).
	maxLabelWidth = 200
	minLabelWidth = 24
	// maxTextWidth caps the text beside a bar (about 40 characters): the
	// label column and the longest text always leave room for a bar.
	maxTextWidth = 280
	rowHeight    = 28
	barHeight    = 18
	labelGap     = 12 // between the label column and the bars
	textGap      = 6  // between a bar's end and its text
	insidePad    = 6  // between a bar's end and a text set inside it
	barsTop      = 6
	barsBottom   = 6
	barRadius    = 2
	// emptyHeight is the height of a chart with nothing to draw.
	emptyHeight = 48
)

// row is a Bar made ready to draw.
type row struct {
	label, shownLabel string
	text, shownText   string
	class             string
	ratio             float64 // value / largest value, in [0, 1]
	textWidth         float64
}

// Bars draws a horizontal bar chart as an inline <svg>: a label column, a
// bar per row proportional to its Value, and the row's Text after the bar
// (inside it, in white or near-black, when the bar is long enough and the
// text would not fit after it). The viewBox is Width units wide and as tall
// as the rows; width="100%" makes it follow its container.
//
// id prefixes the chart's ids (id-title, id-desc): it must be unique on the
// page, start with a letter and hold only letters, digits, '-' and '_'.
// title is the chart's accessible name; desc describes it, and the
// description read by screen readers ends with every row's label and text.
// Bars panics with a *fielderr.List when id, title or desc is not valid:
// they are constants of the page's code, never data (see the package doc).
//
// More than MaxBars bars: the first MaxBars are drawn and a last line says
// how many were left out. No bars: a chart that says "No values to show".
func Bars(id, title, desc string, bars []Bar) template.HTML {
	checkCaller("Bars", id, title, desc)
	left := 0
	if len(bars) > MaxBars {
		bars, left = bars[:MaxBars], len(bars)-MaxBars
	}
	rows, labelColumn := prepareRows(bars)

	var summary []string
	for _, r := range rows {
		summary = append(summary, r.label+": "+r.text+".")
	}
	if left > 0 {
		summary = append(summary, leftOut(left)+".")
	}

	var w writer
	if len(rows) == 0 {
		w.open(id, "chart-bars", emptyHeight, title, sentence(desc, []string{"No values to show."}))
		w.element("text", "No values to show", "class", "empty", "x", coordinate(Width/2), "y", coordinate(emptyHeight/2+0.35*fontSize),
			"text-anchor", "middle", "fill", tickInk)
		return w.html()
	}

	height := barsTop + float64(len(rows))*rowHeight + barsBottom
	if left > 0 {
		height += rowHeight
	}
	w.open(id, "chart-bars", height, title, sentence(desc, summary))

	x0 := edge + labelColumn + labelGap
	if labelColumn == 0 {
		x0 = edge
	}
	right := float64(Width - edge)
	scale := barScale(rows, x0, right)
	bottom := barsTop + float64(len(rows))*rowHeight
	w.empty("line", "class", "axis", "x1", coordinate(x0), "y1", coordinate(barsTop),
		"x2", coordinate(x0), "y2", coordinate(bottom), "stroke", axisStroke, "stroke-width", "1")

	for i, r := range rows {
		top := barsTop + float64(i)*rowHeight
		baseline := top + rowHeight/2 + 0.35*fontSize
		length := r.ratio * scale
		fill := fillFor(r.class, 0)
		w.start("g", "class", "row")
		w.element("title", r.label+": "+r.text)
		w.element("text", r.shownLabel, "class", "label", "x", coordinate(edge), "y", coordinate(baseline), "fill", labelInk)
		w.empty("rect", "class", classes("bar", r.class), "x", coordinate(x0), "y", coordinate(top+(rowHeight-barHeight)/2),
			"width", coordinate(length), "height", coordinate(barHeight), "rx", strconv.Itoa(barRadius), "fill", fill)
		if fitsAfter(r, x0, scale, right) {
			w.element("text", r.shownText, "class", "value", "x", coordinate(x0+length+textGap), "y", coordinate(baseline), "fill", valueInk)
		} else {
			w.element("text", r.shownText, "class", "value inside", "x", coordinate(x0+length-insidePad), "y", coordinate(baseline),
				"text-anchor", "end", "fill", inkOn(fill))
		}
		w.end("g")
	}
	if left > 0 {
		top := barsTop + float64(len(rows))*rowHeight
		w.element("text", leftOut(left), "class", "more", "x", coordinate(edge), "y", coordinate(top+rowHeight/2+0.35*fontSize), "fill", tickInk)
	}
	return w.html()
}

// prepareRows cleans the labels and texts, computes each bar's share of the
// largest value and sizes the label column (the widest label, capped).
func prepareRows(bars []Bar) ([]row, float64) {
	largest := decimal.Zero
	for _, b := range bars {
		if b.Value.GreaterThan(largest) {
			largest = b.Value
		}
	}
	rows := make([]row, len(bars))
	var labelColumn float64
	anyLabel := false
	for i, b := range bars {
		r := row{label: clean(b.Label), text: clean(b.Text), class: clean(b.Class)}
		if r.text == "" {
			r.text = Amount(b.Value)
		}
		if b.Value.IsPositive() && largest.IsPositive() {
			// The share in decimal, then a float: no overflow for any
			// decimal, and exactly 1 for the largest bar.
			r.ratio = b.Value.Div(largest).InexactFloat64()
		}
		labelColumn = max(labelColumn, min(textWidth(r.label, fontSize), maxLabelWidth))
		anyLabel = anyLabel || r.label != ""
		r.shownText, _ = fit(r.text, fontSize, maxTextWidth)
		r.textWidth = textWidth(r.shownText, fontSize)
		rows[i] = r
	}
	if labelColumn > 0 || anyLabel {
		// Whole units, for a tidy axis; at least minLabelWidth, for labels
		// that measure nothing (a lone combining mark shows on a dotted
		// circle).
		labelColumn = max(math.Ceil(labelColumn), minLabelWidth)
	}
	for i := range rows {
		rows[i].shownLabel, _ = fit(rows[i].label, fontSize, labelColumn)
	}
	return rows, labelColumn
}

// barScale is the length of a bar whose ratio is 1: the longest that lets
// every row's text sit after its bar or, for a long enough bar, inside it.
// Each row allows the scales up to the one that puts its text's end at the
// right edge, and those at which the bar holds its text; the largest scale
// all rows allow is the full width or one of the former bounds.
func barScale(rows []row, x0, right float64) float64 {
	full := right - x0
	candidates := []float64{full}
	for _, r := range rows {
		if r.ratio > 0 {
			if bound := (right - x0 - textGap - r.textWidth) / r.ratio; bound > 0 && bound < full {
				candidates = append(candidates, bound)
			}
		}
	}
	slices.Sort(candidates)
	slices.Reverse(candidates)
	for _, scale := range candidates {
		if allFit(rows, x0, scale, right) {
			return scale
		}
	}
	// Unreachable: texts are at most maxTextWidth and the label column at
	// most maxLabelWidth, so the smallest bound lets every text sit after
	// its bar. Kept safe all the same.
	return 0
}

func allFit(rows []row, x0, scale, right float64) bool {
	for _, r := range rows {
		if !fitsAfter(r, x0, scale, right) && !fitsInside(r, scale) {
			return false
		}
	}
	return true
}

// fitsAfter: the text after the bar ends inside the chart. The tolerance
// absorbs the float error of the bound computed for this very row.
func fitsAfter(r row, x0, scale, right float64) bool {
	return x0+r.ratio*scale+textGap+r.textWidth <= right+1e-6
}

func fitsInside(r row, scale float64) bool {
	return r.ratio*scale >= r.textWidth+2*insidePad
}

func leftOut(n int) string {
	if n == 1 {
		return "1 more row not shown"
	}
	return Count(int64(n)) + " more rows not shown"
}

// classes joins a fixed class and the caller's.
func classes(fixed, extra string) string {
	if extra == "" {
		return fixed
	}
	return fixed + " " + extra
}
