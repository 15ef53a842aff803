// Package chart draws the finance console's charts (issue 21) on the
// server: each function returns a template.HTML holding one inline <svg>,
// for a page's html/template to place as is. It owns nothing else: no
// I/O, no clock, no data access. The same input gives the same bytes, which
// is what its golden files (testdata/*.svg) rely on.
//
//   - [Bars]: a horizontal bar chart, one row per [Bar] (held and carried
//     publishers by reason, the splits by method, currency and country):
//     a label column, the bar, and the row's text ("412 publishers ·
//     1,234.56 USD") after the bar, or inside it when the bar is long.
//   - [Trend]: the last cycles (at most [MaxMonths]) as stacked columns,
//     one [Series] per part (Paid, Withheld, Held, Carried, in USD), with a
//     round-valued axis (0, 500k, 1M, 1.5M), the months and a legend.
//   - [Amount] and [Count] write numbers for people, with thousands
//     separators and the decimal's exact digits: the page builds Bar.Text
//     with them.
//
// # Invariants
//
//   - Content-Security-Policy without 'unsafe-inline': no style attribute,
//     no <style>, no <script>, no event handler. Looks come from
//     presentation attributes (fill, stroke, font-size, text-anchor), which
//     make a chart readable without any stylesheet, and from classes that
//     the console's stylesheet may restyle (see Classes below).
//   - Accessibility: the <svg> has role="img" and aria-labelledby naming
//     its <title> and <desc>; their ids are the caller's prefix + "-title"
//     and "-desc", and no other id is written, so a prefix unique on the
//     page keeps every id unique. The role hides the drawing's own texts
//     from screen readers, so the description ends with every value: each
//     row's label and text, each month's values. Every value is also
//     written where people see it: Bars beside each bar; Trend in each
//     column's <title> (a tooltip) — twelve months of four exact amounts
//     do not fit under 640 units of columns, and issue 21's Cycles page
//     lists the same totals in its table.
//   - Numbers in text are exact: the decimal's digits, never a float
//     (Amount keeps sub-cent digits: "38,207.116502"). Geometry alone uses
//     floats, from the decimal ratio value / largest, so no value overflows
//     them and the largest bar has exactly ratio 1. Only the axis ticks are
//     abbreviated (2.5k, 1.2M); being round, they are exact too.
//   - Proportions: a bar's length and a segment's height are value / largest
//     (Bars) or value / top tick (Trend) times one scale, to the 0.01 unit
//     the SVG carries. Negative values are clamped to nothing drawn (money
//     here is never negative); their text still shows the value given.
//     Zero and all-zero values draw empty bars, never NaN or Inf.
//   - Nothing overlaps and nothing leaves the viewBox: labels longer than
//     the label column (at most 200 units) and texts longer than 280 units
//     are cut with an ellipsis, the full text in the row's <title>. Bars
//     picks the longest bar scale at which each row's text fits after its
//     bar or inside it.
//   - Data text (labels, texts, names, months, classes, titles) is escaped
//     for text and attributes alike, after its control characters
//     (internal/textcheck's set) become spaces and invalid UTF-8 U+FFFD:
//     the output is well-formed XML for any input.
//
// # Classes
//
// A CSS rule of the console's stylesheet wins over a presentation attribute:
//
//	.chart .chart-bars .chart-trend    the <svg>
//	.row .label .value .value.inside   Bars: a row, its label, its text
//	.bar + the caller's class          a bar, or a column's segment
//	.axis .grid .ticks .tick           the zero line, grid lines, ticks
//	.month .month-name .year           Trend: a column and its labels
//	.legend .swatch .legend-label      Trend: the legend
//	.empty .more                       "No closed cycles yet", "7 more rows not shown"
//
// The default palette is muted and keyed by class: paid teal, withheld
// slate, held amber, carried blue-grey, anything else steel blue (a trend's
// unknown series take further muted colours by position). Each fill carries
// white or near-black text at 4.5:1 or better and stands out from white at
// 3:1 (WCAG 1.4.11). A text inside a bar takes whichever ink contrasts more
// with the default fill: a stylesheet that restyles .bar.held restyles
// .value.inside with it.
//
// # Sizes and text
//
// A chart's viewBox is [Width] (640) units wide; width="100%" makes it
// follow its container, and at 640 CSS pixels one unit is one pixel, so
// texts are 12 px (the stylesheet should cap .chart at about that width).
// Texts are measured with DejaVu Sans's advance widths (the widest common
// sans-serif, and a bare Linux browser's fallback; East Asian characters a
// full em), so the system fonts named in font-family, all narrower, fit
// too. The stylesheet may change the font family, not the font size: the
// layout is measured at 12 units.
//
// # Failure modes
//
// The functions return no error: their data cannot make them fail (it is
// clamped, cut or escaped, and the limits [MaxBars] and [MaxMonths] are
// applied visibly: "7 more rows not shown", the last 12 months). What the
// page's code passes can: an id prefix that is empty, longer than 64
// characters or not a letter followed by letters, digits, '-' and '_'; an
// empty title; a title or description over 1,000 characters; for Trend,
// more than [MaxSeries] series or a series without exactly one value per
// month. Those panic with a *fielderr.List naming the field
// ("chart.Trend: series[1].values: has 11 values for 12 months: one value
// per month"), found by the page's first test; a template calling the
// function gets it as its execution error.
//
// # Tests
//
// Golden files (go test ./console/chart -update rewrites testdata/*.svg;
// rsvg-convert -b white FILE.svg -o FILE.png renders one to look at),
// property tests (pgregory.net/rapid: any values and any text give
// well-formed XML, prefixed ids, proportional bars within the chart,
// texts inside the chart and clear of the labels, 4 or 5 round ticks), and
// a template test.
package chart
