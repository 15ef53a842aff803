package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
func benchAPI(ctx context.Context, binary, serverURL string, seconds, mixedSeconds int) ([]Result, error) {
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
	password, err := createOperator(binary, databaseURL, "benchops", "ops")
	if err != nil {
		return nil, err
	}
	base, stop, err := startServe(binary, databaseURL, "PAYRUN_OUT="+os.TempDir())
	if err != nil {
		return nil, err
	}
	defer stop()
	token, err := signIn(base, "benchops", password, "bench operator passphrase")
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
	// Measured in steady state: 2 s of the same load first, unmeasured, so
	// that the server's first-use work (each backend's catalog caches, its
	// statements, the job worker's start) is not counted in p99. The
	// server opens its idle connections before it listens (db.Warm); the
	// first second of load after a start still answers in up to ~0.2 s.
	if _, err := runWrk(base+"/v1/accounts/"+account.SellerID, token, 2); err != nil {
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
	mixed, err := runMixed(base, account.SellerID, token, 16, mixedSeconds)
	if err != nil {
		return nil, err
	}
	results = append(results, Result{
		Workload: fmt.Sprintf("admin API: mixed GET + PUT with If-Match, %d s, 16 clients", mixedSeconds), Items: int64(mixed.requests),
		PayrunSeconds: mixed.duration.Seconds(), ItemsPerSecond: float64(mixed.requests) / mixed.duration.Seconds(),
		Baseline: "none (correctness under load)",
		Target: fmt.Sprintf("zero 5xx, zero lost updates (measured: %d updates, %d refused as stale, %d 5xx, %d other errors, %d lost updates)",
			mixed.updates, mixed.conflicts, mixed.serverErrors, mixed.otherErrors, mixed.lostUpdates),
	})
	if mixed.serverErrors > 0 || mixed.lostUpdates > 0 || mixed.otherErrors > 0 {
		fmt.Fprintf(os.Stderr, "bench: the mixed load broke the API's guarantees: %+v\n", mixed)
	}
	results = append(results, Result{
		Workload: fmt.Sprintf("admin API: authenticated GET account, %d connections (req/s; p99 in target column)", wrkConnections), Items: int64(get.requests),
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

// wrkConnections is how many connections wrk keeps open (--api-connections):
// 8 keeps the 2 cores busy without measuring mostly queueing (at 32, wrk,
// the server and Postgres queue for the same two cores and p99 grows 10x).
var wrkConnections = 8

// runWrk loads url for seconds with 2 threads and wrkConnections connections.
func runWrk(url, token string, seconds int) (wrkResult, error) {
	args := []string{"-t2", "-c" + strconv.Itoa(wrkConnections), "-d" + strconv.Itoa(seconds) + "s", "--latency"}
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

// mixedResult is what the mixed read/write load saw.
type mixedResult struct {
	requests, updates, conflicts, serverErrors, otherErrors int
	lostUpdates                                             int
	duration                                                time.Duration
}

// runMixed has clients GET the account and PUT a change with If-Match for
// the given time. Each successful PUT records the version it was based on:
// two successes based on the same version would be a lost update (a silent
// overwrite); a stale one must be refused (412), never applied.
func runMixed(base, seller, token string, clients int, seconds int) (mixedResult, error) {
	type outcome struct {
		status int
		based  string
		update bool
	}
	results := make(chan outcome, 1024)
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, body, ifMatch string) (int, string, error) {
		req, err := http.NewRequest(method, base+"/v1/accounts/"+seller, strings.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("If-Match", ifMatch)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("ETag"), nil
	}
	done := make(chan error, clients)
	for c := 0; c < clients; c++ {
		go func() {
			for n := 0; time.Now().Before(deadline); n++ {
				status, tag, err := do("GET", "", "")
				if err != nil {
					done <- err
					return
				}
				results <- outcome{status: status}
				if n%2 == 1 || status != http.StatusOK {
					continue
				}
				body := fmt.Sprintf(`{"display_name":"Bench %d-%d"}`, c, n)
				status, _, err = do("PUT", body, tag)
				if err != nil {
					done <- err
					return
				}
				results <- outcome{status: status, based: tag, update: true}
			}
			done <- nil
		}()
	}
	var r mixedResult
	start := time.Now()
	based := map[string]int{}
	finished := 0
	for finished < clients {
		select {
		case o := <-results:
			r.requests++
			switch {
			case o.status >= 500:
				r.serverErrors++
			case o.update && o.status == http.StatusOK:
				r.updates++
				based[o.based]++
				if based[o.based] > 1 {
					r.lostUpdates++
				}
			case o.status == http.StatusPreconditionFailed || o.status == http.StatusConflict:
				r.conflicts++
			case o.status != http.StatusOK:
				r.otherErrors++
			}
		case err := <-done:
			if err != nil {
				return r, err
			}
			finished++
		}
	}
	for len(results) > 0 {
		o := <-results
		r.requests++
		if o.status >= 500 {
			r.serverErrors++
		}
	}
	r.duration = time.Since(start)
	// Every applied update bumped the version once, and nothing else did.
	if _, tag, err := do("GET", "", ""); err != nil {
		return r, err
	} else if tag != fmt.Sprintf("%q", fmt.Sprint(r.updates)) {
		r.lostUpdates++
		fmt.Fprintf(os.Stderr, "bench: final ETag %s after %d applied updates\n", tag, r.updates)
	}
	return r, nil
}

// startServe starts `payrun serve` on databaseURL (development mode, a free
// port, env added) and waits until it is ready; stop ends it.
func startServe(binary, databaseURL string, env ...string) (base string, stop func(), err error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := listener.Addr().String()
	listener.Close()
	serve := exec.Command(binary, "serve")
	serve.Env = append(append(os.Environ(), "DATABASE_URL="+databaseURL, "PAYRUN_DEV=1", "PAYRUN_ADDR="+addr), env...)
	if err := serve.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
	}
	base = "http://" + addr
	for start := time.Now(); ; {
		if r, err := http.Get(base + "/readyz"); err == nil && r.StatusCode == 200 {
			r.Body.Close()
			return base, stop, nil
		}
		if time.Since(start) > 20*time.Second {
			stop()
			return "", nil, fmt.Errorf("payrun serve did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createOperator runs `payrun operators create` and returns the operator's
// one-time password.
func createOperator(binary, databaseURL, user, role string) (string, error) {
	out, err := outputOf(binary, databaseURL, "operators", "create", "--user", user, "--role", role, "--json")
	if err != nil {
		return "", err
	}
	var op struct {
		Password string `json:"one_time_password"`
	}
	if err := json.Unmarshal(out, &op); err != nil {
		return "", err
	}
	return op.Password, nil
}
