package nacha

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/fielderr"
)

// Totals summarise a written (or read) file; they are what its file control
// record says, and what a manifest lists (SPEC §6.2).
type Totals struct {
	// Records counts every record, padding included (Blocks × 10).
	Records int
	Batches int
	// Entries counts entry detail and addenda records (payrun writes no
	// addenda, so: entries).
	Entries int
	// EntryHash is the rightmost 10 digits of the sum of the 8-digit RDFI
	// identifications.
	EntryHash int64
	// TotalCredit is the sum of the credit amounts, in dollars.
	TotalCredit decimal.Decimal
	Blocks      int
}

// Writer streams a NACHA file: records go to the io.Writer as they are
// produced, so memory stays flat however many entries are added. Use it as
//
//	w, err := NewWriter(out, header)
//	w.StartBatch(ClassPPD, date, "")
//	trace, err := w.Add(entry) // repeatedly
//	w.EndBatch()
//	// more batches
//	totals, err := w.Close()
//
// A validation error from Add, StartBatch or EndBatch writes nothing and
// leaves the Writer usable; an error from the io.Writer is final and is
// returned by every later call. A Writer is not safe for concurrent use.
type Writer struct {
	out      io.Writer
	buffered *bufio.Writer // flushed by Close; nil when writing through
	header   FileHeader    // as written (normalised)
	err      error         // sticky I/O error
	closed   bool

	batch   *batchState // the open batch, nil between batches
	records int         // records written so far, padding excluded
	batches int         // batches completed
	entries int
	hash    int64
	credit  int64 // cents
}

type batchState struct {
	class         string
	effectiveDate time.Time
	discretionary string
	number        int
	headerWritten bool
	entries       int
	hash          int64
	credit        int64
}

// NewWriter validates the header and writes the file header record. w is
// written through a buffer that Close flushes.
// Errors: *fielderr.Error (ErrInvalidField) for a bad header; the io.Writer's
// error.
func NewWriter(w io.Writer, header FileHeader) (*Writer, error) {
	buffered := bufio.NewWriterSize(w, 64*(RecordLength+1))
	writer, err := newWriter(buffered, header)
	if err != nil {
		return nil, err
	}
	writer.buffered = buffered
	return writer, nil
}

func newWriter(out io.Writer, header FileHeader) (*Writer, error) {
	normal, err := header.normalized()
	if err != nil {
		return nil, err
	}
	w := &Writer{out: out, header: normal}
	o := normal.Originator
	r := newRecord(fileHeaderRecord)
	r.text(fhPriority, "01")
	r.text(fhDestination, " "+o.ImmediateDestination)
	r.text(fhOrigin, o.ImmediateOrigin)
	r.text(fhCreationDate, normal.FileCreation.Format("060102"))
	r.text(fhCreationTime, normal.FileCreation.Format("1504"))
	r[fhIDModifier.start-1] = normal.FileIDModifier
	r.text(fhRecordSize, "094")
	r.text(fhBlockingFactor, "10")
	r.text(fhFormatCode, "1")
	r.text(fhDestinationName, o.ImmediateDestinationName)
	r.text(fhOriginName, o.ImmediateOriginName)
	if err := w.write(r); err != nil {
		return nil, err
	}
	return w, nil
}

// StartBatch opens a batch of entries of one standard entry class, ClassPPD
// (individuals) or ClassCCD (companies), to settle on effectiveEntryDate (a
// calendar date, not before the file creation date). discretionary is the
// 20-character company discretionary data, usually "". The batch header is
// written with the batch's first entry, so an empty batch leaves no trace.
// Errors: ErrSequence, *fielderr.Error, ErrCapacity.
func (w *Writer) StartBatch(class string, effectiveEntryDate time.Time, discretionary string) error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.batch != nil {
		return fmt.Errorf("nacha: StartBatch with batch %d still open: %w", w.batch.number, ErrSequence)
	}
	if class != ClassPPD && class != ClassCCD {
		return fieldError(batchHeaderRecord, bhClass, fielderr.Invalid, nil, "must be %s or %s, got %q", ClassPPD, ClassCCD, class)
	}
	if err := checkDate(batchHeaderRecord, bhEffectiveDate, effectiveEntryDate); err != nil {
		return err
	}
	if !sameOrLaterDate(effectiveEntryDate, w.header.FileCreation) {
		return fieldError(batchHeaderRecord, bhEffectiveDate, fielderr.Range, nil, "%s is before the file creation date %s",
			effectiveEntryDate.Format(time.DateOnly), w.header.FileCreation.Format(time.DateOnly))
	}
	text, err := freeText(batchHeaderRecord, bhDiscretionary, discretionary, false)
	if err != nil {
		return err
	}
	if w.batches+1 > MaxBatches {
		return fmt.Errorf("nacha: more than %d batches in one file: %w", MaxBatches, ErrCapacity)
	}
	w.batch = &batchState{class: class, effectiveDate: effectiveEntryDate, discretionary: text, number: w.batches + 1}
	return nil
}

