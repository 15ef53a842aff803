package reports

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/xuri/excelize/v2"
)

// ErrFileExists is returned (wrapped, with the path) when the file to write
// already exists and Overwrite was not given.
var ErrFileExists = errors.New("file already exists")

// Option changes how a writer publishes its file.
type Option func(*options)

type options struct {
	overwrite bool
	checks    *[]Check
}

// Overwrite lets a writer replace an existing file (atomically: readers see
// the old file or the new one, never a mix).
//
// Without it a writer refuses to replace an existing file. A closed cycle is
// immutable (SPEC §3.4) and finance may already have reviewed, approved or
// forwarded its summary; silently replacing it would change a document under
// their feet. Re-running a close therefore fails loudly here unless the
// caller says the replacement is intended (a dry run redone, a year-end
// report regenerated on purpose).
func Overwrite() Option { return func(o *options) { o.overwrite = true } }

// CollectChecks has the cycle workbook's writer hand over its self-checks
// (the Summary sheet's Checks, in order, with their results) once the file
// is written, for a reader that should not open the workbook to see them
// (payout/cyclereport keeps them beside it as checks.json).
func CollectChecks(dst *[]Check) Option { return func(o *options) { o.checks = dst } }

func collectOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// pendingFile is a file being written under a temporary name in the
// directory of its final path; commit publishes it, discard removes it.
type pendingFile struct {
	file      *os.File
	buffer    *bufio.Writer
	final     string
	overwrite bool
	done      bool
}

// refuseExisting fails fast, before any rows are streamed, when path exists
// and Overwrite was not given. commit checks again, race-free.
func refuseExisting(path string, o options) error {
	if o.overwrite {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("reports: %s: %w (pass reports.Overwrite() to replace it)", path, ErrFileExists)
	}
	return nil
}

// createPending refuses early when path exists (without Overwrite), then
// creates the temporary file next to it. Errors name the path.
func createPending(path string, o options) (*pendingFile, error) {
	if path == "" {
		return nil, errors.New("reports: empty output path")
	}
	if err := refuseExisting(path, o); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	file, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("reports: cannot write %s: %w", path, err)
	}
	return &pendingFile{file: file, buffer: bufio.NewWriterSize(file, 256<<10), final: path, overwrite: o.overwrite}, nil
}

// Write writes to the temporary file (buffered).
func (p *pendingFile) Write(b []byte) (int, error) { return p.buffer.Write(b) }

// commit flushes and syncs the temporary file and moves it to its final
// name: rename when overwriting, otherwise a hard link, which fails if the
// final name appeared in the meantime (so two writers never clobber each
// other). File systems without hard links fall back to check-and-rename.
func (p *pendingFile) commit() error {
	if p.done {
		return nil
	}
	defer p.discard()
	if err := p.buffer.Flush(); err != nil {
		return fmt.Errorf("reports: write %s: %w", p.final, err)
	}
	if err := p.file.Sync(); err != nil {
		return fmt.Errorf("reports: sync %s: %w", p.final, err)
	}
	if err := p.file.Close(); err != nil {
		return fmt.Errorf("reports: close %s: %w", p.final, err)
	}
	temporary := p.file.Name()
	if p.overwrite {
		if err := os.Rename(temporary, p.final); err != nil {
			return fmt.Errorf("reports: publish %s: %w", p.final, err)
		}
	} else if err := os.Link(temporary, p.final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("reports: %s: %w (pass reports.Overwrite() to replace it)", p.final, ErrFileExists)
		}
		if !linkUnsupported(err) {
			return fmt.Errorf("reports: publish %s: %w", p.final, err)
		}
		if _, statErr := os.Lstat(p.final); statErr == nil {
			return fmt.Errorf("reports: %s: %w (pass reports.Overwrite() to replace it)", p.final, ErrFileExists)
		}
		if err := os.Rename(temporary, p.final); err != nil {
			return fmt.Errorf("reports: publish %s: %w", p.final, err)
		}
	}
	p.done = true
	syncDir(filepath.Dir(p.final))
	return nil
}

// discard removes the temporary file; safe to call after commit.
func (p *pendingFile) discard() {
	_ = p.file.Close()
	_ = os.Remove(p.file.Name())
}

func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EMLINK)
}

