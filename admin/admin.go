package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/ledger"
)

// Limits of the HTTP layer.
const (
	// MaxBodyBytes bounds every request body (SPEC §11). 1 MiB holds the
	// largest legitimate request (a tax form) many times over.
	MaxBodyBytes = 1 << 20
	// DefaultPageSize and MaxPageSize bound list pages.
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Config is what the admin API needs.
type Config struct {
	DB *sqlx.DB
	// Clock is the time source (UTC); nil means time.Now.
	Clock func() time.Time
	// OutDir is the output directory: outbox mail is written under
	// OutDir/outbox.
	OutDir string
	// Financials serves the financial endpoints; nil answers them 501.
	Financials Financials
	// Payouts serves the publisher payouts endpoints (summary, payments,
	// transactions); nil answers them 501.
	Payouts Payouts
	// Operations serves the operator endpoints (cycles, imports,
	// verification results); nil answers them 501.
	Operations Operations
	// Directory replaces the built-in Postgres directory when set.
	Directory accounts.Directory
	// Logger receives internal errors (never secrets); nil means slog's
	// default.
	Logger *slog.Logger
	// InvitationTTL overrides accounts.DefaultInvitationTTL.
	InvitationTTL time.Duration
	// Mailer sends outbox mail (SMTP); nil writes it as files under OutDir.
	Mailer accounts.Mailer
}

// Endpoint describes one operation: the permission it needs is its only
// authorisation rule, checked in one place (Server.authorize).
type Endpoint struct {
	ID         string
	Method     string
	Path       string
	Permission accounts.Permission
	Summary    string
	// Idempotent: a create that honours Idempotency-Key.
	Idempotent bool
}

// Server is the admin API.
type Server struct {
	cfg        Config
	svc        *accounts.Service
	financials Financials
	payouts    Payouts
	operations Operations
	api        huma.API
	router     chi.Router
	endpoints  []Endpoint
	logger     *slog.Logger
	// limits rate-limit the public endpoints (ratelimit.go); nil (tests
	// only) turns them off.
	limits rateLimits
}

// New builds the admin API.
func New(cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return time.Now().UTC() }
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	svc := accounts.New(cfg.DB, cfg.Clock, cfg.OutDir)
	if cfg.Directory != nil {
		svc.Directory = cfg.Directory
	}
	svc.InvitationTTL = cfg.InvitationTTL
	svc.Mailer = cfg.Mailer
	s := &Server{cfg: cfg, svc: svc, financials: cfg.Financials, logger: logger, limits: newRateLimits()}
	if s.financials == nil {
		s.financials = unavailableFinancials{}
	}
	s.payouts = cfg.Payouts
	if s.payouts == nil {
		s.payouts = unavailablePayouts{}
	}
	s.operations = cfg.Operations
	if s.operations == nil {
		s.operations = unavailableOperations{}
	}
	installErrorMapping(s.loggerFor)

	config := huma.DefaultConfig("payrun admin API", "1.0.0")
	config.Info.Description = "Account settings, users, groups, apps, roles, tenants, agreements and financial details of payrun publisher accounts (SPEC §7), and the operators' cycles, imports and verification results (SPEC §7.11). Every operation names the one permission it needs."
	config.Servers = []*huma.Server{{URL: "/", Description: "the payrun serve that serves this document (PAYRUN_ADDR)"}}
	config.OpenAPIPath = "/v1/openapi"
	config.DocsPath = ""
	config.SchemasPath = ""
	config.CreateHooks = nil // no $schema links in responses
	config.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An opaque token from POST /v1/token, valid 60 minutes."},
	}
	s.router = chi.NewRouter()
	s.api = humachi.New(s.router, config)
	s.api.UseMiddleware(s.limitAddress, s.screenParameters, s.authorize, s.screenBody)
	s.routes()
	return s
}

// Handler serves the API (everything under /v1).
func (s *Server) Handler() http.Handler { return s.router }

// Endpoints lists every operation with its permission.
func (s *Server) Endpoints() []Endpoint { return append([]Endpoint(nil), s.endpoints...) }

// OpenAPI returns the OpenAPI 3.1 document as JSON.
func (s *Server) OpenAPI() ([]byte, error) {
	return json.MarshalIndent(s.api.OpenAPI(), "", "  ")
}

// Service is the accounts service the server uses.
func (s *Server) Service() *accounts.Service { return s.svc }

func (s *Server) now() time.Time { return s.cfg.Clock().UTC() }

var bearerSecurity = []map[string][]string{{"bearer": {}}}

