package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/payrun/payrun/accounts"
)

// MaxImportBytes bounds the body of an earnings or returns import: 64 MiB
// is payout/returns.MaxFileBytes (about 350,000 ACH returns) and holds some
// 500,000 earnings lines; bigger earnings files go through the CLI
// (`payrun earnings import`), which streams any size.
const MaxImportBytes = 64 << 20

// Operations is what the operator endpoints (SPEC §7.11, issue 7 item 10)
// call: the cycle store, the releaser, the earnings, returns and FX imports
// and payout-account verification. admin/operations implements it over
// payrun's stores; package admin only routes, authorises and audits.
//
// Errors an implementation returns should be (or wrap) *accounts.Error
// (KindNotFound 404, KindConflict 409, KindRule 422, KindInvalid 400) or
// *ImportRefused (400 with one field error per bad row); a
// *BodyTooLargeError from the body reader must be returned wrapped (413).
// Anything else is a 500 whose message is logged, not shown.
type Operations interface {
	// Cycles lists cycles newest first, only those before the month before
	// (zero: from the newest), at most limit.
	Cycles(ctx context.Context, before time.Time, limit int) ([]Cycle, error)
	// Cycle returns one cycle: state, dates, totals, files.
	Cycle(ctx context.Context, month time.Time) (Cycle, error)
	// Workbook opens the cycle's summary workbook (xlsx).
	Workbook(ctx context.Context, month time.Time) (Download, error)
	// Files lists the released cycle's manifest.
	Files(ctx context.Context, month time.Time) ([]CycleFile, error)
	// File opens one file of the manifest by its name; a name that is not
	// in the manifest is KindNotFound (never a path on disk).
	File(ctx context.Context, month time.Time, name string) (Download, error)
	// Approve approves a cycle awaiting approval; the approver must not be
	// who closed it (KindRule).
	Approve(ctx context.Context, month time.Time, approver accounts.Principal) (Cycle, error)
	// Release writes the cycle's payment files (again: the same manifest).
	Release(ctx context.Context, month time.Time, actor accounts.Principal) (Release, error)
	// ImportEarnings imports an earnings CSV atomically, as the CLI does.
	ImportEarnings(ctx context.Context, name string, body io.Reader) (EarningsImport, error)
	// ImportReturns imports an ACH return file or PayPal statuses.
	ImportReturns(ctx context.Context, name string, body io.Reader) (ReturnsImport, error)
	// ImportFX loads or replaces a cycle's FX rates from CSV, all or
	// nothing; confirmChange accepts moves beyond the policy's
	// fx_max_change (KindRule otherwise), actor is recorded with each change.
	ImportFX(ctx context.Context, month time.Time, body io.Reader, confirmChange bool, actor accounts.Principal) (FXImport, error)
	// RecordVerification records a payout account's verification result.
	RecordVerification(ctx context.Context, payoutAccountID int64, status, reason string, actor accounts.Principal) (Verification, error)
	// Checks are the self-checks of the cycle's workbook, as it last wrote
	// them (the close's, then the release's). Errors: KindNotFound.
	Checks(ctx context.Context, month time.Time) ([]WorkbookCheck, error)
	// Preview closes an open cycle in a dry run (nothing kept) and returns
	// the totals its close would have.
	Preview(ctx context.Context, month time.Time) (CycleTotals, error)
	// Upcoming is the next cycle to close, which has no row yet: state
	// open, its cutoff and payment date from the policy's calendar.
	Upcoming(ctx context.Context) (Cycle, error)
}

// WorkbookCheck is one of a cycle workbook's self-checks (its Summary
// sheet's Checks): the close's checks and the workbook's reconciliations
// of each sheet against payrun's totals.
type WorkbookCheck struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail,omitempty"`
}

