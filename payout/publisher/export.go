package publisher

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/internal/atomicfile"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout"
)

// Export kinds and formats.
const (
	ExportPayments     = "payments"
	ExportTransactions = "transactions"
	ExportCSV          = "csv"
	ExportXLSX         = "xlsx"
)

// ExportKinds and ExportFormats are the values a request takes.
var (
	ExportKinds   = []string{ExportPayments, ExportTransactions}
	ExportFormats = []string{ExportCSV, ExportXLSX}
)

// Export statuses (package doc, "Exports").
const (
	ExportQueued  = "queued"  // the job waits
	ExportRunning = "running" // an attempt is writing the file
	ExportDone    = "done"    // the file is published
	ExportFailed  = "failed"  // the last attempt failed (River may retry it)
)

// MaxExportMonths bounds an export's month range (from and to included).
const MaxExportMonths = MaxTransactionMonths

// Errors of the exports.
var (
	// ErrUnknownExport: the account has no export with the id (another
	// account's export is unknown too).
	ErrUnknownExport = errors.New("no such export")
	// ErrExportNotReady: the export's file is not written yet, or the
	// export failed (its status says which).
	ErrExportNotReady = errors.New("export not ready")
)

// ExportRequest asks for an export of an account's payments or
// transactions whose months fall in From..To ("YYYY-MM", both included, at
// most MaxExportMonths): for transactions, the month of each line's
// available_at (as TransactionFilter); for payments, the payment's cycle.
type ExportRequest struct {
	Kind   string `json:"kind"`   // payments | transactions
	Format string `json:"format"` // csv | xlsx
	From   string `json:"from"`
	To     string `json:"to"`
}

