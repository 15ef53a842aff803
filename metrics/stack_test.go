// The request logging (internal/logging) and the metrics middleware tested
// together, stacked as payrun serve stacks them; here because the metrics
// package sits above the domain and internal/ imports none of it.

package metrics_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/metrics"
)

// syncBuffer is a log destination safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes the JSON log lines written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []map[string]any
	scanner := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for scanner.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &line), scanner.Text())
		lines = append(lines, line)
	}
	return lines
}

// server is serve's stack in small: a ServeMux with a chi router under
// /v1/, metrics inside the logging middleware, a logger as payrun serve
// builds it. adminLogger is the one logger a server-wide component holds.
func server(t *testing.T) (http.Handler, *syncBuffer, *prometheus.Registry) {
	out := &syncBuffer{}
	logger := slog.New(logging.ContextHandler(logging.Redact(slog.NewJSONHandler(out, nil))))
	adminLogger := logger.With("component", "admin")
	router := chi.NewRouter()
	router.Get("/v1/accounts/{seller_id}", func(w http.ResponseWriter, r *http.Request) {
		logging.FromContext(r.Context()).Info("reading account", "seller_id", chi.URLParam(r, "seller_id"))
		w.Write([]byte("{}"))
	})
	router.Post("/v1/fail", func(w http.ResponseWriter, r *http.Request) {
		adminLogger.ErrorContext(r.Context(), "admin: internal error", "error", "account 48150162342 is locked")
		adminLogger.Error("admin: internal error without the context")
		http.Error(w, "internal error", http.StatusInternalServerError)
	})
	router.Get("/v1/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux := http.NewServeMux()
	mux.Handle("/v1/", router)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	registry := prometheus.NewRegistry()
	m := metrics.New(registry)
	return logging.Middleware(logger, metrics.Middleware(m, mux, metrics.Route), metrics.Route), out, registry
}

func serve(h http.Handler, method, target, requestID string) *httptest.ResponseRecorder {
	request := httptest.NewRequest(method, target, nil)
	if requestID != "" {
		request.Header.Set(logging.RequestIDHeader, requestID)
	}
	response := httptest.NewRecorder()
	h.ServeHTTP(response, request)
	return response
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	h, _, _ := server(t)
	for _, c := range []struct{ name, in, want string }{
		{"kept", "req-42.a_b", "req-42.a_b"},
		{"uuid kept", "0b6a7d52-3c1f-4b8e-9a1d-5e2f7c9b0a41", "0b6a7d52-3c1f-4b8e-9a1d-5e2f7c9b0a41"},
		{"64 characters kept", strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{"65 characters replaced", strings.Repeat("a", 65), ""},
		{"spaces replaced", "a b", ""},
		{"injection replaced", "x\"\ny", ""},
		{"a secret is replaced, not echoed", "123456789", ""},
		{"none", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := serve(h, "GET", "/healthz", c.in).Header().Get(logging.RequestIDHeader)
			if c.want == "" {
				require.Regexp(t, generatedID, got)
			} else {
				require.Equal(t, c.want, got)
			}
		})
	}
	a := serve(h, "GET", "/healthz", "").Header().Get(logging.RequestIDHeader)
	b := serve(h, "GET", "/healthz", "").Header().Get(logging.RequestIDHeader)
	require.NotEqual(t, a, b)
}

func TestAccessLogAndRequestLogger(t *testing.T) {
	t.Parallel()
	h, out, registry := server(t)
	require.Equal(t, http.StatusOK, serve(h, "GET", "/v1/accounts/S000000042", "req-1").Code)
	require.Equal(t, http.StatusOK, serve(h, "GET", "/healthz", "req-2").Code)
	require.Equal(t, http.StatusNotFound, serve(h, "GET", "/v1/accounts/S1/nothing/123456789", "req-3").Code)
	require.Equal(t, http.StatusInternalServerError, serve(h, "POST", "/v1/fail", "req-4").Code)
	require.Panics(t, func() { serve(h, "GET", "/v1/panic", "req-5") })

	lines := out.lines(t)
	byMessage := func(msg, id string) map[string]any {
		for _, line := range lines {
			if line["msg"] == msg && line["request_id"] == id {
				return line
			}
		}
		t.Fatalf("no line %q for %s in %v", msg, id, lines)
		return nil
	}
	read := byMessage("reading account", "req-1")
	require.Equal(t, "/v1/accounts/{seller_id}", read["route"], "the route is known by the time the handler logs")
	require.Equal(t, "GET", read["method"])
	require.Equal(t, "S000000042", read["seller_id"])

	access := byMessage("http request", "req-1")
	require.Equal(t, "INFO", access["level"])
	require.Equal(t, "/v1/accounts/{seller_id}", access["route"])
	require.EqualValues(t, 200, access["status"])
	require.EqualValues(t, 2, access["bytes"])
	require.Contains(t, access, "duration")

	require.Equal(t, "/healthz", byMessage("http request", "req-2")["route"])
	notFound := byMessage("http request", "req-3")
	require.Equal(t, "INFO", notFound["level"])
	require.EqualValues(t, 404, notFound["status"])
	require.Equal(t, "/v1/", notFound["route"], "the ServeMux pattern when chi matched nothing: never the raw path")

	failed := byMessage("http request", "req-4")
	require.Equal(t, "ERROR", failed["level"])
	require.EqualValues(t, 500, failed["status"])
	internal := byMessage("admin: internal error", "req-4")
	require.Equal(t, "admin", internal["component"], "a server-wide logger given the request's context tags its line")
	require.Equal(t, "/v1/fail", internal["route"])
	require.Equal(t, "account [redacted] is locked", internal["error"])

	panicked := byMessage("http request", "req-5")
	require.Equal(t, "ERROR", panicked["level"])
	require.EqualValues(t, 500, panicked["status"])
	require.Equal(t, "boom", panicked["panic"])

	for _, line := range lines {
		if line["msg"] == "admin: internal error without the context" {
			require.NotContains(t, line, "request_id", "without the context no request can be named")
		}
		require.NotContains(t, line, "path")
	}
	require.NotContains(t, out.buf.String(), "123456789")

	// The metrics inside still see the routers' patterns.
	families, err := registry.Gather()
	require.NoError(t, err)
	routes := map[string]bool{}
	for _, family := range families {
		if family.GetName() != "payrun_http_requests_total" {
			continue
		}
		for _, metric := range family.GetMetric() {
			for _, label := range metric.GetLabel() {
				if label.GetName() == "route" {
					routes[label.GetValue()] = true
				}
			}
		}
	}
	require.Equal(t, map[string]bool{"/v1/accounts/{seller_id}": true, "/healthz": true, "/v1/": true, "/v1/fail": true, "/v1/panic": true}, routes)
}

func TestFromContext(t *testing.T) {
	t.Parallel()
	require.Same(t, slog.Default(), logging.FromContext(t.Context()))
	logger := slog.New(slog.DiscardHandler)
	require.Same(t, logger, logging.FromContext(logging.NewContext(t.Context(), logger)))
	require.Empty(t, logging.RequestID(t.Context()))

	var seen string
	h := logging.Middleware(logger, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen = logging.RequestID(r.Context())
	}), nil)
	serve(h, "GET", "/", "abc")
	require.Equal(t, "abc", seen)
}

// A request logger that opens a group keeps the request attributes at the
// top level.
func TestRequestLoggerWithGroup(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	logger := slog.New(logging.ContextHandler(slog.NewJSONHandler(out, nil)))
	h := logging.Middleware(logger, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		logging.FromContext(r.Context()).WithGroup("g").Info("grouped", "x", 1)
	}), func(*http.Request) string { return "/r" })
	serve(h, "GET", "/", "id-1")
	lines := out.lines(t)
	require.Len(t, lines, 2)
	require.Equal(t, "id-1", lines[0]["request_id"])
	require.Equal(t, "/r", lines[0]["route"])
	require.Equal(t, map[string]any{"x": float64(1)}, lines[0]["g"])
	require.Equal(t, "id-1", lines[1]["request_id"])
	require.Equal(t, "http request", lines[1]["msg"])
	require.NotContains(t, lines[1], "g")
}