// Cycle is a cycle as operators see it; amounts are USD decimal strings.
type Cycle struct {
	Month       string    `json:"month" doc:"payment month, YYYY-MM"`
	State       string    `json:"state" enum:"open,closing,closed,awaiting_approval,released,settled"`
	Cutoff      time.Time `json:"cutoff"`
	PaymentDate time.Time `json:"payment_date" doc:"the scheduled payment date"`
	// SettlementDate differs from PaymentDate for a release on or after it.
	SettlementDate *time.Time  `json:"settlement_date,omitempty" doc:"the date the released files settle on: the payment date, or the next banking day after a release on or after it; absent until the release"`
	ClosedAt       *time.Time  `json:"closed_at,omitempty"`
	ClosedBy       string      `json:"closed_by,omitempty"`
	ApprovedAt     *time.Time  `json:"approved_at,omitempty"`
	ApprovedBy     string      `json:"approved_by,omitempty"`
	ReleasedAt     *time.Time  `json:"released_at,omitempty"`
	ReleasedBy     string      `json:"released_by,omitempty"`
	Totals         CycleTotals `json:"totals"`
	Files          []string    `json:"files,omitempty" doc:"names of the released files (see /files)"`

	// The operators behind closed_by, approved_by and released_by, by id
	// (absent: payrun itself, e.g. the scheduled close). Maker-checker
	// compares these ids, never the names.
	ClosedByOperatorID   int64 `json:"closed_by_operator_id,omitempty" doc:"the operator who closed the cycle; absent when payrun's own job (the system principal) closed it"`
	ApprovedByOperatorID int64 `json:"approved_by_operator_id,omitempty" doc:"the finance approver; never the operator who closed the cycle"`
	ReleasedByOperatorID int64 `json:"released_by_operator_id,omitempty" doc:"the operator who released the files; absent when payrun's own job released them"`
}

// Bucket is a count of accounts and a USD amount.
type Bucket struct {
	Count  int64  `json:"count"`
	Amount string `json:"amount"`
}

// RateBucket is withholding at one rate.
type RateBucket struct {
	Count    int64  `json:"count"`
	Base     string `json:"base"`
	Withheld string `json:"withheld"`
}

// CycleTotals are a cycle's figures (SPEC §3.2).
type CycleTotals struct {
	Accounts        int64                 `json:"accounts"`
	Balance         string                `json:"balance" doc:"everything evaluated"`
	NewUS           string                `json:"new_us"`
	NewOther        string                `json:"new_other"`
	Paid            Bucket                `json:"paid"`
	Withheld        string                `json:"withheld"`
	Held            Bucket                `json:"held"`
	Carried         Bucket                `json:"carried"`
	Remainder       string                `json:"remainder"`
	PaidByMethod    map[string]Bucket     `json:"paid_by_method" doc:"by method:currency"`
	ByPrimaryReason map[string]Bucket     `json:"by_primary_reason" doc:"held and carried, by primary reason"`
	WithheldByRate  map[string]RateBucket `json:"withheld_by_rate"`
}

// CycleFile is one entry of a released cycle's manifest.
type CycleFile struct {
	Name            string `json:"name"`
	Kind            string `json:"kind" enum:"ach,pain.001,paypal"`
	SHA256          string `json:"sha256"`
	Records         int    `json:"records"`
	ControlTotalUSD string `json:"control_total_usd"`
	Currency        string `json:"currency"`
	ControlTotal    string `json:"control_total"`
}

// Download is a file to send. The server closes Body.
type Download struct {
	Name        string
	ContentType string
	// Size in bytes, -1 when unknown.
	Size int64
	// SHA256 (hex) becomes the ETag when set.
	SHA256 string
	Body   io.ReadCloser
}

// Release is a release's outcome: the manifest.
type Release struct {
	Month           string      `json:"month"`
	ReleasedAt      time.Time   `json:"released_at"`
	AlreadyReleased bool        `json:"already_released"`
	PaymentDate     string      `json:"payment_date" doc:"the scheduled payment date, YYYY-MM-DD"`
	SettlementDate  string      `json:"settlement_date" doc:"the date every file settles on (ACH effective entry date, pain.001 requested execution date, PayPal batch): the payment date, or the next banking day after a release on or after it"`
	Files           []CycleFile `json:"files"`
}

