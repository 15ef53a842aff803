// Package progress shows how a long command is getting on, on stderr.
//
// A step that ends within Quiet (2 s) prints nothing. Past it, a terminal
// gets one status line redrawn in place (at most five times a second) and
// cleared when the step ends; anything else (a pipe, a CI log, a file) gets a
// plain line every Interval (5 s) and one closing line, so a long step is
// never silent and a log is never flooded. Durations come from the monotonic
// clock: they are for people to read, and decide nothing.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Timings of the reports.
const (
	// Quiet is how long a step runs before it says anything.
	Quiet = 2 * time.Second
	// Interval is the period of the plain lines written when the output is
	// not a terminal.
	Interval = 5 * time.Second
	// redraw is the period of a terminal's status line.
	redraw = 200 * time.Millisecond
)

// Meter reports one step. Its methods are safe for concurrent use.
type Meter struct {
	w        io.Writer
	terminal bool
	what     string
	unit     string
	total    int64

	mu      sync.Mutex
	count   int64
	started time.Time
	shown   bool // something was written
	done    chan struct{}
	stopped sync.WaitGroup
	// tick is the ticker's period (redraw on a terminal, Interval
	// otherwise); tests shorten it through start.
	tick  time.Duration
	quiet time.Duration
}

// Start begins reporting a step called what (e.g. "importing"), counting in
// unit ("lines"; "" for a step without a count) up to total (0: unknown).
// Call Update with the count as it grows and Done when the step ends.
func Start(w io.Writer, terminal bool, what, unit string, total int64) *Meter {
	tick := Interval
	if terminal {
		tick = redraw
	}
	return start(w, terminal, what, unit, total, Quiet, tick)
}

func start(w io.Writer, terminal bool, what, unit string, total int64, quiet, tick time.Duration) *Meter {
	m := &Meter{w: w, terminal: terminal, what: what, unit: unit, total: total, started: time.Now(),
		done: make(chan struct{}), tick: tick, quiet: quiet}
	if w == nil {
		return m
	}
	m.stopped.Add(1)
	go m.run()
	return m
}

func (m *Meter) run() {
	defer m.stopped.Done()
	ticker := time.NewTicker(m.tick)
	defer ticker.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-ticker.C:
			m.mu.Lock()
			if time.Since(m.started) >= m.quiet {
				m.write(false)
			}
			m.mu.Unlock()
		}
	}
}

// Update records the count so far (the callbacks of the import, the close
// and the simulator take it as it is).
func (m *Meter) Update(count int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.count = count
	m.mu.Unlock()
}

// Done ends the step: a terminal's status line is cleared; a log that was
// told about the step gets a closing line with the final count and time.
func (m *Meter) Done() {
	if m == nil || m.w == nil {
		return
	}
	select {
	case <-m.done:
		return
	default:
	}
	close(m.done)
	m.stopped.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.shown {
		return
	}
	if m.terminal {
		fmt.Fprint(m.w, "\r\033[K")
		return
	}
	m.write(true)
}

// write prints the status; the caller holds mu.
func (m *Meter) write(final bool) {
	elapsed := time.Since(m.started).Round(100 * time.Millisecond)
	line := m.what
	switch {
	case m.unit == "":
	case m.total > 0:
		line += fmt.Sprintf(": %s of %s %s (%d%%)", thousands(m.count), thousands(m.total), m.unit, m.count*100/m.total)
	default:
		line += fmt.Sprintf(": %s %s", thousands(m.count), m.unit)
	}
	if final {
		line += fmt.Sprintf(", done in %s", elapsed)
	} else {
		line += fmt.Sprintf(", %s", elapsed)
		if seconds := elapsed.Seconds(); m.unit != "" && seconds > 0 {
			line += fmt.Sprintf(", %s %s/s", thousands(int64(float64(m.count)/seconds)), m.unit)
		}
	}
	if m.terminal {
		fmt.Fprintf(m.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(m.w, line)
	}
	m.shown = true
}

// thousands writes n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
