package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/payrun/payrun/internal/httprec"
)

// RequestIDHeader carries a request's id, in and out.
const RequestIDHeader = "X-Request-ID"

// maxRequestIDLength bounds a client's request id: 64 holds a UUID, a W3C
// trace id (32 hex digits) and most load balancers' ids.
const maxRequestIDLength = 64

// Middleware serves next with request ids and an access log:
//
//   - The request id is the client's X-Request-ID when it is 1–64 characters
//     of [A-Za-z0-9._-] that Redact would leave alone, else 32 random hex
//     digits; it is set on the response's X-Request-ID.
//   - The request's context carries a logger (FromContext) whose lines have
//     request_id, method and route — the template route returns, e.g.
//     /v1/accounts/{seller_id}, read when a line is written.
//   - After next returns, one line "http request" with status, duration
//     and bytes, at Info, or at Error for a 5xx or a panic (which is then
//     re-raised for http.Server).
//
// logger's handler should include ContextHandler (to tag lines logged
// elsewhere with the request's context) and Redact; Middleware does not add
// them. route (e.g. metrics.Route) sees the request after the routers ran.
//
// Like metrics.Middleware, Middleware puts an empty chi routing context into
// the request when there is none, so that a chi router inside next records
// its pattern where route can read it, and so that handlers inside it
// (metrics.Middleware included) see the very request http.ServeMux sets
// Pattern on. It must therefore be the outermost of the two.
func Middleware(logger *slog.Logger, next http.Handler, route func(*http.Request) string) http.Handler {
	if route == nil {
		route = func(*http.Request) string { return "" }
	}
	base := logger.Handler()
	if h, ok := base.(*contextHandler); ok && h.bound == nil && !h.settled {
		// The request's own logger adds the attributes; the context must
		// not add them a second time.
		base = h.next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := r.Context()
		if chi.RouteContext(ctx) == nil {
			ctx = context.WithValue(ctx, chi.RouteCtxKey, chi.NewRouteContext())
		}
		info := &requestInfo{id: id, method: r.Method, route: route}
		requestLogger := slog.New(&contextHandler{next: base, bound: info})
		ctx = NewContext(context.WithValue(ctx, requestKey{}, info), requestLogger)
		r = r.WithContext(ctx)
		info.request = r
		recorder := &httprec.Recorder{ResponseWriter: w}
		defer func() {
			status := recorder.Status
			recovered := recover()
			if status == 0 {
				status = http.StatusOK
				if recovered != nil {
					status = http.StatusInternalServerError
				}
			}
			level := slog.LevelInfo
			if status >= 500 || (recovered != nil && recovered != http.ErrAbortHandler) {
				level = slog.LevelError
			}
			attrs := []slog.Attr{slog.Int("status", status), slog.Duration("duration", time.Since(started)), slog.Int64("bytes", recorder.Bytes)}
			if recovered != nil && recovered != http.ErrAbortHandler {
				attrs = append(attrs, slog.String("panic", fmt.Sprint(recovered)))
			}
			requestLogger.LogAttrs(context.WithoutCancel(ctx), level, "http request", attrs...)
			if recovered != nil {
				panic(recovered)
			}
		}()
		next.ServeHTTP(recorder, r)
	})
}

// validRequestID: a client's id is echoed into logs and headers, so it must
// be a short, plain token, and not one the log guard would redact (it would
// then be useless for finding the request's lines).
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isTokenChar(id[i]) {
			return false
		}
	}
	return !Sensitive(id)
}

// newRequestID is 128 random bits in lower-case hex.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}
