package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/internal/fielderr"
)

// errFinancialsUnavailable is returned by the financial endpoints when the
// server was built without a Financials implementation.
var errFinancialsUnavailable = errors.New("financial services are not configured on this server")

// headerFields are domain field names that are request headers, not body
// fields; queryFields those that are query parameters of every operation
// that has them (an operation's other query parameters are found in its
// declaration: declaresQuery).
var (
	headerFields = map[string]bool{"If-Match": true, "Idempotency-Key": true, "Authorization": true}
	queryFields  = map[string]bool{"cursor": true, "limit": true, "confirm_change": true}
)

// location is where a field is, in huma's notation (body.x, header.X,
// path.x when the operation's path has that parameter, query.x when the
// operation declares that query parameter).
func location(field string, op *huma.Operation) string {
	switch {
	case field == "":
		return ""
	case headerFields[field]:
		return "header." + field
	case op != nil && strings.Contains(op.Path, "{"+field+"}"):
		return "path." + field
	case queryFields[field] || declaresQuery(op, field):
		return "query." + field
	default:
		return "body." + field
	}
}

// declaresQuery reports whether op has the query parameter name.
func declaresQuery(op *huma.Operation, name string) bool {
	if op == nil {
		return false
	}
	for _, p := range op.Parameters {
		if p.In == "query" && p.Name == name {
			return true
		}
	}
	return false
}

// problem is the one place where errors become HTTP statuses (RFC 9457
// problem details). Domain errors carry their kind; everything unknown is a
// 500 whose message is logged, never shown.
func problem(err error, op *huma.Operation, logger *slog.Logger) *huma.ErrorModel {
	var domain *accounts.Error
	var refused *ImportRefused
	var tooLarge *BodyTooLargeError
	var media *mediaTypeError
	switch {
	case errors.As(err, &tooLarge):
		return &huma.ErrorModel{Status: http.StatusRequestEntityTooLarge, Title: http.StatusText(http.StatusRequestEntityTooLarge), Detail: tooLarge.Error(),
			Errors: []*huma.ErrorDetail{{Location: "body", Message: tooLarge.Error()}}}
	case errors.As(err, &media):
		return &huma.ErrorModel{Status: http.StatusUnsupportedMediaType, Title: http.StatusText(http.StatusUnsupportedMediaType), Detail: media.Error(),
			Errors: []*huma.ErrorDetail{{Location: "header.Content-Type", Message: media.Error()}}}
	case errors.As(err, &refused):
		model := &huma.ErrorModel{Status: http.StatusBadRequest, Title: http.StatusText(http.StatusBadRequest), Detail: refused.Error()}
		for _, p := range refused.Problems {
			loc := "body"
			if p.Location != "" {
				loc += "." + p.Location
			}
			model.Errors = append(model.Errors, &huma.ErrorDetail{Location: loc, Message: p.Reason})
		}
		return model
	case errors.As(err, &domain):
		status := http.StatusInternalServerError
		switch domain.Kind {
		case accounts.KindInvalid:
			status = http.StatusBadRequest
		case accounts.KindRule:
			status = http.StatusUnprocessableEntity
		case accounts.KindConflict, accounts.KindImmutable:
			status = http.StatusConflict
		case accounts.KindStale:
			// RFC 9110 §13.1.1: an If-Match that does not match is 412.
			status = http.StatusPreconditionFailed
		case accounts.KindPreconditionRequired:
			status = http.StatusPreconditionRequired
		case accounts.KindNotFound:
			status = http.StatusNotFound
		case accounts.KindForbidden:
			status = http.StatusForbidden
		case accounts.KindUnauthenticated:
			status = http.StatusUnauthorized
		case accounts.KindLockedOut, accounts.KindRateLimited:
			status = http.StatusTooManyRequests
		}
		model := &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: domain.Error()}
		if domain.Field != "" {
			model.Errors = []*huma.ErrorDetail{{Location: location(domain.Field, pathUnlessImmutable(domain.Kind, op)), Message: domain.Reason}}
		}
		return model
	case len(fielderr.All(err)) > 0:
		return fieldProblem(err, op)
	case errors.Is(err, errFinancialsUnavailable), errors.Is(err, errOperationsUnavailable), errors.Is(err, errPayoutsUnavailable):
		return &huma.ErrorModel{Status: http.StatusNotImplemented, Title: http.StatusText(http.StatusNotImplemented), Detail: err.Error()}
	case errors.Is(err, context.Canceled):
		return &huma.ErrorModel{Status: 499, Title: "Client Closed Request"}
	default:
		if logger != nil {
			logger.Error("admin: internal error", "error", err)
		}
		return &huma.ErrorModel{Status: http.StatusInternalServerError, Title: http.StatusText(http.StatusInternalServerError),
			Detail: "internal error (logged)"}
	}
}

