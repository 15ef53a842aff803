package paypal

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/payrun/payrun/internal/csvlimit"
	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/internal/textcheck"
	"github.com/shopspring/decimal"
)

// Payout item transaction statuses (PayPal Payouts API v1 reference,
// payout_item.transaction_status).
const (
	StatusSuccess   = "SUCCESS"
	StatusPending   = "PENDING"
	StatusUnclaimed = "UNCLAIMED"
	StatusFailed    = "FAILED"
	StatusReturned  = "RETURNED"
	StatusBlocked   = "BLOCKED"
	StatusRefunded  = "REFUNDED"
	StatusReversed  = "REVERSED"
	StatusOnHold    = "ONHOLD"
	StatusDenied    = "DENIED"
)

// knownStatuses maps every known status to whether it is a return whatever
// its age. UNCLAIMED is special-cased in IsReturn.
var knownStatuses = map[string]bool{
	StatusSuccess: false, StatusPending: false, StatusUnclaimed: false, StatusOnHold: false,
	StatusFailed: true, StatusReturned: true, StatusBlocked: true,
	StatusRefunded: true, StatusReversed: true, StatusDenied: true,
}

// UnclaimedReturnAfter is how long an UNCLAIMED payout may wait before payrun
// treats it as returned: PayPal returns an unclaimed payout to the sender
// after 30 days (SPEC §6.3, "UNCLAIMED after 30 days").
const UnclaimedReturnAfter = 30 * 24 * time.Hour

// MaxStatusRecords bounds one status import: payrun's own limit, well above
// one cycle's PayPal payouts.
const MaxStatusRecords = 1_000_000

// MaxCSVRecordBytes bounds one record of a status CSV, however many lines a
// quoted field spans (see internal/csvlimit): a record is a few hundred
// bytes; PayPal's free-text reasons stay far below 64 KiB.
const MaxCSVRecordBytes = 64 << 10

// ErrStatusSyntax wraps problems with the file as a whole (not JSON, no or a
// wrong CSV header, too many records).
var ErrStatusSyntax = errors.New("unreadable status file")

// Status is the state of one payout item as PayPal reports it.
type Status struct {
	SenderItemID string
	// PayoutItemID is PayPal's item id (JSON imports only).
	PayoutItemID      string
	TransactionStatus string
	Amount            decimal.Decimal
	Currency          string
	// ProcessedAt is time_processed; zero when PayPal gave none (only
	// allowed for statuses other than UNCLAIMED).
	ProcessedAt time.Time
	// Reason is the CSV reason column, or errors.name (else errors.message)
	// in the API JSON.
	Reason string
}

// IsReturn reports whether the payout came back and must be credited to the
// publisher's balance (SPEC §6.3): FAILED, RETURNED, BLOCKED, REFUNDED,
// REVERSED and DENIED always; UNCLAIMED once it was processed more than
// UnclaimedReturnAfter before now. now is passed in: no clock is read here.
func (s Status) IsReturn(now time.Time) bool {
	if s.TransactionStatus == StatusUnclaimed {
		return !s.ProcessedAt.IsZero() && now.Sub(s.ProcessedAt) > UnclaimedReturnAfter
	}
	return knownStatuses[s.TransactionStatus]
}

// RecordError is one bad value in a status import: a location wrapper
// around the field error. Line is set for CSV (1 is the header), Item
// (0-based) for JSON; Field.Path is the CSV column, or the JSON path inside
// the item ("payout_item.amount.value"), "record" when the CSV record itself
// is unreadable.
type RecordError struct {
	Line  int
	Item  int
	Field *fielderr.Error
}

func (e *RecordError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("paypal status: line %d, %s", e.Line, e.Field)
	}
	return fmt.Sprintf("paypal status: items[%d].%s", e.Item, e.Field)
}

// Unwrap returns the field error.
func (e *RecordError) Unwrap() error { return e.Field }

// ParseStatuses reads PayPal item statuses from either the Payouts API
// batch-details JSON (GET /v1/payments/payouts/{id}: batch_header + items)
// or a CSV with the header
//
//	sender_item_id,transaction_status,amount,currency,time_processed[,reason]
//
// (columns in any order, reason optional). A document starting with '{' is
// JSON, anything else CSV. The import is all or nothing: if any record is
// bad, no statuses are returned and the error joins one *RecordError per
// problem (at most 100), naming the CSV line or JSON item and the field.
// Statuses are returned in file order; duplicates are kept.
//
// Each record needs a sender_item_id, a known transaction_status, an amount
// > 0 with no more decimals than its ISO 4217 currency allows, and a
// time_processed in RFC 3339 (required for UNCLAIMED, optional otherwise).
// Errors: ErrStatusSyntax and joined *RecordError values.
func ParseStatuses(r io.Reader) ([]Status, error) {
	reader := bufio.NewReader(r)
	first, err := firstSignificantByte(reader)
	if err != nil {
		return nil, fmt.Errorf("paypal status: %w: %w", ErrStatusSyntax, err)
	}
	if first == '{' {
		return parseJSON(reader)
	}
	return parseCSV(reader)
}

