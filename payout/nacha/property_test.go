package nacha

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/payrun/payrun/payout/bankid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func routingGenerator() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		prefix := rapid.SampledFrom([]int{0, 1, 9, 12, 21, 28, 32, 61, 66, 72, 80}).Draw(t, "prefix")
		first8 := fmt.Sprintf("%02d%06d", prefix, rapid.IntRange(0, 999_999).Draw(t, "institution"))
		check, err := bankid.ABACheckDigit(first8)
		if err != nil {
			t.Fatalf("check digit: %v", err)
		}
		return first8 + string(check)
	})
}

// canonical draws text that survives a write unchanged: upper-case ASCII,
// single inner spaces, no outer spaces.
func canonical(t *rapid.T, label string, maxLength int, alphabet string) string {
	text := rapid.StringOfN(rapid.RuneFrom([]rune(alphabet)), 0, maxLength, maxLength).Draw(t, label)
	return Transliterate(text)
}

func entryGenerator() *rapid.Generator[Entry] {
	return rapid.Custom(func(t *rapid.T) Entry {
		e := Entry{
			Kind:          rapid.SampledFrom([]Kind{Credit, Credit, Credit, Prenote}).Draw(t, "kind"),
			AccountType:   rapid.SampledFrom([]AccountType{Checking, Savings}).Draw(t, "account type"),
			RoutingNumber: routingGenerator().Draw(t, "routing"),
			AccountNumber: rapid.StringMatching(`[0-9A-Z-]{1,17}`).Draw(t, "account"),
			IndividualID:  canonical(t, "id", IndividualIDMaxLength, "ABCXYZ0189 -./#"),
			// Names may be long, lower-case, accented or in other scripts: the
			// writer transliterates and truncates them.
			Name:              "N" + rapid.StringN(0, 40, -1).Draw(t, "name"),
			DiscretionaryData: canonical(t, "discretionary", EntryDiscretionaryMaxLength, "AZ09 "),
		}
		e.Amount = decimal.Zero
		if e.Kind == Credit {
			cents := rapid.OneOf(
				rapid.Int64Range(1, 100_000_00),
				rapid.Int64Range(1, MaxEntryAmountCents),
				rapid.Just(MaxEntryAmountCents),
			).Draw(t, "cents")
			e.Amount = decimal.New(cents, -2)
		}
		return e
	})
}

// TestPropertyWriteReadRoundTrip: random entries, written and read back, give
// the same entries and totals; the file is blocked and every line is 94
// characters; writing the parsed file again gives the same bytes.
func TestPropertyWriteReadRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var batches []batchSpec
		for i, n := 0, rapid.IntRange(1, 3).Draw(t, "batches"); i < n; i++ {
			batches = append(batches, batchSpec{
				class:   rapid.SampledFrom([]string{ClassPPD, ClassCCD}).Draw(t, "class"),
				entries: rapid.SliceOfN(entryGenerator(), 1, 25).Draw(t, "entries"),
			})
		}
		data, totals, traces := writeFile(t, testHeader(), batches...)

		all := lines(data)
		require.Zero(t, len(all)%BlockingFactor, "line count %d", len(all))
		require.Equal(t, totals.Records, len(all))
		require.Equal(t, totals.Blocks*BlockingFactor, len(all))
		for i, l := range all {
			require.Len(t, l, RecordLength, "line %d", i+1)
		}

		file, err := Read(bytes.NewReader(data))
		require.NoError(t, err)
		require.Equal(t, totals, file.Totals)

		// Recompute the totals independently of the writer.
		credit, hash, entries, k := decimal.Zero, int64(0), 0, 0
		require.Len(t, file.Batches, len(batches))
		for i, b := range batches {
			got := file.Batches[i]
			require.Equal(t, b.class, got.Class)
			require.Len(t, got.Entries, len(b.entries))
			for j, want := range b.entries {
				requireSameEntry(t, want, got.Entries[j].Entry)
				require.Equal(t, traces[k], got.Entries[j].Trace)
				require.Equal(t, fmt.Sprintf("02100002%07d", k+1), got.Entries[j].Trace)
				k++
				credit = credit.Add(want.Amount)
				rdfi, err := strconv.ParseInt(want.RoutingNumber[:8], 10, 64)
				require.NoError(t, err)
				hash = (hash + rdfi) % 10_000_000_000
				entries++
			}
		}
		require.True(t, credit.Equal(totals.TotalCredit), "credit %s, totals %s", credit, totals.TotalCredit)
		require.Equal(t, hash, totals.EntryHash)
		require.Equal(t, entries, totals.Entries)
		require.Equal(t, len(batches), totals.Batches)

		var again bytes.Buffer
		_, err = file.WriteTo(&again)
		require.NoError(t, err)
		require.Equal(t, string(data), again.String())
		require.False(t, strings.ContainsAny(string(data), "abcdefghijklmnopqrstuvwxyz"))
	})
}
