package nacha

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/fielderr"
)

// File is a NACHA file as Read parsed it. Writing it again (WriteTo) gives
// the bytes it was read from.
type File struct {
	Header  FileHeader
	Batches []Batch
	Totals  Totals
}

// Batch is one batch of a file read.
type Batch struct {
	Number             int
	Class              string // ClassPPD or ClassCCD
	EffectiveEntryDate time.Time
	Discretionary      string
	Entries            []FileEntry
	EntryHash          int64
	TotalCredit        decimal.Decimal
}

// FileEntry is an entry read back, with the trace number it was given and
// the line it was on.
type FileEntry struct {
	Entry
	Trace string
	Line  int
}

// Read parses a NACHA file that payrun wrote, checking all of it: every
// record 94 characters and "\n"-terminated, record order (file header,
// batches of header + entries + control, file control, padding), every field
// valid for what payrun writes, and every control field recomputed from the
// entries — batch and file entry counts, entry hashes, debit and credit
// totals, batch count, batch numbers, trace numbers, block count — and the
// padding to a whole block.
//
// It is strict by design: it reads the file back before it is sent (SPEC
// §6.2: recompute totals in pairs), so any difference from what the writer
// would produce for the values read is an error. Every error is a
// *ParseError naming the line and, when one is to blame, the field and its
// positions; it wraps ErrTruncated, ErrRecordLength, ErrRecordOrder,
// ErrMismatch, ErrBlocking, ErrInvalidField, ErrCapacity or ErrNoBatches.
// Bank files (returns) are read by ReadReturns instead.
func Read(r io.Reader) (*File, error) {
	rd := &fileReader{scanner: newLineScanner(r, false)}
	return rd.read()
}

type fileReader struct {
	scanner *lineScanner
	writer  *Writer
	out     bytes.Buffer // what the writer produced, not yet compared
	pending []line       // input records waiting for the writer's output
	file    File
	last    int // number of the last line read
}

func (rd *fileReader) next() (line, error) {
	l, err := rd.scanner.next()
	if err == nil {
		rd.last = l.number
	}
	return l, err
}

func (rd *fileReader) read() (*File, error) {
	first, err := rd.next()
	if errors.Is(err, io.EOF) {
		return nil, lineError(1, ErrTruncated, "the file is empty")
	} else if err != nil {
		return nil, err
	}
	if first.text[0] != fileHeaderRecord {
		return nil, lineError(1, ErrRecordOrder, "the first record must be a file header (1), got %s", recordName(first.text[0]))
	}
	second, err := rd.next()
	if errors.Is(err, io.EOF) {
		return nil, lineError(1, ErrTruncated, "the file ends after the file header")
	} else if err != nil {
		return nil, err
	}
	if second.text[0] == fileControlRecord {
		return nil, lineError(2, ErrNoBatches, "a file control right after the file header: payrun never writes a file without batches")
	}
	if second.text[0] != batchHeaderRecord {
		return nil, lineError(2, ErrRecordOrder, "a batch header (5) must follow the file header, got %s", recordName(second.text[0]))
	}
	header, err := parseFileHeader(first, second)
	if err != nil {
		return nil, err
	}
	rd.writer, err = newWriter(&rd.out, header)
	if err != nil {
		return nil, rd.blame(err, first, second)
	}
	rd.file.Header = rd.writer.header
	rd.pending = append(rd.pending, first)
	if err := rd.match(); err != nil {
		return nil, err
	}
	if err := rd.startBatch(second); err != nil {
		return nil, err
	}
	for {
		l, err := rd.next()
		if errors.Is(err, io.EOF) {
			return nil, rd.truncated()
		} else if err != nil {
			return nil, err
		}
		inBatch := rd.writer.batch != nil
		switch kind := l.text[0]; {
		case kind == entryRecord && inBatch:
			err = rd.entry(l)
		case kind == batchControlRecord && inBatch:
			err = rd.endBatch(l)
		case kind == batchHeaderRecord && !inBatch:
			err = rd.startBatch(l)
		case kind == fileControlRecord && !inBatch:
			return rd.close(l)
		case kind == addendaRecord && inBatch:
			err = lineError(l.number, ErrRecordOrder, "an addenda record: payrun writes entries without addenda (indicator 0)")
		case inBatch:
			err = lineError(l.number, ErrRecordOrder, "%s inside batch %d: an entry (6) or the batch control (8) must come next", recordName(kind), rd.writer.batch.number)
		default:
			err = lineError(l.number, ErrRecordOrder, "%s after a batch control: a batch header (5) or the file control (9) must come next", recordName(kind))
		}
		if err != nil {
			return nil, err
		}
	}
}

