package nacha

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout/bankid"
	"github.com/shopspring/decimal"
)

// Return reason codes are "R" + two digits. Source: NACHA Operating Rules,
// Appendix Four (Return Entries), which assigns R01 to R85.
const (
	MinReturnReason = 1
	MaxReturnReason = 85
)

// MaxReturns bounds the entries ReadReturns accepts from one file, the same
// as the most entries one of payrun's files can hold (MaxFileEntries): a
// bank cannot return more entries than were sent.
const MaxReturns = MaxFileEntries

// Return is one returned entry of an ACH return file.
type Return struct {
	// Line is the line number of the return entry detail record.
	Line int
	// TransactionCode of the return entry: 21 (checking) or 31 (savings) for
	// returned credits and prenotes.
	TransactionCode int
	// AccountNumber is masked (last 4 characters shown, bankid.Mask): the
	// full number is never needed to match a return, which goes by
	// OriginalTrace.
	AccountNumber string
	// Amount in dollars; 0 for a returned prenote.
	Amount       decimal.Decimal
	IndividualID string
	Name         string
	// Trace is the return entry's own trace number (the returning bank's).
	Trace string
	// ReturnCode is the reason, R01..R85 (R03 no account, R04 invalid
	// account number, ...).
	ReturnCode string
	// OriginalTrace is the trace number payrun gave the entry (Writer.Add).
	OriginalTrace string
	// OriginalRDFI is the 8-digit identification of the returning bank.
	OriginalRDFI string
	// DateOfDeath is set for R14/R15 returns, zero otherwise.
	DateOfDeath        time.Time
	AddendaInformation string
	// Class is the standard entry class of the batch (PPD, CCD, ...).
	Class string
}

// ReadReturns parses an ACH return file: batches whose entries are each
// followed by a return addenda record (type 99). It checks the structure,
// the return reason codes (R01-R85), trace numbers, and the file's own
// control totals (batch and file entry/addenda counts, entry hashes, debit
// and credit totals, batch count, block count), and that anything after the
// file control is padding. It accepts what banks send and payrun never
// writes: "\r\n" line ends, a missing last newline, filled settlement dates,
// any service class (200, 220, 225), missing padding.
//
// A notification of change (addenda type 98) is refused with a clear error:
// it is not a return and needs a person to update the payout account.
//
// Errors are *ParseError naming the line (and field), wrapping
// ErrTruncated, ErrRecordLength, ErrRecordOrder, ErrInvalidField,
// ErrMismatch, ErrBlocking or ErrCapacity.
func ReadReturns(r io.Reader) ([]Return, error) {
	rr := &returnReader{scanner: newLineScanner(r, true)}
	return rr.read()
}

type returnReader struct {
	scanner *lineScanner
	returns []Return
	last    int

	// the open batch
	batchOpen    bool
	batchHeader  line
	batchRecords int
	batchHash    int64
	batchDebit   int64
	batchCredit  int64

	// the file so far
	batches int
	records int // entry + addenda records
	hash    int64
	debit   int64
	credit  int64
}

func (rr *returnReader) next() (line, error) {
	l, err := rr.scanner.next()
	if err == nil {
		rr.last = l.number
	}
	return l, err
}

func (rr *returnReader) read() ([]Return, error) {
	first, err := rr.next()
	if errors.Is(err, io.EOF) {
		return nil, lineError(1, ErrTruncated, "the file is empty")
	} else if err != nil {
		return nil, err
	}
	if err := checkReturnFileHeader(first); err != nil {
		return nil, err
	}
	for {
		l, err := rr.next()
		if errors.Is(err, io.EOF) {
			if rr.batchOpen {
				return nil, lineError(rr.last, ErrTruncated, "the file ends after line %d inside a batch, without its batch control (8)", rr.last)
			}
			return nil, lineError(rr.last, ErrTruncated, "the file ends after line %d without a file control record (9)", rr.last)
		} else if err != nil {
			return nil, err
		}
		switch kind := l.text[0]; {
		case kind == batchHeaderRecord && !rr.batchOpen:
			err = rr.startBatch(l)
		case kind == entryRecord && rr.batchOpen:
			err = rr.entry(l)
		case kind == batchControlRecord && rr.batchOpen:
			err = rr.endBatch(l)
		case kind == fileControlRecord && !rr.batchOpen:
			if err := rr.fileControl(l); err != nil {
				return nil, err
			}
			return rr.returns, nil
		case kind == addendaRecord && rr.batchOpen:
			err = lineError(l.number, ErrRecordOrder, "an addenda record that does not follow a return entry")
		case rr.batchOpen:
			err = lineError(l.number, ErrRecordOrder, "%s inside a batch: a return entry (6) or the batch control (8) must come next", recordName(kind))
		default:
			err = lineError(l.number, ErrRecordOrder, "%s outside a batch: a batch header (5) or the file control (9) must come next", recordName(kind))
		}
		if err != nil {
			return nil, err
		}
	}
}

