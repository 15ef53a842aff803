// Command bench is `make bench`: it measures payrun's workloads against the
// simplest correct way to do the same I/O (the baseline), in the same run on
// the same database server, and prints one report (also bench/results.json).
//
// Workloads:
//
//	import     payrun earnings import of N generated lines, against a bare
//	           COPY ... (FORMAT csv) of the same file into a plain table with
//	           the same columns and no constraints or indexes.
//	close      payrun cycle close over N lines and P publishers (all payable,
//	           with the workbook), against the bare pipeline: one GROUP BY
//	           over the same lines streamed into Go plus a COPY of P rows.
//	release    payrun cycle release of that cycle: NACHA, pain.001 and PayPal
//	           files for the paid publishers, plus the workbook rewritten.
//	api        authenticated GETs of account details on payrun serve, with wrk
//	           from a second process; the same server's /healthz as the floor.
//	history    K months of L lines each, imported and closed in turn: the
//	           close of month K against the close of month 1 (cost follows
//	           the month, not the history).
//
// payrun runs as a subprocess, so its peak RSS is the kernel's figure for the
// whole process. Every workload gets a fresh database.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

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
}

func main() {
	binary := flag.String("payrun", "bin/payrun", "the payrun binary to measure")
	sizes := flag.String("sizes", "1000000,10000000", "comma-separated line counts for the import workload")
	workloads := flag.String("workloads", "import,close,history,api", "comma-separated workloads to run")
	apiSeconds := flag.Int("api-seconds", 10, "seconds of load per API measurement")
	mixedSeconds := flag.Int("mixed-seconds", 60, "seconds of the mixed read/write API load")
	flag.IntVar(&wrkConnections, "api-connections", wrkConnections, "connections wrk keeps open")
	closeLines := flag.Int64("close-lines", 10_000_000, "lines of the close workload")
	closePublishers := flag.Int("close-publishers", 100_000, "publishers of the close workload")
	historyLines := flag.Int64("history-lines", 500_000, "lines per month of the history workload")
	historyPublishers := flag.Int("history-publishers", 10_000, "publishers of the history workload")
	historyMonths := flag.Int("history-months", 12, "months of the history workload")
	out := flag.String("out", "bench/results.json", "where to write the results as JSON")
	work := flag.String("work", "", "directory for generated files (default: a temporary one)")
	flag.Parse()
	plan := plan{workloads: map[string]bool{}, closeLines: *closeLines, closePublishers: *closePublishers,
		historyLines: *historyLines, historyPublishers: *historyPublishers, historyMonths: *historyMonths, apiSeconds: *apiSeconds, mixedSeconds: *mixedSeconds}
	for _, w := range strings.Split(*workloads, ",") {
		plan.workloads[strings.TrimSpace(w)] = true
	}
	if err := run(*binary, *sizes, *out, *work, plan); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// plan says which workloads to run and how big.
type plan struct {
	workloads                          map[string]bool
	closeLines, historyLines           int64
	closePublishers, historyPublishers int
	historyMonths                      int
	apiSeconds                         int
	mixedSeconds                       int
}

func run(binary, sizes, out, work string, plan plan) error {
	ctx := context.Background()
	serverURL := config.DatabaseURL()
	if serverURL == "" {
		return fmt.Errorf("no database: run `make db` or set DATABASE_URL")
	}
	if work == "" {
		dir, err := os.MkdirTemp("", "payrun-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	var results []Result
	add := func(r Result) {
		results = append(results, r)
		report(results[len(results)-1:], len(results) == 1)
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
	if plan.workloads["close"] {
		closeResults, err := benchClose(ctx, binary, serverURL, work, plan.closeLines, plan.closePublishers)
		if err != nil {
			return err
		}
		for _, r := range closeResults {
			add(r)
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
	if plan.workloads["api"] {
		apiResults, err := benchAPI(ctx, binary, serverURL, plan.apiSeconds, plan.mixedSeconds)
		if err != nil {
			return err
		}
		for _, r := range apiResults {
			add(r)
		}
	}
	body, err := json.MarshalIndent(map[string]any{"generated_at": time.Now().UTC().Format(time.RFC3339), "results": results}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, append(body, '\n'), 0o644)
}

func report(results []Result, header bool) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if header {
		fmt.Fprintln(w, "workload\titems\tpayrun s\tbaseline s\tratio\titems/s\tpeak RSS MB\ttarget\t")
	}
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t%s\t\n", r.Workload, r.Items, r.PayrunSeconds, r.BaselineSeconds,
			r.Ratio, r.ItemsPerSecond, float64(r.PeakRSSBytes)/(1<<20), r.Target)
	}
	w.Flush()
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
	elapsed, rss, err := runPayrun(binary, databaseURL, nil, "earnings", "import", earnings)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Workload:        fmt.Sprintf("import %s lines", count(lines)),
		Items:           lines,
		PayrunSeconds:   elapsed.Seconds(),
		BaselineSeconds: baseline.Seconds(),
		Ratio:           elapsed.Seconds() / baseline.Seconds(),
		ItemsPerSecond:  float64(lines) / elapsed.Seconds(),
		PeakRSSBytes:    rss,
		Baseline:        "COPY (FORMAT csv) of the same file into a plain table, same columns, no indexes",
		Target:          "<= 1.3x, RSS < 150 MB",
	}, nil
}

// freshDatabase drops and creates name on the server and migrates it.
func freshDatabase(ctx context.Context, serverURL, name string) (string, error) {
	admin, err := db.Open(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	config, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return "", err
	}
	databaseURL := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", config.User, config.Host, config.Port, name)
	if config.Password != "" {
		databaseURL = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", config.User, config.Password, config.Host, config.Port, name)
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
	if _, err := conn.Exec(ctx, `CREATE TABLE bare_earnings (transaction_id text, seller_id text, revenue_source text,
		transaction_type text, market text, transaction_at timestamptz, amount numeric(20, 6))`); err != nil {
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

// runPayrun runs the binary and returns its wall time and peak RSS.
func runPayrun(binary, databaseURL string, env []string, args ...string) (time.Duration, int64, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(append(os.Environ(), "DATABASE_URL="+databaseURL), env...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	output, err := cmd.Output()
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("payrun %s: %w", strings.Join(args, " "), err)
	}
	fmt.Fprintf(os.Stderr, "bench: payrun %s: %s", strings.Join(args, " "), firstLine(string(output)))
	var rss int64
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = usage.Maxrss * 1024 // Linux reports kilobytes
	}
	return elapsed, rss, nil
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
