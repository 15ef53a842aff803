package returns

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/paypal"
)

// File formats Import recognises.
const (
	FormatACH        = "ach"
	FormatPayPalCSV  = "paypal-csv"
	FormatPayPalJSON = "paypal-json"
)

// MaxFileBytes bounds one file read into memory: 64 MiB holds about 350,000
// ACH returns (two 95-byte records each), several times the most payments a
// cycle sends (the 100k-payout benchmark), and far more PayPal statuses.
const MaxFileBytes = 64 << 20

// maxProblems bounds the problems one refusal lists: enough to fix a file,
// short enough to read.
const maxProblems = 100

// Actor is recorded as the author of the payout account events an import
// writes.
const Actor = "returns-import"

// LedgerKind is the journal kind of the reversing entry of a returned
// payment; its reference is the payment id, so one payment is reversed at
// most once.
const LedgerKind = "payout_return"

// lockKey serialises imports: two imports of the same file must not both
// find a return new ("RETN" in ASCII).
const lockKey int64 = 0x5245544e

// ErrRefused: the file was refused whole; nothing was changed. Returned
// wrapped in a *FileError.
var ErrRefused = errors.New("return file refused")

// Problem is one reason a file was refused: where (an ACH or CSV line, a
// JSON item), which field, and why.
type Problem struct {
	Where  string `json:"where"`           // "line 12", "items[3]", "file"
	Field  string `json:"field,omitempty"` // e.g. "amount", "original entry trace number"
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Where + ": " + p.Reason
	}
	return p.Where + ", " + p.Field + ": " + p.Reason
}

// FileError is a refused file with every problem found (at most 100).
type FileError struct {
	Name     string
	Format   string
	Problems []Problem
	// Err is the parser's error when the file could not be read at all
	// (*nacha.ParseError, paypal.ErrStatusSyntax, joined *paypal.RecordError).
	Err error
}

func (e *FileError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	noun := "problems"
	if len(parts) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("returns: %q refused, nothing imported (%d %s): %s", e.Name, len(parts), noun, strings.Join(parts, "; "))
}

// Unwrap gives ErrRefused and the parser's error, if any.
func (e *FileError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRefused}
	}
	return []error{ErrRefused, e.Err}
}

// Result reports an import.
type Result struct {
	File   string `json:"file"`
	Format string `json:"format"`
	// Records read: ACH return entries, PayPal statuses.
	Records int `json:"records"`
	// Returned payments recorded by this import and the USD credited back.
	Returned    int             `json:"returned"`
	ReturnedUSD decimal.Decimal `json:"returned_usd"`
	// PrenotesReturned: returned prenotes recorded (accounts rejected).
	PrenotesReturned int `json:"prenotes_returned"`
	// Skipped: PayPal statuses that are not returns (SUCCESS, PENDING,
	// ONHOLD, UNCLAIMED for 30 days or less).
	Skipped int `json:"skipped"`
	// Duplicates: returns already recorded (by an earlier import or earlier
	// in this file); nothing was changed for them.
	Duplicates int               `json:"duplicates"`
	Payments   []ReturnedPayment `json:"payments"`
	Prenotes   []ReturnedPrenote `json:"prenotes"`
}

// ReturnedPayment is a payment this import recorded as returned.
type ReturnedPayment struct {
	PaymentID string `json:"payment_id"`
	// ItemID is the PayPal item that came back when the payment was sent
	// as several items (AmountUSD is then that item's share alone).
	ItemID          string          `json:"item_id,omitempty"`
	Month           string          `json:"month"`
	AccountID       int64           `json:"account_id"`
	PayoutAccountID int64           `json:"payout_account_id"`
	AmountUSD       decimal.Decimal `json:"amount_usd"`
	Reason          string          `json:"reason"`
	// NeedsUpdate is true when this import moved the payout account to
	// needs_update (false when it already was needs_update or rejected).
	NeedsUpdate bool `json:"needs_update"`
}

// ReturnedPrenote is a prenote this import recorded as returned.
type ReturnedPrenote struct {
	PayoutAccountID int64  `json:"payout_account_id"`
	ReturnCode      string `json:"return_code"`
	// Rejected is true when this import moved the payout account to
	// rejected.
	Rejected bool `json:"rejected"`
}