func checkReturnFileHeader(l line) error {
	if l.text[0] != fileHeaderRecord {
		return lineError(l.number, ErrRecordOrder, "the first record must be a file header (1), got %s", recordName(l.text[0]))
	}
	for _, want := range []struct {
		f     field
		value string
	}{{fhRecordSize, "094"}, {fhBlockingFactor, "10"}, {fhFormatCode, "1"}} {
		if got := get(l.text, want.f); got != want.value {
			return fieldLineError(l.number, want.f, ErrInvalidField, "file has %q, NACHA files have %q", got, want.value)
		}
	}
	if _, err := parseDate(l, fhCreationDate); err != nil {
		return err
	}
	return nil
}

func (rr *returnReader) startBatch(l line) error {
	class, err := parseNumber(l, bhServiceClass)
	if err != nil {
		return err
	}
	if class != 200 && class != 220 && class != 225 {
		return fieldLineError(l.number, bhServiceClass, ErrInvalidField, "%d is not a service class (200 mixed, 220 credits, 225 debits)", class)
	}
	if _, err := parseNumber(l, bhBatchNumber); err != nil {
		return err
	}
	if _, err := parseNumber(l, bhODFI); err != nil {
		return err
	}
	rr.batchOpen, rr.batchHeader = true, l
	rr.batchRecords, rr.batchHash, rr.batchDebit, rr.batchCredit = 0, 0, 0, 0
	return nil
}

// entry reads a return entry and the addenda record that must follow it.
func (rr *returnReader) entry(l line) error {
	if len(rr.returns) >= MaxReturns {
		return lineError(l.number, ErrCapacity, "more than %d returns in one file", MaxReturns)
	}
	code, err := parseNumber(l, edTransaction)
	if err != nil {
		return err
	}
	credit, ok := creditCode(int(code))
	if !ok {
		return fieldLineError(l.number, edTransaction, ErrInvalidField, "%02d is not an ACH transaction code", code)
	}
	rdfi, err := parseNumber(l, edRDFI)
	if err != nil {
		return err
	}
	cents, err := parseNumber(l, edAmount)
	if err != nil {
		return err
	}
	if _, err := parseNumber(l, edTrace); err != nil {
		return err
	}
	if get(l.text, edAddendaFlag) != "1" {
		return fieldLineError(l.number, edAddendaFlag, ErrInvalidField, "a return entry carries its return addenda, the indicator must be 1, got %q", get(l.text, edAddendaFlag))
	}
	addenda, err := rr.next()
	if errors.Is(err, io.EOF) {
		return lineError(l.number, ErrTruncated, "the file ends after the return entry on line %d, without its addenda record", l.number)
	} else if err != nil {
		return err
	}
	ret, err := parseReturnAddenda(addenda, get(l.text, edTrace))
	if err != nil {
		return err
	}
	ret.Line = l.number
	ret.TransactionCode = int(code)
	ret.AccountNumber = bankid.Mask(trimmed(l, edAccount))
	ret.Amount = centsToDollars(cents)
	ret.IndividualID = trimmed(l, edIndividualID)
	ret.Name = trimmed(l, edName)
	ret.Trace = get(l.text, edTrace)
	ret.Class = get(rr.batchHeader.text, bhClass)
	rr.returns = append(rr.returns, ret)

	rr.batchRecords += 2
	rr.batchHash = (rr.batchHash + rdfi) % entryHashModulus
	if credit {
		rr.batchCredit += cents
	} else {
		rr.batchDebit += cents
	}
	return nil
}

// creditCode reports whether an ACH transaction code moves money to the
// receiver (credit) and whether it is a code at all (Appendix Three:
// 2x checking, 3x savings, 4x general ledger, 5x loan; x = 1-4 credits,
// 6-9 debits; 55 is a loan reversal debit).
func creditCode(code int) (credit, ok bool) {
	family, kind := code/10, code%10
	if family < 2 || family > 5 {
		return false, false
	}
	switch {
	case kind >= 1 && kind <= 4:
		return true, true
	case kind >= 6 && kind <= 9, code == 55:
		return false, true
	}
	return false, false
}

