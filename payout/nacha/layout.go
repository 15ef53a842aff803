package nacha

import (
	"strconv"

	"github.com/shopspring/decimal"
)

// Format constants. Source: NACHA Operating Rules, Appendix Three (ACH Record
// Format Specifications), unless a comment says otherwise.
const (
	// RecordLength is the fixed length of every record ("record size 094").
	RecordLength = 94
	// BlockingFactor is the number of records per block ("blocking factor
	// 10"); a file is padded with all-'9' records to a whole block.
	BlockingFactor = 10

	// ServiceClassCredits is the service class code of a batch holding only
	// credits (220); payrun never debits a publisher.
	ServiceClassCredits = "220"
	// ClassPPD is the standard entry class for consumers (Prearranged
	// Payment and Deposit): payouts to individuals.
	ClassPPD = "PPD"
	// ClassCCD is the standard entry class for companies (Corporate Credit or
	// Debit): payouts to businesses.
	ClassCCD = "CCD"

	// Transaction codes written by payrun (Appendix Three, "Transaction Codes").
	CodeCheckingCredit  = 22 // automated deposit to a checking account
	CodeCheckingPrenote = 23 // prenotification of a checking credit (zero dollars)
	CodeSavingsCredit   = 32 // automated deposit to a savings account
	CodeSavingsPrenote  = 33 // prenotification of a savings credit (zero dollars)
	// Transaction codes a return of those entries comes back with.
	CodeCheckingReturn = 21 // return or notification of change for 22, 23, 24
	CodeSavingsReturn  = 31 // return or notification of change for 32, 33, 34

	// ReturnAddendaType is the addenda type code of a return addenda record.
	ReturnAddendaType = "99"
	// NoticeOfChangeAddendaType is the addenda type code of a notification
	// of change (COR), which ReadReturns refuses: it is not a return.
	NoticeOfChangeAddendaType = "98"
)

// Field capacities: the widths of the fixed fields of Appendix Three. Values
// longer than their field are refused, except an entry's Name, which is
// truncated (see Entry).
const (
	ImmediateDestinationNameMaxLength = 23
	ImmediateOriginNameMaxLength      = 23
	CompanyNameMaxLength              = 16
	CompanyDiscretionaryMaxLength     = 20
	CompanyIDLength                   = 10
	CompanyEntryDescriptionMaxLength  = 10
	ODFIIdentificationLength          = 8
	AccountNumberMaxLength            = 17
	IndividualIDMaxLength             = 15
	NameMaxLength                     = 22
	EntryDiscretionaryMaxLength       = 2
	AddendaInformationMaxLength       = 44
)

// Count and amount capacities, each the largest number its numeric field
// holds (Appendix Three field widths).
const (
	// MaxEntryAmountCents: the entry amount field has 10 digits of cents.
	MaxEntryAmountCents int64 = 99_999_999_99
	// MaxControlAmountCents: batch and file control totals have 12 digits.
	MaxControlAmountCents int64 = 9_999_999_999_99
	// MaxBatchEntries: the batch control entry/addenda count has 6 digits.
	MaxBatchEntries = 999_999
	// MaxFileEntries: the trace number's sequence part has 7 digits and
	// payrun numbers entries across the whole file (the file control's
	// 8-digit count is the looser limit).
	MaxFileEntries = 9_999_999
	// MaxBatches: the file control batch count has 6 digits.
	MaxBatches = 999_999
	// MaxBlocks: the file control block count has 6 digits.
	MaxBlocks = 999_999
	// MaxRecords follows from MaxBlocks and the blocking factor.
	MaxRecords = MaxBlocks * BlockingFactor
	// entryHashModulus keeps the rightmost 10 digits of the entry hash.
	entryHashModulus int64 = 10_000_000_000
)

// MaxEntryAmount is the largest amount one entry can carry, $99,999,999.99
// (the 10-digit amount field). A larger payout must be refused, not split
// silently: splitting is a business decision for the caller.
var MaxEntryAmount = decimal.New(MaxEntryAmountCents, -2)

// field is one fixed-width field, positions 1-based and inclusive as NACHA
// documents them.
type field struct {
	name       string
	start, end int
}

func (f field) width() int { return f.end - f.start + 1 }