// record is one return or status read from a file, in a common shape.
type record struct {
	where      string // of the entry / CSV line / JSON item
	traceWhere string // ACH: the addenda line holding the original trace
	fields     fieldNames
	id         string // individual id (ACH) or sender_item_id (PayPal)
	trace      string // ACH original entry trace number
	amount     decimal.Decimal
	currency   string // PayPal only; ACH is USD
	isReturn   bool
	reason     string // R-code or PayPal status
	detail     string // addenda information, PayPal reason
	returnedAt time.Time
}

type fieldNames struct{ id, trace, amount, currency string }

var (
	achFields        = fieldNames{"individual identification number", "original entry trace number", "amount", ""}
	payPalCSVFields  = fieldNames{"sender_item_id", "", "amount", "currency"}
	payPalJSONFields = fieldNames{"payout_item.sender_item_id", "", "payout_item.amount.value", "payout_item.amount.currency"}
)

// Import reads a return file and records its returns, all in one
// transaction (SPEC §6.3). See the package documentation for the formats,
// the matching rules and what a return changes.
// Errors: *FileError (wrapping ErrRefused) for a file that cannot be read
// or names a payment or prenote that does not match; the database's error.
// On any error nothing was changed.
func Import(ctx context.Context, database *sqlx.DB, clock func() time.Time, source io.Reader, name string) (Result, error) {
	now := clock().UTC()
	result := Result{File: name, ReturnedUSD: decimal.Zero, Payments: []ReturnedPayment{}, Prenotes: []ReturnedPrenote{}}
	body, err := io.ReadAll(io.LimitReader(source, MaxFileBytes+1))
	if err != nil {
		return result, fmt.Errorf("returns: read %s: %w", name, err)
	}
	if len(body) > MaxFileBytes {
		return result, &FileError{Name: name, Problems: []Problem{{Where: "file", Reason: fmt.Sprintf("larger than %d bytes", MaxFileBytes)}}}
	}
	records, format, err := parse(body, name, now)
	result.Format = format
	if err != nil {
		return result, err
	}
	result.Records = len(records)
	err = db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			return apply(ctx, tx, now, name, format, records, &result)
		})
	})
	if err != nil {
		failed := Result{File: name, Format: format, Records: len(records), ReturnedUSD: decimal.Zero, Payments: []ReturnedPayment{}, Prenotes: []ReturnedPrenote{}}
		return failed, err
	}
	return result, nil
}

// parse detects the format and reads every record. An ACH file starts with
// its file header record ("1"), a PayPal API document with "{"; anything
// else is read as PayPal CSV.
func parse(body []byte, name string, now time.Time) ([]record, string, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(body, []byte{0xEF, 0xBB, 0xBF}), " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '1':
		return parseACH(body, name)
	case len(trimmed) > 0 && trimmed[0] == '{':
		return parsePayPal(body, name, FormatPayPalJSON, now)
	default:
		return parsePayPal(body, name, FormatPayPalCSV, now)
	}
}

func parseACH(body []byte, name string) ([]record, string, error) {
	returns, err := nacha.ReadReturns(bytes.NewReader(body))
	if err != nil {
		problem := Problem{Where: "file", Reason: err.Error()}
		var parseErr *nacha.ParseError
		if errors.As(err, &parseErr) {
			problem = Problem{Where: "line " + strconv.Itoa(parseErr.Line), Field: parseErr.Field, Reason: parseErr.Reason}
			if parseErr.Field != "" {
				problem.Field = fmt.Sprintf("%s (positions %d-%d)", parseErr.Field, parseErr.Start, parseErr.End)
			}
		}
		return nil, FormatACH, &FileError{Name: name, Format: FormatACH, Problems: []Problem{problem}, Err: err}
	}
	created := fileCreation(body)
	records := make([]record, len(returns))
	for i, r := range returns {
		records[i] = record{
			where:      "line " + strconv.Itoa(r.Line),
			traceWhere: "line " + strconv.Itoa(r.Line+1),
			fields:     achFields,
			id:         r.IndividualID,
			trace:      r.OriginalTrace,
			amount:     r.Amount,
			currency:   "USD",
			isReturn:   true,
			reason:     r.ReturnCode,
			detail:     r.AddendaInformation,
			returnedAt: created,
		}
	}
	return records, FormatACH, nil
}