// publicSecurity says "no authentication" explicitly (an empty
// requirement), so every operation declares its security.
var publicSecurity = []map[string][]string{{}}

// add registers one endpoint; options adjust the documented operation
// (streamed bodies, downloads, extra error statuses).
func add[I, O any](s *Server, e Endpoint, status int, handler func(context.Context, *I) (*O, error), options ...func(*huma.Operation)) {
	op := huma.Operation{
		OperationID:   e.ID,
		Method:        e.Method,
		Path:          e.Path,
		Summary:       e.Summary,
		Description:   "Permission: `" + string(e.Permission) + "`.",
		DefaultStatus: status,
		MaxBodyBytes:  MaxBodyBytes,
		Metadata:      map[string]any{"endpoint": e},
		Tags:          []string{tagOf(e.Path)},
	}
	// Every operation may answer 400 (bad input); those that need a token
	// 401 and 403; those naming an account 404; creates 409 (a reused
	// Idempotency-Key).
	op.Errors = []int{http.StatusBadRequest}
	if e.Permission != accounts.PermPublic {
		op.Security = bearerSecurity
		op.Errors = append(op.Errors, http.StatusUnauthorized, http.StatusForbidden)
	} else {
		op.Security = publicSecurity
	}
	if strings.Contains(e.Path, "{seller_id}") {
		op.Errors = append(op.Errors, http.StatusNotFound)
	}
	if e.Idempotent {
		op.Errors = append(op.Errors, http.StatusConflict)
	}
	for _, option := range options {
		option(&op)
	}
	op.Errors = slices.Compact(slices.Sorted(slices.Values(op.Errors)))
	if e.Idempotent {
		maxKey := 255
		op.Parameters = append(op.Parameters, &huma.Param{Name: "Idempotency-Key", In: "header",
			Description: "Replays the first response for the same key and body; the same key with another body is 409.",
			Schema:      &huma.Schema{Type: "string", MaxLength: &maxKey}})
	}
	huma.Register(s.api, op, handler)
	s.endpoints = append(s.endpoints, e)
}

func tagOf(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/v1/"), "/")
	if parts[0] == "accounts" && len(parts) > 2 {
		return parts[2]
	}
	return parts[0]
}

type principalKey struct{}
type accountKey struct{}

// principal is the authenticated caller (zero for public endpoints).
func principal(ctx context.Context) accounts.Principal {
	p, _ := ctx.Value(principalKey{}).(accounts.Principal)
	return p
}

// account is the account named by the path's seller_id, already checked to
// be the caller's own (or the caller is an operator).
func account(ctx context.Context) ledger.Account {
	a, _ := ctx.Value(accountKey{}).(ledger.Account)
	return a
}

// loggerFor is the server's logger with the request's id (set by the
// logging middleware in front of the API), so an internal error's line can be
// found from the response's X-Request-ID.
func (s *Server) loggerFor(ctx context.Context) *slog.Logger {
	if id := logging.RequestID(ctx); id != "" {
		return s.logger.With("request_id", id)
	}
	return s.logger
}

func (s *Server) fail(ctx huma.Context, err error) {
	var model *huma.ErrorModel
	switch e := statusError(err, ctx.Operation(), s.loggerFor(ctx.Context())).(type) {
	case withHeaders:
		for k, v := range e.headers {
			ctx.SetHeader(k, v[0])
		}
		model = e.ErrorModel
	case *huma.ErrorModel:
		model = e
	}
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(model.Status)
	_ = json.NewEncoder(ctx.BodyWriter()).Encode(model)
}

