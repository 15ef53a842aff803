// Package nacha writes the NACHA ACH files that pay US publishers (SPEC
// §6.2), reads them back to verify them before release, and reads the ACH
// return files banks send (SPEC §6.3). It does no I/O beyond the io.Writer
// and io.Reader it is given, never reads the clock, and holds no state
// between calls.
//
// # What it owns
//
//   - [Writer]: a streaming writer. Records go out as entries are added, so
//     a file of 100,000 entries never sits in memory. Same inputs, same
//     bytes: the creation time is a parameter (SPEC §3.4).
//   - [Read]: the strict reader for files payrun wrote. It recomputes every
//     control field and accepts only what the Writer would produce for the
//     values read, so an accepted file writes again byte for byte
//     ([File.WriteTo]); "recompute totals in pairs" from STYLE.md.
//   - [ReadReturns]: the lenient reader for bank return files, and
//     [WriteReturnFile], which fabricates one for tests and the simulator.
//   - [Transliterate]: the one rule for turning names into ACH text.
//
// Routing numbers are checked with payout/bankid (ABA 3-7-1 checksum).
//
// # What a file looks like
//
//	1 file header
//	5 batch header   (PPD: individuals, or CCD: companies; service class 220)
//	6 entry detail   (one per payout or prenote)
//	8 batch control
//	  ... more batches ...
//	9 file control
//	9999…9           padding to a multiple of 10 records (blocking factor 10)
//
// Every record is exactly 94 characters of upper-case printable ASCII,
// followed by "\n" (the last record too). Positions below are 1-based and
// inclusive, as in the NACHA Operating Rules, Appendix Three. "a" fields are
// left-justified and space-padded, "n" fields right-justified and
// zero-padded.
//
// File header record (1):
//
//	pos    len  field                       payrun writes
//	1      1    record type code            "1"
//	2-3    2    priority code               "01"
//	4-13   10   immediate destination       " " + 9-digit routing (Originator.ImmediateDestination)
//	14-23  10   immediate origin            Originator.ImmediateOrigin ("1" + tax id, or " " + routing)
//	24-29  6    file creation date          YYMMDD of FileCreation
//	30-33  4    file creation time          HHMM of FileCreation
//	34     1    file ID modifier            A-Z, 0-9
//	35-37  3    record size                 "094"
//	38-39  2    blocking factor             "10"
//	40     1    format code                 "1"
//	41-63  23   immediate destination name  a
//	64-86  23   immediate origin name       a
//	87-94  8    reference code              blank
//
// Batch header record (5):
//
//	pos    len  field                       payrun writes
//	1      1    record type code            "5"
//	2-4    3    service class code          "220" (credits only)
//	5-20   16   company name                a
//	21-40  20   company discretionary data  a, StartBatch's discretionary
//	41-50  10   company identification      Originator.CompanyID
//	51-53  3    standard entry class code   "PPD" or "CCD"
//	54-63  10   company entry description   a, e.g. "PAYOUT"
//	64-69  6    company descriptive date    blank
//	70-75  6    effective entry date        YYMMDD
//	76-78  3    settlement date (Julian)    blank (the ACH operator fills it in)
//	79     1    originator status code      "1"
//	80-87  8    originating DFI identif.    Originator.ODFIRouting
//	88-94  7    batch number                n, 1, 2, … in file order
//
// Entry detail record (6):
//
//	pos    len  field                       payrun writes
//	1      1    record type code            "6"
//	2-3    2    transaction code            22 checking credit, 32 savings credit,
//	                                        23 checking prenote, 33 savings prenote
//	4-11   8    receiving DFI identif.      first 8 digits of the routing number
//	12     1    check digit                 9th digit of the routing number
//	13-29  17   DFI account number          a, exactly as given
//	30-39  10   amount                      n, cents
//	40-54  15   individual identif. number  a, the payout id (CCD: identification number)
//	55-76  22   individual name             a, transliterated, truncated (CCD: receiving company name)
//	77-78  2    discretionary data          a
//	79     1    addenda record indicator    "0" (payrun writes no addenda)
//	80-94  15   trace number                ODFI identification (8) + sequence (7), from 1 across the file
//
// Return addenda record (7), read by ReadReturns and written by
// WriteReturnFile after each return entry (transaction code 21 or 31):
//
//	pos    len  field
//	1      1    record type code            "7"
//	2-3    2    addenda type code           "99" (return; "98" is a notification of change)
//	4-6    3    return reason code          R01-R85
//	7-21   15   original entry trace number the trace the Writer returned
//	22-27  6    date of death               YYMMDD or blank (R14, R15)
//	28-35  8    original receiving DFI id.
//	36-79  44   addenda information
//	80-94  15   trace number                the return entry's trace number
//
// Batch control record (8):
//
//	pos    len  field
//	1      1    record type code            "8"
//	2-4    3    service class code          as in the batch header
//	5-10   6    entry/addenda count         n
//	11-20  10   entry hash                  n, sum of the batch's 8-digit RDFI identifications, rightmost 10 digits
//	21-32  12   total debit entry amount    n, cents (payrun: 0)
//	33-44  12   total credit entry amount   n, cents
//	45-54  10   company identification      as in the batch header
//	55-73  19   message authentication code blank
//	74-79  6    reserved                    blank
//	80-87  8    originating DFI identif.    as in the batch header
//	88-94  7    batch number                as in the batch header
//
// File control record (9):
//
//	pos    len  field
//	1      1    record type code            "9"
//	2-7    6    batch count                 n
//	8-13   6    block count                 n, records (padding included) / 10
//	14-21  8    entry/addenda count         n
//	22-31  10   entry hash                  n, sum of the batch entry hashes, rightmost 10 digits
//	32-43  12   total debit entry amount    n, cents
//	44-55  12   total credit entry amount   n, cents
//	56-94  39   reserved                    blank
//
// # Limits
//
// Named constants, each the capacity of the NACHA field that carries it
// (NACHA Operating Rules, Appendix Three): MaxEntryAmount ($99,999,999.99,
// the 10-digit amount), MaxControlAmountCents (12-digit control totals),
// MaxBatchEntries (6-digit batch count), MaxFileEntries (7-digit trace
// sequence), MaxBatches, MaxBlocks / MaxRecords (6-digit counts), and the
// text field widths (NameMaxLength 22, AccountNumberMaxLength 17,
// IndividualIDMaxLength 15, …). Return reason codes R01-R85 come from
// Appendix Four.
//
// # Text
//
// Free text (names, company name, description, discretionary data) goes
// through Transliterate: upper case, diacritics removed (é→E, ß→SS, Ø→O),
// typographic quotes and dashes made ASCII, whitespace collapsed, other
// characters dropped. A name left empty is refused. Only the entry Name is
// truncated to its field; every other value longer than its field is
// refused. Identifiers that are matched later — account number, payout id,
// company id — are never changed: they must already be valid.
//
// # Failure modes
//
//   - Bad input to the Writer: a *fielderr.Error (internal/fielderr) whose
//     path is the NACHA field name and whose code says what is wrong
//     (required, too_long, character, range, ..., a routing number's bankid
//     code), behind the "nacha: " prefix; it wraps ErrInvalidField, and the
//     bankid error for routing numbers. Nothing is written and the Writer
//     stays usable, so the caller decides whether to hold that payout or
//     abort the file.
//   - A count or total would overflow its field: ErrCapacity. Misuse:
//     ErrSequence. An empty batch is discarded (ErrEmptyBatch); a file
//     without batches is refused (ErrNoBatches): with nothing to pay, write
//     no file.
//   - An io.Writer error is final: every later call returns it.
//   - Read and ReadReturns: *ParseError with the line number and the field
//     and its positions ("nacha: line 5, entry hash (positions 11-20): file
//     has "0013200037", recomputed "0013200036""), wrapping ErrTruncated,
//     ErrRecordLength, ErrRecordOrder, ErrMismatch, ErrBlocking,
//     ErrInvalidField. A file is accepted whole or not at all.
//   - ReadReturns refuses notifications of change (addenda 98): payrun does
//     not apply NOCs automatically.
//
// # Decisions where the rules leave room
//
//   - Trace sequences run across the whole file, not per batch, so a trace
//     number identifies an entry within a file on its own.
//   - The effective entry date is taken as given (a calendar date, not
//     before the file creation date); choosing a banking day is the
//     caller's job (SPEC §3.1).
//   - YYMMDD dates are read as 20YY; dates outside 2000-2099 are refused.
//   - Returns are matched by original trace number; the account number in a
//     Return is masked (last 4 shown), since nothing needs it in full.
package nacha