// fileCreation reads the return file's creation date and time (file header
// positions 24-33, YYMMDD HHMM, taken as UTC): when the bank returned the
// entries. ReadReturns has checked the date; a blank or bad time counts as
// midnight.
func fileCreation(body []byte) time.Time {
	header := body
	if i := bytes.IndexByte(body, '\n'); i >= 0 {
		header = body[:i]
	}
	if len(header) < 33 {
		return time.Time{}
	}
	if t, err := time.Parse("0601021504", string(header[23:33])); err == nil {
		return t.UTC()
	}
	t, _ := time.Parse("060102", string(header[23:29]))
	return t.UTC()
}

func parsePayPal(body []byte, name, format string, now time.Time) ([]record, string, error) {
	statuses, err := paypal.ParseStatuses(bytes.NewReader(body))
	if err != nil {
		refusal := &FileError{Name: name, Format: format, Err: err}
		var fieldErrs []error
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			fieldErrs = joined.Unwrap()
		}
		for _, e := range fieldErrs {
			var re *paypal.RecordError
			if !errors.As(e, &re) {
				continue
			}
			where := fmt.Sprintf("items[%d]", re.Item)
			if re.Line > 0 {
				where = "line " + strconv.Itoa(re.Line)
			}
			refusal.Problems = append(refusal.Problems, Problem{Where: where, Field: re.Field.Path, Reason: re.Field.Message})
		}
		if len(refusal.Problems) == 0 {
			refusal.Problems = []Problem{{Where: "file", Reason: err.Error()}}
		}
		return nil, format, refusal
	}
	var lines []int
	fields := payPalJSONFields
	if format == FormatPayPalCSV {
		fields = payPalCSVFields
		lines = csvLines(body, len(statuses))
	}
	records := make([]record, len(statuses))
	for i, s := range statuses {
		where := fmt.Sprintf("items[%d]", i)
		if format == FormatPayPalCSV {
			where = fmt.Sprintf("record %d", i+1)
			if lines != nil {
				where = "line " + strconv.Itoa(lines[i])
			}
		}
		returnedAt := s.ProcessedAt.UTC()
		switch {
		case s.TransactionStatus == paypal.StatusUnclaimed:
			returnedAt = returnedAt.Add(paypal.UnclaimedReturnAfter)
		case s.ProcessedAt.IsZero():
			returnedAt = now
		}
		records[i] = record{
			where:      where,
			fields:     fields,
			id:         s.SenderItemID,
			amount:     s.Amount,
			currency:   s.Currency,
			isReturn:   s.IsReturn(now),
			reason:     s.TransactionStatus,
			detail:     s.Reason,
			returnedAt: returnedAt,
		}
	}
	return records, format, nil
}

// csvLines finds the line of each CSV record (ParseStatuses returns them in
// order without their lines), or nil when the count does not come out the
// same (then records are named by their number).
func csvLines(body []byte, want int) []int {
	reader := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte{0xEF, 0xBB, 0xBF})))
	reader.ReuseRecord = true
	if _, err := reader.Read(); err != nil {
		return nil
	}
	lines := make([]int, 0, want)
	for {
		_, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil
		}
		line, _ := reader.FieldPos(0)
		lines = append(lines, line)
	}
	if len(lines) != want {
		return nil
	}
	return lines
}

// sentPayment is a payments row with what a return needs, or one PayPal
// item of a split payment (itemID set; amounts the item's).
type sentPayment struct {
	paymentID       string
	itemID          string // the item's sender_item_id; "" for a whole payment
	items           int    // how many items the payment was sent as (0: one, its own id)
	month           time.Time
	accountID       int64
	rail            string
	amountUSD       decimal.Decimal
	currency        string
	amount          decimal.Decimal // in currency
	trace           string
	payoutAccountID int64
	returned        bool
}

