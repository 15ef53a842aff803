package nacha

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout/bankid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestEveryRecordIs94UpperCaseASCIIAndBlocked(t *testing.T) {
	data, totals, _ := writeFile(t, testHeader(), creditBatches()...)
	require.True(t, bytes.HasSuffix(data, []byte("\n")))
	all := lines(data)
	require.Len(t, all, totals.Records)
	require.Zero(t, len(all)%BlockingFactor)
	for i, l := range all {
		require.Len(t, l, RecordLength, "line %d", i+1)
		for _, c := range []byte(l) {
			require.True(t, c >= ' ' && c <= '~' && !(c >= 'a' && c <= 'z'), "line %d has %q", i+1, c)
		}
	}
}

func TestRoundTripWriteReadCompare(t *testing.T) {
	for name, batches := range map[string][]batchSpec{"credits": creditBatches(), "prenotes": prenoteBatches()} {
		t.Run(name, func(t *testing.T) {
			data, totals, traces := writeFile(t, testHeader(), batches...)
			file, err := Read(bytes.NewReader(data))
			require.NoError(t, err)
			require.Equal(t, totals, file.Totals)
			require.Equal(t, testCreation, file.Header.FileCreation)
			require.Equal(t, byte('A'), file.Header.FileIDModifier)
			require.Equal(t, "FIRST DEMO BANK", file.Header.Originator.ImmediateDestinationName)
			require.Len(t, file.Batches, len(batches))
			k := 0
			for i, b := range batches {
				got := file.Batches[i]
				require.Equal(t, b.class, got.Class)
				require.Equal(t, i+1, got.Number)
				require.Equal(t, testEffective, got.EffectiveEntryDate)
				require.Len(t, got.Entries, len(b.entries))
				for j, want := range b.entries {
					e := got.Entries[j]
					require.Equal(t, traces[k], e.Trace)
					k++
					requireSameEntry(t, want, e.Entry)
				}
			}
			var again bytes.Buffer
			_, err = file.WriteTo(&again)
			require.NoError(t, err)
			require.Equal(t, string(data), again.String())
		})
	}
}

// requireSameEntry compares an entry with its read-back form: the name as
// written (transliterated, at most 22 characters), everything else exact.
func requireSameEntry(t require.TestingT, want, got Entry) {
	require.Equal(t, want.Kind, got.Kind)
	require.Equal(t, want.AccountType, got.AccountType)
	require.Equal(t, want.RoutingNumber, got.RoutingNumber)
	require.Equal(t, want.AccountNumber, got.AccountNumber)
	require.True(t, want.Amount.Equal(got.Amount), "amount %s, read %s", want.Amount, got.Amount)
	require.Equal(t, want.IndividualID, got.IndividualID)
	name := Transliterate(want.Name)
	if len(name) > NameMaxLength {
		name = strings.TrimRight(name[:NameMaxLength], " ")
	}
	require.Equal(t, name, got.Name)
	require.Equal(t, Transliterate(want.DiscretionaryData), got.DiscretionaryData)
}

func validEntry() Entry {
	return Entry{Kind: Credit, AccountType: Checking, RoutingNumber: "011000015", AccountNumber: "123456789",
		Amount: dollarsOf("10.00"), IndividualID: "P1", Name: "Jane Doe"}
}

func TestAddRefusesBadEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(*Entry)
		field   string
		message string
	}{
		{"above the NACHA maximum", func(e *Entry) { e.Amount = dollarsOf("100000000.00") }, "amount",
			"100,000,000.00 exceeds the NACHA maximum of $99,999,999.99 per entry"},
		{"negative", func(e *Entry) { e.Amount = dollarsOf("-5.00") }, "amount", "a credit must be more than zero, got -5.00"},
		{"zero credit", func(e *Entry) { e.Amount = decimal.Zero }, "amount", "a credit must be more than zero"},
		{"sub-cent", func(e *Entry) { e.Amount = dollarsOf("10.005") }, "amount", "10.005 is not a whole number of cents"},
		{"prenote with money", func(e *Entry) { e.Kind = Prenote }, "amount", "a prenote carries no money, amount must be 0, got 10.00"},
		{"bad routing checksum", func(e *Entry) { e.RoutingNumber = "011000016" }, "receiving DFI routing number", "check digit fails"},
		{"short routing", func(e *Entry) { e.RoutingNumber = "01100001" }, "receiving DFI routing number", "must be 9 digits"},
		{"routing prefix", func(e *Entry) { e.RoutingNumber = "991000013" }, "receiving DFI routing number", "not a Federal Reserve routing symbol"},
		{"no kind", func(e *Entry) { e.Kind = 0 }, "transaction code", "neither credit nor prenote"},
		{"no account type", func(e *Entry) { e.AccountType = 7 }, "transaction code", "neither checking nor savings"},
		{"long account", func(e *Entry) { e.AccountNumber = strings.Repeat("1", 18) }, "DFI account number", "18 characters, the field holds 17"},
		{"empty account", func(e *Entry) { e.AccountNumber = "" }, "DFI account number", "missing"},
		{"account with space", func(e *Entry) { e.AccountNumber = "123 456" }, "DFI account number", "character at byte 4 is ' '"},
		{"long payout id", func(e *Entry) { e.IndividualID = strings.Repeat("P", 16) }, "individual identification number", "16 characters, at most 15"},
		{"lower-case payout id", func(e *Entry) { e.IndividualID = "p1" }, "individual identification number", "must be upper-case ASCII"},
		{"unrepresentable name", func(e *Entry) { e.Name = "李小龍 🐉" }, "individual name", "has no characters an ACH file can carry"},
		{"empty name", func(e *Entry) { e.Name = "  " }, "individual name", "has no characters"},
		{"long discretionary", func(e *Entry) { e.DiscretionaryData = "ABC" }, "discretionary data", "3 characters, the field holds 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w, err := NewWriter(&out, testHeader())
			require.NoError(t, err)
			require.NoError(t, w.StartBatch(ClassPPD, testEffective, ""))
			e := validEntry()
			tc.change(&e)
			_, err = w.Add(e)
			require.ErrorIs(t, err, ErrInvalidField)
			var fe *fielderr.Error
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.field, fe.Path)
			require.ErrorContains(t, err, tc.message)
			// A refused entry writes nothing and the writer carries on.
			trace, err := w.Add(validEntry())
			require.NoError(t, err)
			require.Equal(t, "021000020000001", trace)
			require.NoError(t, w.EndBatch())
			totals, err := w.Close()
			require.NoError(t, err)
			require.Equal(t, 1, totals.Entries)
			_, err = Read(&out)
			require.NoError(t, err)
		})
	}
}

func TestBadRoutingWrapsBankidError(t *testing.T) {
	var out bytes.Buffer
	w, err := NewWriter(&out, testHeader())
	require.NoError(t, err)
	require.NoError(t, w.StartBatch(ClassCCD, testEffective, ""))
	e := validEntry()
	e.RoutingNumber = "011000016"
	_, err = w.Add(e)
	require.ErrorIs(t, err, bankid.ErrCheckDigit)
	require.ErrorIs(t, err, ErrInvalidField)
	// One field error, named as NACHA names the field, with bankid's code.
	fields := fielderr.All(err)
	require.Len(t, fields, 1)
	require.Equal(t, "receiving DFI routing number", fields[0].Path)
	require.Equal(t, fielderr.CheckDigit, fields[0].Code)
	require.True(t, strings.HasPrefix(err.Error(), "nacha: receiving DFI routing number: ABA routing number: "), err.Error())
}

