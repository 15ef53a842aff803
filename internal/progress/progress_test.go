package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the meter's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestAQuickStepSaysNothing(t *testing.T) {
	var out syncBuffer
	m := start(&out, false, "importing", "lines", 0, time.Hour, time.Millisecond)
	m.Update(10)
	time.Sleep(20 * time.Millisecond)
	m.Done()
	require.Empty(t, out.String())
}

func TestALongStepWritesPlainLinesToALog(t *testing.T) {
	var out syncBuffer
	m := start(&out, false, "importing", "lines", 2_000_000, 0, 5*time.Millisecond)
	m.Update(1_234_567)
	require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") >= 2 }, time.Second, time.Millisecond)
	m.Update(2_000_000)
	m.Done()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Contains(t, lines[0], "importing: 1,234,567 of 2,000,000 lines (61%)")
	require.Contains(t, lines[len(lines)-1], "importing: 2,000,000 of 2,000,000 lines (100%), done in")
	require.NotContains(t, out.String(), "\r", "no terminal control in a log")
	require.NotContains(t, out.String(), "\033", "no terminal control in a log")
	m.Done() // a second Done is harmless
}

func TestATerminalGetsOneLineRedrawnAndCleared(t *testing.T) {
	var out syncBuffer
	m := start(&out, true, "closing", "accounts", 0, 0, time.Millisecond)
	m.Update(42)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "closing: 42 accounts") }, time.Second, time.Millisecond)
	m.Done()
	require.NotContains(t, out.String(), "\n", "the status line is redrawn in place")
	require.True(t, strings.HasSuffix(out.String(), "\r\033[K"), "and cleared at the end")
}

func TestAStepWithoutACountSaysItIsStillRunning(t *testing.T) {
	var out syncBuffer
	m := start(&out, false, "writing the payment files", "", 0, 0, time.Millisecond)
	require.Eventually(t, func() bool { return out.String() != "" }, time.Second, time.Millisecond)
	m.Done()
	require.True(t, strings.HasPrefix(out.String(), "writing the payment files, "), out.String())
}

func TestNilAndWriterlessMetersAreInert(t *testing.T) {
	var m *Meter
	m.Update(1)
	m.Done()
	Start(nil, false, "x", "", 0).Done()
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		require.Equal(t, want, thousands(n))
	}
}
