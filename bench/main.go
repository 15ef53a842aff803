// Command bench is `make bench`: it measures payrun's workloads against the
// simplest correct way to do the same I/O (the baseline), in the same run on
// the same database server, and prints one report (also bench/results.json,
// or --out).
//
// The report starts with the machine (results.json's "machine"), read once
// at the start of the run: CPU model, runtime.NumCPU and online CPUs (and a
// cgroup's cpu.max and memory.max when there is one), total memory, kernel,
// the bench's Go version; the payrun binary's version (payrun version),
// build info and sha256; the Postgres server's version and the settings that
// move the figures (pgSettings, from pg_settings with their units). Figures
// of two runs compare only when their machines do.
//
// Workloads (--workloads, all by default):
//
//	import     payrun earnings import of N generated lines (--sizes, 1M and
//	           10M), against a bare COPY ... (FORMAT csv) of the same file
//	           into a plain table with the same columns and no constraints or
//	           indexes (baseline_seconds, ratio); and against a keyed
//	           baseline (keyed_baseline_seconds, keyed_ratio): the same file
//	           parsed in Go as it streams into a binary COPY (pgx CopyFrom)
//	           into a plain table with the same columns and UNIQUE
//	           (transaction_id, revenue_source), the key payrun's import
//	           enforces; and the keyed baseline with also the per-publisher
//	           index payrun's lines carry for a publisher's transactions
//	           (indexed_baseline_seconds, indexed_ratio; migration 160),
//	           proposed as the fair one. The baselines and the import
//	           share one fresh database, timed in turn after a CHECKPOINT.
//	close      payrun cycle close --no-workbook over N lines and P publishers
//	           (--close-lines, a list: 1M, 4M and 10M, i.e. 10, 40 and 100
//	           lines per publisher; --close-publishers, 100k; all payable),
//	           each size in turn, against the
//	           bare pipeline: one GROUP BY over the same lines streamed into
//	           Go plus a COPY of P rows. Twice: with 1 worker, and with
//	           --workers 2 on an identical copy of the database (CREATE
//	           DATABASE ... TEMPLATE, made before anything is timed), both
//	           against the same baseline; the second row's target column says
//	           how 2 workers compare with 1, and the two closes must decide
//	           every payout the same way.
//	release    (with close) payrun cycle release --json of the 1-worker
//	           cycle: NACHA, pain.001 and PayPal files for the paid
//	           publishers, then the workbook the close skipped and
//	           result.json. Two rows, no baseline. "payment files": the
//	           release's own timings of its phases (payments loaded, files
//	           written and verified, recorded; phases_seconds), against the
//	           absolute target; command_seconds is the whole command, and
//	           the peak RSS is the whole command's. "workbook": payrun cycle
//	           close of the now released cycle, which changes nothing and
//	           writes the workbook as the release does, timed as a whole
//	           command. A row's "covers" says what its figures cover.
//	scale      payrun cycle close --no-workbook --workers 2 over 20M lines and
//	           1M publishers (--scale-lines, --scale-publishers), against the
//	           same bare pipeline; target: peak RSS under 400 MB. It is also
//	           the close of 1M publishers.
//	console    (runs scale first) the finance console on the scale
//	           workload's closed cycle of 1M publishers, on payrun serve:
//	           the cycle review page (target p99 < 300 ms) and publishers
//	           table pages (default order, filters, a sort, a name search,
//	           pages walked by cursor; target p99 < 100 ms each),
//	           --console-requests requests one at a time; the first view of
//	           the review page (it computes the breakdown) on its own row.
//	history    K months of L lines each, imported and closed in turn (closes
//	           with the workbook): the close of month K against the close of
//	           month 1 (cost follows the month, not the history).
//	workbook   the cycle workbook of N generated paid publishers
//	           (--workbook-rows, 100k and 1M) with reports.WriteCycleWorkbook,
//	           against a bare excelize StreamWriter of the same rows and
//	           columns (reports.WriteBareWorkbook). Each side runs in a
//	           subprocess of this binary (--internal-workbook) for its own
//	           peak RSS; the rows are generated as they are written, and the
//	           time generating them takes alone is taken out.
//	payouts    a publisher's payouts endpoints on payrun serve: one publisher
//	           with --payouts-big-lines lines (100k) in a month of 10M lines
//	           (--payouts-lines over --payouts-publishers others), closed;
//	           --payouts-requests requests one at a time, p50 and p99 of the
//	           summary and of one transactions page (walked by cursor);
//	           then `payrun payouts export` of a publisher with
//	           --payouts-export-lines lines (1M) as CSV and xlsx.
//	           Targets: p99 < 50 ms each; the export's RSS < 150 MB. No
//	           baseline: absolute targets.
//	api        authenticated GETs of account details on payrun serve, with wrk
//	           from a second process; the same server's /healthz as the floor.
//	           And a mixed GET + PUT (If-Match) load: no 5xx, no lost update.
//
// The bench process itself stays small (every baseline streams): Linux starts
// a child's ru_maxrss from its parent's resident size at fork, so a large
// bench process would inflate every figure measured after it.
//
// payrun runs as a subprocess, so its peak RSS is the kernel's figure for the
// whole process. Every workload gets a fresh database (bench_*, dropped when
// the run ends unless --keep-databases: a full run's take about 60 GB of
// disk at the end, and the server needs that much free); the close and scale
// workloads' databases are imported, vacuumed and analyzed (as autovacuum
// would) before anything is timed. Each row is printed on stderr as it is
// measured; the whole report is printed on stdout at the end.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/internal/config"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/migrations"
)