func (rd *fileReader) truncated() error {
	if b := rd.writer.batch; b != nil {
		return lineError(rd.last, ErrTruncated, "the file ends after line %d inside batch %d, without its batch control (8) or the file control (9)", rd.last, b.number)
	}
	return lineError(rd.last, ErrTruncated, "the file ends after line %d without a file control record (9)", rd.last)
}

// parseFileHeader reads the header fields from the file header and the
// originator fields that live in the first batch header.
func parseFileHeader(first, second line) (FileHeader, error) {
	var h FileHeader
	date, err := parseDate(first, fhCreationDate)
	if err != nil {
		return h, err
	}
	clock := get(first.text, fhCreationTime)
	hhmm, err := time.Parse("1504", clock)
	if err != nil || !isDigits(clock) {
		return h, fieldLineError(first.number, fhCreationTime, ErrInvalidField, "%q is not a time HHMM", clock)
	}
	h.FileCreation = date.Add(time.Duration(hhmm.Hour())*time.Hour + time.Duration(hhmm.Minute())*time.Minute)
	h.FileIDModifier = first.text[fhIDModifier.start-1]
	h.Originator = Originator{
		ImmediateDestination:     get(first.text, fhDestination)[1:],
		ImmediateDestinationName: trimmed(first, fhDestinationName),
		ImmediateOrigin:          get(first.text, fhOrigin),
		ImmediateOriginName:      trimmed(first, fhOriginName),
		CompanyName:              trimmed(second, bhCompanyName),
		CompanyID:                get(second.text, bhCompanyID),
		CompanyEntryDescription:  trimmed(second, bhDescription),
		ODFIRouting:              get(second.text, bhODFI),
	}
	return h, nil
}

func (rd *fileReader) startBatch(l line) error {
	date, err := parseDate(l, bhEffectiveDate)
	if err != nil {
		return err
	}
	if err := rd.writer.StartBatch(get(l.text, bhClass), date, trimmed(l, bhDiscretionary)); err != nil {
		return rd.blame(err, l, l)
	}
	b := rd.writer.batch
	rd.file.Batches = append(rd.file.Batches, Batch{
		Number: b.number, Class: b.class, EffectiveEntryDate: date, Discretionary: b.discretionary,
	})
	rd.pending = append(rd.pending, l)
	return nil
}

func (rd *fileReader) entry(l line) error {
	code, err := parseNumber(l, edTransaction)
	if err != nil {
		return err
	}
	kind, account, ok := kindOf(int(code))
	if !ok {
		return fieldLineError(l.number, edTransaction, ErrInvalidField, "%02d is not a code payrun writes (%d, %d, %d, %d)",
			code, CodeCheckingCredit, CodeCheckingPrenote, CodeSavingsCredit, CodeSavingsPrenote)
	}
	cents, err := parseNumber(l, edAmount)
	if err != nil {
		return err
	}
	e := Entry{
		Kind:              kind,
		AccountType:       account,
		RoutingNumber:     get(l.text, edRoutingNumber),
		AccountNumber:     trimmed(l, edAccount),
		Amount:            centsToDollars(cents),
		IndividualID:      trimmed(l, edIndividualID),
		Name:              trimmed(l, edName),
		DiscretionaryData: trimmed(l, edDiscretionary),
	}
	trace, err := rd.writer.Add(e)
	if err != nil {
		return rd.blame(err, l, l)
	}
	rd.pending = append(rd.pending, l)
	if err := rd.match(); err != nil {
		return err
	}
	b := &rd.file.Batches[len(rd.file.Batches)-1]
	b.Entries = append(b.Entries, FileEntry{Entry: e, Trace: trace, Line: l.number})
	return nil
}

func (rd *fileReader) endBatch(l line) error {
	state := *rd.writer.batch
	if err := rd.writer.EndBatch(); err != nil {
		if errors.Is(err, ErrEmptyBatch) {
			return lineError(l.number, ErrEmptyBatch, "batch %d has no entries", state.number)
		}
		return rd.blame(err, l, l)
	}
	rd.pending = append(rd.pending, l)
	if err := rd.match(); err != nil {
		return err
	}
	b := &rd.file.Batches[len(rd.file.Batches)-1]
	b.EntryHash, b.TotalCredit = state.hash, centsToDollars(state.credit)
	return nil
}