// File header record ("1").
var (
	fhRecordType        = field{"record type code", 1, 1}
	fhPriority          = field{"priority code", 2, 3}
	fhDestination       = field{"immediate destination", 4, 13}
	fhOrigin            = field{"immediate origin", 14, 23}
	fhCreationDate      = field{"file creation date", 24, 29}
	fhCreationTime      = field{"file creation time", 30, 33}
	fhIDModifier        = field{"file ID modifier", 34, 34}
	fhRecordSize        = field{"record size", 35, 37}
	fhBlockingFactor    = field{"blocking factor", 38, 39}
	fhFormatCode        = field{"format code", 40, 40}
	fhDestinationName   = field{"immediate destination name", 41, 63}
	fhOriginName        = field{"immediate origin name", 64, 86}
	fhReferenceCode     = field{"reference code", 87, 94}
	fileHeaderLayout    = []field{fhRecordType, fhPriority, fhDestination, fhOrigin, fhCreationDate, fhCreationTime, fhIDModifier, fhRecordSize, fhBlockingFactor, fhFormatCode, fhDestinationName, fhOriginName, fhReferenceCode}
	paddingRecordLayout = []field{{"padding record (all 9s)", 1, 94}}
)

// Record type codes, position 1 of every record.
const (
	fileHeaderRecord   byte = '1'
	batchHeaderRecord  byte = '5'
	entryRecord        byte = '6'
	addendaRecord      byte = '7'
	batchControlRecord byte = '8'
	fileControlRecord  byte = '9'
)

// Batch header record ("5").
var (
	bhRecordType      = field{"record type code", 1, 1}
	bhServiceClass    = field{"service class code", 2, 4}
	bhCompanyName     = field{"company name", 5, 20}
	bhDiscretionary   = field{"company discretionary data", 21, 40}
	bhCompanyID       = field{"company identification", 41, 50}
	bhClass           = field{"standard entry class code", 51, 53}
	bhDescription     = field{"company entry description", 54, 63}
	bhDescriptiveDate = field{"company descriptive date", 64, 69}
	bhEffectiveDate   = field{"effective entry date", 70, 75}
	bhSettlementDate  = field{"settlement date (Julian)", 76, 78}
	bhOriginatorState = field{"originator status code", 79, 79}
	bhODFI            = field{"originating DFI identification", 80, 87}
	bhBatchNumber     = field{"batch number", 88, 94}
	batchHeaderLayout = []field{bhRecordType, bhServiceClass, bhCompanyName, bhDiscretionary, bhCompanyID, bhClass, bhDescription, bhDescriptiveDate, bhEffectiveDate, bhSettlementDate, bhOriginatorState, bhODFI, bhBatchNumber}
)

// Entry detail record ("6"), PPD and CCD share the layout (CCD calls 40-54
// "identification number" and 55-76 "receiving company name").
var (
	edRecordType     = field{"record type code", 1, 1}
	edTransaction    = field{"transaction code", 2, 3}
	edRDFI           = field{"receiving DFI identification", 4, 11}
	edCheckDigit     = field{"check digit", 12, 12}
	edAccount        = field{"DFI account number", 13, 29}
	edAmount         = field{"amount", 30, 39}
	edIndividualID   = field{"individual identification number", 40, 54}
	edName           = field{"individual name", 55, 76}
	edDiscretionary  = field{"discretionary data", 77, 78}
	edAddendaFlag    = field{"addenda record indicator", 79, 79}
	edTrace          = field{"trace number", 80, 94}
	entryLayout      = []field{edRecordType, edTransaction, edRDFI, edCheckDigit, edAccount, edAmount, edIndividualID, edName, edDiscretionary, edAddendaFlag, edTrace}
	edRoutingNumber  = field{"receiving DFI routing number", 4, 12} // identification + check digit
	entryExtraFields = []field{edRoutingNumber}
)

// Return addenda record ("7", addenda type "99").
var (
	raRecordType    = field{"record type code", 1, 1}
	raAddendaType   = field{"addenda type code", 2, 3}
	raReturnCode    = field{"return reason code", 4, 6}
	raOriginalTrace = field{"original entry trace number", 7, 21}
	raDateOfDeath   = field{"date of death", 22, 27}
	raOriginalRDFI  = field{"original receiving DFI identification", 28, 35}
	raInformation   = field{"addenda information", 36, 79}
	raTrace         = field{"trace number", 80, 94}
	returnAddenda   = []field{raRecordType, raAddendaType, raReturnCode, raOriginalTrace, raDateOfDeath, raOriginalRDFI, raInformation, raTrace}
)

