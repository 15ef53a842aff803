package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// benchScale closes a month of lines for many publishers (20M lines, 1M
// publishers by default) with 2 workers, against the bare pipeline: the
// issue's scale test (flat memory, peak RSS under 400 MB) and its close of
// 1M publishers in one run.
func benchScale(ctx context.Context, binary, serverURL, work string, lines int64, publishers int, keepFiles bool) (Result, string, error) {
	databaseURL, err := prepare(ctx, binary, serverURL, work, "bench_scale", lines, publishers)
	if err != nil {
		return Result{}, "", err
	}
	prefix := dataPrefix(work, lines, publishers)
	if err := importMonth(ctx, binary, databaseURL, prefix+".csv"); err != nil {
		return Result{}, "", err
	}
	if !keepFiles {
		// 20M lines are 1.6 GB: in a temporary work directory, gone now
		// rather than at the end of the run.
		_ = os.Remove(prefix + ".csv")
		_ = os.Remove(prefix + ".accounts.csv")
	}
	baseline, err := barePipeline(ctx, databaseURL, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return Result{}, "", fmt.Errorf("bare pipeline: %w", err)
	}
	if err := checkpoint(ctx, databaseURL); err != nil {
		return Result{}, "", err
	}
	elapsed, rss, err := runPayrun(binary, databaseURL, append(devEnv("2026-12-05T06:00:00Z"), "PAYRUN_OUT="+filepath.Join(work, "scale-out")),
		"cycle", "close", "--month", "2026-12", "--no-workbook", "--workers", "2")
	if err != nil {
		return Result{}, "", err
	}
	return Result{
		Workload: fmt.Sprintf("close %s lines / %s publishers (scale)", count(lines), count(int64(publishers))), Items: lines,
		PayrunSeconds: elapsed.Seconds(), BaselineSeconds: baseline.Seconds(), Ratio: elapsed.Seconds() / baseline.Seconds(),
		ItemsPerSecond: float64(lines) / elapsed.Seconds(), PeakRSSBytes: rss,
		Baseline: fmt.Sprintf("one GROUP BY over the same lines streamed into Go + COPY of %s rows; --workers 2, no workbook; "+
			"this run is also the issue's close of %s publishers", count(int64(publishers)), count(int64(publishers))),
		Target: "RSS < 400 MB",
	}, databaseURL, nil
}
