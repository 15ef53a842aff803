package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/console/chart"
	"github.com/payrun/payrun/payout"
)

// pageData is what every page template gets; Data is the page's own.
type pageData struct {
	Title   string
	Section string // the navigation entry to mark current
	Problem *problem
	Flash   string
	Data    any

	// Set by render.
	Operator string
	Roles    string
	CSRF     string
	Nav      []navItem
}

type navItem struct {
	Label, Href string
	Current     bool
}

// parseTemplates parses every page with the layout: templates/layout.html
// defines "layout", each other file defines "content" (and may define
// "head").
func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"usd":     usd,
		"amount":  amountOf,
		"balance": balance,
		"balanceOf": func(s string) string {
			d, err := decimal.NewFromString(s)
			if err != nil {
				return s
			}
			return balance(d)
		},
		"inCurrency": inCurrency,
		"who":        who,
		"count":      count,
		"date":       func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"datetime":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"optdate": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02")
		},
		"optdatetime": func(t *time.Time) string {
			if t == nil {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"monthLabel": monthLabel,
		"label":      labelOf,
		"join":       strings.Join,
		"add":        func(a, b int) int { return a + b },
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFiles, name)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes a page with status; a template failure is a 500 with
// nothing half-written (the page is rendered into a buffer first).
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, status int, page string, data pageData) {
	t, ok := s.pages[page]
	if !ok {
		panic("console: no page template " + page)
	}
	if sess != nil {
		data.Operator = sess.principal.Name
		data.CSRF = sess.csrf
		data.Nav = s.nav(sess, data.Section)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.logger.Error("console: rendering", "page", page, "error", err)
		http.Error(w, "the page could not be drawn; the error is in the server's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// nav lists the sections the principal may open.
func (s *Server) nav(sess *session, current string) []navItem {
	items := []struct{ label, href, endpoint string }{
		{"Cycles", Prefix + "cycles", "list-cycles"},
		{"Returns", Prefix + "returns", "list-cycles"},
		{"Jobs", Prefix + "jobs", "list-cycles"},
		{"Imports", Prefix + "imports", "import-earnings"},
	}
	var out []navItem
	for _, it := range items {
		if s.may(sess, it.endpoint) {
			out = append(out, navItem{Label: it.label, Href: it.href, Current: it.label == current})
		}
	}
	return out
}

// usd formats an amount exactly as the charts do (chart.Amount: the
// decimal's own digits, thousands separated, at least two places, sub-cent
// digits kept): a page never rounds a figure it shows.
func usd(d decimal.Decimal) string { return chart.Amount(d) }

// balance formats a ledger balance at its 6 places, so a column of
// balances lines up on the decimal point (chart.Fixed: never rounded).
func balance(d decimal.Decimal) string { return chart.Fixed(d, 6) }

// inCurrency formats a file's control total in its currency's minor unit
// (the rail's: PayPal's for a PayPal file, ISO 4217's otherwise).
func inCurrency(amount, kind, currency string) string {
	d, err := decimal.NewFromString(amount)
	if err != nil {
		return amount
	}
	method := payout.Bank
	if kind == "paypal" {
		method = payout.PayPal
	}
	places, err := payout.CurrencyPlaces(method, currency)
	if err != nil {
		return usd(d)
	}
	return chart.Fixed(d, places)
}

// who names the principal of a cycle event as a person reads it: the
// operator's name ("operator:ann" is ann), payrun's own jobs as such.
func who(actor string) string {
	if name, ok := strings.CutPrefix(actor, "operator:"); ok {
		return name
	}
	if actor == "" {
		return ""
	}
	return "payrun (" + actor + ")"
}

// amountOf formats a decimal string (the API's amounts) like usd; text that
// is not a decimal is shown as it is.
func amountOf(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return usd(d)
}

// count formats a whole number with thousands separators.
func count(n any) string {
	switch v := n.(type) {
	case int:
		return chart.Count(int64(v))
	case int64:
		return chart.Count(v)
	case int32:
		return chart.Count(int64(v))
	}
	return fmt.Sprint(n)
}

// monthLabel turns YYYY-MM into "Nov 2026".
func monthLabel(month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return month
	}
	return t.Format("Jan 2006")
}

// properNames are codes whose words are names, not sentences.
var properNames = map[string]string{"paypal": "PayPal", "ach": "ACH", "sepa": "SEPA", "pain.001": "pain.001", "fx": "FX rates"}

// labelOf turns a code (held_tax_form_missing, awaiting_approval) into words.
func labelOf(code string) string {
	if code == "" {
		return "—"
	}
	if name, ok := properNames[code]; ok {
		return name
	}
	s := strings.NewReplacer("_", " ", ".", " ").Replace(code)
	return strings.ToUpper(s[:1]) + s[1:]
}
