package reports

import (
	"path/filepath"
	"strings"
	"time"
)

// CSV files written here are RFC 4180 as encoding/csv writes it: UTF-8
// without a byte-order mark, a header row, LF line ends, amounts as plain
// decimals with a fixed number of places ("1234.50"), times in RFC 3339
// UTC, rates as fractions ("0.3000" for 30%).

func columnHeaders(columns []column) []string {
	headers := make([]string, len(columns))
	for i, c := range columns {
		headers[i] = c.header
	}
	return headers
}

// csvText defuses spreadsheet formula injection: a text field starting with
// =, +, -, @, tab or carriage return is prefixed with an apostrophe, which
// spreadsheet programs show as text instead of evaluating. Publisher names
// and ids come from outside; a name like "=HYPERLINK(...)" must not run in
// finance's Excel. Amount columns are written by other functions and never
// prefixed.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func dirOf(path string) string { return filepath.Dir(path) }