func parseReturnAddenda(l line, entryTrace string) (Return, error) {
	var ret Return
	if l.text[0] != addendaRecord {
		return ret, lineError(l.number, ErrRecordOrder, "%s after a return entry: its addenda record (7) must come next", recordName(l.text[0]))
	}
	switch kind := get(l.text, raAddendaType); kind {
	case ReturnAddendaType:
	case NoticeOfChangeAddendaType:
		return ret, fieldLineError(l.number, raAddendaType, ErrInvalidField,
			"a notification of change (addenda 98) is not a return; payrun does not process NOCs, update the payout account by hand")
	default:
		return ret, fieldLineError(l.number, raAddendaType, ErrInvalidField, "%q is not a return addenda (99)", kind)
	}
	ret.ReturnCode = get(l.text, raReturnCode)
	if !validReturnCode(ret.ReturnCode) {
		return ret, fieldLineError(l.number, raReturnCode, ErrInvalidField, "%q is not a return reason code R%02d-R%02d", ret.ReturnCode, MinReturnReason, MaxReturnReason)
	}
	if _, err := parseNumber(l, raOriginalTrace); err != nil {
		return ret, err
	}
	ret.OriginalTrace = get(l.text, raOriginalTrace)
	if death := get(l.text, raDateOfDeath); death != "      " {
		date, err := parseDate(l, raDateOfDeath)
		if err != nil {
			return ret, err
		}
		ret.DateOfDeath = date
	}
	if _, err := parseNumber(l, raOriginalRDFI); err != nil {
		return ret, err
	}
	ret.OriginalRDFI = get(l.text, raOriginalRDFI)
	ret.AddendaInformation = trimmed(l, raInformation)
	if trace := get(l.text, raTrace); trace != entryTrace {
		return ret, fieldLineError(l.number, raTrace, ErrMismatch, "file has %q, the return entry's trace number is %q", trace, entryTrace)
	}
	return ret, nil
}

func validReturnCode(code string) bool {
	if len(code) != 3 || code[0] != 'R' || !isDigits(code[1:]) {
		return false
	}
	n, _ := strconv.Atoi(code[1:])
	return n >= MinReturnReason && n <= MaxReturnReason
}

// compare checks one control field against its recomputed value.
func compare(l line, f field, recomputed int64) error {
	got, err := parseNumber(l, f)
	if err != nil {
		return err
	}
	if got != recomputed {
		return fieldLineError(l.number, f, ErrMismatch, "file has %0*d, recomputed %0*d", f.width(), got, f.width(), recomputed)
	}
	return nil
}

func (rr *returnReader) endBatch(l line) error {
	if rr.batchRecords == 0 {
		return lineError(l.number, ErrRecordOrder, "a batch without return entries")
	}
	header := rr.batchHeader
	for _, same := range []struct{ control, header field }{
		{bcServiceClass, bhServiceClass}, {bcBatchNumber, bhBatchNumber},
	} {
		if got, want := get(l.text, same.control), get(header.text, same.header); got != want {
			return fieldLineError(l.number, same.control, ErrMismatch, "file has %q, the batch header on line %d has %q", got, header.number, want)
		}
	}
	checks := []struct {
		f     field
		value int64
	}{
		{bcEntryCount, int64(rr.batchRecords)},
		{bcEntryHash, rr.batchHash},
		{bcTotalDebit, rr.batchDebit},
		{bcTotalCredit, rr.batchCredit},
	}
	for _, c := range checks {
		if err := compare(l, c.f, c.value); err != nil {
			return err
		}
	}
	rr.batchOpen = false
	rr.batches++
	rr.records += rr.batchRecords
	rr.hash = (rr.hash + rr.batchHash) % entryHashModulus
	rr.debit += rr.batchDebit
	rr.credit += rr.batchCredit
	return nil
}