// EarningsImport reports an earnings import.
type EarningsImport struct {
	ImportID  int64  `json:"import_id" doc:"0 when nothing new was imported"`
	LinesRead int64  `json:"lines_read"`
	Imported  int64  `json:"imported"`
	Skipped   int64  `json:"skipped" doc:"identical lines imported before"`
	Total     string `json:"total" doc:"USD, 6 decimals"`
}

// ReturnedPayment is a payment a returns import recorded as returned.
type ReturnedPayment struct {
	PaymentID       string `json:"payment_id"`
	ItemID          string `json:"item_id,omitempty" doc:"the PayPal item that came back, for a payment sent as several items (amount_usd is that item's share)"`
	Month           string `json:"month"`
	PayoutAccountID int64  `json:"payout_account_id"`
	AmountUSD       string `json:"amount_usd"`
	Reason          string `json:"reason"`
	NeedsUpdate     bool   `json:"needs_update"`
}

// ReturnedPrenote is a prenote a returns import recorded as returned.
type ReturnedPrenote struct {
	PayoutAccountID int64  `json:"payout_account_id"`
	ReturnCode      string `json:"return_code"`
	Rejected        bool   `json:"rejected"`
}

// ReturnsImport reports a returns import (SPEC §6.3).
type ReturnsImport struct {
	File             string            `json:"file"`
	Format           string            `json:"format" enum:"ach,paypal-csv,paypal-json"`
	Records          int               `json:"records"`
	Returned         int               `json:"returned"`
	ReturnedUSD      string            `json:"returned_usd"`
	PrenotesReturned int               `json:"prenotes_returned"`
	Skipped          int               `json:"skipped"`
	Duplicates       int               `json:"duplicates"`
	Payments         []ReturnedPayment `json:"payments"`
	Prenotes         []ReturnedPrenote `json:"prenotes"`
}

// FXImport reports an FX rates import.
type FXImport struct {
	Month     string `json:"month"`
	Added     int    `json:"added" doc:"rates added (the month had none for the currency)"`
	Replaced  int    `json:"replaced" doc:"rates replaced (possible until the cycle closes)"`
	Unchanged int    `json:"unchanged" doc:"rates equal to the loaded ones: skipped"`
	// Changes is what the audit log records: before and after of every
	// rate added or replaced.
	Changes []FXRateChange `json:"changes" doc:"every rate added or replaced, with the rate before and after"`
}

// FXRateChange is one rate an FX import added or replaced.
type FXRateChange struct {
	Currency      string `json:"currency"`
	Before        string `json:"before,omitempty" doc:"the month's rate replaced; absent when the rate was added"`
	After         string `json:"after"`
	PreviousMonth string `json:"previous_month,omitempty" doc:"the previous cycle with a rate for the currency; absent for its first rate"`
	PreviousRate  string `json:"previous_rate,omitempty" doc:"that cycle's rate"`
	ChangePercent string `json:"change_percent,omitempty" doc:"the move from previous_rate, in percent (\"+2.50\")"`
	Confirmed     bool   `json:"confirmed,omitempty" doc:"the move exceeded fx_max_change and was confirmed (confirm_change)"`
}

// Verification is a payout account's verification state after a result.
type Verification struct {
	PayoutAccountID int64  `json:"payout_account_id"`
	SellerID        string `json:"seller_id"`
	Status          string `json:"status"`
	Reason          string `json:"reason,omitempty"`
	// AccountID is the publisher account, for the audit log only.
	AccountID int64 `json:"-"`
}

// RowProblem is one bad row (or item) of a refused import.
type RowProblem struct {
	// Location is relative to the body: "lines[12].amount" is line 12 of
	// the file (the header is line 1), column amount; "items[3]" the fourth
	// item of a JSON document; "" the whole file.
	Location string
	Reason   string
}

// ImportRefused is an import refused whole: nothing was imported. It
// becomes a 400 whose errors name every bad row (up to the importer's cap).
type ImportRefused struct {
	Problems []RowProblem
	// Total counts every problem, also those not listed.
	Total int
}

func (e *ImportRefused) Error() string {
	return fmt.Sprintf("import refused, nothing imported: %d problem(s), the first %d listed", e.Total, len(e.Problems))
}