// syncDir makes the rename durable. Best effort: some file systems refuse to
// sync a directory, and the file itself is already synced.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// saveWorkbook writes f to path atomically, with the zip entries in a fixed
// order so that the same workbook gives the same bytes (SPEC §6.2: same
// cycle, same bytes).
//
// excelize's own save builds the whole zip in a memory buffer and adds the
// streamed sheets in map order. Instead, its zip writer is replaced by
// spoolZip, which compresses each entry once into a spool file next to the
// output and then copies the compressed entries, sorted by name, into the
// final file: memory stays flat and the bytes are deterministic.
func saveWorkbook(f *excelize.File, st *styles, path string, o options) error {
	pending, err := createPending(path, o)
	if err != nil {
		return err
	}
	defer pending.discard()
	if err := writeWorkbook(f, st, pending, filepath.Dir(path)); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	return pending.commit()
}

// writeWorkbook writes f's zip to w, spooling in spoolDir. The streamed
// sheets get their used ranges and measured widths from st (see
// styles.heads).
func writeWorkbook(f *excelize.File, st *styles, w io.Writer, spoolDir string) error {
	spool, err := os.CreateTemp(spoolDir, ".reports-spool-*")
	if err != nil {
		return err
	}
	defer func() {
		_ = spool.Close()
		_ = os.Remove(spool.Name())
	}()
	zw := &spoolZip{out: w, spool: spool, spoolBuffer: bufio.NewWriterSize(spool, 256<<10), heads: st.heads}
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zw })
	leftover, err := f.WriteToBuffer()
	if err != nil {
		return err
	}
	if zw.err != nil {
		return zw.err
	}
	if leftover.Len() != 0 {
		return errors.New("excelize wrote around the zip writer")
	}
	return nil
}

// compressionLevel is archive/zip's own Deflate level (register.go uses
// flate.NewWriter(w, 5)), so workbooks compress as excelize's SaveAs would.
const compressionLevel = 5

// spoolZip implements excelize.ZipWriter: see saveWorkbook.
type spoolZip struct {
	out         io.Writer
	spool       *os.File
	spoolBuffer *bufio.Writer
	written     int64 // bytes written to the spool so far
	entries     []spoolEntry
	current     *spoolEntry
	compressor  *flate.Writer
	checksum    hash.Hash32
	err         error

	// heads: worksheet part → what its head must say. While head is
	// non-nil, the current entry is such a worksheet whose opening bytes
	// (up to <sheetData>) are held back until they can be corrected: the
	// <dimension ref> and the <cols> element.
	heads       map[string]sheetHead
	currentHead sheetHead
	head        []byte
}

// maxWorksheetHead bounds the bytes held back at the start of a worksheet
// while looking for its <sheetData>: <sheetPr>, <dimension>, <sheetViews>,
// <sheetFormatPr> and <cols> come before it, within a few kilobytes; past
// this, the entry is written unchanged.
const maxWorksheetHead = 64 << 10

var (
	dimensionOpen = []byte(`<dimension ref="`)
	sheetDataOpen = []byte(`<sheetData`)
	colsOpen      = []byte(`<cols>`)
	colsClose     = []byte(`</cols>`)
)

type spoolEntry struct {
	name             string
	offset           int64
	compressedSize   int64
	uncompressedSize int64
	crc32            uint32
}

// Create starts a new entry; the previous one is finished.
func (z *spoolZip) Create(name string) (io.Writer, error) {
	if err := z.finishEntry(); err != nil {
		return nil, err
	}
	z.entries = append(z.entries, spoolEntry{name: name, offset: z.written})
	z.current = &z.entries[len(z.entries)-1]
	z.currentHead, z.head = sheetHead{}, nil
	if head, ok := z.heads[name]; ok {
		z.currentHead, z.head = head, make([]byte, 0, 4096)
	}
	if z.compressor == nil {
		var err error
		if z.compressor, err = flate.NewWriter(spoolCounter{z}, compressionLevel); err != nil {
			return nil, err
		}
		z.checksum = crc32.NewIEEE()
	} else {
		z.compressor.Reset(spoolCounter{z})
		z.checksum.Reset()
	}
	return spoolEntryWriter{z}, nil
}

// AddFS is part of excelize.ZipWriter; excelize does not call it when saving.
func (z *spoolZip) AddFS(fs.FS) error {
	return errors.New("reports: AddFS is not supported")
}

func (z *spoolZip) finishEntry() error {
	if z.current == nil {
		return z.err
	}
	z.flushHead()
	if err := z.compressor.Close(); err != nil && z.err == nil {
		z.err = err
	}
	z.current.crc32 = z.checksum.Sum32()
	z.current.compressedSize = z.written - z.current.offset
	z.current = nil
	return z.err
}

