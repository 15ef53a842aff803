package admin_test

import (
	"net/http"
	"testing"
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