// sentPrenote is a prenotes row.
type sentPrenote struct {
	id              int64
	payoutAccountID int64
	trace           string
	returned        bool
}

// apply matches every record, refuses the file on any problem, and records
// the returns.
func apply(ctx context.Context, tx pgx.Tx, now time.Time, name, format string, records []record, result *Result) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
		return err
	}
	ids := make([]string, 0, len(records))
	seen := map[string]bool{}
	for _, r := range records {
		if !seen[r.id] {
			seen[r.id] = true
			ids = append(ids, r.id)
		}
	}
	payments, err := loadPayments(ctx, tx, ids)
	if err != nil {
		return err
	}
	prenotes := map[string]sentPrenote{}
	if format == FormatACH {
		if prenotes, err = loadPrenotes(ctx, tx, ids); err != nil {
			return err
		}
	}

	// Match everything first: a file is accepted whole or not at all.
	var problems []Problem
	problem := func(where, field, reason string, args ...any) {
		if len(problems) < maxProblems {
			problems = append(problems, Problem{Where: where, Field: field, Reason: fmt.Sprintf(reason, args...)})
		}
	}
	firstReturn := map[string]string{} // id → where, ACH only
	for _, r := range records {
		if format == FormatACH {
			if earlier, ok := firstReturn[r.id]; ok {
				problem(r.where, r.fields.id, "%q is returned twice in this file (also %s)", r.id, earlier)
				continue
			}
			firstReturn[r.id] = r.where
		}
		if p, ok := payments[r.id]; ok {
			matchPayment(r, p, format, problem)
			continue
		}
		if p, ok := prenotes[r.id]; ok {
			if r.trace != p.trace {
				problem(r.traceWhere, r.fields.trace, "file has %s, the prenote of payout account %d went out with trace %s", r.trace, p.payoutAccountID, p.trace)
			}
			if !r.amount.IsZero() {
				problem(r.where, r.fields.amount, "a prenote carries no money, the return says %s", r.amount.StringFixed(2))
			}
			continue
		}
		if format == FormatACH {
			problem(r.where, r.fields.id, "%q is neither a payment payrun sent nor one of its prenotes", r.id)
		} else {
			problem(r.where, r.fields.id, "%q is not a payment payrun sent", r.id)
		}
	}
	if len(problems) > 0 {
		return &FileError{Name: name, Format: format, Problems: problems}
	}

	// Lock the payout accounts whose state may change, in one order.
	var accountIDs []int64
	for _, r := range records {
		if !r.isReturn {
			continue
		}
		if p, ok := payments[r.id]; ok {
			accountIDs = append(accountIDs, p.payoutAccountID)
		} else if p, ok := prenotes[r.id]; ok {
			accountIDs = append(accountIDs, p.payoutAccountID)
		}
	}
	sort.Slice(accountIDs, func(a, b int) bool { return accountIDs[a] < accountIDs[b] })
	if len(accountIDs) > 0 {
		if _, err := tx.Exec(ctx, `SELECT id FROM payout_accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE`, accountIDs); err != nil {
			return err
		}
	}

	for _, r := range records {
		if !r.isReturn {
			result.Skipped++
			continue
		}
		if p, ok := payments[r.id]; ok {
			if p.returned {
				result.Duplicates++
				continue
			}
			returned, err := returnPayment(ctx, tx, now, name, format, r, p)
			if err != nil {
				return err
			}
			p.returned = true
			payments[r.id] = p
			result.Returned++
			result.ReturnedUSD = result.ReturnedUSD.Add(p.amountUSD)
			result.Payments = append(result.Payments, returned)
			continue
		}
		p := prenotes[r.id]
		if p.returned {
			result.Duplicates++
			continue
		}
		returned, err := returnPrenote(ctx, tx, now, name, r, p)
		if err != nil {
			return err
		}
		p.returned = true
		prenotes[r.id] = p
		result.PrenotesReturned++
		result.Prenotes = append(result.Prenotes, returned)
	}
	return nil
}

