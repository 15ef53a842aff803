// Package reportstest reads payrun's workbooks back with openpyxl, a reader
// nobody here wrote, for the tests of the packages that write them (reports,
// payout/statement, tax/yearend). It runs /usr/bin/python3: the python3
// first on PATH may be another installation without openpyxl.
package reportstest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// SystemPython is the interpreter `make deps` installs python3-openpyxl for.
const SystemPython = "/usr/bin/python3"

// readScript prints, per sheet, the <dimension> openpyxl's streaming reader
// sees, the rows it yields in read-only mode (values as text, None as null)
// and the number of rows the full reader yields, as JSON.
const readScript = `
import datetime, json, sys
import openpyxl

def text(v):
    if v is None:
        return None
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)

streamed = openpyxl.load_workbook(sys.argv[1], read_only=True)
full = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in streamed.worksheets:
    rows = [[text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    out.append({"name": ws.title, "dimension": ws.calculate_dimension(), "rows": rows,
                "full_rows": full[ws.title].max_row})
json.dump(out, sys.stdout)
`

// Sheet is one worksheet as openpyxl's read-only (streaming) reader sees it.
type Sheet struct {
	Name string `json:"name"`
	// Dimension is the used range the sheet declares (<dimension ref>).
	Dimension string `json:"dimension"`
	// Rows are the rows the streaming reader yields: cell values as text
	// (numbers as Python's repr of the float), nil for an empty cell.
	Rows [][]*string `json:"rows"`
	// FullRows is max_row as the full (non-streaming) reader computes it.
	FullRows int `json:"full_rows"`
}

// ReadOnly opens the workbook at path with openpyxl's read_only=True and
// returns its sheets in order. It fails the test (never skips) when the
// system python lacks openpyxl.
func ReadOnly(t testing.TB, path string) []Sheet {
	t.Helper()
	if err := exec.Command(SystemPython, "-c", "import openpyxl").Run(); err != nil {
		t.Fatalf("openpyxl not found: run `make deps` (installs python3-openpyxl) (%s: %v)", SystemPython, err)
	}
	cmd := exec.Command(SystemPython, "-c", readScript, path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openpyxl could not read %s: %v: %s", path, err, stderr.String())
	}
	var sheets []Sheet
	if err := json.Unmarshal(out, &sheets); err != nil {
		t.Fatalf("openpyxl output of %s: %v", path, err)
	}
	return sheets
}

// SheetNamed returns the sheet called name, failing the test when there is none.
func SheetNamed(t testing.TB, sheets []Sheet, name string) Sheet {
	t.Helper()
	names := make([]string, 0, len(sheets))
	for _, s := range sheets {
		if s.Name == name {
			return s
		}
		names = append(names, s.Name)
	}
	t.Fatalf("no sheet %q in %v", name, names)
	return Sheet{}
}