// Export is an export request and what became of it.
type Export struct {
	ID       string `json:"id"`
	SellerID string `json:"seller_id"`
	Kind     string `json:"kind"`
	Format   string `json:"format"`
	From     string `json:"from"`
	To       string `json:"to"`
	Status   string `json:"status"`
	// Rows counts the records of the file (done): its transactions or
	// payments. A payment whose items continue in rows below its own
	// (xlsx) counts once, as in the CSV.
	Rows  int64  `json:"rows"`
	Error string `json:"error,omitempty"`
	// FileName, Size and SHA256 describe the file once done.
	FileName    string     `json:"file_name,omitempty"`
	Size        int64      `json:"size,omitempty"`
	SHA256      string     `json:"sha256,omitempty"`
	RequestedBy string     `json:"requested_by"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	Attempts    int        `json:"attempts"`

	// File is the file's path on this host (OutDir/exports/SELLER/ID.EXT),
	// set once done.
	File string `json:"-"`

	accountID int64
}

// ContentType is the file's media type.
func (e Export) ContentType() string {
	if e.Format == ExportXLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// DownloadName is a file name for the download (Content-Disposition):
// "SELLER-transactions-2026-01-2026-12.csv".
func (e Export) DownloadName() string {
	return fmt.Sprintf("%s-%s-%s-%s.%s", e.SellerID, e.Kind, e.From, e.To, e.Format)
}

// check validates the request: every field errors as *fielderr.Error
// naming it (kind, format, from, to).
func (r ExportRequest) check() (from, to time.Time, err error) {
	switch {
	case r.Kind == "":
		return from, to, fielderr.Newf("kind", fielderr.Required, "one of %s is required", strings.Join(ExportKinds, ", "))
	case !contains(ExportKinds, r.Kind):
		return from, to, fielderr.Newf("kind", fielderr.Invalid, "%q is not one of %s", r.Kind, strings.Join(ExportKinds, ", "))
	case r.Format == "":
		return from, to, fielderr.Newf("format", fielderr.Required, "one of %s is required", strings.Join(ExportFormats, ", "))
	case !contains(ExportFormats, r.Format):
		return from, to, fielderr.Newf("format", fielderr.Invalid, "%q is not one of %s", r.Format, strings.Join(ExportFormats, ", "))
	}
	return exportMonths(r.From, r.To)
}

// exportMonths checks an export's month range and returns it as the
// available_at range [from, to): both months are required, to is not before
// from, and the range spans at most MaxExportMonths.
func exportMonths(from, to string) (time.Time, time.Time, error) {
	if from == "" {
		return time.Time{}, time.Time{}, fielderr.Newf("from", fielderr.Required, "a month (YYYY-MM) is required")
	}
	if to == "" {
		return time.Time{}, time.Time{}, fielderr.Newf("to", fielderr.Required, "a month (YYYY-MM) is required")
	}
	return TransactionFilter{From: from, To: to}.check()
}

// exportID is 26 characters of base32 (130 random bits).
var exportID = regexp.MustCompile(`^[A-Z2-7]{26}$`)

// StartExport records an export of accountID's payments or transactions
// and enqueues its job (Service.Enqueue) in the same transaction: the job
// exists exactly when the export does. It returns the export, queued;
// Export gives its status, OpenExport its file once done. requestedBy
// names who asked (the principal, e.g. "user:alice@example.com").
// Errors: *fielderr.Error (kind, format, from, to), ErrUnknownAccount.
func (s *Service) StartExport(ctx context.Context, accountID int64, request ExportRequest, requestedBy string) (Export, error) {
	if s.Enqueue == nil {
		return Export{}, errors.New("publisher: StartExport needs Service.Enqueue")
	}
	return s.createExport(ctx, accountID, request, requestedBy, s.Enqueue)
}

// ExportNow records an export and writes it in this process, without the
// job (the CLI): the same file, row and checks as the job's.
// Errors: StartExport's and RunExport's.
func (s *Service) ExportNow(ctx context.Context, accountID int64, request ExportRequest, requestedBy string) (Export, error) {
	e, err := s.createExport(ctx, accountID, request, requestedBy, nil)
	if err != nil {
		return Export{}, err
	}
	return s.RunExport(ctx, e.ID)
}

func (s *Service) createExport(ctx context.Context, accountID int64, request ExportRequest, requestedBy string,
	enqueue func(ctx context.Context, tx pgx.Tx, exportID string, at time.Time) error) (Export, error) {
	from, to, err := request.check()
	if err != nil {
		return Export{}, err
	}
	if requestedBy == "" || len(requestedBy) > 200 {
		return Export{}, fmt.Errorf("publisher: an export's requester must have 1..200 bytes, not %d", len(requestedBy))
	}
	var sellerID string
	if err := s.DB.GetContext(ctx, &sellerID, `SELECT seller_id FROM accounts WHERE id = $1`, accountID); errors.Is(err, sql.ErrNoRows) {
		return Export{}, fmt.Errorf("%w: %d", ErrUnknownAccount, accountID)
	} else if err != nil {
		return Export{}, err
	}
	e := Export{ID: rand.Text(), SellerID: sellerID, Kind: request.Kind, Format: request.Format,
		From: payout.MonthName(from), To: payout.MonthName(to.AddDate(0, -1, 0)), Status: ExportQueued,
		RequestedBy: requestedBy, CreatedAt: s.now().Truncate(time.Microsecond), accountID: accountID}
	err = db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `
				INSERT INTO payout_exports (id, account_id, kind, format, from_month, to_month, status, requested_by, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				e.ID, accountID, e.Kind, e.Format, from, to.AddDate(0, -1, 0), e.Status, e.RequestedBy, e.CreatedAt); err != nil {
				return err
			}
			if enqueue == nil {
				return nil
			}
			return enqueue(ctx, tx, e.ID, e.CreatedAt)
		})
	})
	if err != nil {
		return Export{}, fmt.Errorf("publisher: record export: %w", err)
	}
	return e, nil
}