// withHeaders carries Retry-After with a 429, WWW-Authenticate with a 401.
type withHeaders struct {
	*huma.ErrorModel
	headers http.Header
}

func (e withHeaders) GetHeaders() http.Header { return e.headers }

// statusError turns a domain error into what huma writes, adding
// Retry-After for lockouts and rate limits and WWW-Authenticate for 401s.
func statusError(err error, op *huma.Operation, logger *slog.Logger) error {
	model := problem(err, op, logger)
	headers := http.Header{}
	if retry, ok := retryAfter(err); ok {
		headers.Set("Retry-After", retry)
	}
	if model.Status == http.StatusUnauthorized {
		headers.Set("WWW-Authenticate", `Bearer realm="payrun"`)
	}
	if len(headers) == 0 {
		return model
	}
	return withHeaders{model, headers}
}

// fieldProblem is the one mapping of field errors (internal/fielderr: a
// validator's *fielderr.List or single *fielderr.Error, however wrapped) to
// a problem: 400, the error's text as the detail, and one "errors" entry per
// field, located as huma locates its own (body.iban, body.treaty.country,
// path.seller_id, query.from) with the field's message.
func fieldProblem(err error, op *huma.Operation) *huma.ErrorModel {
	model := &huma.ErrorModel{Status: http.StatusBadRequest, Title: http.StatusText(http.StatusBadRequest), Detail: err.Error()}
	for _, field := range fielderr.All(err) {
		model.Errors = append(model.Errors, &huma.ErrorDetail{Location: location(field.Path, op), Message: field.Message})
	}
	return model
}

// retryAfter is the Retry-After value (whole seconds, at least 1) of a
// lockout or rate-limit error.
func retryAfter(err error) (string, bool) {
	var domain *accounts.Error
	if !errors.As(err, &domain) || (domain.Kind != accounts.KindLockedOut && domain.Kind != accounts.KindRateLimited) {
		return "", false
	}
	return strconv.Itoa(max(1, int(domain.RetryAfter.Seconds()+0.999))), true
}

// mapped reports whether problem knows err (rather than calling it a 500).
func mapped(err error) bool {
	var domain *accounts.Error
	var refused *ImportRefused
	var tooLarge *BodyTooLargeError
	var media *mediaTypeError
	return errors.As(err, &domain) || len(fielderr.All(err)) > 0 || errors.As(err, &refused) || errors.As(err, &tooLarge) || errors.As(err, &media) ||
		errors.Is(err, errFinancialsUnavailable) || errors.Is(err, errOperationsUnavailable) || errors.Is(err, errPayoutsUnavailable)
}

type requestMarker struct{}

var installOnce sync.Once

// installErrorMapping makes huma's own errors (request validation, body
// size, unexpected handler errors) go through problem for requests of this
// package's servers: huma's validation failures are 422 by default, but
// payrun's contract says malformed input is 400 and 422 is a business rule.
// Values echoed by huma are dropped: they could be secrets.
func installErrorMapping(loggerFor func(context.Context) *slog.Logger) {
	installOnce.Do(func() {
		previous := huma.NewErrorWithContext
		huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			if ctx == nil || ctx.Context().Value(requestMarker{}) == nil {
				return previous(ctx, status, msg, errs...)
			}
			for _, err := range errs {
				if mapped(err) {
					// Handlers return domain errors as they are: a 429's
					// Retry-After is added here, for every endpoint.
					if retry, ok := retryAfter(err); ok {
						ctx.SetHeader("Retry-After", retry)
					}
					return problem(err, ctx.Operation(), loggerFor(ctx.Context()))
				}
			}
			if status == http.StatusUnprocessableEntity {
				status = http.StatusBadRequest
			}
			model := &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: msg}
			if status >= 500 {
				for _, err := range errs {
					loggerFor(ctx.Context()).Error("admin: internal error", "error", err)
				}
				model.Detail = "internal error (logged)"
				return model
			}
			for _, err := range errs {
				if err == nil {
					continue
				}
				var detail *huma.ErrorDetail
				if d, ok := err.(huma.ErrorDetailer); ok {
					detail = d.ErrorDetail()
					detail.Value = nil
				} else {
					detail = &huma.ErrorDetail{Message: err.Error()}
				}
				if detail.Location == "body" && strings.Contains(detail.Message, "invalid character") {
					detail.Message = "malformed JSON: " + detail.Message
				}
				model.Errors = append(model.Errors, detail)
			}
			if len(model.Errors) > 0 && model.Detail == "validation failed" {
				model.Detail = fmt.Sprintf("validation failed: %s", model.Errors[0].Message)
			}
			return model
		}
	})
}

// pathUnlessImmutable: an immutable field is always one the body tried to
// change, even when the path names the same field (seller_id).
func pathUnlessImmutable(kind accounts.Kind, op *huma.Operation) *huma.Operation {
	if kind == accounts.KindImmutable {
		return nil
	}
	return op
}
