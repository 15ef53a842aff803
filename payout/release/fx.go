package release

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/payrun/payrun/internal/csvlimit"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/internal/textcheck"
)

// FXHeader is the header of an FX rates file: units of currency per USD.
const FXHeader = "currency,rate,date,source"

// MaxFXRows bounds an FX file (there are fewer than 200 currencies).
const MaxFXRows = 500

// MaxFXRecordBytes bounds one CSV record of an FX file, however many lines
// a quoted field spans (see internal/csvlimit): a rate is under 100 bytes.
const MaxFXRecordBytes = 4096

// ErrFXConflict is returned when a currency already has another rate for
// the cycle and the cycle has started closing: rates can be replaced only
// until then (see ImportFXRates).
var ErrFXConflict = errors.New("the cycle already has another rate for this currency")

// parseFX reads an FX rates file (FXHeader) whole and checks every line
// before anything touches the database: all problems are listed, one per
// line ("line N, column C: reason").
func parseFX(r io.Reader) ([]fxRate, error) {
	limit := csvlimit.NewReader(r, MaxFXRecordBytes)
	reader := csv.NewReader(limit)
	reader.FieldsPerRecord = 4
	header, err := reader.Read()
	if err != nil || strings.Join(header, ",") != FXHeader {
		return nil, fmt.Errorf("line 1: header must be %s", FXHeader)
	}
	var rates []fxRate
	var problems []string
	seen := map[string]int{}
	for line := 2; ; line++ {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line, limit.Cause(err))
		}
		if line > MaxFXRows+1 {
			return nil, fmt.Errorf("line %d: more than %d rates", line, MaxFXRows)
		}
		currency := strings.ToUpper(strings.TrimSpace(record[0]))
		bad := func(column, reason string) {
			problems = append(problems, fmt.Sprintf("line %d, column %s: %s", line, column, reason))
		}
		switch {
		case currency == "USD":
			bad("currency", "USD is the book currency (rate 1)")
		case !money.KnownCurrency(currency):
			bad("currency", fmt.Sprintf("%q is not a currency payrun pays in", record[0]))
		case seen[currency] > 0:
			bad("currency", fmt.Sprintf("%s repeats line %d", currency, seen[currency]))
		}
		seen[currency] = line
		value, problem := ParseRate(record[1])
		if problem != "" {
			bad("rate", problem)
		}
		date, err := time.Parse(time.DateOnly, strings.TrimSpace(record[2]))
		if err != nil {
			bad("date", fmt.Sprintf("%q is not YYYY-MM-DD", record[2]))
		}
		source := strings.TrimSpace(record[3])
		if source == "" {
			bad("source", "required (where the rate comes from)")
		} else if problem := textcheck.Problem(source); problem != "" {
			bad("source", problem)
		}
		rates = append(rates, fxRate{line, currency, value, date, source})
	}
	if len(problems) > 0 {
		return nil, errors.New("FX rates refused, nothing loaded:\n  " + strings.Join(problems, "\n  "))
	}
	return rates, nil
}
