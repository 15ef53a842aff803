package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchAPI measures authenticated GETs of account details on a real
// `payrun serve` with wrk from a second process, against the same server's
// /healthz (no authentication, no database) as the floor.
func benchAPI(ctx context.Context, binary, serverURL string, seconds int) ([]Result, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return nil, fmt.Errorf("wrk not found: run `make deps` (installs wrk for benchmarks)")
	}
	databaseURL, err := freshDatabase(ctx, serverURL, "bench_api")
	if err != nil {
		return nil, err
	}
	env := []string{"PAYRUN_DEV=1"}
	if _, _, err := runPayrun(binary, databaseURL, env, "migrate"); err != nil {
		return nil, err
	}
	created, err := outputOf(binary, databaseURL, "accounts", "create", "--type", "company", "--country", "US", "--name", "Bench", "--json")
	if err != nil {
		return nil, err
	}
	var account struct {
		SellerID string `json:"seller_id"`
	}
	if err := json.Unmarshal(created, &account); err != nil {
		return nil, err
	}
	opOut, err := outputOf(binary, databaseURL, "operators", "create", "--user", "benchops", "--role", "ops", "--json")
	if err != nil {
		return nil, err
	}
	var op struct {
		Password string `json:"one_time_password"`
	}
	if err := json.Unmarshal(opOut, &op); err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := listener.Addr().String()
	listener.Close()
	serve := exec.Command(binary, "serve")
	serve.Env = append(os.Environ(), "DATABASE_URL="+databaseURL, "PAYRUN_DEV=1", "PAYRUN_ADDR="+addr, "PAYRUN_OUT="+os.TempDir())
	if err := serve.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
	}()
	base := "http://" + addr
	for start := time.Now(); ; {
		if r, err := http.Get(base + "/readyz"); err == nil && r.StatusCode == 200 {
			r.Body.Close()
			break
		}
		if time.Since(start) > 20*time.Second {
			return nil, fmt.Errorf("payrun serve did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	token, err := signIn(base, "benchops", op.Password, "bench operator passphrase")
	if err != nil {
		return nil, err
	}
	if _, err := call(base, "POST", "/v1/accounts/"+account.SellerID+"/tenants", token, map[string]string{"domain_name": "bench",
		"contact_email": "it@bench.example", "admin_first_name": "Bea", "admin_last_name": "Bench", "admin_user_name": "bea",
		"admin_password": "temporary password 1"}); err != nil {
		return nil, err
	}
	token, err = signIn(base, "bea@bench.onmicrosoft.com", "temporary password 1", "bench admin passphrase")
	if err != nil {
		return nil, err
	}
	var results []Result
	floor, err := runWrk(base+"/healthz", "", seconds)
	if err != nil {
		return nil, err
	}
	get, err := runWrk(base+"/v1/accounts/"+account.SellerID, token, seconds)
	if err != nil {
		return nil, err
	}
	results = append(results, Result{
		Workload: "admin API: authenticated GET account (req/s; p99 ms in target column)", Items: int64(get.requests),
		PayrunSeconds: get.p99.Seconds(), BaselineSeconds: floor.p99.Seconds(), Ratio: floor.rps / get.rps, ItemsPerSecond: get.rps,
		Baseline: fmt.Sprintf("the same server's /healthz: %.0f req/s", floor.rps),
		Target:   fmt.Sprintf(">= 3000 req/s, p99 < 20 ms (measured p99 %.1f ms, %d non-2xx)", float64(get.p99.Microseconds())/1000, get.non2xx),
	})
	return results, nil
}

func outputOf(binary, databaseURL string, args ...string) ([]byte, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+databaseURL, "PAYRUN_DEV=1")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("payrun %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

func call(base, method, path, token string, body any) (map[string]any, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		return out, fmt.Errorf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out, nil
}

// signIn signs in with a temporary password, changes it, and signs in again.
func signIn(base, user, temporary, permanent string) (string, error) {
	out, err := call(base, "POST", "/v1/token", "", map[string]string{"grant_type": "password", "username": user, "password": temporary})
	if err != nil {
		return "", err
	}
	token, _ := out["access_token"].(string)
	if _, err := call(base, "POST", "/v1/me/password", token, map[string]string{"current_password": temporary, "new_password": permanent}); err != nil {
		return "", err
	}
	out, err = call(base, "POST", "/v1/token", "", map[string]string{"grant_type": "password", "username": user, "password": permanent})
	if err != nil {
		return "", err
	}
	token, _ = out["access_token"].(string)
	return token, nil
}

type wrkResult struct {
	rps      float64
	p99      time.Duration
	requests int
	non2xx   int
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99      = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// runWrk loads url for seconds with 2 threads and 32 connections.
func runWrk(url, token string, seconds int) (wrkResult, error) {
	args := []string{"-t2", "-c32", "-d" + strconv.Itoa(seconds) + "s", "--latency"}
	if token != "" {
		args = append(args, "-H", "Authorization: Bearer "+token)
	}
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	text := string(out)
	var r wrkResult
	if m := wrkRPS.FindStringSubmatch(text); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := wrkP99.FindStringSubmatch(text); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[2]]
		r.p99 = time.Duration(v * float64(unit))
	}
	if m := wrkRequests.FindStringSubmatch(text); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m := wrkNon2xx.FindStringSubmatch(text); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	return r, nil
}