// firstSignificantByte skips a UTF-8 byte-order mark and white space and
// returns the next byte without consuming it.
func firstSignificantByte(reader *bufio.Reader) (byte, error) {
	if bom, err := reader.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = reader.Discard(3)
	}
	for {
		b, err := reader.ReadByte()
		if err == io.EOF {
			return 0, errors.New("empty file")
		}
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, reader.UnreadByte()
		}
	}
}

type batchDetails struct {
	BatchHeader json.RawMessage `json:"batch_header"`
	Items       *[]detailItem   `json:"items"`
}

type detailItem struct {
	PayoutItemID      string `json:"payout_item_id"`
	TransactionStatus string `json:"transaction_status"`
	PayoutItem        struct {
		SenderItemID string `json:"sender_item_id"`
		Amount       struct {
			Value    string `json:"value"`
			Currency string `json:"currency"`
		} `json:"amount"`
		Receiver string `json:"receiver"`
	} `json:"payout_item"`
	TimeProcessed string `json:"time_processed"`
	Errors        *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"errors"`
}

func parseJSON(r io.Reader) ([]Status, error) {
	var details batchDetails
	decoder := json.NewDecoder(r)
	decoder.UseNumber()
	if err := decoder.Decode(&details); err != nil {
		return nil, fmt.Errorf("paypal status: %w: JSON: %w", ErrStatusSyntax, err)
	}
	if details.Items == nil {
		return nil, fmt.Errorf("paypal status: %w: JSON has no \"items\" array", ErrStatusSyntax)
	}
	items := *details.Items
	if len(items) > MaxStatusRecords {
		return nil, fmt.Errorf("paypal status: %w: %d items, more than %d", ErrStatusSyntax, len(items), MaxStatusRecords)
	}
	var problems problemList
	statuses := make([]Status, 0, len(items))
	for i, item := range items {
		reason := ""
		if item.Errors != nil {
			reason = item.Errors.Name
			if reason == "" {
				reason = item.Errors.Message
			}
		}
		status, fieldErrs := buildStatus(rawStatus{
			senderItemID: item.PayoutItem.SenderItemID,
			status:       item.TransactionStatus,
			amount:       item.PayoutItem.Amount.Value,
			currency:     item.PayoutItem.Amount.Currency,
			processed:    item.TimeProcessed,
			reason:       reason,
		}, jsonFields)
		status.PayoutItemID = item.PayoutItemID
		for _, fe := range fieldErrs {
			if !problems.add(&RecordError{Item: i, Field: fe}) {
				break
			}
		}
		statuses = append(statuses, status)
	}
	if err := problems.err(); err != nil {
		return nil, err
	}
	return statuses, nil
}

// CSV column names.
const (
	columnSenderItemID  = "sender_item_id"
	columnStatus        = "transaction_status"
	columnAmount        = "amount"
	columnCurrency      = "currency"
	columnTimeProcessed = "time_processed"
	columnReason        = "reason"
)

func parseCSV(r io.Reader) ([]Status, error) {
	limit := csvlimit.NewReader(r, MaxCSVRecordBytes)
	reader := csv.NewReader(limit)
	reader.ReuseRecord = true
	header, err := reader.Read()
	if err != nil {
		return nil, fmt.Errorf("paypal status: %w: CSV header: %w", ErrStatusSyntax, err)
	}
	columns := map[string]int{}
	for i, name := range header {
		name = strings.TrimSpace(name)
		switch name {
		case columnSenderItemID, columnStatus, columnAmount, columnCurrency, columnTimeProcessed, columnReason:
		default:
			return nil, fmt.Errorf("paypal status: %w: CSV header: unknown column %q", ErrStatusSyntax, name)
		}
		if _, dup := columns[name]; dup {
			return nil, fmt.Errorf("paypal status: %w: CSV header: column %q twice", ErrStatusSyntax, name)
		}
		columns[name] = i
	}
	for _, required := range []string{columnSenderItemID, columnStatus, columnAmount, columnCurrency, columnTimeProcessed} {
		if _, ok := columns[required]; !ok {
			return nil, fmt.Errorf("paypal status: %w: CSV header: missing column %q", ErrStatusSyntax, required)
		}
	}
	column := func(record []string, name string) string {
		i, ok := columns[name]
		if !ok {
			return ""
		}
		return strings.TrimSpace(record[i])
	}

	var problems problemList
	var statuses []Status
	for {
		record, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			err = limit.Cause(err)
			var tooLong *csvlimit.RecordTooLongError
			if errors.As(err, &tooLong) {
				problems.add(&RecordError{Line: tooLong.Line, Field: &fielderr.Error{Path: "record", Code: fielderr.TooLong, Message: err.Error(), Err: err}})
				break
			}
			// FieldPos is only defined for a record that was read: a
			// quoting error carries its own line.
			var parseErr *csv.ParseError
			if !errors.As(err, &parseErr) {
				return nil, fmt.Errorf("paypal status: %w: CSV: %w", ErrStatusSyntax, err)
			}
			if !problems.add(&RecordError{Line: parseErr.Line, Field: &fielderr.Error{Path: "record", Code: fielderr.Invalid, Message: parseErr.Err.Error(), Err: parseErr.Err}}) {
				break
			}
			if errors.Is(parseErr.Err, csv.ErrFieldCount) {
				continue
			}
			break // a quoting error leaves the reader out of step
		}
		line, _ := reader.FieldPos(0)
		if len(statuses) == MaxStatusRecords {
			return nil, fmt.Errorf("paypal status: %w: more than %d records", ErrStatusSyntax, MaxStatusRecords)
		}
		status, fieldErrs := buildStatus(rawStatus{
			senderItemID: column(record, columnSenderItemID),
			status:       column(record, columnStatus),
			amount:       column(record, columnAmount),
			currency:     column(record, columnCurrency),
			processed:    column(record, columnTimeProcessed),
			reason:       column(record, columnReason),
		}, csvFields)
		for _, fe := range fieldErrs {
			if !problems.add(&RecordError{Line: line, Field: fe}) {
				break
			}
		}
		statuses = append(statuses, status)
	}
	if err := problems.err(); err != nil {
		return nil, err
	}
	return statuses, nil
}

type rawStatus struct {
	senderItemID, status, amount, currency, processed, reason string
}

// fieldNames names the fields in error messages, per format.
type fieldNames struct {
	senderItemID, status, amount, currency, processed string
}

var (
	csvFields  = fieldNames{columnSenderItemID, columnStatus, columnAmount, columnCurrency, columnTimeProcessed}
	jsonFields = fieldNames{"payout_item.sender_item_id", "transaction_status", "payout_item.amount.value", "payout_item.amount.currency", "time_processed"}
)

func buildStatus(raw rawStatus, names fieldNames) (Status, []*fielderr.Error) {
	var errs []*fielderr.Error
	fail := func(field, code string, format string, args ...any) {
		errs = append(errs, fielderr.Newf(field, code, format, args...))
	}
	status := Status{
		SenderItemID:      raw.senderItemID,
		TransactionStatus: raw.status,
		Currency:          raw.currency,
		Reason:            raw.reason,
	}
	if raw.senderItemID == "" {
		fail(names.senderItemID, fielderr.Required, "empty")
	} else if problem := textcheck.Problem(raw.senderItemID); problem != "" {
		fail(names.senderItemID, fielderr.Character, "%s", problem) // SPEC §11: no control characters in any text
	}
	if problem := textcheck.Problem(raw.reason); problem != "" {
		fail(columnReason, fielderr.Character, "%s", problem)
	}
	if _, known := knownStatuses[raw.status]; !known {
		fail(names.status, fielderr.Invalid, "unknown status %q", raw.status)
	}
	places, currencyErr := money.MinorUnit(raw.currency)
	if currencyErr != nil {
		fail(names.currency, fielderr.Invalid, "%v", currencyErr)
	}
	amount, err := money.ParseAmount(raw.amount)
	switch {
	case err != nil:
		fail(names.amount, fielderr.Invalid, "%q: %v", raw.amount, err)
	case !amount.IsPositive():
		fail(names.amount, fielderr.Range, "%q is not positive", raw.amount)
	case currencyErr == nil && !amount.Equal(amount.Truncate(places)):
		fail(names.amount, fielderr.Invalid, "%q has more than the %d decimals of %s", raw.amount, places, raw.currency)
	default:
		status.Amount = amount
	}
	if raw.processed != "" {
		processed, err := time.Parse(time.RFC3339, raw.processed)
		if err != nil {
			fail(names.processed, fielderr.Invalid, "%q is not an RFC 3339 time", raw.processed)
		}
		status.ProcessedAt = processed
	} else if raw.status == StatusUnclaimed {
		fail(names.processed, fielderr.Required, "required for UNCLAIMED (the 30-day return clock starts there)")
	}
	return status, errs
}

// problemList collects field errors up to maxReportedErrors.
type problemList struct{ errs []error }

// add records e and reports whether there is room for more.
func (p *problemList) add(e *RecordError) bool {
	p.errs = append(p.errs, e)
	return len(p.errs) < maxReportedErrors
}

func (p *problemList) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return errors.Join(p.errs...)
}