func TestMaximumAmountIsAccepted(t *testing.T) {
	e := validEntry()
	e.Amount = dollarsOf("99999999.99")
	data, totals, _ := writeFile(t, testHeader(), batchSpec{ClassPPD, []Entry{e}})
	require.Contains(t, string(data), "9999999999P1")
	require.True(t, MaxEntryAmount.Equal(totals.TotalCredit))
}

func TestOriginatorValidation(t *testing.T) {
	require.NoError(t, testOriginator().Validate())
	for _, tc := range []struct {
		change  func(*Originator)
		field   string
		message string
	}{
		{func(o *Originator) { o.ImmediateDestination = "021000022" }, "immediate destination", "check digit fails"},
		{func(o *Originator) { o.ImmediateOrigin = "123456789" }, "immediate origin", "exactly 10 characters"},
		{func(o *Originator) { o.ImmediateOrigin = " 021000022" }, "immediate origin", "check digit fails"},
		{func(o *Originator) { o.ImmediateOrigin = "1ABCDEFGHI" }, "immediate origin", "must be 10 digits"},
		{func(o *Originator) { o.ImmediateDestinationName = "" }, "immediate destination name", "missing"},
		{func(o *Originator) { o.ImmediateOriginName = strings.Repeat("X", 24) }, "immediate origin name", "the field holds 23"},
		{func(o *Originator) { o.CompanyName = "PAYRUN MARKETPLACE" }, "company name", "18 characters, the field holds 16"},
		{func(o *Originator) { o.CompanyID = "123456789" }, "company identification", "exactly 10"},
		{func(o *Originator) { o.CompanyID = "1-23456789" }, "company identification", "exactly 10 capital letters or digits"},
		{func(o *Originator) { o.CompanyEntryDescription = "MONTHLY PAYOUT" }, "company entry description", "the field holds 10"},
		{func(o *Originator) { o.ODFIRouting = "021000021" }, "originating DFI identification", "8-digit"},
		{func(o *Originator) { o.ODFIRouting = "9910000A" }, "originating DFI identification", "8-digit"},
		{func(o *Originator) { o.ODFIRouting = "99100001" }, "originating DFI identification", "not a Federal Reserve routing symbol"},
	} {
		o := testOriginator()
		tc.change(&o)
		err := o.Validate()
		var fe *fielderr.Error
		require.ErrorAs(t, err, &fe, tc.field)
		require.Equal(t, tc.field, fe.Path)
		require.ErrorContains(t, err, tc.message)
		_, err = NewWriter(&bytes.Buffer{}, FileHeader{Originator: o, FileCreation: testCreation, FileIDModifier: 'A'})
		require.ErrorIs(t, err, ErrInvalidField)
	}
	// Free text is transliterated, not refused.
	o := testOriginator()
	o.CompanyName = "Société Générale"
	normal, err := o.normalized()
	require.NoError(t, err)
	require.Equal(t, "SOCIETE GENERALE", normal.CompanyName)
}

func TestHeaderValidation(t *testing.T) {
	h := testHeader()
	h.FileIDModifier = 'a'
	_, err := NewWriter(&bytes.Buffer{}, h)
	require.ErrorContains(t, err, "file ID modifier: must be A-Z or 0-9")
	h = testHeader()
	h.FileCreation = time.Time{}
	_, err = NewWriter(&bytes.Buffer{}, h)
	require.ErrorContains(t, err, "file creation date: missing")
	h.FileCreation = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)
	_, err = NewWriter(&bytes.Buffer{}, h)
	require.ErrorContains(t, err, "year 1999 cannot be written as YY")
}

