package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Bounds on how long an import may wait for its input while it holds
// ImportLockKey (a close waits for that lock; one waited 622 s behind an
// import whose input had stalled, and the import ignored SIGTERM).
const (
	// DefaultStallTimeout ends an import whose file delivers nothing for
	// this long: the file is on local disk or spooled there (the admin
	// API's uploads), so a minute without a byte is a hung pipe or mount,
	// not a slow disk.
	DefaultStallTimeout = time.Minute
	// DefaultIdleTimeout is the import transaction's
	// idle_in_transaction_session_timeout: the database ends the session,
	// releasing the lock, when the import sends nothing between statements
	// for this long (it reads the file between statements while it probes
	// for repeats). It is the server's guard for what the client's cannot
	// cover: a client process stopped or wedged outside a read. COPY is a
	// statement, not idleness: there DefaultStallTimeout and cancellation
	// apply.
	DefaultIdleTimeout = time.Minute
)

// ErrInputStalled is returned (wrapped) by an import whose file delivered
// nothing for its stall timeout.
var ErrInputStalled = errors.New("the earnings file delivered nothing")

// input reads an import's file in a goroutine of its own, so the import can
// stop waiting for a read that does not return: when ctx is done (SIGTERM,
// a client gone) or when the file delivers nothing for stall. A file read
// that blocks in the kernel (a pipe, standard input, a hung mount) cannot be
// interrupted; input returns without it, closes the file, and the abandoned
// read ends whenever the kernel lets it. The import itself then rolls back
// and releases its lock at once.
//
// One read is in flight at a time, into input's own buffer: the caller's
// slice is never written after Read returned. Errors are sticky.
type input struct {
	ctx      context.Context
	file     io.ReadCloser
	stall    time.Duration
	requests chan int
	results  chan inputResult
	buf      []byte
	pending  bool
	err      error
}

type inputResult struct {
	n   int
	err error
}

func newInput(ctx context.Context, file io.ReadCloser, stall time.Duration) *input {
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	in := &input{ctx: ctx, file: file, stall: stall, requests: make(chan int), results: make(chan inputResult, 1)}
	go in.loop()
	return in
}

func (in *input) loop() {
	for size := range in.requests {
		n, err := in.file.Read(in.buf[:size])
		in.results <- inputResult{n, err}
	}
}

// Read implements io.Reader.
func (in *input) Read(p []byte) (int, error) {
	if in.err != nil {
		return 0, in.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !in.pending {
		if cap(in.buf) < len(p) {
			in.buf = make([]byte, len(p))
		}
		in.pending = true
		in.requests <- len(p)
	}
	timer := time.NewTimer(in.stall)
	defer timer.Stop()
	select {
	case result := <-in.results:
		in.pending = false
		n := copy(p, in.buf[:result.n])
		if result.err != nil && result.err != io.EOF {
			in.err = fmt.Errorf("read: %w", result.err)
			return n, in.err
		}
		return n, result.err
	case <-in.ctx.Done():
		in.err = fmt.Errorf("import stopped while reading the file, nothing imported: %w", context.Cause(in.ctx))
	case <-timer.C:
		in.err = fmt.Errorf("%w for %s: import stopped, nothing imported", ErrInputStalled, in.stall)
	}
	// The read in flight is abandoned; closing the file may end it.
	go in.file.Close()
	return 0, in.err
}

// Close ends the reading goroutine (once the read in flight, if any, has
// returned) and closes the file.
func (in *input) Close() error {
	close(in.requests)
	if in.pending && in.err != nil {
		return nil // closed when the read was abandoned
	}
	return in.file.Close()
}