// matchPayment checks a record against the payment it names.
func matchPayment(r record, p sentPayment, format string, problem func(where, field, reason string, args ...any)) {
	wantRail := "paypal"
	if format == FormatACH {
		wantRail = "ach"
	}
	if p.rail != wantRail {
		problem(r.where, r.fields.id, "payment %s was sent by %s, not %s", p.paymentID, p.rail, wantRail)
		return
	}
	if p.items > 0 {
		problem(r.where, r.fields.id, "payment %s was sent as %d PayPal items (%s to %s): a status names one of them",
			p.paymentID, p.items, payout.PayPalItemID(p.paymentID, 1), payout.PayPalItemID(p.paymentID, p.items))
		return
	}
	if format == FormatACH && r.trace != p.trace {
		problem(r.traceWhere, r.fields.trace, "file has %s, payment %s went out with trace %s", r.trace, p.paymentID, p.trace)
	}
	if r.currency != p.currency {
		problem(r.where, r.fields.currency, "file has %s, payment %s was sent in %s", r.currency, p.paymentID, p.currency)
		return
	}
	if !r.amount.Equal(p.amount) {
		what := "payment " + p.paymentID
		if p.itemID != "" {
			what = "item " + p.itemID
		}
		problem(r.where, r.fields.amount, "file has %s %s, %s was %s %s", amountText(r.amount, r.currency), r.currency, what, amountText(p.amount, p.currency), p.currency)
	}
}

// amountText writes an amount with its currency's decimals ("102.50").
func amountText(amount decimal.Decimal, currency string) string {
	places, err := money.MinorUnit(currency)
	if err != nil {
		return amount.String()
	}
	return amount.StringFixed(places)
}

