package nacha

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), string(got), "%s differs; if the change is intended, run go test -update", path)
}

func TestGoldenCredits(t *testing.T) {
	data, totals, traces := writeFile(t, testHeader(), creditBatches()...)
	golden(t, "credits", data)
	require.Equal(t, []string{"021000020000001", "021000020000002", "021000020000003", "021000020000004"}, traces)
	require.Equal(t, 10, totals.Records)
	require.Equal(t, 1, totals.Blocks)
	require.Equal(t, 2, totals.Batches)
	require.Equal(t, 4, totals.Entries)
	// 01100001 + 12100035 + 32227162 + 01100002
	require.Equal(t, int64(46527200), totals.EntryHash)
	require.True(t, dollarsOf("100001284.56").Equal(totals.TotalCredit), totals.TotalCredit.String())
}

func TestGoldenPrenotes(t *testing.T) {
	data, totals, _ := writeFile(t, testHeader(), prenoteBatches()...)
	golden(t, "prenotes", data)
	require.True(t, totals.TotalCredit.IsZero())
	require.Equal(t, 2, totals.Entries)
}

func TestGoldenReturns(t *testing.T) {
	data, _, traces := writeFile(t, testHeader(), creditBatches()...)
	original, err := Read(bytesReader(data))
	require.NoError(t, err)
	returned := time.Date(2026, time.November, 18, 14, 5, 0, 0, time.UTC)
	var out writerBuffer
	_, err = WriteReturnFile(&out, original, returned, []ReturnRequest{
		{Trace: traces[0], Code: "R03", AddendaInformation: "No account / unable to locate"},
		{Trace: traces[3], Code: "R14", DateOfDeath: time.Date(2026, time.October, 2, 0, 0, 0, 0, time.UTC)},
	})
	require.NoError(t, err)
	golden(t, "returns", out.Bytes())
}
