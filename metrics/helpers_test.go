package metrics_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payrun/payrun/metrics"
)

// promtoolMissing is the failure when promtool is not installed: these
// tests never skip.
const promtoolMissing = "promtool not found: run `make deps` (installs prometheus)"

// promtool returns the path of promtool or fails the test.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal(promtoolMissing)
	}
	return path
}

// runPromtool runs promtool with args in dir, stdin as its input, and fails
// the test with its output when it fails.
func runPromtool(t *testing.T, dir string, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// fixedClock is 2026-06-05 07:30 UTC.
var fixedClock = time.Date(2026, 6, 5, 7, 30, 0, 0, time.UTC)

// newMetrics returns metrics on a fresh registry with a fixed clock.
func newMetrics(t *testing.T) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	registry := prometheus.NewRegistry()
	return metrics.New(registry, metrics.WithClock(func() time.Time { return fixedClock })), registry
}

// scrape fetches /metrics from registry the way Prometheus does: through
// promhttp in an HTTP server.
func scrape(t *testing.T, registry *prometheus.Registry) []byte {
	t.Helper()
	server := httptest.NewServer(promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	defer server.Close()
	response, err := http.Get(server.URL)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	if response.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", response.Status, body)
	}
	return body
}

// samples parses the text exposition format into series → value; a
// series is written as in the exposition, labels in alphabetical order
// (`payrun_payouts{method="bank",status="paid"}`).
func samples(t *testing.T, body []byte) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	scanner := bufio.NewScanner(bytes.NewReader(body))
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cut := strings.LastIndexByte(line, ' ')
		if cut < 0 {
			t.Fatalf("bad exposition line %q", line)
		}
		value, err := strconv.ParseFloat(line[cut+1:], 64)
		if err != nil {
			t.Fatalf("bad exposition line %q: %v", line, err)
		}
		out[line[:cut]] = value
	}
	return out
}

// families returns the metric family names in an exposition (# TYPE lines).
func families(body []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if fields := strings.Fields(line); len(fields) == 4 && fields[0] == "#" && fields[1] == "TYPE" {
			out[fields[2]] = fields[3]
		}
	}
	return out
}

// expectSample fails unless series has value in got.
func expectSample(t *testing.T, got map[string]float64, series string, value float64) {
	t.Helper()
	actual, ok := got[series]
	if !ok {
		t.Errorf("no series %s", series)
		return
	}
	if actual != value {
		t.Errorf("%s = %v, want %v", series, actual, value)
	}
}

// expectNoSeries fails if any series of got starts with prefix.
func expectNoSeries(t *testing.T, got map[string]float64, prefix string) {
	t.Helper()
	for series := range got {
		if strings.HasPrefix(series, prefix) {
			t.Errorf("unexpected series %s", series)
		}
	}
}
