package chart

import (
	"html"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/textcheck"
)

// Amount writes an amount for people: the decimal's own digits, never
// rounded and never through a float, with a comma between every three
// digits of the integer part and at least two decimals ("1,234,567.89",
// "0.00", "-12.50"). A ledger balance with sub-cent digits keeps them
// ("1,234.567891"): a chart shows the exact figure the caller has.
func Amount(amount decimal.Decimal) string {
	// StringFixed at the decimal's own scale (at least cents) only adds
	// zeros, never rounds; those beyond the cents go again.
	places := max(-amount.Exponent(), 2)
	return groupThousands(trimZerosAfterCents(amount.StringFixed(places)))
}

// trimZerosAfterCents removes the trailing zeros beyond the second decimal
// of a plain decimal text ("12.345000" → "12.345", "12.100" → "12.10").
func trimZerosAfterCents(text string) string {
	point := strings.IndexByte(text, '.')
	if point < 0 {
		return text
	}
	end := len(text)
	for end > point+3 && text[end-1] == '0' {
		end--
	}
	return text[:end]
}

// Fixed writes an amount with exactly places decimals and a comma between
// every three digits of the integer part, for columns whose decimal points
// must line up ("3,552.086050" and "903.301500" at 6 places; "9,142,161"
// yen at 0). It never rounds a digit away: an amount with more decimals
// than places keeps them all, as Amount does.
func Fixed(amount decimal.Decimal, places int32) string {
	if !amount.Equal(amount.Truncate(places)) {
		return Amount(amount)
	}
	return groupThousands(amount.StringFixed(places))
}

// Count writes a count with a comma between every three digits ("1,234").
func Count(n int64) string {
	return groupThousands(strconv.FormatInt(n, 10))
}

// groupThousands puts a comma between every three digits of the integer part
// of a plain decimal text (an optional '-', digits, an optional fraction).
func groupThousands(text string) string {
	sign := ""
	if strings.HasPrefix(text, "-") {
		sign, text = "-", text[1:]
	}
	integer, fraction := text, ""
	if point := strings.IndexByte(text, '.'); point >= 0 {
		integer, fraction = text[:point], text[point:]
	}
	if len(integer) <= 3 {
		return sign + integer + fraction
	}
	var out strings.Builder
	out.Grow(len(text) + len(integer)/3 + 1)
	out.WriteString(sign)
	first := len(integer) % 3
	if first > 0 {
		out.WriteString(integer[:first])
	}
	for i := first; i < len(integer); i += 3 {
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(integer[i : i+3])
	}
	out.WriteString(fraction)
	return out.String()
}

// compact writes an axis tick the short way: 0, 350, 2.5k, 1.2M, 3B, 1.5T.
// Ticks are multiples of a nice step, so the quotient is short and exact.
func compact(value decimal.Decimal) string {
	units := []struct {
		suffix string
		size   decimal.Decimal
	}{
		{"T", decimal.New(1, 12)},
		{"B", decimal.New(1, 9)},
		{"M", decimal.New(1, 6)},
		{"k", decimal.New(1, 3)},
	}
	for _, unit := range units {
		if value.Abs().GreaterThanOrEqual(unit.size) {
			return value.Div(unit.size).String() + unit.suffix
		}
	}
	return value.String()
}

// clean makes data text safe to place in an XML document: invalid UTF-8
// becomes U+FFFD and every control character (internal/textcheck's rule:
// C0, DEL, C1, U+2028, U+2029) a space, since XML 1.0 refuses most of them
// even escaped. Leading and trailing spaces go.
func clean(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.Map(func(r rune) rune {
		if textcheck.IsControl(r) || r == '\uFFFE' || r == '\uFFFF' {
			return ' '
		}
		return r
	}, text)
	return strings.TrimSpace(text)
}

// escape is the one way text from data enters the SVG: cleaned, then
// escaped for both text and quoted attribute values (<, >, &, ', ").
func escape(text string) string {
	return html.EscapeString(clean(text))
}

// charWidths are the advance widths, in thousandths of an em, of DejaVu Sans
// (regular) for ASCII 32–126, read from DejaVuSans.ttf's hmtx table. DejaVu
// Sans is wider than Helvetica, Arial, Segoe UI and Roboto for almost every
// character, and it is the sans-serif a bare Linux browser falls back to: a
// label measured with it fits in any of them.
var charWidths = [95]uint16{
	318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, // ' ' .. '/'
	636, 636, 636, 636, 636, 636, 636, 636, 636, 636, // 0-9
	337, 337, 838, 838, 838, 531, 1000, // : ; < = > ? @
	684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, // A-M
	748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, // N-Z
	390, 337, 390, 838, 500, 500, // [ \ ] ^ _ `
	613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, // a-m
	634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, // n-z
	636, 337, 636, 838, // { | } ~
}

// textWidth estimates, generously, the width of text set at fontSize in
// DejaVu Sans: ASCII from the table, combining marks nothing, East Asian
// wide characters a full em, anything else 0.8 em (wider than most
// accented Latin, Greek and Cyrillic letters).
func textWidth(text string, fontSize float64) float64 {
	var thousandths float64
	for _, r := range text {
		switch {
		case r >= 32 && r <= 126:
			thousandths += float64(charWidths[r-32])
		case r == '·':
			thousandths += 318
		case r == '…':
			thousandths += 1000
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		case wide(r):
			thousandths += 1000
		default:
			thousandths += 800
		}
	}
	return thousandths * fontSize / 1000
}

// wide reports the East Asian wide and fullwidth ranges (CJK, kana, Hangul,
// fullwidth forms) and the emoji planes: set a full em or more.
func wide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0xA4CF,
		r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF,
		r >= 0xFE30 && r <= 0xFE4F, r >= 0xFF00 && r <= 0xFF60,
		r >= 0xFFE0 && r <= 0xFFE6, r >= 0x1F000:
		return true
	}
	return false
}

// fit shortens cleaned text to at most maxWidth (at fontSize), ending it
// with an ellipsis when anything was cut; ok is false when it was cut.
func fit(text string, fontSize, maxWidth float64) (shown string, ok bool) {
	if textWidth(text, fontSize) <= maxWidth {
		return text, true
	}
	budget := maxWidth - textWidth("…", fontSize)
	var used float64
	end := 0
	for i, r := range text {
		w := textWidth(string(r), fontSize)
		if used+w > budget {
			break
		}
		used += w
		end = i + utf8.RuneLen(r)
	}
	return strings.TrimRightFunc(text[:end], unicode.IsSpace) + "…", false
}

// coordinate writes a length in viewBox units to two decimals at most, never
// as NaN, Inf or "-0".
func coordinate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	v = math.Round(v*100) / 100
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