// Add writes one entry to the open batch and returns its trace number: the
// ODFI identification followed by a 7-digit sequence counted across the
// whole file from 1.
// Errors: ErrSequence; *fielderr.Error (ErrInvalidField) naming the entry field,
// e.g. an amount above MaxEntryAmount, negative or with fractions of a cent,
// or a routing number failing its checksum; ErrCapacity when a count or
// control total would overflow its field; the io.Writer's error.
func (w *Writer) Add(e Entry) (trace string, err error) {
	if err := w.usable(); err != nil {
		return "", err
	}
	b := w.batch
	if b == nil {
		return "", fmt.Errorf("nacha: Add outside a batch (call StartBatch first): %w", ErrSequence)
	}
	v, err := e.values()
	if err != nil {
		return "", err
	}
	switch {
	case b.entries+1 > MaxBatchEntries:
		return "", fmt.Errorf("nacha: more than %d entries in batch %d: %w", MaxBatchEntries, b.number, ErrCapacity)
	case w.entries+1 > MaxFileEntries:
		return "", fmt.Errorf("nacha: more than %d entries in one file (7-digit trace sequence): %w", MaxFileEntries, ErrCapacity)
	case b.credit+v.cents > MaxControlAmountCents:
		return "", fmt.Errorf("nacha: batch %d credit total would exceed $%s (12-digit control total): %w",
			b.number, dollars(centsToDollars(MaxControlAmountCents)), ErrCapacity)
	case w.credit+v.cents > MaxControlAmountCents:
		return "", fmt.Errorf("nacha: file credit total would exceed $%s (12-digit control total): %w",
			dollars(centsToDollars(MaxControlAmountCents)), ErrCapacity)
	case w.records+w.pendingRecords()+1 > MaxRecords:
		return "", fmt.Errorf("nacha: more than %d records (6-digit block count): %w", MaxRecords, ErrCapacity)
	}
	if !b.headerWritten {
		if err := w.write(w.batchHeader()); err != nil {
			return "", err
		}
		b.headerWritten = true
	}
	trace = traceNumber(w.header.Originator.ODFIRouting, w.entries+1)
	r := newRecord(entryRecord)
	r.number(edTransaction, int64(v.code))
	r.text(edRDFI, v.rdfi)
	r[edCheckDigit.start-1] = v.checkDigit
	r.text(edAccount, v.account)
	r.number(edAmount, v.cents)
	r.text(edIndividualID, v.individualID)
	r.text(edName, v.name)
	r.text(edDiscretionary, v.discretionary)
	r.text(edAddendaFlag, "0")
	r.text(edTrace, trace)
	if err := w.write(r); err != nil {
		return "", err
	}
	rdfi := int64(0)
	for i := 0; i < len(v.rdfi); i++ {
		rdfi = rdfi*10 + int64(v.rdfi[i]-'0')
	}
	b.entries++
	b.hash = (b.hash + rdfi) % entryHashModulus
	b.credit += v.cents
	w.entries++
	return trace, nil
}

// pendingRecords are the records still owed for what is open: the open
// batch's header and control, and the file control.
func (w *Writer) pendingRecords() int {
	pending := 1 // file control
	if w.batch != nil {
		pending++ // batch control
		if !w.batch.headerWritten {
			pending++
		}
	}
	return pending
}