// Close writes the zip: entries in a fixed order ([Content_Types].xml first,
// then by name), each copied raw from the spool.
func (z *spoolZip) Close() error {
	if err := z.finishEntry(); err != nil {
		return err
	}
	if err := z.spoolBuffer.Flush(); err != nil {
		z.err = err
		return err
	}
	entries := append([]spoolEntry(nil), z.entries...)
	sort.Slice(entries, func(a, b int) bool {
		if (entries[a].name == "[Content_Types].xml") != (entries[b].name == "[Content_Types].xml") {
			return entries[a].name == "[Content_Types].xml"
		}
		return entries[a].name < entries[b].name
	})
	zw := zip.NewWriter(z.out)
	for _, entry := range entries {
		raw, err := zw.CreateRaw(&zip.FileHeader{
			Name:               entry.name,
			Method:             zip.Deflate,
			CRC32:              entry.crc32,
			CompressedSize64:   uint64(entry.compressedSize),
			UncompressedSize64: uint64(entry.uncompressedSize),
		})
		if err != nil {
			z.err = err
			return err
		}
		if _, err := io.Copy(raw, io.NewSectionReader(z.spool, entry.offset, entry.compressedSize)); err != nil {
			z.err = err
			return err
		}
	}
	if err := zw.Close(); err != nil {
		z.err = err
		return err
	}
	return nil
}

// spoolCounter is where the compressor writes: the spool, counted.
type spoolCounter struct{ z *spoolZip }

func (c spoolCounter) Write(p []byte) (int, error) {
	n, err := c.z.spoolBuffer.Write(p)
	c.z.written += int64(n)
	return n, err
}

// spoolEntryWriter receives an entry's uncompressed bytes.
type spoolEntryWriter struct{ z *spoolZip }

func (w spoolEntryWriter) Write(p []byte) (int, error) {
	z := w.z
	if z.current == nil {
		return 0, errors.New("reports: write to a finished zip entry")
	}
	if z.head != nil {
		if len(z.head) == 0 {
			// Usually the whole head comes in the first write: correct it
			// without copying the rest (up to excelize's 16 MiB buffer).
			if end := bytes.Index(p, sheetDataOpen); end >= 0 {
				z.head = append(z.head, p[:end]...)
				z.flushHead()
				if _, err := z.writeEntry(p[end:]); err != nil {
					return 0, err
				}
				return len(p), z.err
			}
		}
		z.head = append(z.head, p...)
		if bytes.Contains(z.head, sheetDataOpen) || len(z.head) >= maxWorksheetHead {
			z.flushHead()
		}
		return len(p), z.err
	}
	return z.writeEntry(p)
}

// dimensionEnd is the index of the quote closing the ref of head's
// <dimension>, or -1 when head does not hold it (yet).
func dimensionEnd(head []byte) int {
	start := bytes.Index(head, dimensionOpen)
	if start < 0 {
		return -1
	}
	end := bytes.IndexByte(head[start+len(dimensionOpen):], '"')
	if end < 0 {
		return -1
	}
	return start + len(dimensionOpen) + end
}

// flushHead writes the held-back start of a worksheet with its
// <dimension ref> replaced by the real used range and its <cols> by the
// measured widths.
func (z *spoolZip) flushHead() {
	if z.head == nil {
		return
	}
	head := z.head
	z.head = nil
	if end := dimensionEnd(head); end >= 0 && z.currentHead.usedRange != "" {
		start := bytes.Index(head, dimensionOpen) + len(dimensionOpen)
		fixed := make([]byte, 0, len(head)+len(z.currentHead.usedRange))
		fixed = append(append(append(fixed, head[:start]...), z.currentHead.usedRange...), head[end:]...)
		head = fixed
	}
	if cols := z.currentHead.cols; cols != "" {
		start, end := bytes.Index(head, colsOpen), bytes.Index(head, colsClose)
		if start >= 0 && end > start {
			end += len(colsClose)
			fixed := make([]byte, 0, len(head)-(end-start)+len(cols))
			fixed = append(append(append(fixed, head[:start]...), cols...), head[end:]...)
			head = fixed
		}
	}
	_, _ = z.writeEntry(head)
}

// writeEntry checksums, counts and compresses bytes of the current entry.
func (z *spoolZip) writeEntry(p []byte) (int, error) {
	z.checksum.Write(p)
	z.current.uncompressedSize += int64(len(p))
	n, err := z.compressor.Write(p)
	if err != nil && z.err == nil {
		z.err = err
	}
	return n, err
}
