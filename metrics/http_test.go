package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/metrics"
)

// serveMux is shaped like `payrun serve`'s: the admin API's chi router
// under /v1/ in an http.ServeMux with method patterns beside it.
func serveMux(t *testing.T) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	// No database: the requests below are refused before any query.
	mux.Handle("/v1/", admin.New(admin.Config{}).Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /panics", func(http.ResponseWriter, *http.Request) { panic("boom") })
	return mux
}

// serveThrough sends one request through the middleware around serveMux.
func serveThrough(t *testing.T, m *metrics.Metrics, method, target string) int {
	t.Helper()
	handler := metrics.Middleware(m, serveMux(t), metrics.Route)
	recorder := httptest.NewRecorder()
	request := httptest.NewRequest(method, target, nil)
	func() {
		defer func() {
			// http.Server recovers handler panics; the middleware must
			// have counted the request first and passed the panic on.
			if recovered := recover(); recovered != nil && recovered != "boom" {
				panic(recovered)
			}
		}()
		handler.ServeHTTP(recorder, request)
	}()
	return recorder.Code
}

func TestMiddlewareLabelsRouteTemplates(t *testing.T) {
	t.Parallel()
	m, registry := newMetrics(t)
	if code := serveThrough(t, m, http.MethodGet, "/v1/accounts/S000000001"); code != http.StatusUnauthorized {
		t.Fatalf("GET /v1/accounts/S000000001 without a token: %d, want 401", code)
	}
	serveThrough(t, m, http.MethodGet, "/v1/accounts/S000000002")
	serveThrough(t, m, http.MethodGet, "/healthz")
	serveThrough(t, m, http.MethodGet, "/readyz")
	serveThrough(t, m, http.MethodGet, "/no/such/page/S000000001")
	serveThrough(t, m, http.MethodGet, "/v1/no-such-endpoint/S000000001")
	serveThrough(t, m, "BREW", "/healthz")
	serveThrough(t, m, http.MethodGet, "/panics")
	got := samples(t, scrape(t, registry))

	// Both sellers fall under one template: no seller id in any label.
	expectSample(t, got, `payrun_http_requests_total{code="401",method="GET",route="/v1/accounts/{seller_id}"}`, 2)
	expectSample(t, got, `payrun_http_request_duration_seconds_count{method="GET",route="/v1/accounts/{seller_id}"}`, 2)
	expectSample(t, got, `payrun_http_requests_total{code="200",method="GET",route="/healthz"}`, 1)
	expectSample(t, got, `payrun_http_requests_total{code="503",method="GET",route="/readyz"}`, 1)
	// Unmatched paths: "other" outside /v1/, the mount point inside it.
	expectSample(t, got, `payrun_http_requests_total{code="404",method="GET",route="other"}`, 1)
	expectSample(t, got, `payrun_http_requests_total{code="404",method="GET",route="/v1/"}`, 1)
	// Methods are bounded too (the mux answers 405 for BREW /healthz).
	expectSample(t, got, `payrun_http_requests_total{code="405",method="other",route="other"}`, 1)
	// A panicking handler counts as a 500.
	expectSample(t, got, `payrun_http_requests_total{code="500",method="GET",route="/panics"}`, 1)
	for series := range got {
		for _, raw := range []string{"S000000001", "S000000002", "/no/such/page", "BREW"} {
			if strings.Contains(series, raw) {
				t.Errorf("series %s carries the raw request value %q", series, raw)
			}
		}
	}
}

// Route reads a chi router's pattern even when chi runs below an outer
// router, and strips the method from a ServeMux pattern.
func TestRoute(t *testing.T) {
	t.Parallel()
	router := chi.NewRouter()
	var seen string
	router.Get("/v1/things/{id}/parts/{part}", func(w http.ResponseWriter, r *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("/v1/", router)
	mux.HandleFunc("POST example.com/hooks/{name}", func(http.ResponseWriter, *http.Request) {})
	m, _ := newMetrics(t)
	handler := metrics.Middleware(m, mux, func(r *http.Request) string {
		seen = metrics.Route(r)
		return seen
	})
	for _, tc := range []struct{ method, target, want string }{
		{http.MethodGet, "/v1/things/7/parts/9", "/v1/things/{id}/parts/{part}"},
		{http.MethodPost, "http://example.com/hooks/paypal", "example.com/hooks/{name}"},
		{http.MethodGet, "/elsewhere", metrics.RouteOther},
	} {
		handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.target, nil))
		if seen != tc.want {
			t.Errorf("%s %s: route %q, want %q", tc.method, tc.target, seen, tc.want)
		}
	}
}