// authorize is the one place that checks permissions: it authenticates the
// bearer token, checks the endpoint's permission, resolves the account the
// path names (only the caller's own, unless an operator), and handles
// Idempotency-Key — all before the request body is even read, so a refused
// request changes nothing. The token, the principal, its effective
// permissions and the path's account come from one query (authenticate).
func (s *Server) authorize(ctx huma.Context, next func(huma.Context)) {
	ctx = huma.WithValue(ctx, requestMarker{}, true)
	e, ok := ctx.Operation().Metadata["endpoint"].(Endpoint)
	if !ok { // huma's own routes (the OpenAPI document)
		next(ctx)
		return
	}
	if e.Permission == accounts.PermPublic {
		next(ctx)
		return
	}
	header := ctx.Header("Authorization")
	token, found := strings.CutPrefix(header, "Bearer ")
	if !found || token == "" {
		s.fail(ctx, &accounts.Error{Kind: accounts.KindUnauthenticated, Field: "Authorization", Reason: "a bearer token is required"})
		return
	}
	sellerID := ""
	if strings.Contains(e.Path, "{seller_id}") {
		sellerID = ctx.Param("seller_id")
	}
	p, acct, err := s.authenticate(ctx.Context(), strings.TrimSpace(token), sellerID)
	if err != nil {
		s.fail(ctx, err)
		return
	}
	switch {
	case p.Restricted && e.Permission != accounts.PermPasswordChange:
		s.fail(ctx, &accounts.Error{Kind: accounts.KindForbidden, Reason: "a password change is required: POST /v1/me/password first"})
		return
	case e.Permission == accounts.PermSelf || e.Permission == accounts.PermPasswordChange:
	case !p.Permissions.Has(e.Permission):
		s.fail(ctx, &accounts.Error{Kind: accounts.KindForbidden, Reason: "permission " + string(e.Permission) + " is required"})
		return
	}
	ctx = huma.WithValue(ctx, principalKey{}, p)
	if sellerID != "" || strings.Contains(e.Path, "{seller_id}") {
		// The account was resolved with the token, in the same query.
		if acct == nil || (p.Kind != accounts.KindOperator && acct.ID != p.AccountID) {
			s.fail(ctx, &accounts.Error{Kind: accounts.KindNotFound, Field: "seller_id", Reason: "no account " + strconv.Quote(sellerID)})
			return
		}
		ctx = huma.WithValue(ctx, accountKey{}, *acct)
	}
	if key := ctx.Header("Idempotency-Key"); e.Idempotent && key != "" {
		s.idempotent(ctx, p, key, next)
		return
	}
	next(ctx)
}

// cursor encodes the last id of a page.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		if id, err := strconv.ParseInt(string(raw), 10, 64); err == nil && id >= 0 {
			return id, nil
		}
	}
	return 0, &accounts.Error{Kind: accounts.KindInvalid, Field: "cursor", Reason: "not a cursor this API returned"}
}

// PageParams are the query parameters of every list.
type PageParams struct {
	Cursor string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page; empty for the first"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"page size"`
}

func (p PageParams) limit() int {
	if p.Limit <= 0 {
		return DefaultPageSize
	}
	return min(p.Limit, MaxPageSize)
}

// page trims a list fetched with limit+1 and gives the next cursor.
func page[T any](items []T, limit int, id func(T) int64) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, encodeCursor(id(items[len(items)-1]))
}

// etag quotes a version as a strong entity tag.
func etag(version string) string { return `"` + version + `"` }

// ifMatch extracts the version from If-Match. Errors: 428 when missing,
// 412 when it is "*" or a list (a lost-update guard needs one exact tag), or
// a weak tag: RFC 9110 §13.1.1 evaluates If-Match with the strong
// comparison, in which a weak tag never matches (this API only sends strong
// ones).
func ifMatch(header string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", &accounts.Error{Kind: accounts.KindPreconditionRequired, Field: "If-Match", Reason: "required: send the ETag of the resource you read"}
	}
	if strings.HasPrefix(header, "W/") {
		return "", &accounts.Error{Kind: accounts.KindStale, Field: "If-Match", Reason: "a weak ETag (W/...) never matches If-Match (RFC 9110 strong comparison): send the ETag as you read it"}
	}
	if header == "*" || strings.Contains(header, ",") || len(header) < 2 || header[0] != '"' || header[len(header)-1] != '"' {
		return "", &accounts.Error{Kind: accounts.KindStale, Field: "If-Match", Reason: "must be the one ETag you read"}
	}
	return header[1 : len(header)-1], nil
}

// humaContext lets recorder embed huma.Context (whose Context method would
// clash with a field named Context).
type humaContext = huma.Context

// recorder captures a response so an idempotent request can replay it.
type recorder struct {
	humaContext
	status      int
	contentType string
	body        bytes.Buffer
}

func (r *recorder) SetStatus(code int) { r.status = code; r.humaContext.SetStatus(code) }
func (r *recorder) SetHeader(name, value string) {
	if strings.EqualFold(name, "Content-Type") {
		r.contentType = value
	}
	r.humaContext.SetHeader(name, value)
}
func (r *recorder) BodyWriter() io.Writer { return io.MultiWriter(r.humaContext.BodyWriter(), &r.body) }

// Unwrap lets humachi.Unwrap reach the request.
func (r *recorder) Unwrap() huma.Context { return r.humaContext }