// BodyTooLargeError: a streamed request body exceeded its limit.
type BodyTooLargeError struct{ Limit int64 }

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("request body is larger than %d bytes", e.Limit)
}

// mediaTypeError: the request body is not of a type the endpoint reads.
type mediaTypeError struct {
	got  string
	want []string
}

func (e *mediaTypeError) Error() string {
	return fmt.Sprintf("Content-Type %q is not accepted: send one of %v", e.got, e.want)
}

// errOperationsUnavailable is returned by the operator endpoints when the
// server was built without Operations.
var errOperationsUnavailable = errors.New("operator services are not configured on this server")

// limitedBody reads at most limit bytes and then fails with
// *BodyTooLargeError (never a silently truncated file).
type limitedBody struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var probe [1]byte
		if n, _ := l.r.Read(probe[:]); n > 0 {
			return 0, &BodyTooLargeError{Limit: l.limit}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// Upload is the input of an endpoint that streams its request body into
// a service instead of letting huma buffer it (up to 64 MiB).
type Upload struct {
	contentType string
	body        io.Reader
}

// Resolve keeps the request body reader (huma reads no body for inputs
// without a Body field) and its media type.
func (u *Upload) Resolve(ctx huma.Context) []error {
	u.contentType = ctx.Header("Content-Type")
	u.body = ctx.BodyReader()
	if u.body == nil {
		u.body = http.NoBody
	}
	return nil
}

// reader checks the media type and bounds the body.
func (u *Upload) reader(limit int64, accepted ...string) (io.Reader, error) {
	media, _, err := mime.ParseMediaType(u.contentType)
	ok := false
	for _, a := range accepted {
		ok = ok || (err == nil && media == a)
	}
	if !ok {
		return nil, &mediaTypeError{got: u.contentType, want: accepted}
	}
	return &limitedBody{r: u.body, left: limit, limit: limit}, nil
}

// withUpload documents a streamed request body.
func withUpload(description string, mediaTypes ...string) func(*huma.Operation) {
	return func(op *huma.Operation) {
		content := map[string]*huma.MediaType{}
		for _, m := range mediaTypes {
			// A JSON upload is described without a schema: with one, huma
			// would read and validate the body itself instead of letting the
			// handler stream it.
			content[m] = &huma.MediaType{}
			if m != "application/json" {
				content[m].Schema = &huma.Schema{Type: "string", Format: "binary"}
			}
		}
		op.RequestBody = &huma.RequestBody{Description: description, Required: true, Content: content}
		op.Errors = append(op.Errors, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
}

// withDownload documents a file response.
func withDownload(description string, mediaTypes ...string) func(*huma.Operation) {
	return func(op *huma.Operation) {
		content := map[string]*huma.MediaType{}
		for _, m := range mediaTypes {
			content[m] = &huma.MediaType{Schema: &huma.Schema{Type: "string", Format: "binary"}}
		}
		op.Responses = map[string]*huma.Response{"200": {Description: description, Content: content,
			Headers: map[string]*huma.Param{
				"Content-Disposition": {Description: "attachment; filename=...", Schema: &huma.Schema{Type: "string"}},
				"ETag":                {Description: "the file's sha256, when the manifest has it", Schema: &huma.Schema{Type: "string"}},
			}}}
	}
}

func withErrors(statuses ...int) func(*huma.Operation) {
	return func(op *huma.Operation) { op.Errors = append(op.Errors, statuses...) }
}

// Media types of the operator endpoints.
const (
	xlsxMediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	csvMediaType  = "text/csv"
)

// operationRoutes registers the operator endpoints (SPEC §7.11).
func (s *Server) operationRoutes() {
	get, post := http.MethodGet, http.MethodPost
	ok := http.StatusOK
	cycle := "/v1/cycles/{month}"
	add(s, Endpoint{"list-cycles", get, "/v1/cycles", accounts.PermCyclesRead, "Cycles, newest first (operators)", false}, ok, s.listCycles)
	add(s, Endpoint{"get-cycle", get, cycle, accounts.PermCyclesRead, "A cycle: state, dates, totals, files (operators)", false}, ok, s.getCycle, withErrors(http.StatusNotFound))
	add(s, Endpoint{"get-cycle-workbook", get, cycle + "/workbook", accounts.PermCyclesRead, "Download the cycle's summary workbook (operators)", false}, ok, s.getWorkbook,
		withDownload("the payout summary workbook", xlsxMediaType), withErrors(http.StatusNotFound))
	add(s, Endpoint{"list-cycle-files", get, cycle + "/files", accounts.PermCyclesRead, "The released cycle's manifest: files with sha256, records and control totals (operators)", false}, ok, s.listCycleFiles, withErrors(http.StatusNotFound))
	add(s, Endpoint{"get-cycle-file", get, cycle + "/files/{name}", accounts.PermCyclesRead, "Download a payment file named in the manifest (operators)", false}, ok, s.getCycleFile,
		withDownload("the file as written at release", "text/plain", "application/xml", "application/json"), withErrors(http.StatusNotFound))
	add(s, Endpoint{"approve-cycle", post, cycle + "/approve", accounts.PermCyclesApprove, "Approve a cycle awaiting approval: not by the operator who closed it", false}, ok, s.approveCycle,
		withErrors(http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity))
	add(s, Endpoint{"release-cycle", post, cycle + "/release", accounts.PermCyclesRelease, "Release a closed (and, with maker-checker, approved) cycle: write its payment files", false}, ok, s.releaseCycle,
		withErrors(http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity))
	add(s, Endpoint{"import-earnings", post, "/v1/imports/earnings", accounts.PermImportsWrite, "Import an earnings CSV: all lines or none, lines imported before are skipped", false}, ok, s.importEarnings,
		withUpload("an earnings CSV (transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount[,eligible_at]), at most 64 MiB", csvMediaType))
	add(s, Endpoint{"import-returns", post, "/v1/imports/returns", accounts.PermImportsWrite, "Import an ACH return file or PayPal item statuses: all or nothing", false}, ok, s.importReturns,
		withUpload("a NACHA return file (text/plain), PayPal statuses as CSV or as the Payouts API JSON, at most 64 MiB", "text/plain", csvMediaType, "application/json"))
	add(s, Endpoint{"import-fx-rates", post, "/v1/imports/fx/{month}", accounts.PermImportsWrite, "Load or replace a cycle's FX rates (currency,rate,date,source; units per USD, plain decimals), all or nothing: " +
		"a rate moving more than the policy's fx_max_change from the previous cycle's needs confirm_change (422 otherwise); rates can be replaced until the cycle closes (409 after)", false}, ok, s.importFX,
		withUpload("an FX rates CSV with the header currency,rate,date,source", csvMediaType), withErrors(http.StatusConflict, http.StatusUnprocessableEntity))
	add(s, Endpoint{"record-payout-verification", post, "/v1/payout-accounts/{id}/verification", accounts.PermPayoutVerificationWrite, "Record a payout account's verification result (operators)", false}, ok, s.recordVerification,
		withErrors(http.StatusNotFound, http.StatusConflict))
}

// MonthPath names a cycle.
type MonthPath struct {
	Month string `path:"month" pattern:"^[0-9]{4}-(0[1-9]|1[0-2])$" doc:"payment month, YYYY-MM"`
}

func (m MonthPath) time() time.Time {
	t, _ := time.Parse("2006-01", m.Month) // the pattern was checked
	return t.UTC()
}

// monthCursor encodes a month as YYYYMM.
func monthCursor(month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return ""
	}
	return encodeCursor(int64(t.Year()*100 + int(t.Month())))
}

func (s *Server) listCycles(ctx context.Context, in *PageParams) (*bodyOutput[Page[Cycle]], error) {
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	var before time.Time
	if after != 0 {
		if after < 100001 || after%100 < 1 || after%100 > 12 || after > 999912 {
			return nil, &accounts.Error{Kind: accounts.KindInvalid, Field: "cursor", Reason: "not a cursor this API returned"}
		}
		before = time.Date(int(after/100), time.Month(after%100), 1, 0, 0, 0, 0, time.UTC)
	}
	cycles, err := s.operations.Cycles(ctx, before, in.limit()+1)
	if err != nil {
		return nil, err
	}
	next := ""
	if len(cycles) > in.limit() {
		cycles = cycles[:in.limit()]
		next = monthCursor(cycles[len(cycles)-1].Month)
	}
	if cycles == nil {
		cycles = []Cycle{}
	}
	return respond(Page[Cycle]{Items: cycles, NextCursor: next}, nil)
}

func (s *Server) getCycle(ctx context.Context, in *MonthPath) (*bodyOutput[Cycle], error) {
	return respond(s.operations.Cycle(ctx, in.time()))
}

// send streams a download and closes it.
func (s *Server) send(ctx context.Context, d Download) *huma.StreamResponse {
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		defer d.Body.Close()
		hc.SetHeader("Content-Type", d.ContentType)
		hc.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.Name}))
		hc.SetHeader("Cache-Control", "no-store")
		if d.Size >= 0 {
			hc.SetHeader("Content-Length", strconv.FormatInt(d.Size, 10))
		}
		if d.SHA256 != "" {
			hc.SetHeader("ETag", etag(d.SHA256))
		}
		hc.SetStatus(http.StatusOK)
		if _, err := io.Copy(hc.BodyWriter(), d.Body); err != nil && ctx.Err() == nil {
			s.logger.Error("admin: sending a file", "file", d.Name, "error", err)
		}
	}}
}