// loadPayments finds the payments and PayPal items the ids name, by id: a
// payment by its payment id, an item of a split payment by its
// sender_item_id (payment_items), with the item's amounts.
func loadPayments(ctx context.Context, tx pgx.Tx, ids []string) (map[string]sentPayment, error) {
	rows, err := tx.Query(ctx, `
		SELECT p.payment_id, '', (SELECT count(*) FROM payment_items i WHERE i.payment_id = p.payment_id), p.month, p.account_id, p.rail,
		       p.amount_usd, p.currency, p.amount_in_currency, coalesce(p.trace, ''), o.payout_account_id,
		       EXISTS (SELECT 1 FROM payout_returns r WHERE r.month = p.month AND r.account_id = p.account_id AND r.item_id IS NULL)
		FROM payments p
		JOIN payouts o ON o.month = p.month AND o.account_id = p.account_id
		WHERE p.payment_id = ANY($1)
		UNION ALL
		SELECT p.payment_id, i.item_id, 0, p.month, p.account_id, p.rail,
		       i.amount_usd, p.currency, i.amount_in_currency, '', o.payout_account_id,
		       EXISTS (SELECT 1 FROM payout_returns r WHERE r.item_id = i.item_id)
		FROM payment_items i
		JOIN payments p ON p.payment_id = i.payment_id
		JOIN payouts o ON o.month = p.month AND o.account_id = p.account_id
		WHERE i.item_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	payments := map[string]sentPayment{}
	for rows.Next() {
		var p sentPayment
		if err := rows.Scan(&p.paymentID, &p.itemID, &p.items, &p.month, &p.accountID, &p.rail, &p.amountUSD, &p.currency, &p.amount, &p.trace,
			&p.payoutAccountID, &p.returned); err != nil {
			return nil, err
		}
		payments[p.id()] = p
	}
	return payments, rows.Err()
}

// id is what a return file names: the item's sender_item_id, or the
// payment id.
func (p sentPayment) id() string {
	if p.itemID != "" {
		return p.itemID
	}
	return p.paymentID
}

func loadPrenotes(ctx context.Context, tx pgx.Tx, ids []string) (map[string]sentPrenote, error) {
	rows, err := tx.Query(ctx, `
		SELECT p.individual_id, p.id, p.payout_account_id, p.trace, r.id IS NOT NULL
		FROM prenotes p LEFT JOIN prenote_returns r ON r.prenote_id = p.id
		WHERE p.individual_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	prenotes := map[string]sentPrenote{}
	for rows.Next() {
		var id string
		var p sentPrenote
		if err := rows.Scan(&id, &p.id, &p.payoutAccountID, &p.trace, &p.returned); err != nil {
			return nil, err
		}
		prenotes[id] = p
	}
	return prenotes, rows.Err()
}

// returnPayment records one returned payment: the payout_returns row the
// next close reads into the opening non-US balance, the reversing journal
// entry, and needs_update on the payout account that was paid.
func returnPayment(ctx context.Context, tx pgx.Tx, now time.Time, name, format string, r record, p sentPayment) (ReturnedPayment, error) {
	source := "paypal"
	if format == FormatACH {
		source = "ach"
	}
	var trace, itemID any
	if r.trace != "" {
		trace = r.trace
	}
	if p.itemID != "" {
		itemID = p.itemID
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO payout_returns (month, account_id, amount_usd, reason, source, returned_at, recorded_at, payment_id, original_trace, source_file, detail, item_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		p.month, p.accountID, p.amountUSD, r.reason, source, r.returnedAt, now, p.paymentID, trace, name, r.detail, itemID); err != nil {
		return ReturnedPayment{}, fmt.Errorf("record return of %s: %w", p.id(), err)
	}
	// The money comes back out of transit into what payrun owes the
	// publisher, in the non-US part: it was withheld on when it was paid.
	if _, err := ledger.Post(ctx, tx, ledger.Transaction{
		Kind:      LedgerKind,
		Reference: p.id(),
		PostedAt:  now,
		Postings: []ledger.Posting{
			{LedgerAccount: ledger.PaymentsInTransit, Amount: p.amountUSD.Neg()},
			{LedgerAccount: ledger.PublisherAccount(p.accountID, false), Amount: p.amountUSD},
		},
	}); err != nil {
		return ReturnedPayment{}, err
	}
	changed, err := transition(ctx, tx, now, p.payoutAccountID, payout.Verified, payout.NeedsUpdate, r.reason)
	if err != nil {
		return ReturnedPayment{}, err
	}
	return ReturnedPayment{PaymentID: p.paymentID, ItemID: p.itemID, Month: payout.MonthName(p.month), AccountID: p.accountID, PayoutAccountID: p.payoutAccountID,
		AmountUSD: p.amountUSD, Reason: r.reason, NeedsUpdate: changed}, nil
}

// returnPrenote records a returned prenote and rejects its payout account.
func returnPrenote(ctx context.Context, tx pgx.Tx, now time.Time, name string, r record, p sentPrenote) (ReturnedPrenote, error) {
	if _, err := tx.Exec(ctx, `
		INSERT INTO prenote_returns (prenote_id, return_code, detail, source_file, returned_at, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.id, r.reason, r.detail, name, r.returnedAt, now); err != nil {
		return ReturnedPrenote{}, fmt.Errorf("record return of the prenote of payout account %d: %w", p.payoutAccountID, err)
	}
	// A late return can find the account already verified by the waiting
	// period: the bank's answer wins.
	changed, err := transition(ctx, tx, now, p.payoutAccountID, payout.PendingVerification, payout.Rejected, r.reason)
	if err != nil {
		return ReturnedPrenote{}, err
	}
	if !changed {
		changed, err = transition(ctx, tx, now, p.payoutAccountID, payout.Verified, payout.Rejected, r.reason)
		if err != nil {
			return ReturnedPrenote{}, err
		}
	}
	return ReturnedPrenote{PayoutAccountID: p.payoutAccountID, ReturnCode: r.reason, Rejected: changed}, nil
}

// transition records status `to` for a payout account whose current status
// is `from` (a transition store.RecordVerification allows) and reports
// whether it did; any other current status is left alone (needs_update and
// rejected are final, so a second return records nothing).
func transition(ctx context.Context, tx pgx.Tx, now time.Time, payoutAccountID int64, from, to, reason string) (bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO payout_account_events (payout_account_id, status, at, actor, reason)
		SELECT $1, $3, $4, $5, $6
		WHERE (SELECT status FROM payout_account_events WHERE payout_account_id = $1 ORDER BY at DESC, id DESC LIMIT 1) = $2`,
		payoutAccountID, from, to, now, Actor, reason)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}