func (w *Writer) batchHeader() *record {
	o, b := w.header.Originator, w.batch
	r := newRecord(batchHeaderRecord)
	r.text(bhServiceClass, ServiceClassCredits)
	r.text(bhCompanyName, o.CompanyName)
	r.text(bhDiscretionary, b.discretionary)
	r.text(bhCompanyID, o.CompanyID)
	r.text(bhClass, b.class)
	r.text(bhDescription, o.CompanyEntryDescription)
	r.text(bhEffectiveDate, b.effectiveDate.Format("060102"))
	r.text(bhOriginatorState, "1")
	r.text(bhODFI, o.ODFIRouting)
	r.number(bhBatchNumber, int64(b.number))
	return r
}

// EndBatch writes the open batch's control record: its entry count, entry
// hash, total debit (always 0) and total credit.
// Errors: ErrSequence; ErrEmptyBatch (the batch is discarded: nothing was
// written for it and its number is reused); the io.Writer's error.
func (w *Writer) EndBatch() error {
	if err := w.usable(); err != nil {
		return err
	}
	b := w.batch
	if b == nil {
		return fmt.Errorf("nacha: EndBatch without an open batch: %w", ErrSequence)
	}
	if b.entries == 0 {
		w.batch = nil
		return fmt.Errorf("nacha: batch %d discarded: %w", b.number, ErrEmptyBatch)
	}
	o := w.header.Originator
	r := newRecord(batchControlRecord)
	r.text(bcServiceClass, ServiceClassCredits)
	r.number(bcEntryCount, int64(b.entries))
	r.number(bcEntryHash, b.hash)
	r.number(bcTotalDebit, 0)
	r.number(bcTotalCredit, b.credit)
	r.text(bcCompanyID, o.CompanyID)
	r.text(bcODFI, o.ODFIRouting)
	r.number(bcBatchNumber, int64(b.number))
	if err := w.write(r); err != nil {
		return err
	}
	w.batch = nil
	w.batches++
	w.hash = (w.hash + b.hash) % entryHashModulus
	w.credit += b.credit
	return nil
}

// Close writes the file control record and the padding to a whole block,
// flushes, and returns the file's totals. The Writer cannot be used after a
// successful Close; it does not close the io.Writer.
// Errors: ErrSequence (a batch is still open, or already closed);
// ErrNoBatches; the io.Writer's error.
func (w *Writer) Close() (Totals, error) {
	if err := w.usable(); err != nil {
		return Totals{}, err
	}
	if w.batch != nil {
		return Totals{}, fmt.Errorf("nacha: Close with batch %d still open (call EndBatch): %w", w.batch.number, ErrSequence)
	}
	if w.batches == 0 {
		return Totals{}, fmt.Errorf("nacha: %w", ErrNoBatches)
	}
	records := w.records + 1
	blocks := (records + BlockingFactor - 1) / BlockingFactor
	r := newRecord(fileControlRecord)
	r.number(fcBatchCount, int64(w.batches))
	r.number(fcBlockCount, int64(blocks))
	r.number(fcEntryCount, int64(w.entries))
	r.number(fcEntryHash, w.hash)
	r.number(fcTotalDebit, 0)
	r.number(fcTotalCredit, w.credit)
	if err := w.write(r); err != nil {
		return Totals{}, err
	}
	for w.records < blocks*BlockingFactor {
		if err := w.writeLine(paddingRecord); err != nil {
			return Totals{}, err
		}
	}
	if w.buffered != nil {
		if err := w.buffered.Flush(); err != nil {
			w.err = err
			return Totals{}, err
		}
	}
	w.closed = true
	return Totals{
		Records:     w.records,
		Batches:     w.batches,
		Entries:     w.entries,
		EntryHash:   w.hash,
		TotalCredit: centsToDollars(w.credit),
		Blocks:      blocks,
	}, nil
}

func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("nacha: writer already closed: %w", ErrSequence)
	}
	return nil
}

func (w *Writer) write(r *record) error { return w.writeLine(r.String()) }

func (w *Writer) writeLine(line string) error {
	if _, err := io.WriteString(w.out, line+"\n"); err != nil {
		w.err = fmt.Errorf("nacha: writing record %d: %w", w.records+1, err)
		return w.err
	}
	w.records++
	return nil
}