func (s *Server) getWorkbook(ctx context.Context, in *MonthPath) (*huma.StreamResponse, error) {
	d, err := s.OpenWorkbook(ctx, principal(ctx), in.time())
	if err != nil {
		return nil, err
	}
	return s.send(ctx, d), nil
}

func (s *Server) listCycleFiles(ctx context.Context, in *MonthPath) (*bodyOutput[[]CycleFile], error) {
	files, err := s.operations.Files(ctx, in.time())
	if files == nil {
		files = []CycleFile{}
	}
	return respond(files, err)
}

type cycleFileInput struct {
	MonthPath
	Name string `path:"name" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" doc:"a file name from the manifest"`
}

// getCycleFile sends a file named in the manifest. Payment files carry
// full account numbers, so every download is audited.
func (s *Server) getCycleFile(ctx context.Context, in *cycleFileInput) (*huma.StreamResponse, error) {
	d, err := s.OpenCycleFile(ctx, principal(ctx), in.time(), in.Name)
	if err != nil {
		return nil, err
	}
	return s.send(ctx, d), nil
}

func (s *Server) approveCycle(ctx context.Context, in *MonthPath) (*bodyOutput[Cycle], error) {
	return respond(s.ApproveCycle(ctx, principal(ctx), in.time()))
}