// Export returns accountID's export id. Errors: ErrUnknownExport.
func (s *Service) Export(ctx context.Context, accountID int64, id string) (Export, error) {
	e, err := s.exportByID(ctx, id)
	if err != nil {
		return Export{}, err
	}
	if e.accountID != accountID {
		return Export{}, fmt.Errorf("%w: %s", ErrUnknownExport, id)
	}
	return e, nil
}

// OpenExport opens the file of accountID's export id, done, for reading;
// the caller closes it. The file's size is checked against the one
// recorded. Errors: ErrUnknownExport, ErrExportNotReady (with the status).
func (s *Service) OpenExport(ctx context.Context, accountID int64, id string) (*os.File, Export, error) {
	e, err := s.Export(ctx, accountID, id)
	if err != nil {
		return nil, Export{}, err
	}
	if e.Status != ExportDone {
		return nil, e, fmt.Errorf("%w: export %s is %s", ErrExportNotReady, id, e.Status)
	}
	file, err := os.Open(e.File)
	if err != nil {
		return nil, e, fmt.Errorf("publisher: export %s: %w", id, err)
	}
	if info, err := file.Stat(); err != nil || info.Size() != e.Size {
		_ = file.Close()
		if err == nil {
			err = fmt.Errorf("%d bytes where %d were written", info.Size(), e.Size)
		}
		return nil, e, fmt.Errorf("publisher: export %s: %s: %w", id, e.File, err)
	}
	return file, e, nil
}

// RunExport writes export id's file and marks it done: the payouts-export
// job's work. Idempotent: an export already done is returned as it is,
// without writing; one left running by a crashed attempt, or failed, is
// written again from the start and published atomically (readers see the
// whole file or none). The rows are read as of the export's creation, so a
// rewrite gives the same file as long as the data behind it did not change.
// On error the export is marked failed with it and the error is returned
// (the job retries). Errors: ErrUnknownExport; the database's and the file
// system's.
func (s *Service) RunExport(ctx context.Context, id string) (Export, error) {
	e, err := s.exportByID(ctx, id)
	if err != nil {
		return Export{}, err
	}
	if e.Status == ExportDone {
		return e, nil
	}
	if s.OutDir == "" {
		return e, errors.New("publisher: RunExport needs Service.OutDir")
	}
	started, err := s.DB.ExecContext(ctx, `
		UPDATE payout_exports SET status = $2, started_at = $3, finished_at = NULL, error = '', attempts = attempts + 1
		WHERE id = $1 AND status <> $4`, id, ExportRunning, s.now(), ExportDone)
	if err != nil {
		return e, err
	}
	if n, err := started.RowsAffected(); err != nil {
		return e, err
	} else if n == 0 { // done in the meantime
		return s.exportByID(ctx, id)
	}
	rows, size, digest, err := s.writeExport(ctx, e)
	if err != nil {
		// Recorded even when ctx is over (a timeout, a shutdown).
		recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		text := err.Error()
		if len(text) > 8000 {
			text = text[:8000]
		}
		if _, markErr := s.DB.ExecContext(recordCtx, `
			UPDATE payout_exports SET status = $2, error = $3, finished_at = $4 WHERE id = $1 AND status <> $5`,
			id, ExportFailed, text, s.now(), ExportDone); markErr != nil {
			err = errors.Join(err, fmt.Errorf("mark export failed: %w", markErr))
		}
		return e, fmt.Errorf("publisher: export %s: %w", id, err)
	}
	if _, err := s.DB.ExecContext(ctx, `
		UPDATE payout_exports SET status = $2, rows = $3, file_path = $4, file_size = $5, file_sha256 = $6, finished_at = $7
		WHERE id = $1 AND status <> $2`, id, ExportDone, rows, e.relativePath(), size, digest, s.now()); err != nil {
		return e, err
	}
	return s.exportByID(ctx, id)
}

// relativePath is where the export's file goes, under the output
// directory: exports/SELLER/ID.EXT (a seller id is letters, digits, '_'
// and '-', starting with a letter or digit: a safe directory name).
func (e Export) relativePath() string {
	return filepath.Join("exports", e.SellerID, e.ID+"."+e.Format)
}

