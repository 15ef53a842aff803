package admin

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/payout/publisher"
)

// Payouts is what the publisher payouts endpoints (issue 20) call: the
// balance by state with the next payment estimate, the payments, the
// earnings lines with their states, and exports of the last two.
// payout/publisher.Service implements it; package admin only routes,
// authorises, audits exports and maps errors. The responses are the
// domain's own JSON types, so the API, the CLI's --json and the domain's
// tests show the same fields.
//
// Errors: a *fielderr.Error naming a query parameter (year, status, from,
// to, state, revenue_source, market, transaction_type, cursor, limit) is a
// 400 located at query.<name>, one naming an export request's field (kind,
// format, from, to) a 400 at body.<name>; publisher.ErrUnknownAccount and
// ErrUnknownExport are 404s, ErrExportNotReady a 409. Anything else is a
// 500 whose message is logged, not shown.
type Payouts interface {
	Summary(ctx context.Context, accountID int64) (publisher.Summary, error)
	Payments(ctx context.Context, accountID int64, filter publisher.PaymentFilter, cursor string, limit int) ([]publisher.Payment, string, error)
	Transactions(ctx context.Context, accountID int64, filter publisher.TransactionFilter, cursor string, limit int) ([]publisher.Transaction, string, error)
	// StartExport records an export and enqueues the job that writes it.
	StartExport(ctx context.Context, accountID int64, request publisher.ExportRequest, requestedBy string) (publisher.Export, error)
	// Export is one of the account's exports (another account's is
	// unknown).
	Export(ctx context.Context, accountID int64, id string) (publisher.Export, error)
	// OpenExport opens a done export's file; the caller closes it.
	OpenExport(ctx context.Context, accountID int64, id string) (*os.File, publisher.Export, error)
	// TaxDocuments is the account's own year-end tax data, newest year
	// first, TINs masked.
	TaxDocuments(ctx context.Context, accountID int64) ([]publisher.TaxYear, error)
}

var _ Payouts = (*publisher.Service)(nil)

// errPayoutsUnavailable is returned by the payouts endpoints when the
// server was built without a Payouts implementation (501).
var errPayoutsUnavailable = errors.New("payouts are not configured on this server")

// payoutRoutes registers the publisher payouts endpoints: every one needs
// payouts.read (owner, financial_contributor, finance_viewer,
// finance_approver) and refuses query parameters it does not declare.
func (s *Server) payoutRoutes() {
	get, ok, p := "GET", 200, accounts.PermPayoutsRead
	add(s, Endpoint{"get-payouts-summary", get, acct + "/payouts/summary", p, "The balance by state and the next payment estimate", false}, ok, s.payoutsSummary,
		strictQuery, describe("The publisher's ledger balance as of now, split by what happens to each part next — unprocessed (not available yet, "+
			"by the day each part becomes available), upcoming (enters the next cycle), held (with every reason in SPEC order and its remedy), "+
			"carried (below the threshold, and how much more it needs), returned — which add up to the balance to the micro-dollar (`reconciled`); "+
			"beside them what is in transit and the year's sent and withheld. `next_payment` is the close's own decision applied to the account "+
			"as if the next cycle closed now: status (paid, held, carried; none when there is nothing to pay), reasons with remedies, rate, "+
			"withholding, the payable amount in USD and in the payout currency at the latest rate, the method and the payment date."))
	add(s, Endpoint{"list-payments", get, acct + "/payments", p, "Payments, newest first", false}, ok, s.listPayments,
		strictQuery, describe("Each released payment: cycle, scheduled and actual payment date, method, masked destination, USD amount, withholding, "+
			"rate, currency, amount in currency and FX rate, status (sent: released, not settled; returned: (some of) it came back; settled: "+
			"the returns window passed), the return's reason and the PayPal items it was split into."))
	add(s, Endpoint{"list-transactions", get, acct + "/transactions", p, "Earnings lines with their states, newest available first", false}, ok, s.listTransactions,
		strictQuery, describe("Every earnings line with its state — unprocessed (not available yet), upcoming (enters the next cycle), held or "+
			"carried (in a balance the newest closed cycle kept), processing (paid by a closed cycle, files not released), sent, returned, "+
			"settled — the cycle and payment that paid it and its share of the payout's withholding (the statement's allocation). "+
			"`from` and `to` are months of the lines' availability (the cycle window each falls in), at most 24 months apart."))
	add(s, Endpoint{"get-tax-documents", get, acct + "/tax-documents", p, "The publisher's own year-end tax data, per year", false}, ok, s.taxDocuments,
		strictQuery, describe("Every tax year with a payment dated in it, newest first: the 1042-S rows of its W-8 payouts (gross US-sourced "+
			"income, rate, withholding and its reason, income code, recipient as on the form) and the 1099 data of its W-9 payouts (the form the "+
			"thresholds give: 1099-K, 1099-MISC or none; gross, backup withholding, sales counted). The figures of the year-end files "+
			"(`payrun tax year-end`), scoped to the account; TINs masked."))

	exports := acct + "/payouts/exports"
	add(s, Endpoint{"start-payouts-export", http.MethodPost, exports, p, "Export transactions or payments of a month range as CSV or xlsx", true},
		http.StatusAccepted, s.startPayoutsExport, strictQuery,
		describe("Records the export and queues the job that writes it; poll its status at `Location`, download it from `.../file` once done. "+
			"transactions: every earnings line available in the months (at most 24), with its state, cycle, payment and withholding share; "+
			"payments: the payments of the months' cycles. Text starting with = + - @ is neutralised for spreadsheets. Audited."))
	add(s, Endpoint{"get-payouts-export", get, exports + "/{id}", p, "An export's status: queued, running, done (rows, size, sha256) or failed", false},
		ok, s.getPayoutsExport, strictQuery)
	add(s, Endpoint{"get-payouts-export-file", get, exports + "/{id}/file", p, "Download a done export's file", false}, ok, s.getPayoutsExportFile,
		strictQuery, withDownload("the export's file", csvMediaType, xlsxMediaType), withErrors(http.StatusConflict),
		describe("409 until the export is done. The ETag is the file's sha256. Audited."))
}

