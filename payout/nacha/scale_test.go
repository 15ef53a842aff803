package nacha

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// largeEntry is the i-th entry of a large file.
func largeEntry(i int) Entry {
	account := Checking
	if i%3 == 0 {
		account = Savings
	}
	return Entry{Kind: Credit, AccountType: account, RoutingNumber: "011000015",
		AccountNumber: fmt.Sprintf("%012d", i), Amount: decimal.New(int64(5000+i%100000), -2),
		IndividualID: fmt.Sprintf("P%014d", i), Name: "Publisher"}
}

// writeLarge streams n entries in batches of at most perBatch to out.
func writeLarge(t testing.TB, out io.Writer, n, perBatch int) Totals {
	w, err := NewWriter(out, testHeader())
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		if i%perBatch == 0 {
			if i > 0 {
				require.NoError(t, w.EndBatch())
			}
			require.NoError(t, w.StartBatch(ClassPPD, testEffective, ""))
		}
		_, err := w.Add(largeEntry(i))
		require.NoError(t, err)
	}
	require.NoError(t, w.EndBatch())
	totals, err := w.Close()
	require.NoError(t, err)
	return totals
}

// heapSampler discards what is written and, every 200 writes (the Writer
// buffers 64 records per write), measures
// the live heap after a garbage collection.
type heapSampler struct {
	writes  int
	maxLive uint64
}

func (h *heapSampler) Write(p []byte) (int, error) {
	h.writes++
	if h.writes%200 == 0 {
		var stats runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&stats)
		h.maxLive = max(h.maxLive, stats.HeapAlloc)
	}
	return len(p), nil
}

// TestHundredThousandEntriesStreamInFlatMemory: while 100,000 entries are
// written, the live heap stays within 1 MiB of where it started (holding the
// entries would take about 20 MiB), and the file reads back with the same
// totals.
func TestHundredThousandEntriesStreamInFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	const n = 100_000
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sampler := &heapSampler{}
	totals := writeLarge(t, sampler, n, 10_000)
	require.NotZero(t, sampler.maxLive)
	require.Less(t, int64(sampler.maxLive)-int64(before.HeapAlloc), int64(1<<20), "live heap grew while streaming")
	require.Equal(t, n, totals.Entries)
	require.Equal(t, 10, totals.Batches)

	var file bytes.Buffer
	require.Equal(t, totals, writeLarge(t, &file, n, 10_000))
	require.Equal(t, totals.Records*(RecordLength+1), file.Len())
	read, err := Read(&file)
	require.NoError(t, err)
	require.Equal(t, totals, read.Totals)
}

func BenchmarkWriter(b *testing.B) {
	for b.Loop() {
		writeLarge(b, io.Discard, 10_000, 5_000)
	}
}
