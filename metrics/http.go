package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/payrun/payrun/internal/httprec"
)

// RouteOther is the route label of a request no route matched: raw paths
// never become label values, so a scan of random URLs adds no series.
const RouteOther = "other"

// Middleware counts and times the requests next serves, labelled with the
// route template route returns (nil means Route), the method and the status
// code. route is called after next returned, when the routers have
// recorded what they matched.
//
// So that a chi router anywhere inside next (the admin API under /v1/)
// records its pattern where route can read it, Middleware puts an empty chi
// routing context into the request when there is none: chi then routes in
// that context instead of a pooled one it would reset on return.
func Middleware(m *Metrics, next http.Handler, route func(*http.Request) string) http.Handler {
	if m == nil {
		return next
	}
	if route == nil {
		route = Route
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		if chi.RouteContext(r.Context()) == nil {
			r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, chi.NewRouteContext()))
		}
		recorder := &httprec.Recorder{ResponseWriter: w}
		defer func() {
			// Also on a panic (http.Server recovers it): the request was
			// served, badly. A handler that never wrote answered 200.
			code := recorder.Status
			if code == 0 {
				code = http.StatusOK
				if recovered := recover(); recovered != nil {
					code = http.StatusInternalServerError
					defer panic(recovered)
				}
			}
			label, method := route(r), methodLabel(r.Method)
			m.httpRequests.WithLabelValues(label, method, strconv.Itoa(code)).Inc()
			m.httpDuration.WithLabelValues(label, method).Observe(time.Since(started).Seconds())
		}()
		next.ServeHTTP(recorder, r)
	})
}

// Route is the route template of a served request: the chi pattern (e.g.
// /v1/accounts/{seller_id}) when a chi router matched it, else the
// http.ServeMux pattern without its method (e.g. /healthz), else
// RouteOther.
func Route(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		if pattern := rctx.RoutePattern(); pattern != "" {
			return pattern
		}
	}
	if pattern := r.Pattern; pattern != "" {
		// "[METHOD ][HOST]/PATH": keep the host and path.
		if i := strings.IndexByte(pattern, ' '); i >= 0 {
			pattern = strings.TrimLeft(pattern[i+1:], " \t")
		}
		return pattern
	}
	return RouteOther
}

// methodLabel bounds the method label: clients choose the method, so any
// but the standard ones is "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return MethodOther
}