// Result is one row of the report.
type Result struct {
	Workload        string  `json:"workload"`
	Items           int64   `json:"items"`
	PayrunSeconds   float64 `json:"payrun_seconds"`
	BaselineSeconds float64 `json:"baseline_seconds"`
	Ratio           float64 `json:"ratio"`
	ItemsPerSecond  float64 `json:"items_per_second"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`
	Baseline        string  `json:"baseline"`
	Target          string  `json:"target"`

	// The import workload's second baseline (keyedCopy): a binary COPY
	// into a table with the import's key. Set on every import row.
	KeyedBaselineSeconds float64 `json:"keyed_baseline_seconds,omitempty"`
	KeyedRatio           float64 `json:"keyed_ratio,omitempty"` // payrun_seconds / keyed_baseline_seconds
	KeyedBaseline        string  `json:"keyed_baseline,omitempty"`
	KeyedTarget          string  `json:"keyed_target,omitempty"`
	// The third baseline, proposed as the fair one for an import that must
	// also serve a publisher's transactions (issue 20's lines-by-account
	// index, migration 160): the keyed baseline's table with the same
	// per-publisher index, (seller_id, transaction_at, transaction_id,
	// revenue_source) on the file's columns.
	IndexedBaselineSeconds float64 `json:"indexed_baseline_seconds,omitempty"`
	IndexedRatio           float64 `json:"indexed_ratio,omitempty"` // payrun_seconds / indexed_baseline_seconds
	IndexedBaseline        string  `json:"indexed_baseline,omitempty"`

	// Covers says what payrun_seconds and peak_rss_bytes cover when that is
	// not simply the whole payrun command (the release rows).
	Covers string `json:"covers,omitempty"`
	// CommandSeconds is the whole command's wall time when payrun_seconds
	// is a part of it.
	CommandSeconds float64 `json:"command_seconds,omitempty"`
	// PhasesSeconds are payrun's own timings of its phases, as it prints
	// them.
	PhasesSeconds map[string]float64 `json:"phases_seconds,omitempty"`
	// P50Seconds and P99Seconds are the latency rows' percentiles of one
	// request (payrun_seconds is the p99).
	P50Seconds float64 `json:"p50_seconds,omitempty"`
	P99Seconds float64 `json:"p99_seconds,omitempty"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == internalWorkbookFlag {
		if err := internalWorkbook(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	binary := flag.String("payrun", "bin/payrun", "the payrun binary to measure")
	sizes := flag.String("sizes", "1000000,10000000", "comma-separated line counts for the import workload")
	workloads := flag.String("workloads", "import,close,scale,console,history,workbook,api,payouts", "comma-separated workloads to run")
	apiSeconds := flag.Int("api-seconds", 10, "seconds of load per API measurement")
	mixedSeconds := flag.Int("mixed-seconds", 60, "seconds of the mixed read/write API load")
	flag.IntVar(&wrkConnections, "api-connections", wrkConnections, "connections wrk keeps open")
	closeLines := flag.String("close-lines", "1000000,4000000,10000000", "comma-separated line counts of the close workload (10, 40 and 100 lines per publisher at the default 100k publishers)")
	closePublishers := flag.Int("close-publishers", 100_000, "publishers of the close workload")
	scaleLines := flag.Int64("scale-lines", 20_000_000, "lines of the scale workload")
	scalePublishers := flag.Int("scale-publishers", 1_000_000, "publishers of the scale workload")
	workbookRows := flag.String("workbook-rows", "100000,1000000", "comma-separated row counts of the workbook workload")
	historyLines := flag.Int64("history-lines", 500_000, "lines per month of the history workload")
	historyPublishers := flag.Int("history-publishers", 10_000, "publishers of the history workload")
	historyMonths := flag.Int("history-months", 12, "months of the history workload")
	payoutsLines := flag.Int64("payouts-lines", 9_900_000, "lines of the other publishers in the payouts workload's month")
	payoutsPublishers := flag.Int("payouts-publishers", 100_000, "other publishers of the payouts workload")
	payoutsBigLines := flag.Int64("payouts-big-lines", 100_000, "lines of the payouts workload's measured publisher")
	payoutsExportLines := flag.Int64("payouts-export-lines", 1_000_000, "lines of the payouts workload's exported publisher")
	payoutsRequests := flag.Int("payouts-requests", 300, "requests per payouts measurement")
	consoleRequests := flag.Int("console-requests", 200, "requests per console page measurement")
	out := flag.String("out", "bench/results.json", "where to write the results as JSON")
	work := flag.String("work", "", "directory for generated files (default: a temporary one)")
	keepDatabases := flag.Bool("keep-databases", false, "keep the bench_* databases the run created (dropped at the end by default)")
	flag.Parse()
	plan := plan{workloads: map[string]bool{}, closeLines: *closeLines, closePublishers: *closePublishers,
		scaleLines: *scaleLines, scalePublishers: *scalePublishers, workbookRows: *workbookRows, keepFiles: *work != "",
		historyLines: *historyLines, historyPublishers: *historyPublishers, historyMonths: *historyMonths, apiSeconds: *apiSeconds, mixedSeconds: *mixedSeconds,
		payoutsLines: *payoutsLines, payoutsPublishers: *payoutsPublishers, payoutsBigLines: *payoutsBigLines, payoutsExportLines: *payoutsExportLines, payoutsRequests: *payoutsRequests,
		consoleRequests: *consoleRequests, keepDatabases: *keepDatabases}
	known := map[string]bool{"import": true, "close": true, "scale": true, "console": true, "history": true, "workbook": true, "api": true, "payouts": true}
	for _, w := range strings.Split(*workloads, ",") {
		w = strings.TrimSpace(w)
		if !known[w] {
			fmt.Fprintf(os.Stderr, "bench: --workloads: unknown workload %q (import, close, scale, console, history, workbook, api, payouts)\n", w)
			os.Exit(2)
		}
		plan.workloads[w] = true
	}
	if err := run(*binary, *sizes, *out, *work, plan); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// plan says which workloads to run and how big.
type plan struct {
	workloads                                           map[string]bool
	closeLines                                          string // comma-separated
	scaleLines, historyLines                            int64
	closePublishers, scalePublishers, historyPublishers int
	historyMonths                                       int
	workbookRows                                        string // comma-separated
	apiSeconds                                          int
	mixedSeconds                                        int
	keepFiles                                           bool // --work given: keep generated files for the next run
	payoutsLines, payoutsBigLines, payoutsExportLines   int64
	payoutsPublishers, payoutsRequests                  int
	consoleRequests                                     int
	keepDatabases                                       bool // --keep-databases
}

func run(binary, sizes, out, work string, plan plan) error {
	ctx := context.Background()
	serverURL := config.DatabaseURL()
	if serverURL == "" {
		return fmt.Errorf("no database: run `make db` or set DATABASE_URL")
	}
	if !plan.keepDatabases {
		defer dropCreated(serverURL)
	}
	if work == "" {
		dir, err := os.MkdirTemp("", "payrun-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	machine, err := readMachine(ctx, binary, serverURL)
	if err != nil {
		return fmt.Errorf("reading the machine: %w", err)
	}
	printMachine(os.Stderr, machine)
	var results []Result
	add := func(r Result) { // progress on stderr, the whole report on stdout at the end
		results = append(results, r)
		report(os.Stderr, results[len(results)-1:], true)
	}
	for _, field := range strings.Split(sizes, ",") {
		if !plan.workloads["import"] {
			break
		}
		lines, err := strconv.ParseInt(strings.TrimSpace(field), 10, 64)
		if err != nil {
			return fmt.Errorf("--sizes: %q is not a number", field)
		}
		result, err := benchImport(ctx, binary, serverURL, work, lines)
		if err != nil {
			return err
		}
		add(result)
	}
	for _, field := range strings.Split(plan.closeLines, ",") {
		if !plan.workloads["close"] {
			break
		}
		lines, err := strconv.ParseInt(strings.TrimSpace(field), 10, 64)
		if err != nil || lines < 1 {
			return fmt.Errorf("--close-lines: %q is not a positive number", field)
		}
		closeResults, err := benchClose(ctx, binary, serverURL, work, lines, plan.closePublishers)
		if err != nil {
			return err
		}
		for _, r := range closeResults {
			add(r)
		}
	}
	if plan.workloads["scale"] || plan.workloads["console"] {
		result, scaleURL, err := benchScale(ctx, binary, serverURL, work, plan.scaleLines, plan.scalePublishers, plan.keepFiles)
		if err != nil {
			return err
		}
		add(result)
		if plan.workloads["console"] {
			consoleResults, err := benchConsole(binary, scaleURL, work, plan.scalePublishers, plan.consoleRequests)
			if err != nil {
				return err
			}
			for _, r := range consoleResults {
				add(r)
			}
		}
	}
	if plan.workloads["history"] {
		historyResults, err := benchHistory(ctx, binary, serverURL, work, plan.historyLines, plan.historyPublishers, plan.historyMonths)
		if err != nil {
			return err
		}
		for _, r := range historyResults {
			add(r)
		}
	}
	for _, field := range strings.Split(plan.workbookRows, ",") {
		if !plan.workloads["workbook"] {
			break
		}
		rows, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || rows < 1 {
			return fmt.Errorf("--workbook-rows: %q is not a positive number", field)
		}
		result, err := benchWorkbook(work, rows)
		if err != nil {
			return err
		}
		add(result)
	}
	if plan.workloads["api"] {
		apiResults, err := benchAPI(ctx, binary, serverURL, plan.apiSeconds, plan.mixedSeconds)
		if err != nil {
			return err
		}
		for _, r := range apiResults {
			add(r)
		}
	}
	if plan.workloads["payouts"] {
		payoutsResults, err := benchPayouts(ctx, binary, serverURL, work, plan.payoutsLines, plan.payoutsPublishers, plan.payoutsBigLines, plan.payoutsExportLines, plan.payoutsRequests)
		if err != nil {
			return err
		}
		for _, r := range payoutsResults {
			add(r)
		}
	}
	printMachine(os.Stdout, machine)
	report(os.Stdout, results, true)
	body, err := json.MarshalIndent(struct {
		GeneratedAt string   `json:"generated_at"`
		Machine     Machine  `json:"machine"`
		Results     []Result `json:"results"`
	}{time.Now().UTC().Format(time.RFC3339), machine, results}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, append(body, '\n'), 0o644)
}

func report(out io.Writer, results []Result, header bool) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	if header {
		fmt.Fprintln(w, "workload\titems\tpayrun s\tbaseline s\tratio\tkeyed s\tkeyed ratio\titems/s\tpeak RSS MB\ttarget\t")
	}
	for _, r := range results {
		keyed, keyedRatio, target := "-", "-", r.Target
		if r.KeyedBaselineSeconds > 0 {
			keyed, keyedRatio = fmt.Sprintf("%.2f", r.KeyedBaselineSeconds), fmt.Sprintf("%.2f", r.KeyedRatio)
			target += "; keyed " + r.KeyedTarget
		}
		if r.IndexedBaselineSeconds > 0 {
			target += fmt.Sprintf("; keyed + per-publisher index %.2f s, ratio %.2f", r.IndexedBaselineSeconds, r.IndexedRatio)
		}
		fmt.Fprintf(w, "%s\t%d\t%.2f\t%.2f\t%.2f\t%s\t%s\t%.0f\t%.0f\t%s\t\n", r.Workload, r.Items, r.PayrunSeconds, r.BaselineSeconds,
			r.Ratio, keyed, keyedRatio, r.ItemsPerSecond, float64(r.PeakRSSBytes)/(1<<20), target)
	}
	w.Flush()
	for _, r := range results { // what a part-of-a-command row covers, below the table
		if r.Covers != "" {
			fmt.Fprintf(out, "  %s: %s\n", r.Workload, r.Covers)
		}
	}
}

// benchImport generates lines (untimed), then times the bare COPY and payrun's
// import of the same file into a fresh database each.
func benchImport(ctx context.Context, binary, serverURL, work string, lines int64) (Result, error) {
	publishers := int(max(1000, lines/100))
	earnings := filepath.Join(work, fmt.Sprintf("earnings-%d.csv", lines))
	accounts := filepath.Join(work, fmt.Sprintf("earnings-%d.accounts.csv", lines))
	if _, err := os.Stat(earnings); err != nil {
		fmt.Fprintf(os.Stderr, "bench: generating %d lines for %d publishers\n", lines, publishers)
		cmd := exec.Command(binary, "earnings", "generate", "--seed", "1", "--publishers", strconv.Itoa(publishers),
			"--lines", strconv.FormatInt(lines, 10), "--month", "2026-10", "--out", earnings)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return Result{}, fmt.Errorf("generate: %w", err)
		}
	}
	databaseURL, err := freshDatabase(ctx, serverURL, fmt.Sprintf("bench_import_%d", lines))
	if err != nil {
		return Result{}, err
	}
	if _, _, err := runPayrun(binary, databaseURL, nil, "accounts", "import", accounts); err != nil {
		return Result{}, err
	}

	baseline, err := bareCopy(ctx, databaseURL, earnings)
	if err != nil {
		return Result{}, fmt.Errorf("baseline: %w", err)
	}
	if err := checkpoint(ctx, databaseURL); err != nil {
		return Result{}, err
	}
	keyed, err := keyedCopy(ctx, databaseURL, earnings, lines, false)
	if err != nil {
		return Result{}, fmt.Errorf("keyed baseline: %w", err)
	}
	if err := checkpoint(ctx, databaseURL); err != nil {
		return Result{}, err
	}
	indexed, err := keyedCopy(ctx, databaseURL, earnings, lines, true)
	if err != nil {
		return Result{}, fmt.Errorf("keyed and indexed baseline: %w", err)
	}
	if err := checkpoint(ctx, databaseURL); err != nil {
		return Result{}, err
	}
	elapsed, rss, err := runPayrun(binary, databaseURL, nil, "earnings", "import", earnings)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Workload:             fmt.Sprintf("import %s lines", count(lines)),
		Items:                lines,
		PayrunSeconds:        elapsed.Seconds(),
		BaselineSeconds:      baseline.Seconds(),
		Ratio:                elapsed.Seconds() / baseline.Seconds(),
		ItemsPerSecond:       float64(lines) / elapsed.Seconds(),
		PeakRSSBytes:         rss,
		Baseline:             "COPY (FORMAT csv) of the same file into a plain table, same columns, no indexes",
		Target:               "<= 1.3x, RSS < 150 MB",
		KeyedBaselineSeconds: keyed.Seconds(),
		KeyedRatio:           elapsed.Seconds() / keyed.Seconds(),
		KeyedBaseline: "binary COPY (pgx CopyFrom) of the same file, parsed in Go as it streams, into a plain table, " +
			"same columns, UNIQUE (transaction_id, revenue_source)",
		KeyedTarget:            "<= 1.5x, RSS < 150 MB",
		IndexedBaselineSeconds: indexed.Seconds(),
		IndexedRatio:           elapsed.Seconds() / indexed.Seconds(),
		IndexedBaseline:        "the keyed baseline with also INDEX (seller_id, transaction_at, transaction_id, revenue_source), the per-publisher index payrun's lines carry for a publisher's transactions (migration 160)",
	}, nil
}

// created holds the names of the databases this run created, in order.
var created []string

// dropCreated drops the databases this run created: a full run's take about
// 60 GB at the end (the scale and payouts workloads' most of it). It says on
// stderr what it could not drop.
func dropCreated(serverURL string) {
	ctx := context.Background()
	for _, name := range created {
		admin, err := dropDatabase(ctx, serverURL, name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: dropping database %s: %v\n", name, err)
			continue
		}
		admin.Close()
	}
}

// dropDatabase drops name on the server (closing its sessions) and returns
// the open connection to the server, for the caller to create it again
// (and to drop at the end of the run: see dropCreated).
func dropDatabase(ctx context.Context, serverURL, name string) (*sqlx.DB, error) {
	if !slices.Contains(created, name) {
		created = append(created, name)
	}
	admin, err := db.Open(ctx, serverURL)
	if err != nil {
		return nil, err
	}
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		admin.Close()
		return nil, err
	}
	return admin, nil
}

// freshDatabase drops and creates name on the server and migrates it.
func freshDatabase(ctx context.Context, serverURL, name string) (string, error) {
	admin, err := dropDatabase(ctx, serverURL, name)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	databaseURL, err := urlOf(serverURL, name)
	if err != nil {
		return "", err
	}
	database, err := db.Open(ctx, databaseURL)
	if err != nil {
		return "", err
	}
	defer database.Close()
	if _, err := migrations.Up(ctx, database.DB); err != nil {
		return "", err
	}
	return databaseURL, nil
}

// urlOf is the URL of database name on serverURL's server.
func urlOf(serverURL, name string) (string, error) {
	config, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return "", err
	}
	if config.Password != "" {
		return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", config.User, config.Password, config.Host, config.Port, name), nil
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", config.User, config.Host, config.Port, name), nil
}

// cloneDatabase drops and creates name as a copy of template (CREATE
// DATABASE ... TEMPLATE), once no session is connected to template.
func cloneDatabase(ctx context.Context, serverURL, template, name string) (string, error) {
	admin, err := dropDatabase(ctx, serverURL, name)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		var sessions int
		if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`, template).Scan(&sessions); err != nil {
			return "", err
		}
		if sessions == 0 {
			_, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template)
			if err == nil {
				break
			}
			if !strings.Contains(err.Error(), "being accessed by other users") || time.Since(start) > time.Minute {
				return "", err
			}
		} else if time.Since(start) > time.Minute {
			return "", fmt.Errorf("cannot copy database %s: %d sessions still connected to it", template, sessions)
		}
	}
	return urlOf(serverURL, name)
}

