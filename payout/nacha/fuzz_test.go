package nacha

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func seedCorpus(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))
	}
	f.Add([]byte(""))
	f.Add([]byte(paddingRecord + "\n"))
}

// FuzzRead: Read never panics, fails only with a *ParseError, and a file it
// accepts is written again byte for byte.
func FuzzRead(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			if pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		var again bytes.Buffer
		if _, err := file.WriteTo(&again); err != nil {
			t.Fatalf("accepted file does not write again: %v", err)
		}
		if !bytes.Equal(again.Bytes(), data) {
			t.Fatalf("accepted file writes differently:\n%q\n%q", data, again.Bytes())
		}
		if len(data)%((RecordLength+1)*BlockingFactor) != 0 {
			t.Fatalf("accepted file of %d bytes is not whole blocks", len(data))
		}
	})
}

// FuzzReturnsReader: ReadReturns never panics and fails only with a
// *ParseError.
func FuzzReturnsReader(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		returns, err := ReadReturns(bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		for _, r := range returns {
			if !validReturnCode(r.ReturnCode) || len(r.OriginalTrace) != 15 {
				t.Fatalf("accepted a bad return: %+v", r)
			}
			if !r.DateOfDeath.IsZero() && r.DateOfDeath.Year() < 2000 {
				t.Fatalf("date of death %v", r.DateOfDeath)
			}
		}
	})
}