// cycleAudit is what the audit log keeps of a cycle: its state and who
// moved it (the totals are in the cycle itself).
func cycleAudit(c Cycle) map[string]any {
	return map[string]any{"state": c.State, "closed_by": c.ClosedBy, "approved_by": c.ApprovedBy, "released_by": c.ReleasedBy}
}

func (s *Server) releaseCycle(ctx context.Context, in *MonthPath) (*bodyOutput[Release], error) {
	return respond(s.ReleaseCycle(ctx, principal(ctx), in.time()))
}

type importInput struct {
	Upload
	Name string `query:"name" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" doc:"the file's name, recorded with the import"`
}

func (s *Server) importEarnings(ctx context.Context, in *importInput) (*bodyOutput[EarningsImport], error) {
	body, err := in.reader(MaxImportBytes, csvMediaType)
	if err != nil {
		return nil, err
	}
	name := in.Name
	if name == "" {
		name = "earnings-upload.csv"
	}
	return respond(s.ImportEarnings(ctx, principal(ctx), name, body))
}

func (s *Server) importReturns(ctx context.Context, in *importInput) (*bodyOutput[ReturnsImport], error) {
	body, err := in.reader(MaxImportBytes, "text/plain", csvMediaType, "application/json")
	if err != nil {
		return nil, err
	}
	name := in.Name
	if name == "" {
		name = "returns-upload"
	}
	return respond(s.ImportReturns(ctx, principal(ctx), name, body))
}

