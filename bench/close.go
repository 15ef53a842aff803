package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/secret"
)

// devEnv runs payrun in development mode (sample originator, public key)
// at a given instant.
func devEnv(now string) []string { return []string{"PAYRUN_DEV=1", "PAYRUN_NOW=" + now} }

// prepare generates (once) the accounts and a month of lines, creates a
// fresh database, loads the accounts and makes every publisher payable.
func prepare(ctx context.Context, binary, serverURL, work, name string, lines int64, publishers int) (string, error) {
	prefix := dataPrefix(work, lines, publishers)
	if _, err := os.Stat(prefix + ".csv"); err != nil {
		fmt.Fprintf(os.Stderr, "bench: generating %d lines for %d publishers\n", lines, publishers)
		cmd := exec.Command(binary, "earnings", "generate", "--seed", "1", "--publishers", strconv.Itoa(publishers),
			"--lines", strconv.FormatInt(lines, 10), "--month", "2026-10", "--out", prefix+".csv")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("generate: %w", err)
		}
	}
	databaseURL, err := freshDatabase(ctx, serverURL, name)
	if err != nil {
		return "", err
	}
	if _, _, err := runPayrun(binary, databaseURL, nil, "accounts", "import", prefix+".accounts.csv"); err != nil {
		return "", err
	}
	if err := makePayable(ctx, databaseURL); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	return databaseURL, nil
}