// fileControl checks the file control and reads the padding after it.
func (rr *returnReader) fileControl(l line) error {
	lines := l.number
	for {
		pad, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if pad.text != paddingRecord {
			return lineError(pad.number, ErrRecordOrder, "%s after the file control: only padding (all 9s) may follow it", recordName(pad.text[0]))
		}
		if pad.number-l.number >= BlockingFactor {
			return lineError(pad.number, ErrBlocking, "more padding records than a block needs")
		}
		lines = pad.number
	}
	blocks := int64((lines + BlockingFactor - 1) / BlockingFactor)
	checks := []struct {
		f     field
		value int64
	}{
		{fcBatchCount, int64(rr.batches)},
		{fcBlockCount, blocks},
		{fcEntryCount, int64(rr.records)},
		{fcEntryHash, rr.hash},
		{fcTotalDebit, rr.debit},
		{fcTotalCredit, rr.credit},
	}
	for _, c := range checks {
		if err := compare(l, c.f, c.value); err != nil {
			return err
		}
	}
	return nil
}

// ReturnRequest asks WriteReturnFile to return one original entry.
type ReturnRequest struct {
	// Trace is the trace number of the entry being returned.
	Trace string
	// Code is the return reason, R01..R85.
	Code string
	// DateOfDeath for R14/R15; zero otherwise.
	DateOfDeath time.Time
	// AddendaInformation, at most 44 characters, transliterated.
	AddendaInformation string
}