type fxInput struct {
	MonthPath
	ConfirmChange bool `query:"confirm_change" doc:"load rates that move more than the policy's fx_max_change (default 10%) from the previous cycle's rate; without it such a file is refused (422), nothing loaded"`
	Upload
}

func (s *Server) importFX(ctx context.Context, in *fxInput) (*bodyOutput[FXImport], error) {
	body, err := in.reader(MaxBodyBytes, csvMediaType)
	if err != nil {
		return nil, err
	}
	return respond(s.ImportFX(ctx, principal(ctx), in.time(), body, in.ConfirmChange))
}

type verificationInput struct {
	ID   int64 `path:"id" minimum:"1" doc:"the payout account's id"`
	Body struct {
		Status string `json:"status" enum:"verified,rejected,needs_update"`
		Reason string `json:"reason,omitempty" maxLength:"500" doc:"required unless verified: the bank's answer or the operator's reason"`
	}
}

func (s *Server) recordVerification(ctx context.Context, in *verificationInput) (*bodyOutput[Verification], error) {
	if in.Body.Status != "verified" && in.Body.Reason == "" {
		return nil, &accounts.Error{Kind: accounts.KindInvalid, Field: "reason", Reason: "required when the result is " + in.Body.Status}
	}
	result, err := s.operations.RecordVerification(ctx, in.ID, in.Body.Status, in.Body.Reason, principal(ctx))
	if err != nil {
		return nil, err
	}
	return respond(result, s.svc.AddAuditEntry(ctx, result.AccountID, principal(ctx), "payout_account.verification", "payout_account:"+strconv.FormatInt(in.ID, 10),
		nil, map[string]any{"status": result.Status, "reason": result.Reason}))
}

type unavailableOperations struct{}

func (unavailableOperations) Cycles(context.Context, time.Time, int) ([]Cycle, error) {
	return nil, errOperationsUnavailable
}
func (unavailableOperations) Cycle(context.Context, time.Time) (Cycle, error) {
	return Cycle{}, errOperationsUnavailable
}
func (unavailableOperations) Workbook(context.Context, time.Time) (Download, error) {
	return Download{}, errOperationsUnavailable
}
func (unavailableOperations) Files(context.Context, time.Time) ([]CycleFile, error) {
	return nil, errOperationsUnavailable
}
func (unavailableOperations) File(context.Context, time.Time, string) (Download, error) {
	return Download{}, errOperationsUnavailable
}
func (unavailableOperations) Approve(context.Context, time.Time, accounts.Principal) (Cycle, error) {
	return Cycle{}, errOperationsUnavailable
}
func (unavailableOperations) Release(context.Context, time.Time, accounts.Principal) (Release, error) {
	return Release{}, errOperationsUnavailable
}
func (unavailableOperations) ImportEarnings(context.Context, string, io.Reader) (EarningsImport, error) {
	return EarningsImport{}, errOperationsUnavailable
}
func (unavailableOperations) ImportReturns(context.Context, string, io.Reader) (ReturnsImport, error) {
	return ReturnsImport{}, errOperationsUnavailable
}
func (unavailableOperations) ImportFX(context.Context, time.Time, io.Reader, bool, accounts.Principal) (FXImport, error) {
	return FXImport{}, errOperationsUnavailable
}
func (unavailableOperations) Checks(context.Context, time.Time) ([]WorkbookCheck, error) {
	return nil, errOperationsUnavailable
}
func (unavailableOperations) Preview(context.Context, time.Time) (CycleTotals, error) {
	return CycleTotals{}, errOperationsUnavailable
}
func (unavailableOperations) Upcoming(context.Context) (Cycle, error) {
	return Cycle{}, errOperationsUnavailable
}
func (unavailableOperations) RecordVerification(context.Context, int64, string, string, accounts.Principal) (Verification, error) {
	return Verification{}, errOperationsUnavailable
}