func checkpoint(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CHECKPOINT")
	return err
}

// bareCopy is the baseline: the file streamed as-is into COPY FROM STDIN.
func bareCopy(ctx context.Context, databaseURL, path string) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE bare_earnings (`+bareColumns+`)`); err != nil {
		return 0, err
	}
	if err := checkpoint(ctx, databaseURL); err != nil {
		return 0, err
	}
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	start := time.Now()
	if _, err := conn.PgConn().CopyFrom(ctx, file, "COPY bare_earnings FROM STDIN (FORMAT csv, HEADER true)"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// bareColumns are the earnings file's columns as both baselines' tables
// hold them.
const bareColumns = `transaction_id text, seller_id text, revenue_source text,
		transaction_type text, market text, transaction_at timestamptz, amount numeric(20, 6)`

// keyedCopy is the keyed baseline: the simplest correct way to load the
// file under the key payrun's import enforces. The file is read and parsed
// in Go as it streams (one line at a time, nothing accumulated) into a
// binary COPY (pgx CopyFrom) into a plain table with the same columns and
// UNIQUE (transaction_id, revenue_source) — and, when indexed, the index
// by publisher payrun's lines carry (in a table of its own name). The
// file's header names the columns; its line count must be lines.
func keyedCopy(ctx context.Context, databaseURL, path string, lines int64, indexed bool) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	table := "keyed_earnings"
	if indexed {
		table = "indexed_earnings"
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE `+table+` (`+bareColumns+`, UNIQUE (transaction_id, revenue_source))`); err != nil {
		return 0, err
	}
	if indexed {
		if _, err := conn.Exec(ctx, `CREATE INDEX ON `+table+` (seller_id, transaction_at, transaction_id, revenue_source)`); err != nil {
			return 0, err
		}
	}
	if err := checkpoint(ctx, databaseURL); err != nil {
		return 0, err
	}
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	start := time.Now()
	reader := csv.NewReader(bufio.NewReaderSize(file, 1<<16))
	reader.ReuseRecord = true
	header, err := reader.Read()
	if err != nil {
		return 0, fmt.Errorf("%s: header: %w", path, err)
	}
	columns := slices.Clone(header)
	kinds := make([]byte, len(columns)) // 't' text, 'T' timestamptz, 'n' numeric
	for i, name := range columns {
		switch name {
		case "transaction_at":
			kinds[i] = 'T'
		case "amount":
			kinds[i] = 'n'
		default:
			kinds[i] = 't'
		}
	}
	row := make([]any, len(columns)) // encoded before the next line is read: reused
	source := pgx.CopyFromFunc(func() ([]any, error) {
		record, err := reader.Read()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for i, field := range record {
			switch {
			case field == "": // as COPY (FORMAT csv) reads an unquoted empty field
				row[i] = nil
			case kinds[i] == 'T':
				at, err := time.Parse(time.RFC3339Nano, field)
				if err != nil {
					return nil, err
				}
				row[i] = at
			case kinds[i] == 'n':
				var amount pgtype.Numeric
				if err := amount.Scan(field); err != nil {
					return nil, fmt.Errorf("amount %q: %w", field, err)
				}
				row[i] = amount
			default:
				row[i] = field
			}
		}
		return row, nil
	})
	copied, err := conn.CopyFrom(ctx, pgx.Identifier{table}, columns, source)
	if err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	if copied != lines {
		return 0, fmt.Errorf("copied %d lines of %d", copied, lines)
	}
	return elapsed, nil
}