// Batch control record ("8").
var (
	bcRecordType       = field{"record type code", 1, 1}
	bcServiceClass     = field{"service class code", 2, 4}
	bcEntryCount       = field{"entry/addenda count", 5, 10}
	bcEntryHash        = field{"entry hash", 11, 20}
	bcTotalDebit       = field{"total debit entry dollar amount", 21, 32}
	bcTotalCredit      = field{"total credit entry dollar amount", 33, 44}
	bcCompanyID        = field{"company identification", 45, 54}
	bcMAC              = field{"message authentication code", 55, 73}
	bcReserved         = field{"reserved", 74, 79}
	bcODFI             = field{"originating DFI identification", 80, 87}
	bcBatchNumber      = field{"batch number", 88, 94}
	batchControlLayout = []field{bcRecordType, bcServiceClass, bcEntryCount, bcEntryHash, bcTotalDebit, bcTotalCredit, bcCompanyID, bcMAC, bcReserved, bcODFI, bcBatchNumber}
)

// File control record ("9").
var (
	fcRecordType      = field{"record type code", 1, 1}
	fcBatchCount      = field{"batch count", 2, 7}
	fcBlockCount      = field{"block count", 8, 13}
	fcEntryCount      = field{"entry/addenda count", 14, 21}
	fcEntryHash       = field{"entry hash", 22, 31}
	fcTotalDebit      = field{"total debit entry dollar amount in file", 32, 43}
	fcTotalCredit     = field{"total credit entry dollar amount in file", 44, 55}
	fcReserved        = field{"reserved", 56, 94}
	fileControlLayout = []field{fcRecordType, fcBatchCount, fcBlockCount, fcEntryCount, fcEntryHash, fcTotalDebit, fcTotalCredit, fcReserved}
)

// layoutOf returns the layout of a record from its type code and, for
// type 9, whether it is padding.
func layoutOf(record string) []field {
	if len(record) == 0 {
		return nil
	}
	switch record[0] {
	case fileHeaderRecord:
		return fileHeaderLayout
	case batchHeaderRecord:
		return batchHeaderLayout
	case entryRecord:
		return entryLayout
	case addendaRecord:
		return returnAddenda
	case batchControlRecord:
		return batchControlLayout
	case fileControlRecord:
		if record == paddingRecord {
			return paddingRecordLayout
		}
		return fileControlLayout
	}
	return nil
}

// fieldAt names the field of layout covering 1-based position.
func fieldAt(layout []field, position int) (field, bool) {
	for _, f := range layout {
		if position >= f.start && position <= f.end {
			return f, true
		}
	}
	return field{}, false
}

// recordNames names record types in messages.
var recordNames = map[byte]string{
	fileHeaderRecord:   "file header (1)",
	batchHeaderRecord:  "batch header (5)",
	entryRecord:        "entry detail (6)",
	addendaRecord:      "addenda (7)",
	batchControlRecord: "batch control (8)",
	fileControlRecord:  "file control (9)",
}

func recordName(c byte) string {
	if name, ok := recordNames[c]; ok {
		return name
	}
	return "unknown record type " + strconv.QuoteRune(rune(c))
}

// paddingRecord fills the last block: 94 nines.
var paddingRecord = func() string {
	b := make([]byte, RecordLength)
	for i := range b {
		b[i] = '9'
	}
	return string(b)
}()

// record is one record being formatted; it starts as all spaces.
type record [RecordLength]byte

func newRecord(recordType byte) *record {
	r := new(record)
	for i := range r {
		r[i] = ' '
	}
	r[0] = recordType
	return r
}

// text writes s left-justified and space-padded. Callers validated the
// length; anything longer is cut rather than corrupting the next field.
func (r *record) text(f field, s string) {
	copy(r[f.start-1:f.end], s[:min(len(s), f.width())])
}

// number writes n right-justified and zero-padded. Callers checked that n
// fits; an n that does not keeps its rightmost digits, the documented rule
// for the entry hash.
func (r *record) number(f field, n int64) {
	for i := f.end - 1; i >= f.start-1; i-- {
		r[i] = byte('0' + n%10)
		n /= 10
	}
}

func (r *record) String() string { return string(r[:]) }

// get extracts a field from a 94-character record.
func get(line string, f field) string { return line[f.start-1 : f.end] }