// WriteReturnFile writes the ACH return file a bank would send back for some
// entries of original: one batch per standard entry class and returning bank
// (RDFI), each return entry (code 21 or 31, the original amount, account,
// id and name) followed by its return addenda (type 99, reason code,
// original trace number, original RDFI), with control totals and padding.
// It exists to fabricate bank files for tests, demos and the simulator
// (SPEC §10); production return files come from the bank.
// Errors: *fielderr.Error for a bad request (unknown or repeated trace number,
// bad reason code, addenda information too long), the io.Writer's error.
func WriteReturnFile(w io.Writer, original *File, created time.Time, requests []ReturnRequest) (Totals, error) {
	if original == nil {
		return Totals{}, fmt.Errorf("nacha: WriteReturnFile needs the original file: %w", ErrSequence)
	}
	if err := checkDate(fileHeaderRecord, fhCreationDate, created); err != nil {
		return Totals{}, err
	}
	entries := make(map[string]FileEntry)
	classes := make(map[string]string)
	for _, b := range original.Batches {
		for _, e := range b.Entries {
			entries[e.Trace] = e
			classes[e.Trace] = b.Class
		}
	}
	type group struct {
		class, rdfi string
		requests    []ReturnRequest
	}
	var groups []*group
	byKey := make(map[string]*group)
	seen := make(map[string]bool)
	for _, req := range requests {
		e, ok := entries[req.Trace]
		if !ok {
			return Totals{}, fieldError(addendaRecord, raOriginalTrace, fielderr.Invalid, nil, "%q is not the trace number of an entry in the original file", req.Trace)
		}
		if seen[req.Trace] {
			return Totals{}, fieldError(addendaRecord, raOriginalTrace, fielderr.Duplicate, nil, "%q is returned twice", req.Trace)
		}
		seen[req.Trace] = true
		if !validReturnCode(req.Code) {
			return Totals{}, fieldError(addendaRecord, raReturnCode, fielderr.Invalid, nil, "%q is not a return reason code R%02d-R%02d", req.Code, MinReturnReason, MaxReturnReason)
		}
		if info := Transliterate(req.AddendaInformation); len(info) > AddendaInformationMaxLength {
			return Totals{}, fieldError(addendaRecord, raInformation, fielderr.TooLong, nil, "is %d characters, the field holds %d", len(info), AddendaInformationMaxLength)
		}
		if !req.DateOfDeath.IsZero() {
			if err := checkDate(addendaRecord, raDateOfDeath, req.DateOfDeath); err != nil {
				return Totals{}, err
			}
		}
		key := classes[req.Trace] + e.RoutingNumber[:8]
		g := byKey[key]
		if g == nil {
			g = &group{class: classes[req.Trace], rdfi: e.RoutingNumber[:8]}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.requests = append(g.requests, req)
	}

	o := original.Header.Originator
	var lines []*record
	r := newRecord(fileHeaderRecord)
	r.text(fhPriority, "01")
	r.text(fhDestination, o.ImmediateOrigin)
	r.text(fhOrigin, " "+o.ImmediateDestination)
	r.text(fhCreationDate, created.Format("060102"))
	r.text(fhCreationTime, created.Format("1504"))
	r.text(fhIDModifier, "A")
	r.text(fhRecordSize, "094")
	r.text(fhBlockingFactor, "10")
	r.text(fhFormatCode, "1")
	r.text(fhDestinationName, o.ImmediateOriginName)
	r.text(fhOriginName, o.ImmediateDestinationName)
	lines = append(lines, r)

	odfiCheck, err := bankid.ABACheckDigit(o.ODFIRouting)
	if err != nil {
		return Totals{}, fmt.Errorf("nacha: original file's ODFI: %w", err)
	}
	odfi, _ := strconv.ParseInt(o.ODFIRouting, 10, 64)
	var totals Totals
	var fileCredit int64
	sequence := 0
	for number, g := range groups {
		r := newRecord(batchHeaderRecord)
		r.text(bhServiceClass, ServiceClassCredits)
		r.text(bhCompanyName, o.CompanyName)
		r.text(bhCompanyID, o.CompanyID)
		r.text(bhClass, g.class)
		r.text(bhDescription, o.CompanyEntryDescription)
		r.text(bhEffectiveDate, created.Format("060102"))
		r.text(bhOriginatorState, "1")
		r.text(bhODFI, g.rdfi)
		r.number(bhBatchNumber, int64(number+1))
		lines = append(lines, r)
		var batchCredit int64
		for _, req := range g.requests {
			e := entries[req.Trace]
			sequence++
			trace := traceNumber(g.rdfi, sequence)
			code := CodeCheckingReturn
			if e.AccountType == Savings {
				code = CodeSavingsReturn
			}
			cents := e.Amount.Shift(2).IntPart()
			r := newRecord(entryRecord)
			r.number(edTransaction, int64(code))
			r.text(edRDFI, o.ODFIRouting)
			r[edCheckDigit.start-1] = odfiCheck
			r.text(edAccount, e.AccountNumber)
			r.number(edAmount, cents)
			r.text(edIndividualID, e.IndividualID)
			r.text(edName, Transliterate(e.Name))
			r.text(edDiscretionary, e.DiscretionaryData)
			r.text(edAddendaFlag, "1")
			r.text(edTrace, trace)
			a := newRecord(addendaRecord)
			a.text(raAddendaType, ReturnAddendaType)
			a.text(raReturnCode, req.Code)
			a.text(raOriginalTrace, req.Trace)
			if !req.DateOfDeath.IsZero() {
				a.text(raDateOfDeath, req.DateOfDeath.Format("060102"))
			}
			a.text(raOriginalRDFI, e.RoutingNumber[:8])
			a.text(raInformation, Transliterate(req.AddendaInformation))
			a.text(raTrace, trace)
			lines = append(lines, r, a)
			batchCredit += cents
		}
		batchHash := odfi * int64(len(g.requests)) % entryHashModulus
		c := newRecord(batchControlRecord)
		c.text(bcServiceClass, ServiceClassCredits)
		c.number(bcEntryCount, int64(2*len(g.requests)))
		c.number(bcEntryHash, batchHash)
		c.number(bcTotalDebit, 0)
		c.number(bcTotalCredit, batchCredit)
		c.text(bcCompanyID, o.CompanyID)
		c.text(bcODFI, g.rdfi)
		c.number(bcBatchNumber, int64(number+1))
		lines = append(lines, c)
		totals.Entries += 2 * len(g.requests)
		totals.EntryHash = (totals.EntryHash + batchHash) % entryHashModulus
		fileCredit += batchCredit
	}
	totals.Batches = len(groups)
	totals.Blocks = (len(lines) + 1 + BlockingFactor - 1) / BlockingFactor
	totals.Records = totals.Blocks * BlockingFactor
	totals.TotalCredit = centsToDollars(fileCredit)
	c := newRecord(fileControlRecord)
	c.number(fcBatchCount, int64(totals.Batches))
	c.number(fcBlockCount, int64(totals.Blocks))
	c.number(fcEntryCount, int64(totals.Entries))
	c.number(fcEntryHash, totals.EntryHash)
	c.number(fcTotalDebit, 0)
	c.number(fcTotalCredit, fileCredit)
	lines = append(lines, c)
	for _, r := range lines {
		if _, err := io.WriteString(w, r.String()+"\n"); err != nil {
			return Totals{}, err
		}
	}
	for i := len(lines); i < totals.Records; i++ {
		if _, err := io.WriteString(w, paddingRecord+"\n"); err != nil {
			return Totals{}, err
		}
	}
	return totals, nil
}
