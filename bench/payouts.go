package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// bigPublisherSeed generates the one big publisher of the payouts
// workload: its ids (T2-..., G2-...) never meet seed 1's.
const bigPublisherSeed = 2

// benchPayouts measures a publisher's payouts endpoints (SPEC §7.12) on a
// real `payrun serve`: one publisher with bigLines lines in a month of
// lines lines over publishers others, closed (the December 2026 cycle).
// Each request runs alone, one after the other, and the rows report p50
// and p99: the summary, and every page of the transactions list walked
// with its cursor (100 lines a page). Then a publisher with exportLines
// lines is exported as CSV and as xlsx by `payrun payouts export`: its
// time and peak RSS.
func benchPayouts(ctx context.Context, binary, serverURL, work string, lines int64, publishers int, bigLines, exportLines int64, requests int) ([]Result, error) {
	databaseURL, err := prepare(ctx, binary, serverURL, work, "bench_payouts", lines, publishers)
	if err != nil {
		return nil, err
	}
	// The measured publisher (seed 2) and the exported one (seed 3).
	var files []string
	for seed, n := range map[int]int64{bigPublisherSeed: bigLines, exportPublisherSeed: exportLines} {
		big := filepath.Join(work, fmt.Sprintf("publisher-%d-%d", seed, n))
		if _, err := os.Stat(big + ".csv"); err != nil {
			cmd := exec.Command(binary, "earnings", "generate", "--seed", strconv.Itoa(seed), "--publishers", "1",
				"--lines", strconv.FormatInt(n, 10), "--month", "2026-10", "--out", big+".csv")
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("generate a big publisher: %w", err)
			}
		}
		if _, _, err := runPayrun(binary, databaseURL, nil, "accounts", "import", big+".accounts.csv"); err != nil {
			return nil, err
		}
		files = append(files, big+".csv")
	}
	if err := makePayable(ctx, databaseURL); err != nil {
		return nil, err
	}
	for _, file := range append([]string{dataPrefix(work, lines, publishers) + ".csv"}, files...) {
		if err := importMonth(ctx, binary, databaseURL, file); err != nil {
			return nil, err
		}
	}
	if _, _, err := runPayrun(binary, databaseURL, devEnv("2026-12-05T06:00:00Z"), "cycle", "close", "--month", "2026-12", "--no-workbook"); err != nil {
		return nil, err
	}
	if _, _, err := runPayrun(binary, databaseURL, nil, "migrate"); err != nil { // the job queue's tables too
		return nil, err
	}
	password, err := createOperator(binary, databaseURL, "benchfinance", "finance_viewer")
	if err != nil {
		return nil, err
	}
	base, stop, err := startServe(binary, databaseURL, "PAYRUN_NOW=2026-12-10T12:00:00Z", "PAYRUN_OUT="+filepath.Join(work, "out"), "PAYRUN_JOBS=key-expiry")
	if err != nil {
		return nil, err
	}
	defer stop()
	token, err := signIn(base, "benchfinance", password, "bench finance passphrase")
	if err != nil {
		return nil, err
	}
	seller := "G2-0000001"
	summary := func() error {
		_, err := getJSON(base+"/v1/accounts/"+seller+"/payouts/summary", token)
		return err
	}
	if err := summary(); err != nil { // warm: the first request pays for the connection pool
		return nil, err
	}
	summaries, err := timeEach(requests, func(int) error { return summary() })
	if err != nil {
		return nil, err
	}
	cursor := ""
	pages, err := timeEach(requests, func(int) error {
		query := url.Values{"limit": {"100"}}
		if cursor != "" {
			query.Set("cursor", cursor)
		}
		body, err := getJSON(base+"/v1/accounts/"+seller+"/transactions?"+query.Encode(), token)
		if err != nil {
			return err
		}
		var page struct {
			Next string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		cursor = page.Next // the walk starts again from the newest at the end
		return nil
	})
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("a publisher with %s lines in a %s-line month, %d requests one at a time", count(bigLines), count(lines+bigLines+exportLines), requests)
	results := []Result{
		latencyResult("payouts: GET summary, "+what, summaries, "p99 < 50 ms"),
		latencyResult("payouts: GET one transactions page (100 lines, walked by cursor), "+what, pages, "p99 < 50 ms"),
	}
	// The export streams: `payrun payouts export` writes the same file the
	// export job does, in its own process, so its peak RSS is the export's.
	for _, format := range []string{"csv", "xlsx"} {
		elapsed, rss, err := runPayrun(binary, databaseURL, append(devEnv("2026-12-10T12:00:00Z"), "PAYRUN_OUT="+filepath.Join(work, "out")),
			"payouts", "export", "--seller", "G3-0000001", "--from", "2026-11", "--to", "2026-11", "--format", format)
		if err != nil {
			return nil, err
		}
		results = append(results, Result{Workload: fmt.Sprintf("payouts: export %s lines of one publisher as %s", count(exportLines), format),
			Items: exportLines, PayrunSeconds: elapsed.Seconds(), ItemsPerSecond: float64(exportLines) / elapsed.Seconds(), PeakRSSBytes: rss,
			Baseline: "none (memory: the export streams)", Target: "RSS < 150 MB"})
	}
	return results, nil
}

// exportPublisherSeed generates the payouts workload's exported publisher.
const exportPublisherSeed = 3

// latencyResult reports request latencies: p99 as payrun_seconds, p50 in
// the target column.
func latencyResult(workload string, latencies []time.Duration, target string) Result {
	p50, p99 := percentile(latencies, 50), percentile(latencies, 99)
	return Result{Workload: workload, Items: int64(len(latencies)), PayrunSeconds: p99.Seconds(),
		ItemsPerSecond: float64(len(latencies)) / total(latencies).Seconds(),
		Baseline:       "none (latency of one request; payrun_seconds is the p99)",
		Target:         fmt.Sprintf("%s (measured p50 %.1f ms, p99 %.1f ms)", target, ms(p50), ms(p99)),
		P50Seconds:     p50.Seconds(), P99Seconds: p99.Seconds()}
}

func timeEach(n int, request func(i int) error) ([]time.Duration, error) {
	latencies := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		if err := request(i); err != nil {
			return nil, err
		}
		latencies[i] = time.Since(start)
	}
	return latencies, nil
}

func percentile(latencies []time.Duration, p int) time.Duration {
	sorted := append([]time.Duration(nil), latencies...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	index := (len(sorted)*p+99)/100 - 1
	return sorted[max(0, min(index, len(sorted)-1))]
}

func total(latencies []time.Duration) time.Duration {
	var sum time.Duration
	for _, l := range latencies {
		sum += l
	}
	return sum
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// getJSON GETs url with a bearer token and returns the body of a 200.
func getJSON(url, token string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return body, nil
}