// close handles the file control record and the padding after it.
func (rd *fileReader) close(control line) (*File, error) {
	rd.pending = append(rd.pending, control)
	// At most BlockingFactor-1 padding records can follow; read one more to
	// notice extra records without reading an unbounded tail.
	for i := 0; i < BlockingFactor; i++ {
		l, err := rd.next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		rd.pending = append(rd.pending, l)
	}
	totals, err := rd.writer.Close()
	if err != nil {
		return nil, rd.blame(err, control, control)
	}
	if err := rd.match(); err != nil {
		return nil, err
	}
	if len(rd.pending) > 0 {
		extra := rd.pending[0]
		if extra.text != paddingRecord {
			return nil, lineError(extra.number, ErrRecordOrder, "%s after the file control: only padding (all 9s) may follow it", recordName(extra.text[0]))
		}
		return nil, lineError(extra.number, ErrBlocking, "one padding record too many: %d records make %d blocks of %d",
			totals.Records, totals.Blocks, BlockingFactor)
	}
	if rd.out.Len() > 0 {
		missing := rd.out.Len() / (RecordLength + 1)
		return nil, lineError(rd.last, ErrBlocking, "the file ends at line %d, but %d blocks of %d records need %d lines: %d padding record(s) missing",
			rd.last, totals.Blocks, BlockingFactor, totals.Records, missing)
	}
	rd.file.Totals = totals
	return &rd.file, nil
}

// match compares what the writer produced for the values read with the
// records they were read from.
func (rd *fileReader) match() error {
	for rd.out.Len() >= RecordLength+1 && len(rd.pending) > 0 {
		produced := string(rd.out.Next(RecordLength + 1)[:RecordLength])
		input := rd.pending[0]
		rd.pending = rd.pending[1:]
		if produced != input.text {
			return mismatch(input, produced)
		}
	}
	return nil
}

// mismatch names the first field where a record differs from what it should
// be.
func mismatch(input line, produced string) error {
	if produced == paddingRecord {
		if input.text[0] == fileControlRecord {
			f := paddingRecordLayout[0]
			return fieldLineError(input.number, f, ErrMismatch, "file has %q, expected 94 nines", input.text)
		}
		return lineError(input.number, ErrRecordOrder, "%s after the file control: only padding (all 9s) may follow it", recordName(input.text[0]))
	}
	position := 1
	for position <= RecordLength && input.text[position-1] == produced[position-1] {
		position++
	}
	f, _ := fieldAt(layoutOf(produced), position)
	verb := "expected"
	if k := produced[0]; k == batchControlRecord || k == fileControlRecord {
		verb = "recomputed"
	}
	return fieldLineError(input.number, f, ErrMismatch, "file has %q, %s %q", get(input.text, f), verb, get(produced, f))
}

// blame turns a writer error into a ParseError on the line holding the
// field: header fields live in the file header, originator fields in the
// batch header.
func (rd *fileReader) blame(err error, fileHeaderLine, otherLine line) error {
	at := otherLine
	var fe *fielderr.Error
	var site *fieldSite
	if errors.As(err, &fe) && errors.As(err, &site) {
		if site.record == fileHeaderRecord {
			at = fileHeaderLine
		}
		return &ParseError{Line: at.number, Field: site.f.name, Start: site.f.start, End: site.f.end, Reason: fe.Message, Err: fe}
	}
	return &ParseError{Line: at.number, Reason: strings.TrimPrefix(err.Error(), "nacha: "), Err: err}
}

// WriteTo writes the file again with a Writer; for a File from Read, the
// bytes are the ones read. It implements io.WriterTo.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	counter := &countingWriter{w: w}
	writer, err := NewWriter(counter, f.Header)
	if err != nil {
		return counter.n, err
	}
	for _, b := range f.Batches {
		if err := writer.StartBatch(b.Class, b.EffectiveEntryDate, b.Discretionary); err != nil {
			return counter.n, err
		}
		for _, e := range b.Entries {
			if _, err := writer.Add(e.Entry); err != nil {
				return counter.n, fmt.Errorf("entry on line %d: %w", e.Line, err)
			}
		}
		if err := writer.EndBatch(); err != nil {
			return counter.n, err
		}
	}
	_, err = writer.Close()
	return counter.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