// writeExport streams the export's rows into its file, published
// atomically (0600, directories 0700), and returns the rows written, the
// file's size and its sha256.
func (s *Service) writeExport(ctx context.Context, e Export) (rows, size int64, digest string, err error) {
	path := filepath.Join(s.OutDir, e.relativePath())
	dir := filepath.Dir(path)
	if err := atomicfile.MkdirAll(dir); err != nil {
		return 0, 0, "", err
	}
	sum := &digestWriter{hash: sha256.New()}
	err = atomicfile.Write(path, atomicfile.FileMode, func(w io.Writer) error {
		sum.w = w
		var err error
		rows, err = s.writeRows(ctx, e, sum, dir)
		return err
	})
	if err != nil {
		return 0, 0, "", err
	}
	return rows, sum.size, hex.EncodeToString(sum.hash.Sum(nil)), nil
}

// digestWriter hashes and counts what goes through it.
type digestWriter struct {
	w    io.Writer
	hash hash.Hash
	size int64
}

func (d *digestWriter) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.hash.Write(p[:n])
	d.size += int64(n)
	return n, err
}

// exportByID reads an export. Errors: ErrUnknownExport.
func (s *Service) exportByID(ctx context.Context, id string) (Export, error) {
	if !exportID.MatchString(id) {
		return Export{}, fmt.Errorf("%w: %q", ErrUnknownExport, id)
	}
	var row struct {
		ID          string       `db:"id"`
		AccountID   int64        `db:"account_id"`
		SellerID    string       `db:"seller_id"`
		Kind        string       `db:"kind"`
		Format      string       `db:"format"`
		From        time.Time    `db:"from_month"`
		To          time.Time    `db:"to_month"`
		Status      string       `db:"status"`
		Rows        int64        `db:"rows"`
		Error       string       `db:"error"`
		FilePath    string       `db:"file_path"`
		FileSize    int64        `db:"file_size"`
		FileSHA256  string       `db:"file_sha256"`
		RequestedBy string       `db:"requested_by"`
		CreatedAt   time.Time    `db:"created_at"`
		StartedAt   sql.NullTime `db:"started_at"`
		FinishedAt  sql.NullTime `db:"finished_at"`
		Attempts    int          `db:"attempts"`
	}
	err := s.DB.GetContext(ctx, &row, `
		SELECT e.id, e.account_id, a.seller_id, e.kind, e.format, e.from_month, e.to_month, e.status, e.rows, e.error,
		       e.file_path, e.file_size, e.file_sha256, e.requested_by, e.created_at, e.started_at, e.finished_at, e.attempts
		FROM payout_exports e JOIN accounts a ON a.id = e.account_id WHERE e.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Export{}, fmt.Errorf("%w: %s", ErrUnknownExport, id)
	}
	if err != nil {
		return Export{}, err
	}
	e := Export{ID: row.ID, SellerID: row.SellerID, Kind: row.Kind, Format: row.Format, From: payout.MonthName(row.From),
		To: payout.MonthName(row.To), Status: row.Status, Rows: row.Rows, Error: row.Error, Size: row.FileSize,
		SHA256: row.FileSHA256, RequestedBy: row.RequestedBy, CreatedAt: row.CreatedAt.UTC(), Attempts: row.Attempts,
		accountID: row.AccountID}
	if row.StartedAt.Valid {
		t := row.StartedAt.Time.UTC()
		e.StartedAt = &t
	}
	if row.FinishedAt.Valid {
		t := row.FinishedAt.Time.UTC()
		e.FinishedAt = &t
	}
	if row.FilePath != "" && e.Status == ExportDone {
		e.FileName = filepath.Base(row.FilePath)
		e.File = filepath.Join(s.OutDir, row.FilePath)
	}
	return e, nil
}