func TestWriterSequenceAndBatchRules(t *testing.T) {
	var out bytes.Buffer
	w, err := NewWriter(&out, testHeader())
	require.NoError(t, err)
	_, err = w.Add(validEntry())
	require.ErrorIs(t, err, ErrSequence)
	require.ErrorIs(t, w.EndBatch(), ErrSequence)
	_, err = w.Close()
	require.ErrorIs(t, err, ErrNoBatches)

	require.ErrorContains(t, w.StartBatch("WEB", testEffective, ""), `must be PPD or CCD, got "WEB"`)
	require.ErrorContains(t, w.StartBatch(ClassPPD, testCreation.AddDate(0, 0, -1), ""), "2026-11-12 is before the file creation date 2026-11-13")
	require.ErrorContains(t, w.StartBatch(ClassPPD, testEffective, strings.Repeat("D", 21)), "company discretionary data")

	// An empty batch is discarded without a trace and its number reused.
	require.NoError(t, w.StartBatch(ClassPPD, testEffective, ""))
	require.ErrorIs(t, w.StartBatch(ClassPPD, testEffective, ""), ErrSequence)
	require.ErrorIs(t, w.EndBatch(), ErrEmptyBatch)
	require.Equal(t, 1, w.records, "only the file header is written")

	require.NoError(t, w.StartBatch(ClassCCD, testCreation, "Marketplace 2026-11"))
	_, err = w.Add(validEntry())
	require.NoError(t, err)
	_, err = w.Close()
	require.ErrorIs(t, err, ErrSequence, "a batch is open")
	require.NoError(t, w.EndBatch())
	totals, err := w.Close()
	require.NoError(t, err)
	require.Equal(t, 1, totals.Batches)
	_, err = w.Close()
	require.ErrorIs(t, err, ErrSequence)

	file, err := Read(&out)
	require.NoError(t, err)
	require.Equal(t, 1, file.Batches[0].Number)
	require.Equal(t, "MARKETPLACE 2026-11", file.Batches[0].Discretionary)
}

func TestControlTotalCapacity(t *testing.T) {
	var out bytes.Buffer
	w, err := NewWriter(&out, testHeader())
	require.NoError(t, err)
	require.NoError(t, w.StartBatch(ClassPPD, testEffective, ""))
	e := validEntry()
	e.Amount = MaxEntryAmount
	// 12 digits of cents hold 100 maximum entries (999,999,999,900 cents).
	for i := 0; i < 100; i++ {
		_, err := w.Add(e)
		require.NoError(t, err)
	}
	_, err = w.Add(e)
	require.ErrorIs(t, err, ErrCapacity)
	require.ErrorContains(t, err, "batch 1 credit total would exceed $9,999,999,999.99")
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriteErrorIsSticky(t *testing.T) {
	w, err := newWriter(&failingWriter{after: 1}, testHeader())
	require.NoError(t, err)
	require.NoError(t, w.StartBatch(ClassPPD, testEffective, ""))
	_, err = w.Add(validEntry())
	require.ErrorContains(t, err, "disk full")
	_, err = w.Add(validEntry())
	require.ErrorContains(t, err, "disk full")
	_, err = w.Close()
	require.ErrorContains(t, err, "disk full")
}

func TestTransliterate(t *testing.T) {
	for in, want := range map[string]string{
		"Zoë Ångström-Müller":     "ZOE ANGSTROM-MULLER",
		"  Straße\t\tÆsir  Łódź ": "STRASSE AESIR LODZ",
		"O’Brien “Ltd” – Ørsted":  "O'BRIEN \"LTD\" - ORSTED",
		"李小龍":                     "",
		"Ünïcödé 🐉 Co.":           "UNICODE CO.",
		"already CLEAN 123 &/#":   "ALREADY CLEAN 123 &/#",
	} {
		got := Transliterate(in)
		require.Equal(t, want, got, in)
		require.Equal(t, got, Transliterate(got), "idempotent")
	}
}

func TestDollars(t *testing.T) {
	require.Equal(t, "99,999,999.99", dollars(MaxEntryAmount))
	require.Equal(t, "0.01", dollars(dollarsOf("0.01")))
	require.Equal(t, "-1,000.00", dollars(dollarsOf("-1000")))
	require.Equal(t, "100.00", dollars(dollarsOf("100")))
}