// strictQuery refuses query parameters the operation does not declare: a
// misspelt filter (?stat=held) is a 400 naming it, never a silently
// unfiltered list.
func strictQuery(op *huma.Operation) { op.RejectUnknownQueryParameters = true }

// describe adds to the operation's description (which names its
// permission).
func describe(text string) func(*huma.Operation) {
	return func(op *huma.Operation) { op.Description = strings.TrimSpace(op.Description + " " + text) }
}

// payoutsError maps the domain's errors that are not field errors: an
// unknown export (or the account vanished between authorisation and the
// read), an export whose file is not written.
func payoutsError(err error) error {
	switch {
	case errors.Is(err, publisher.ErrUnknownAccount):
		return &accounts.Error{Kind: accounts.KindNotFound, Field: "seller_id", Reason: "no such account"}
	case errors.Is(err, publisher.ErrUnknownExport):
		return &accounts.Error{Kind: accounts.KindNotFound, Field: "id", Reason: "no such export"}
	case errors.Is(err, publisher.ErrExportNotReady):
		return &accounts.Error{Kind: accounts.KindConflict, Field: "id", Reason: strings.TrimPrefix(err.Error(), publisher.ErrExportNotReady.Error()+": ") +
			": poll the export until its status is done"}
	}
	return err
}

// TaxDocuments lists a publisher's year-end tax data.
type TaxDocuments struct {
	Years []publisher.TaxYear `json:"years"`
}

func (s *Server) taxDocuments(ctx context.Context, _ *SellerPath) (*bodyOutput[TaxDocuments], error) {
	years, err := s.payouts.TaxDocuments(ctx, account(ctx).ID)
	return respond(TaxDocuments{Years: years}, payoutsError(err))
}

func (s *Server) payoutsSummary(ctx context.Context, _ *SellerPath) (*bodyOutput[publisher.Summary], error) {
	summary, err := s.payouts.Summary(ctx, account(ctx).ID)
	return respond(summary, payoutsError(err))
}

type paymentsInput struct {
	SellerPath
	Year   int    `query:"year" minimum:"2000" maximum:"9999" doc:"only payments whose scheduled payment date is in this year"`
	Status string `query:"status" enum:"sent,returned,settled" doc:"only payments with this status"`
	Cursor string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page; empty for the first"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"page size"`
}

func (s *Server) listPayments(ctx context.Context, in *paymentsInput) (*bodyOutput[Page[publisher.Payment]], error) {
	items, next, err := s.payouts.Payments(ctx, account(ctx).ID, publisher.PaymentFilter{Year: in.Year, Status: in.Status}, in.Cursor, pageSize(in.Limit))
	return respond(Page[publisher.Payment]{Items: items, NextCursor: next}, payoutsError(err))
}

type transactionsInput struct {
	SellerPath
	From            string `query:"from" pattern:"^[0-9]{4}-(0[1-9]|1[0-2])$" doc:"first month of availability, YYYY-MM (included)"`
	To              string `query:"to" pattern:"^[0-9]{4}-(0[1-9]|1[0-2])$" doc:"last month of availability, YYYY-MM (included; at most 24 months after from)"`
	State           string `query:"state" enum:"unprocessed,upcoming,held,carried,processing,sent,returned,settled" doc:"only lines in this state"`
	RevenueSource   string `query:"revenue_source" enum:"app,in_app,subscription,marketplace,advertising" doc:"only lines of this revenue source"`
	Market          string `query:"market" pattern:"^[A-Z]{2}$" doc:"only lines of this market (ISO 3166-1 alpha-2)"`
	TransactionType string `query:"transaction_type" enum:"purchase,refund,chargeback,reversal,adjustment" doc:"only lines of this type"`
	Cursor          string `query:"cursor" maxLength:"512" doc:"next_cursor of the previous page; empty for the first"`
	Limit           int    `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"page size"`
}

