package cyclereport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/payrun/payrun/internal/atomicfile"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/reports"
)

// ChecksName is the file beside a cycle's workbook that keeps the
// workbook's self-checks as the writer computed them, so a reader (the
// finance console) shows them without opening a workbook that may hold a
// million rows. It is written with every (non-draft) workbook, after it.
const ChecksName = "checks.json"

// ChecksPath is where a cycle's checks go under the output directory.
func ChecksPath(outDir string, month time.Time) string {
	return filepath.Join(outDir, "cycles", payout.MonthName(month), ChecksName)
}

// Checks are a workbook's self-checks, as written.
type Checks struct {
	Month    string          `json:"month"`
	Workbook string          `json:"workbook"`
	Checks   []reports.Check `json:"checks"`
}

// ErrNoChecks: no workbook was written for the cycle on this disk yet.
var ErrNoChecks = errors.New("no workbook checks for this cycle")

func writeChecks(outDir string, month time.Time, workbook string, results []reports.Check) error {
	body, err := json.MarshalIndent(Checks{Month: payout.MonthName(month), Workbook: filepath.Base(workbook), Checks: results}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(ChecksPath(outDir, month), 0o600, append(body, '\n'))
}

// ReadChecks reads the checks of month's workbook. Errors: ErrNoChecks.
func ReadChecks(outDir string, month time.Time) (Checks, error) {
	body, err := os.ReadFile(ChecksPath(outDir, month))
	if errors.Is(err, fs.ErrNotExist) {
		return Checks{}, fmt.Errorf("%w: %s", ErrNoChecks, payout.MonthName(month))
	}
	if err != nil {
		return Checks{}, err
	}
	var c Checks
	if err := json.Unmarshal(body, &c); err != nil {
		return Checks{}, fmt.Errorf("%s: %w", ChecksPath(outDir, month), err)
	}
	return c, nil
}
