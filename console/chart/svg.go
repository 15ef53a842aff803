package chart

import (
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/payrun/payrun/internal/fielderr"
)

// Text settings shared by the charts. Sizes are viewBox units: one unit is a
// CSS pixel when the chart is shown at its natural width (Width).
const (
	// Width of every chart's viewBox: the console's content column.
	Width = 640
	// fontSize is the size of every text: 12 px at the natural width.
	fontSize = 12
	// fontFamily is the default face, for pages without the console's
	// stylesheet (a CSS font-family rule on .chart wins over it).
	fontFamily = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif"
	// edge is the margin inside the viewBox on the left and right.
	edge = 4
	// maxIDLength bounds the id prefix: ids are for people reading markup.
	maxIDLength = 64
	// maxTitleLength bounds the title and the description given by the
	// caller, in characters: they are sentences, not data dumps.
	maxTitleLength = 1000
)

// Inks (text and lines). Contrast on white: labelInk 16.9:1, valueInk
// 8.8:1, tickInk 6.5:1 — all above WCAG's 4.5:1 for normal text.
const (
	labelInk    = "#111827"
	valueInk    = "#3E4C59"
	tickInk     = "#52606D"
	axisStroke  = "#9AA5B1"
	gridStroke  = "#E4E7EB"
	whiteInk    = "#FFFFFF"
	defaultFill = "#4F6D8A"
)

// fills is the muted default palette by class: what a bar looks like
// without the console's stylesheet (whose .bar.paid, ... rules win over
// these fill attributes). Each works with white or near-black text at 4.5:1
// or better, and against a white page at 3:1 or better (WCAG 1.4.11).
var fills = map[string]string{
	"paid":     "#2A7F73", // teal
	"withheld": "#64748B", // slate
	"held":     "#C08A2E", // amber
	"carried":  "#758CA3", // blue-grey
}

// otherFills colour series and bars of other classes, by position.
var otherFills = []string{defaultFill, "#7A5C99", "#4F7A4B", "#9A5F4E"}

// fillFor is the default fill of an element with the given class: the first
// class token the palette knows, else the position's colour.
func fillFor(class string, position int) string {
	for _, token := range strings.Fields(class) {
		if fill, ok := fills[token]; ok {
			return fill
		}
	}
	return otherFills[position%len(otherFills)]
}

// inkOn picks white or near-black text for a fill, whichever contrasts more.
func inkOn(fill string) string {
	if contrast(fill, whiteInk) >= contrast(fill, labelInk) {
		return whiteInk
	}
	return labelInk
}

// contrast is WCAG 2's contrast ratio of two #RRGGBB colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	var channels [3]float64
	for i := range channels {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			channels[i] = c / 12.92
		} else {
			channels[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*channels[0] + 0.7152*channels[1] + 0.0722*channels[2]
}

// idPattern is an id prefix: a letter, then letters, digits, '-' and '_'
// (an HTML id and an XML name alike, so the chart's ids need no escaping).
var idPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// checkCaller panics when what the page's code passes is not a chart: the
// id prefix and the title are constants of the page, so a bad one is a
// programming error, found by the page's first test (html/template turns
// the panic of a template function into an execution error).
func checkCaller(chart, id, title, desc string) {
	var problems fielderr.List
	problems.Subject = "chart." + chart
	switch {
	case id == "":
		problems.Addf("id", fielderr.Required, "is required: the prefix of the chart's ids, unique on the page")
	case len(id) > maxIDLength:
		problems.Addf("id", fielderr.TooLong, "is %d characters, at most %d", len(id), maxIDLength)
	case !idPattern.MatchString(id):
		problems.Addf("id", fielderr.Character, "%q must start with a letter and hold only letters, digits, '-' and '_'", id)
	}
	if clean(title) == "" {
		problems.Addf("title", fielderr.Required, "is required: it is the chart's accessible name")
	} else if n := len([]rune(title)); n > maxTitleLength {
		problems.Addf("title", fielderr.TooLong, "is %d characters, at most %d", n, maxTitleLength)
	}
	if n := len([]rune(desc)); n > maxTitleLength {
		problems.Addf("desc", fielderr.TooLong, "is %d characters, at most %d", n, maxTitleLength)
	}
	if err := problems.Err(); err != nil {
		panic(err)
	}
}

// writer builds one SVG document. Every attribute value and every text goes
// through escape: there is no other way in.
type writer struct {
	out strings.Builder
}

// start writes an opening tag; attributes come as name, value pairs.
func (w *writer) start(tag string, attributes ...string) {
	w.tag(tag, attributes, false)
}

// empty writes a self-closing element.
func (w *writer) empty(tag string, attributes ...string) {
	w.tag(tag, attributes, true)
}

func (w *writer) tag(tag string, attributes []string, selfClosing bool) {
	w.out.WriteByte('<')
	w.out.WriteString(tag)
	for i := 0; i+1 < len(attributes); i += 2 {
		w.out.WriteByte(' ')
		w.out.WriteString(attributes[i])
		w.out.WriteString(`="`)
		w.out.WriteString(escape(attributes[i+1]))
		w.out.WriteByte('"')
	}
	switch {
	case selfClosing:
		w.out.WriteString("/>\n")
	case tag == "g" || tag == "svg":
		w.out.WriteString(">\n")
	default:
		w.out.WriteByte('>')
	}
}

func (w *writer) end(tag string) {
	w.out.WriteString("</")
	w.out.WriteString(tag)
	w.out.WriteString(">\n")
}

// element writes <tag attributes>text</tag>.
func (w *writer) element(tag, text string, attributes ...string) {
	w.start(tag, attributes...)
	w.out.WriteString(escape(text))
	w.end(tag)
}

// open writes the root element, its <title> and its <desc>: role="img"
// named by both, so a screen reader reads the title, then the description
// with every value (the drawing's own texts are hidden from it by the role).
func (w *writer) open(id, kind string, height float64, title, desc string) {
	w.start("svg",
		"xmlns", "http://www.w3.org/2000/svg",
		"class", "chart "+kind,
		"viewBox", "0 0 "+coordinate(Width)+" "+coordinate(height),
		"width", "100%",
		"role", "img",
		"aria-labelledby", id+"-title "+id+"-desc",
		"font-family", fontFamily,
		"font-size", strconv.Itoa(fontSize),
	)
	w.element("title", title, "id", id+"-title")
	w.element("desc", desc, "id", id+"-desc")
}

func (w *writer) html() template.HTML {
	w.end("svg")
	// Safe: every text and attribute value written above went through
	// escape, tags and attribute names are this package's constants.
	return template.HTML(w.out.String())
}

// sentence joins the caller's description and the generated text of the
// values into one description.
func sentence(desc string, parts []string) string {
	desc = clean(desc)
	if desc != "" && !strings.HasSuffix(desc, ".") {
		desc += "."
	}
	text := strings.Join(parts, " ")
	if desc == "" {
		return text
	}
	if text == "" {
		return desc
	}
	return desc + " " + text
}
