package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/payrun/payrun/reports"
)

// internalWorkbookFlag, as the first argument, makes the bench binary write
// one workbook and exit (see internalWorkbook): the workbook workload runs
// each side in a process of its own, so each gets its own peak RSS.
const internalWorkbookFlag = "--internal-workbook"

// benchWorkbook writes the cycle workbook of rows generated publishers with
// payrun's reports.WriteCycleWorkbook and, as the baseline, with a bare
// excelize StreamWriter (reports.WriteBareWorkbook): the same rows and
// columns. Each side is a subprocess of this binary; its write time excludes
// generating the rows, its peak RSS is the whole subprocess's.
func benchWorkbook(work string, rows int) (Result, error) {
	bare, err := runWorkbook(work, "bare", rows)
	if err != nil {
		return Result{}, err
	}
	payrun, err := runWorkbook(work, "payrun", rows)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Workload: fmt.Sprintf("cycle workbook %s rows", count(int64(rows))), Items: int64(rows),
		PayrunSeconds: payrun.write.Seconds(), BaselineSeconds: bare.write.Seconds(), Ratio: payrun.write.Seconds() / bare.write.Seconds(),
		ItemsPerSecond: float64(rows) / payrun.write.Seconds(), PeakRSSBytes: payrun.rss,
		Baseline: fmt.Sprintf("bare excelize StreamWriter, same rows and columns, one sheet, no styles (peak RSS %.0f MB)", float64(bare.rss)/(1<<20)),
		Target:   "<= 1.3x",
	}, nil
}

type workbookRun struct {
	write time.Duration // the write alone, rows' generation taken out
	rss   int64         // the subprocess's peak RSS
}

// runWorkbook runs one side in a subprocess and reads its write time.
func runWorkbook(work, side string, rows int) (workbookRun, error) {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	dir := filepath.Join(work, fmt.Sprintf("workbook-%s-%d", side, rows))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return workbookRun{}, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(self, internalWorkbookFlag, side, "--rows", strconv.Itoa(rows), "--dir", dir)
	cmd.Stderr = os.Stderr
	output, err := cmd.Output()
	if err != nil {
		return workbookRun{}, fmt.Errorf("workbook %s %d rows: %w", side, rows, err)
	}
	var total, generation float64
	if _, err := fmt.Sscan(string(output), &total, &generation); err != nil {
		return workbookRun{}, fmt.Errorf("workbook %s %d rows: output %q: %w", side, rows, output, err)
	}
	run := workbookRun{write: time.Duration((total - generation) * float64(time.Second))}
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		run.rss = usage.Maxrss * 1024 // Linux reports kilobytes
	}
	fmt.Fprintf(os.Stderr, "bench: workbook %s %d rows: %.2f s with the rows generated on the fly, %.2f s of it generating: write %.2f s, peak RSS %.0f MB\n",
		side, rows, total, generation, run.write.Seconds(), float64(run.rss)/(1<<20))
	return run, nil
}

// internalWorkbook is the subprocess: `bench --internal-workbook payrun|bare
// --rows N --dir D` writes the workbook of N generated rows into D and prints
// two numbers of seconds: the write, and generating the same rows alone.
//
// The rows are generated on the fly while the workbook is written (as payrun
// reads them from the database), so the peak RSS is the writer's, not that
// of a million rows held in memory (600 MB). Generating them alone, before
// the write and timed on its own, gives the time to take out.
func internalWorkbook(args []string) error {
	flags := flag.NewFlagSet(internalWorkbookFlag, flag.ContinueOnError)
	side := flags.String(strings.TrimPrefix(internalWorkbookFlag, "--"), "", "payrun or bare")
	rows := flags.Int("rows", 100_000, "rows to write")
	dir := flags.String("dir", "", "directory to write the workbook into")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *dir == "" || (*side != "payrun" && *side != "bare") {
		return fmt.Errorf("usage: bench %s payrun|bare --rows N --dir D", internalWorkbookFlag)
	}
	stream, summary := reports.BenchPayoutStream(*rows)
	var sink reports.PayoutRow
	start := time.Now()
	if err := stream(func(r reports.PayoutRow) error { sink = r; return nil }); err != nil {
		return err
	}
	generation := time.Since(start)
	_ = sink
	start = time.Now()
	var err error
	switch *side {
	case "payrun":
		err = reports.WriteCycleWorkbook(filepath.Join(*dir, reports.CycleWorkbookName(summary.Month, false)), summary,
			reports.BenchCycleData(stream, summary), reports.Overwrite())
	case "bare":
		err = reports.WriteBareWorkbook(filepath.Join(*dir, "bare.xlsx"), stream)
	}
	if err != nil {
		return err
	}
	fmt.Printf("%.6f %.6f\n", time.Since(start).Seconds(), generation.Seconds())
	return nil
}