// runPayrun runs the binary and returns its wall time and peak RSS.
func runPayrun(binary, databaseURL string, env []string, args ...string) (time.Duration, int64, error) {
	elapsed, rss, _, err := runPayrunOutput(binary, databaseURL, env, args...)
	return elapsed, rss, err
}

// runPayrunOutput is runPayrun that also returns what payrun printed on
// stdout. Output that is JSON (--json) is left to the caller to report.
func runPayrunOutput(binary, databaseURL string, env []string, args ...string) (time.Duration, int64, []byte, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(append(os.Environ(), "DATABASE_URL="+databaseURL), env...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	output, err := cmd.Output()
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("payrun %s: %w", strings.Join(args, " "), err)
	}
	if !strings.HasPrefix(string(output), "{") {
		fmt.Fprintf(os.Stderr, "bench: payrun %s: %s", strings.Join(args, " "), firstLine(string(output)))
	}
	for _, line := range strings.Split(string(output), "\n") {
		if strings.Contains(line, "input frozen in") { // a close's phases
			fmt.Fprintf(os.Stderr, "bench:   %s\n", strings.TrimSpace(line))
		}
	}
	var rss int64
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = usage.Maxrss * 1024 // Linux reports kilobytes
	}
	return elapsed, rss, output, nil
}

func firstLine(text string) string {
	line, _, _ := strings.Cut(text, "\n")
	return line + "\n"
}

// count writes 1000000 as "1M", 100000 as "100k".
func count(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
