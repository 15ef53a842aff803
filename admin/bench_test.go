package admin_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrun/payrun/admin"
)

// BenchmarkGetAccount is the hot path of `make bench`'s API workload: an
// authenticated GET of account details, through HTTP, on real Postgres.
// Profile it: go test ./admin -run '^$' -bench GetAccount -cpuprofile cpu.prof
func BenchmarkGetAccount(b *testing.B) {
	e := newEnv(b)
	path := e.acct("")
	req := func() {
		r, err := http.NewRequest("GET", e.http.URL+path, nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+e.token)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	req()
	b.SetParallelism(16) // wrk's 32 connections on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req()
		}
	})
}

// BenchmarkConcurrentBadSignIns measures memory under a flood of password
// guesses: each op is 200 concurrent wrong-password sign-ins (200 different
// unknown names, so the lockout stops none of them and each costs a 19 MiB
// argon2id check) against the server over HTTP, with the rate limits off
// (they would refuse all but 30 from one address): what bounds memory here
// is the hashing bound alone (accounts.Hashing, one slot per CPU). It
// reports the test process's peak RSS (VmHWM, reset before the flood) and
// peak heap, and how the 200 were answered. Before the bound, 100 such
// requests added 1.4 GB of RSS.
//
//	go test ./admin -run '^$' -bench ConcurrentBadSignIns -benchtime 3x
func BenchmarkConcurrentBadSignIns(b *testing.B) {
	const concurrent = 200
	e := newEnv(b, func(s *admin.Server) { s.DisableRateLimitsForTest() })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrent}}
	runtime.GC()
	resetPeakRSS(b)
	baseRSS := procStatusMiB(b, "VmHWM")

	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // heap sampler
		defer close(sampled)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peakHeap.Load() {
				peakHeap.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var unauthorized, tooMany atomic.Int64
	b.ResetTimer()
	for n := range b.N {
		start := make(chan struct{})
		var ready, done sync.WaitGroup
		errs := make(chan error, concurrent)
		for i := range concurrent {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				r, err := post(client, e.http.URL+"/v1/token", passwordGrant(fmt.Sprintf("guess%d-%d@contoso.onmicrosoft.com", n, i), "wrong password"))
				switch {
				case err != nil:
					errs <- err
				case r.status == http.StatusUnauthorized:
					unauthorized.Add(1)
				case r.status == http.StatusTooManyRequests:
					tooMany.Add(1)
				default:
					errs <- fmt.Errorf("status %d: %s", r.status, r.raw)
				}
			}()
		}
		ready.Wait()
		close(start)
		done.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	<-sampled
	const mib = 1 << 20
	b.ReportMetric(procStatusMiB(b, "VmHWM"), "peak-RSS-MiB")
	b.ReportMetric(procStatusMiB(b, "VmHWM")-baseRSS, "peak-RSS-added-MiB")
	b.ReportMetric(float64(peakHeap.Load())/mib, "peak-heap-MiB")
	b.ReportMetric(float64(unauthorized.Load())/float64(b.N), "401/op")
	b.ReportMetric(float64(tooMany.Load())/float64(b.N), "429/op")
	b.ReportMetric(0, "ns/op") // the time is the hashing wait's, not a figure of merit
}

// resetPeakRSS resets the process's VmHWM to its current RSS (Linux: "5"
// to /proc/self/clear_refs), so the peak measured is the flood's.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS (%v): VmHWM is the process's lifetime peak", err)
	}
}

// procStatusMiB reads a kB field of /proc/self/status, in MiB.
func procStatusMiB(b *testing.B, field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(scanner.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatalf("%s: %v", field, err)
			}
			return kb / 1024
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}