// idempotent runs a create once per (principal, key): a retry with the same
// body gets the first response again; another body under the same key is a
// 409. Only successful responses are kept (a failed request can be retried
// with the same key), with secrets redacted; a request still running holds
// the key (409).
func (s *Server) idempotent(ctx huma.Context, p accounts.Principal, key string, next func(huma.Context)) {
	if len(key) > 255 {
		s.fail(ctx, &accounts.Error{Kind: accounts.KindInvalid, Field: "Idempotency-Key", Reason: "at most 255 characters"})
		return
	}
	r, _ := humachi.Unwrap(ctx)
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		s.fail(ctx, err)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	hash := sha256.New()
	hash.Write([]byte(ctx.Method() + " " + ctx.URL().Path + "\n"))
	hash.Write(body)
	requestHash := hash.Sum(nil)
	who := p.Actor()
	c := ctx.Context()
	result, err := s.cfg.DB.ExecContext(c, `
		INSERT INTO idempotency_keys (principal, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, who, key, requestHash, s.now())
	if err != nil {
		s.fail(ctx, err)
		return
	}
	if n, _ := result.RowsAffected(); n == 0 {
		var stored struct {
			Hash        []byte  `db:"request_hash"`
			Status      *int    `db:"status"`
			ContentType *string `db:"content_type"`
			Body        []byte  `db:"body"`
		}
		if err := s.cfg.DB.GetContext(c, &stored, `SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE principal = $1 AND key = $2`, who, key); err != nil {
			s.fail(ctx, err)
			return
		}
		switch {
		case !bytes.Equal(stored.Hash, requestHash):
			s.fail(ctx, &accounts.Error{Kind: accounts.KindConflict, Field: "Idempotency-Key", Reason: "was used for a different request"})
		case stored.Status == nil:
			s.fail(ctx, &accounts.Error{Kind: accounts.KindConflict, Field: "Idempotency-Key", Reason: "a request with this key is still running"})
		default:
			if stored.ContentType != nil {
				ctx.SetHeader("Content-Type", *stored.ContentType)
			}
			ctx.SetHeader("Idempotent-Replayed", "true")
			ctx.SetStatus(*stored.Status)
			_, _ = ctx.BodyWriter().Write(stored.Body)
		}
		return
	}
	rec := &recorder{humaContext: ctx, status: http.StatusOK}
	next(rec)
	// The key is settled with a fresh context: the client may have gone.
	settle, cancel := context.WithTimeout(context.WithoutCancel(c), 10*time.Second)
	defer cancel()
	if rec.status >= 200 && rec.status < 300 {
		_, err = s.cfg.DB.ExecContext(settle, `UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 WHERE principal = $1 AND key = $2`,
			who, key, rec.status, rec.contentType, redactBody(rec.body.Bytes()))
	} else {
		_, err = s.cfg.DB.ExecContext(settle, `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2`, who, key)
	}
	if err != nil {
		s.logger.Error("admin: settling an idempotency key", "error", err)
	}
}

// redactBody removes secrets (a temporary password, a key secret) from a
// JSON response before it is kept for replay: secrets are shown once and
// never stored, so a replay shows "[redacted]" in their place.
func redactBody(body []byte) []byte {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return body
	}
	out, err := json.Marshal(accounts.Redact(v))
	if err != nil {
		return body
	}
	return out
}

type unavailableFinancials struct{}

func (unavailableFinancials) PayoutAccount(context.Context, int64) (PayoutAccount, error) {
	return PayoutAccount{}, errFinancialsUnavailable
}
func (unavailableFinancials) SetPayoutAccount(context.Context, int64, string, PayoutAccountInput, accounts.Principal) (PayoutAccount, error) {
	return PayoutAccount{}, errFinancialsUnavailable
}
func (unavailableFinancials) TaxProfile(context.Context, int64) (TaxProfile, error) {
	return TaxProfile{}, errFinancialsUnavailable
}
func (unavailableFinancials) SubmitTaxForm(context.Context, int64, json.RawMessage, accounts.Principal) (TaxProfile, error) {
	return TaxProfile{}, errFinancialsUnavailable
}
func (unavailableFinancials) Hold(context.Context, int64) (PaymentHold, error) {
	return PaymentHold{}, errFinancialsUnavailable
}
func (unavailableFinancials) SetHold(context.Context, int64, string, bool, accounts.Principal) (PaymentHold, error) {
	return PaymentHold{}, errFinancialsUnavailable
}
func (unavailableFinancials) Statements(context.Context, int64, string, int) ([]Statement, string, error) {
	return nil, "", errFinancialsUnavailable
}
