package logging

import (
	"context"
	"log/slog"
	"net/http"
)

type loggerKey struct{}
type requestKey struct{}

// NewContext returns ctx carrying logger, for FromContext.
func NewContext(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, logger)
}

// FromContext returns the logger of the request or job run ctx belongs to
// (see Middleware and NewContext), or slog.Default() when there is none.
func FromContext(ctx context.Context) *slog.Logger {
	if logger, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && logger != nil {
		return logger
	}
	return slog.Default()
}

// RequestID returns the id Middleware gave the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// requestInfo is what a request's log lines say about it. The route is read
// when a line is written: it is known only once a router has matched, after
// Middleware put the logger into the context.
type requestInfo struct {
	id     string
	method string
	// request is the request the routers see (http.ServeMux sets its
	// Pattern, chi fills its route context).
	request *http.Request
	route   func(*http.Request) string
}

func (info *requestInfo) attrs() []slog.Attr {
	return []slog.Attr{
		slog.String("request_id", info.id),
		slog.String("method", info.method),
		slog.String("route", info.route(info.request)),
	}
}

// ContextHandler returns a handler that adds, to every record logged with
// the context of a request served by Middleware (InfoContext, ErrorContext,
// ...), the request's request_id, method and route. A logger built once for
// a whole server (the admin API's Config.Logger) thereby tags its lines with
// the request when its calls pass the request's context; calls without a
// context (Info, Error) cannot be tagged.
func ContextHandler(next slog.Handler) slog.Handler {
	return &contextHandler{next: next}
}

// contextHandler adds request attributes: those of bound when set (a
// request's own logger, see Middleware), else those of the context a record
// is logged with.
type contextHandler struct {
	next  slog.Handler
	bound *requestInfo
	// settled: the request attributes are already in next (after
	// WithGroup, see there), or must not be added.
	settled bool
}

func (h *contextHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.settled {
		return h.next.Handle(ctx, r)
	}
	info := h.bound
	if info == nil {
		info, _ = ctx.Value(requestKey{}).(*requestInfo)
	}
	if info != nil {
		r = r.Clone()
		r.AddAttrs(info.attrs()...)
	}
	return h.next.Handle(ctx, r)
}

func (h *contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &contextHandler{next: h.next.WithAttrs(attrs), bound: h.bound, settled: h.settled}
}

// WithGroup keeps a bound request's attributes at the top level by adding
// them before the group opens (its route as known at that moment). An
// unbound handler keeps looking in the context, and those attributes then
// land inside the group.
func (h *contextHandler) WithGroup(name string) slog.Handler {
	if h.bound != nil && !h.settled {
		return &contextHandler{next: h.next.WithAttrs(h.bound.attrs()).WithGroup(name), settled: true}
	}
	return &contextHandler{next: h.next.WithGroup(name), bound: h.bound, settled: h.settled}
}
