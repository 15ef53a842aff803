package reports

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The workbooks are read back by openpyxl, a reader nobody here wrote, so
// the tests check what a finance team's tools would see, not what excelize
// thinks it wrote.

// systemPython is the interpreter `make deps` installs python3-openpyxl for;
// the python3 first on PATH may be another installation.
const systemPython = "/usr/bin/python3"

// dumpScript prints a workbook as JSON: per sheet its name, frozen pane,
// autofilter, column widths, print setup (orientation, fit to pages, print
// titles and area, footer), the ranges of its conditional formats and every
// row's cells with openpyxl's data type, cached value, formula (if any) and
// number format. It loads the workbook twice: once for the formulas, once
// (data_only) for the values a reader that does not recalculate shows.
const dumpScript = `
import datetime, json, sys
import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
values = openpyxl.load_workbook(sys.argv[1], data_only=True)
out = {"active": wb.active.title, "sheets": []}
for ws in wb.worksheets:
    vs = values[ws.title]
    rows = []
    for row in ws.iter_rows():
        cells = []
        for c in row:
            v = vs[c.coordinate].value
            formula = c.value if c.data_type == "f" else None
            if v is None and formula is None:
                cells.append(None)
                continue
            if isinstance(v, (datetime.datetime, datetime.date)):
                v = v.isoformat()
            cell = {"t": vs[c.coordinate].data_type, "v": v, "f": c.number_format}
            if formula is not None:
                cell["formula"] = formula
            cells.append(cell)
        while cells and cells[-1] is None:
            cells.pop()
        rows.append(cells)
    while rows and not rows[-1]:
        rows.pop()
    widths = {}
    for key, dim in sorted(ws.column_dimensions.items()):
        if dim.width and dim.customWidth:
            widths[key] = dim.width
    area = ws.print_area
    if isinstance(area, (list, tuple)):
        area = ",".join(area)
    ps = ws.page_setup
    setup = ws.sheet_properties.pageSetUpPr
    out["sheets"].append({
        "name": ws.title,
        "freeze": ws.freeze_panes,
        "autofilter": ws.auto_filter.ref,
        "widths": widths,
        "print": {
            "orientation": ps.orientation,
            "paper": ps.paperSize,
            "fit_to_page": bool(setup and setup.fitToPage),
            "fit_width": ps.fitToWidth,
            "fit_height": ps.fitToHeight,
            "titles": ws.print_title_rows,
            "area": area,
            "footer": [ws.oddFooter.left.text, ws.oddFooter.center.text, ws.oddFooter.right.text],
        },
        "conditional": sorted(str(r.sqref) for r in ws.conditional_formatting),
        "rows": rows,
    })
json.dump(out, sys.stdout, indent=1, sort_keys=True)
`

type workbookDump struct {
	Active string      `json:"active"`
	Sheets []sheetDump `json:"sheets"`
}

type sheetDump struct {
	Name       string             `json:"name"`
	Freeze     *string            `json:"freeze"`
	Autofilter *string            `json:"autofilter"`
	Widths     map[string]float64 `json:"widths"`
	Print      printDump          `json:"print"`
	// Conditional lists the ranges with conditional formats.
	Conditional []string      `json:"conditional"`
	Rows        [][]*cellDump `json:"rows"`
}

// printDump is a sheet's print setup as openpyxl reads it.
type printDump struct {
	Orientation string    `json:"orientation"`
	Paper       *int      `json:"paper"`
	FitToPage   bool      `json:"fit_to_page"`
	FitWidth    *int      `json:"fit_width"`
	FitHeight   *int      `json:"fit_height"`
	Titles      *string   `json:"titles"`
	Area        *string   `json:"area"`
	Footer      []*string `json:"footer"`
}

type cellDump struct {
	Type   string `json:"t"`
	Value  any    `json:"v"` // the cached value
	Format string `json:"f"`
	// Formula is the cell's formula, "=SUM(...)", when it has one.
	Formula string `json:"formula"`
}

// requireOpenpyxl fails (never skips) when the system python lacks openpyxl.
func requireOpenpyxl(t testing.TB) {
	t.Helper()
	if err := exec.Command(systemPython, "-c", "import openpyxl").Run(); err != nil {
		t.Fatalf("openpyxl not found: run `make deps` (installs python3-openpyxl) (%s: %v)", systemPython, err)
	}
}

// dumpWorkbookJSON returns openpyxl's view of the workbook at path as JSON.
func dumpWorkbookJSON(t testing.TB, path string) []byte {
	t.Helper()
	requireOpenpyxl(t)
	cmd := exec.Command(systemPython, "-c", dumpScript, path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "openpyxl could not read %s: %s", path, stderr.String())
	return out
}

func dumpWorkbook(t testing.TB, path string) workbookDump {
	t.Helper()
	var dump workbookDump
	require.NoError(t, json.Unmarshal(dumpWorkbookJSON(t, path), &dump))
	return dump
}

func (d workbookDump) sheetNames() []string {
	names := make([]string, len(d.Sheets))
	for i, s := range d.Sheets {
		names[i] = s.Name
	}
	return names
}

func (d workbookDump) sheet(t testing.TB, name string) sheetDump {
	t.Helper()
	for _, s := range d.Sheets {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sheet %q in %v", name, d.sheetNames())
	return sheetDump{}
}

// header returns the texts of row 1.
func (s sheetDump) header() []string {
	var out []string
	if len(s.Rows) == 0 {
		return out
	}
	for _, c := range s.Rows[0] {
		if c == nil {
			out = append(out, "")
			continue
		}
		out = append(out, c.Value.(string))
	}
	return out
}

// column returns the index of the column with this header.
func (s sheetDump) column(t testing.TB, header string) int {
	t.Helper()
	for i, h := range s.header() {
		if h == header {
			return i
		}
	}
	t.Fatalf("sheet %q has no column %q: %v", s.Name, header, s.header())
	return -1
}

// cell returns the cell at row (0-based over Rows) and column, or nil.
func (s sheetDump) cell(row, col int) *cellDump {
	if row >= len(s.Rows) || col >= len(s.Rows[row]) {
		return nil
	}
	return s.Rows[row][col]
}

// labelRow finds the row whose first cell is label.
func (s sheetDump) labelRow(t testing.TB, label string) []*cellDump {
	t.Helper()
	for _, row := range s.Rows {
		if len(row) > 0 && row[0] != nil && row[0].Value == label {
			return row
		}
	}
	t.Fatalf("sheet %q has no row labelled %q", s.Name, label)
	return nil
}