func (s *Server) listTransactions(ctx context.Context, in *transactionsInput) (*bodyOutput[Page[publisher.Transaction]], error) {
	filter := publisher.TransactionFilter{From: in.From, To: in.To, State: in.State, RevenueSource: in.RevenueSource, Market: in.Market,
		TransactionType: in.TransactionType}
	items, next, err := s.payouts.Transactions(ctx, account(ctx).ID, filter, in.Cursor, pageSize(in.Limit))
	return respond(Page[publisher.Transaction]{Items: items, NextCursor: next}, payoutsError(err))
}

type startExportInput struct {
	SellerPath
	Body struct {
		Kind   string `json:"kind" enum:"payments,transactions" doc:"what to export"`
		Format string `json:"format" enum:"csv,xlsx"`
		From   string `json:"from" pattern:"^[0-9]{4}-(0[1-9]|1[0-2])$" doc:"first month, YYYY-MM: of the lines' availability, or the payments' cycles"`
		To     string `json:"to" pattern:"^[0-9]{4}-(0[1-9]|1[0-2])$" doc:"last month, YYYY-MM (included; at most 24 months from from)"`
	}
}

type exportOutput struct {
	Location string `header:"Location" doc:"the export's status"`
	Body     publisher.Export
}

func (s *Server) startPayoutsExport(ctx context.Context, in *startExportInput) (*exportOutput, error) {
	a, p := account(ctx), principal(ctx)
	request := publisher.ExportRequest{Kind: in.Body.Kind, Format: in.Body.Format, From: in.Body.From, To: in.Body.To}
	e, err := s.payouts.StartExport(ctx, a.ID, request, p.Actor())
	if err != nil {
		return nil, payoutsError(err)
	}
	if err := s.svc.AddAuditEntry(ctx, a.ID, p, "payouts_export.create", "payouts_export:"+e.ID, nil, e); err != nil {
		return nil, err
	}
	return &exportOutput{Location: "/v1/accounts/" + a.SellerID + "/payouts/exports/" + e.ID, Body: e}, nil
}

// ExportPath names an export.
type ExportPath struct {
	SellerPath
	ID string `path:"id" pattern:"^[A-Z2-7]{26}$" doc:"the export's id"`
}

func (s *Server) getPayoutsExport(ctx context.Context, in *ExportPath) (*bodyOutput[publisher.Export], error) {
	e, err := s.payouts.Export(ctx, account(ctx).ID, in.ID)
	return respond(e, payoutsError(err))
}

// getPayoutsExportFile sends a done export's file. It holds the account's
// financial details, so every download is audited.
func (s *Server) getPayoutsExportFile(ctx context.Context, in *ExportPath) (*huma.StreamResponse, error) {
	a := account(ctx)
	file, e, err := s.payouts.OpenExport(ctx, a.ID, in.ID)
	if err != nil {
		return nil, payoutsError(err)
	}
	if err := s.svc.AddAuditEntry(ctx, a.ID, principal(ctx), "payouts_export.download", "payouts_export:"+e.ID, nil,
		map[string]any{"file": e.DownloadName(), "sha256": e.SHA256}); err != nil {
		file.Close()
		return nil, err
	}
	return s.send(ctx, Download{Name: e.DownloadName(), ContentType: e.ContentType(), Size: e.Size, SHA256: e.SHA256, Body: file}), nil
}

// pageSize is a list's limit, DefaultPageSize when not given.
func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultPageSize
	}
	return min(limit, MaxPageSize)
}

type unavailablePayouts struct{}

func (unavailablePayouts) Summary(context.Context, int64) (publisher.Summary, error) {
	return publisher.Summary{}, errPayoutsUnavailable
}
func (unavailablePayouts) Payments(context.Context, int64, publisher.PaymentFilter, string, int) ([]publisher.Payment, string, error) {
	return nil, "", errPayoutsUnavailable
}
func (unavailablePayouts) Transactions(context.Context, int64, publisher.TransactionFilter, string, int) ([]publisher.Transaction, string, error) {
	return nil, "", errPayoutsUnavailable
}
func (unavailablePayouts) StartExport(context.Context, int64, publisher.ExportRequest, string) (publisher.Export, error) {
	return publisher.Export{}, errPayoutsUnavailable
}
func (unavailablePayouts) Export(context.Context, int64, string) (publisher.Export, error) {
	return publisher.Export{}, errPayoutsUnavailable
}
func (unavailablePayouts) OpenExport(context.Context, int64, string) (*os.File, publisher.Export, error) {
	return nil, publisher.Export{}, errPayoutsUnavailable
}
func (unavailablePayouts) TaxDocuments(context.Context, int64) ([]publisher.TaxYear, error) {
	return nil, errPayoutsUnavailable
}