// makePayable gives every account, in bulk, what a payable publisher has:
// status verified, a verified payout account (ACH for US publishers, a
// sealed IBAN for euro countries, PayPal elsewhere) and a tax form (W-9 for
// US publishers, W-8BEN without treaty claim elsewhere), all dated before
// any cutoff the workloads close.
func makePayable(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	sealer, err := secret.FromConfig("", true)
	if err != nil {
		return err
	}
	setup := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := conn.Exec(ctx, `INSERT INTO account_status_events (account_id, status, at, actor) SELECT id, 'verified', $1, 'bench' FROM accounts`, setup); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `
		INSERT INTO tax_forms (account_id, form, submission, tin_digest, tin_last4, submitted_at, submitted_by)
		SELECT id, CASE WHEN registration_country = 'US' THEN 'W-9' ELSE 'W-8BEN' END,
		       jsonb_build_object('form', CASE WHEN registration_country = 'US' THEN 'W-9' ELSE 'W-8BEN' END,
		                          'legal_name', 'Publisher ' || seller_id, 'entity_type', 'individual',
		                          'residence_country', registration_country, 'citizenship_country', registration_country,
		                          'permanent_address', jsonb_build_object('line1', '1 Street', 'city', 'City', 'country', registration_country),
		                          'tin_kind', CASE WHEN registration_country = 'US' THEN 'ssn' ELSE '' END,
		                          'signer_name', 'Publisher', 'signed_on', '2025-11-20'),
		       CASE WHEN registration_country = 'US' THEN sha256(seller_id::bytea) END,
		       CASE WHEN registration_country = 'US' THEN '1234' END, $1, 'bench'
		FROM accounts`, setup); err != nil {
		return err
	}
	// The accounts are read on a second connection and copied as they
	// come: a million of them need not be held here.
	reader, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer reader.Close(ctx)
	rows, err := reader.Query(ctx, `SELECT id, registration_country FROM accounts ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	euro := map[string]bool{"DE": true, "FR": true, "NL": true, "IE": true, "ES": true, "IT": true}
	var row []any
	next := func() bool {
		if !rows.Next() {
			return false
		}
		var id int64
		var country string
		if err = rows.Scan(&id, &country); err != nil {
			return false
		}
		switch {
		case country == "US":
			var number []byte
			if number, err = sealer.Seal(fmt.Sprintf("%09d", id), "payout.account_number"); err != nil {
				return false
			}
			row = []any{id, "bank", "Publisher", "USD", "US", "checking", "011000015", number, nil, "0000", nil, nil, setup, "bench"}
		case euro[country]:
			var iban []byte
			if iban, err = sealer.Seal("DE89370400440532013000", "payout.iban"); err != nil {
				return false
			}
			row = []any{id, "bank", "Publisher", "EUR", country, nil, nil, nil, iban, "3000", "COBADEFFXXX", nil, setup, "bench"}
		default:
			row = []any{id, "paypal", "Publisher", "USD", nil, nil, nil, nil, nil, nil, nil, fmt.Sprintf("p%d@example.com", id), setup, "bench"}
		}
		return true
	}
	source := pgx.CopyFromFunc(func() ([]any, error) {
		if next() {
			return row, nil
		}
		if err == nil {
			err = rows.Err()
		}
		return nil, err
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"payout_accounts"}, []string{"account_id", "method", "holder_name", "currency", "bank_country",
		"bank_account_type", "routing_number", "account_number_sealed", "iban_sealed", "number_last4", "bic", "paypal_email", "created_at", "created_by"},
		source); err != nil {
		return err
	}
	rows.Close()
	_, err = conn.Exec(ctx, `INSERT INTO payout_account_events (payout_account_id, status, at, actor) SELECT id, 'verified', $1, 'bench' FROM payout_accounts`,
		setup.Add(time.Hour))
	return err
}

// dataPrefix names generated files; the import workload's files (seed 1,
// one publisher per 100 lines) are reused when the sizes match.
func dataPrefix(work string, lines int64, publishers int) string {
	if int64(publishers) == max(1000, lines/100) {
		return filepath.Join(work, fmt.Sprintf("earnings-%d", lines))
	}
	return filepath.Join(work, fmt.Sprintf("close-%d-%d", lines, publishers))
}

// benchClose: close a month of lines with 1 worker and, on an identical
// database, with 2 workers, each against the bare pipeline; then release
// the first database's cycle.
func benchClose(ctx context.Context, binary, serverURL, work string, lines int64, publishers int) ([]Result, error) {
	databaseURL, err := prepare(ctx, binary, serverURL, work, "bench_close", lines, publishers)
	if err != nil {
		return nil, err
	}
	if err := importMonth(ctx, binary, databaseURL, dataPrefix(work, lines, publishers)+".csv"); err != nil {
		return nil, err
	}
	// The second database is a copy of the first as the close finds it:
	// the same files, pages and statistics.
	workersURL, err := cloneDatabase(ctx, serverURL, "bench_close", "bench_close_w2")
	if err != nil {
		return nil, err
	}
	baseline, err := barePipeline(ctx, databaseURL, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, fmt.Errorf("bare pipeline: %w", err)
	}
	closeCycle := func(databaseURL string, workers int) (time.Duration, int64, error) {
		if err := checkpoint(ctx, databaseURL); err != nil {
			return 0, 0, err
		}
		return runPayrun(binary, databaseURL, append(devEnv("2026-12-05T06:00:00Z"), "PAYRUN_OUT="+filepath.Join(work, "out")),
			"cycle", "close", "--month", "2026-12", "--no-workbook", "--workers", strconv.Itoa(workers))
	}
	elapsed, rss, err := closeCycle(databaseURL, 1)
	if err != nil {
		return nil, err
	}
	elapsed2, rss2, err := closeCycle(workersURL, 2)
	if err != nil {
		return nil, err
	}
	// A close that differs with 2 workers is a bug: said in the report (and
	// on stderr), without stopping the run.
	same := "same result as 1 worker"
	if differs, err := sameClose(ctx, databaseURL, workersURL, "2026-12-01"); err != nil {
		return nil, err
	} else if differs != "" {
		fmt.Fprintln(os.Stderr, "bench: WRONG: the close with 2 workers differs from the close with 1:", differs)
		same = "RESULT DIFFERS from 1 worker: " + differs
	}
	name := fmt.Sprintf("close %s lines / %s publishers", count(lines), count(int64(publishers)))
	const bare = "one GROUP BY over the same lines streamed into Go + COPY of one row per publisher"
	speedup := "faster"
	if elapsed2 >= elapsed {
		speedup = "not faster"
	}
	results := []Result{{
		Workload: name, Items: lines,
		PayrunSeconds: elapsed.Seconds(), BaselineSeconds: baseline.Seconds(), Ratio: elapsed.Seconds() / baseline.Seconds(),
		ItemsPerSecond: float64(lines) / elapsed.Seconds(), PeakRSSBytes: rss,
		Baseline: bare + " (close without the workbook: a workload of its own)",
		Target:   "<= 1.5x (issue 4), <= 1.3x (issue 10); RSS < 250 MB",
	}, {
		Workload: name + ", 2 workers", Items: lines,
		PayrunSeconds: elapsed2.Seconds(), BaselineSeconds: baseline.Seconds(), Ratio: elapsed2.Seconds() / baseline.Seconds(),
		ItemsPerSecond: float64(lines) / elapsed2.Seconds(), PeakRSSBytes: rss2,
		Baseline: bare + " (the same baseline; an identical copy of the database)",
		Target:   fmt.Sprintf("2 workers vs 1: %.2fx (%s; %s)", elapsed2.Seconds()/elapsed.Seconds(), speedup, same),
	}}
	fx := filepath.Join(work, "fx.csv")
	if err := os.WriteFile(fx, []byte("currency,rate,date,source\nEUR,0.9234,2026-12-04,bench\n"), 0o644); err != nil {
		return nil, err
	}
	if _, _, err := runPayrun(binary, databaseURL, devEnv("2026-12-05T07:00:00Z"), "fx", "import", fx, "--month", "2026-12"); err != nil {
		return nil, err
	}
	var paid int64
	if err := queryRow(ctx, databaseURL, `SELECT count(*) FROM payouts WHERE month = '2026-12-01' AND status = 'paid'`, &paid); err != nil {
		return nil, err
	}
	release, err := benchRelease(binary, databaseURL, filepath.Join(work, "out"), paid)
	if err != nil {
		return nil, err
	}
	results = append(results, release...)
	return results, nil
}

// benchRelease releases the closed cycle of December 2026 (paid payouts)
// and reports the payment files and the workbook apart:
//
//   - the files: the release's own timings of its phases (payments loaded,
//     files written and verified, recorded), which payrun measures and
//     prints (--json); the whole command's wall time beside them;
//   - the workbook: payrun cycle close of the same, now released, cycle,
//     which changes nothing and writes the cycle's workbook from the
//     database, the one the release writes after its files (the close
//     skipped it: --no-workbook). Timed as a whole command.
func benchRelease(binary, databaseURL, out string, paid int64) ([]Result, error) {
	elapsed, rss, output, err := runPayrunOutput(binary, databaseURL, append(devEnv("2026-12-05T08:00:00Z"), "PAYRUN_OUT="+out),
		"cycle", "release", "--month", "2026-12", "--json")
	if err != nil {
		return nil, err
	}
	var released struct {
		AlreadyReleased bool `json:"already_released"`
		Files           []struct {
			Name    string `json:"name"`
			Records int64  `json:"records"`
		} `json:"files"`
		LoadSeconds   float64 `json:"load_seconds"`
		FilesSeconds  float64 `json:"files_seconds"`
		CommitSeconds float64 `json:"commit_seconds"`
	}
	if err := json.Unmarshal(output, &released); err != nil {
		return nil, fmt.Errorf("payrun cycle release --json: %w", err)
	}
	if released.AlreadyReleased || released.FilesSeconds == 0 {
		return nil, fmt.Errorf("payrun cycle release: the cycle was already released, or no phase timings printed")
	}
	var records int64
	for _, f := range released.Files {
		records += f.Records
	}
	files := released.LoadSeconds + released.FilesSeconds + released.CommitSeconds
	fmt.Fprintf(os.Stderr, "bench: payrun cycle release: %d files, %d records: payments loaded in %.2f s, files written and verified in %.2f s, "+
		"recorded in %.2f s (%.2f s); whole command %.2f s\n", len(released.Files), records, released.LoadSeconds, released.FilesSeconds,
		released.CommitSeconds, files, elapsed.Seconds())

	workbookElapsed, workbookRSS, output, err := runPayrunOutput(binary, databaseURL, append(devEnv("2026-12-05T09:00:00Z"), "PAYRUN_OUT="+out),
		"cycle", "close", "--month", "2026-12", "--workers", "1")
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(output), "is already released: nothing changed") || !strings.Contains(string(output), ".xlsx") {
		return nil, fmt.Errorf("payrun cycle close of the released cycle: did not just write the workbook:\n%s", output)
	}
	name := fmt.Sprintf("release %s payouts", count(paid))
	return []Result{{
		Workload: name + ": payment files", Items: paid,
		PayrunSeconds: files, ItemsPerSecond: float64(paid) / files, PeakRSSBytes: rss,
		CommandSeconds: elapsed.Seconds(),
		PhasesSeconds:  map[string]float64{"load": released.LoadSeconds, "files": released.FilesSeconds, "commit": released.CommitSeconds},
		Covers: fmt.Sprintf("payrun's own timings of the release's phases (payments read, decrypted and converted; %d files written, "+
			"read back and verified; payments, manifest and state recorded), without process start, the release's lock and state "+
			"checks, or the workbook and result.json written after; command_seconds is the whole command (%.2f s). "+
			"Peak RSS is the whole command's, workbook included", len(released.Files), elapsed.Seconds()),
		Baseline: "none (absolute target)", Target: "files for 100k payouts < 2 s",
	}, {
		Workload: name + ": workbook", Items: paid,
		PayrunSeconds: workbookElapsed.Seconds(), ItemsPerSecond: float64(paid) / workbookElapsed.Seconds(), PeakRSSBytes: workbookRSS,
		Covers: "the whole command payrun cycle close --month of the released cycle: process start, the close finding the cycle " +
			"released (nothing changed) and the cycle workbook written from the database, as the release writes it after its files " +
			"(the release's result.json not included)",
		Baseline: "none (the workbook workload compares the workbook with a bare excelize StreamWriter)", Target: "none of its own",
	}}, nil
}

// importMonth imports October's sales on 2 November (available in November,
// so in the December cycle's window) and leaves the database as a close
// finds it some time after an import: vacuumed and analyzed (as autovacuum
// would), checkpointed. Nothing of this is timed.
func importMonth(ctx context.Context, binary, databaseURL, file string) error {
	if _, _, err := runPayrun(binary, databaseURL, devEnv("2026-11-02T00:00:00Z"), "earnings", "import", file); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CHECKPOINT")
	return err
}

// sameClose compares how two databases closed the same cycle: every
// payout's decision and amounts. It says how they differ, or "".
func sameClose(ctx context.Context, a, b, month string) (string, error) {
	digest := `SELECT count(*), coalesce(md5(string_agg(concat_ws('|', account_id, status, array_to_string(reasons, ','), balance_us,
		balance_other, withheld, paid_usd, carried_us, carried_other, method, currency), ',' ORDER BY account_id)), '')
		FROM payouts WHERE month = '` + month + `'`
	var countA, countB int64
	var digestA, digestB string
	if err := queryRow(ctx, a, digest, &countA, &digestA); err != nil {
		return "", err
	}
	if err := queryRow(ctx, b, digest, &countB, &digestB); err != nil {
		return "", err
	}
	if countA != countB || digestA != digestB {
		return fmt.Sprintf("%d payouts (digest %s) vs %d (%s)", countB, digestB, countA, digestA), nil
	}
	return "", nil
}

func queryRow(ctx context.Context, databaseURL, sql string, dest ...any) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dest...)
}

// barePipeline is the simplest correct way to do a close's I/O: one GROUP
// BY over the cycle's lines streamed into Go, and a COPY of one result row
// per publisher.
func barePipeline(ctx context.Context, databaseURL string, cutoff time.Time) (time.Duration, error) {
	reader, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, err
	}
	defer reader.Close(ctx)
	writer, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, err
	}
	defer writer.Close(ctx)
	if _, err := writer.Exec(ctx, `CREATE TABLE bare_payouts (account_id bigint, us numeric(20,6), other numeric(20,6), paid numeric(20,2))`); err != nil {
		return 0, err
	}
	// The same memory for the aggregation as payrun's close gives itself.
	if _, err := reader.Exec(ctx, `SET work_mem = '128MB'`); err != nil {
		return 0, err
	}
	start := time.Now()
	rows, err := reader.Query(ctx, `
		SELECT account_id, coalesce(sum(amount) FILTER (WHERE market = 'US'), 0)::text, coalesce(sum(amount) FILTER (WHERE market <> 'US'), 0)::text
		FROM earnings_lines WHERE available_at >= '0001-01-01' AND available_at < $1 GROUP BY account_id ORDER BY account_id`, cutoff)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	// Streamed: one row at a time from the query into the COPY.
	var scanErr error
	source := pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		var id int64
		var us, other string
		if scanErr = rows.Scan(&id, &us, &other); scanErr != nil {
			return nil, scanErr
		}
		u, o := decimal.RequireFromString(us), decimal.RequireFromString(other)
		return []any{id, u.String(), o.String(), u.Add(o).RoundFloor(2).String()}, nil
	})
	if _, err := writer.CopyFrom(ctx, pgx.Identifier{"bare_payouts"}, []string{"account_id", "us", "other", "paid"}, source); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// benchHistory imports and closes months in turn and compares the close of
// the last month with the close of the first.
func benchHistory(ctx context.Context, binary, serverURL, work string, linesPerMonth int64, publishers, months int) ([]Result, error) {
	databaseURL, err := prepare(ctx, binary, serverURL, work, "bench_history", linesPerMonth, publishers)
	if err != nil {
		return nil, err
	}
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var closes []time.Duration
	var rssMax int64
	for i := 0; i < months; i++ {
		sales := first.AddDate(0, i, 0)
		file := filepath.Join(work, fmt.Sprintf("history-%s.csv", sales.Format("2006-01")))
		if _, err := os.Stat(file); err != nil {
			cmd := exec.Command(binary, "earnings", "generate", "--seed", "1", "--publishers", strconv.Itoa(publishers),
				"--lines", strconv.FormatInt(linesPerMonth, 10), "--month", sales.Format("2006-01"), "--out", file)
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("generate %s: %w", sales.Format("2006-01"), err)
			}
		}
		importAt := sales.AddDate(0, 1, 1).Format(time.RFC3339)
		if _, _, err := runPayrun(binary, databaseURL, devEnv(importAt), "earnings", "import", file); err != nil {
			return nil, err
		}
		payment := sales.AddDate(0, 2, 0)
		if err := checkpoint(ctx, databaseURL); err != nil {
			return nil, err
		}
		elapsed, rss, err := runPayrun(binary, databaseURL, append(devEnv(payment.AddDate(0, 0, 4).Add(6*time.Hour).Format(time.RFC3339)),
			"PAYRUN_OUT="+filepath.Join(work, "history-out")), "cycle", "close", "--month", payment.Format("2006-01"))
		if err != nil {
			return nil, err
		}
		closes = append(closes, elapsed)
		rssMax = max(rssMax, rss)
		fmt.Fprintf(os.Stderr, "bench: history month %d closed in %.2f s\n", i+1, elapsed.Seconds())
	}
	firstClose, lastClose := closes[0], closes[len(closes)-1]
	return []Result{{
		Workload: fmt.Sprintf("close month %d vs month 1 (%s lines/month, %s publishers)", months, count(linesPerMonth), count(int64(publishers))),
		Items:    linesPerMonth, PayrunSeconds: lastClose.Seconds(), BaselineSeconds: firstClose.Seconds(),
		Ratio: lastClose.Seconds() / firstClose.Seconds(), ItemsPerSecond: float64(linesPerMonth) / lastClose.Seconds(), PeakRSSBytes: rssMax,
		Baseline: "the close of month 1 in the same run", Target: "<= 1.2x",
	}}, nil
}
