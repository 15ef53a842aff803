package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// benchConsole measures the finance console's pages on the scale
// workload's closed cycle (1M publishers): the cycle review page and pages
// of the publishers table (the default order, a filter, a sort, a name
// search, a page reached by cursor), each --console-requests times one at a
// time, p50 and p99 as the server renders them (the whole response read).
// Before timing, the cycle's workbook is written as the scheduled close
// writes it (the scale close skipped it), and the first view of the review
// page, which computes and keeps the cycle's breakdown, is timed on its own.
func benchConsole(binary, databaseURL, work string, publishers, requests int) ([]Result, error) {
	out := filepath.Join(work, "scale-out")
	env := append(devEnv("2026-12-05T06:00:00Z"), "PAYRUN_OUT="+out)
	// Closing a closed cycle changes nothing and writes its workbook (and
	// the workbook's checks), as the scheduled close would have.
	if _, _, err := runPayrun(binary, databaseURL, env, "cycle", "close", "--month", "2026-12"); err != nil {
		return nil, err
	}
	if _, _, err := runPayrun(binary, databaseURL, nil, "migrate"); err != nil { // the job queue's tables too
		return nil, err
	}
	password, err := createOperator(binary, databaseURL, "benchconsole", "finance_approver")
	if err != nil {
		return nil, err
	}
	base, stop, err := startServe(binary, databaseURL, "PAYRUN_NOW=2026-12-05T09:00:00Z", "PAYRUN_OUT="+out, "PAYRUN_JOBS=key-expiry")
	if err != nil {
		return nil, err
	}
	defer stop()
	c, err := consoleSignIn(base, "benchconsole", password, "bench console passphrase")
	if err != nil {
		return nil, err
	}
	review := base + "/console/cycles/2026-12"
	first := time.Now()
	if err := c.page(review); err != nil {
		return nil, err
	}
	firstView := time.Since(first)
	reviews, err := timeEach(requests, func(int) error { return c.page(review) })
	if err != nil {
		return nil, err
	}
	scale := fmt.Sprintf("a cycle of %s publishers, %d requests one at a time", count(int64(publishers)), requests)
	results := []Result{
		{Workload: "console: first view of the cycle review page (computes and keeps the breakdown), " + scale[:strings.Index(scale, ",")],
			Items: 1, PayrunSeconds: firstView.Seconds(), Baseline: "none (once per closed cycle)", Target: "—"},
		latencyResult("console: GET the cycle review page, "+scale, reviews, "p99 < 300 ms"),
	}
	table := base + "/console/cycles/2026-12/publishers"
	for _, q := range []struct{ what, query string }{
		{"the first page (seller order)", ""},
		{"filtered by status=paid", "status=paid"},
		{"filtered by country=DE", "country=DE"},
		{"sorted by paid, descending", "sort=paid&order=desc"},
		{"filtered by status=held (none in this all-payable cycle)", "status=held"},
		{"searched by name prefix", "q=Publisher%20G1-00004"},
	} {
		latencies, err := timeEach(requests, func(int) error { return c.page(table + "?" + q.query) })
		if err != nil {
			return nil, err
		}
		results = append(results, latencyResult("console: GET a publishers table page, "+q.what+", "+scale, latencies, "p99 < 100 ms"))
	}
	// Walking by cursor: each request is the next page of the last one.
	next := table
	walked, err := timeEach(requests, func(int) error {
		body, err := c.get(next)
		if err != nil {
			return err
		}
		m := nextLink.FindStringSubmatch(body)
		if m == nil {
			next = table
			return nil
		}
		next = base + strings.ReplaceAll(m[1], "&amp;", "&")
		return nil
	})
	if err != nil {
		return nil, err
	}
	results = append(results, latencyResult("console: GET the next publishers table page by cursor, "+scale, walked, "p99 < 100 ms"))
	return results, nil
}

var (
	nextLink    = regexp.MustCompile(`href="([^"]+)" rel="next"`)
	consoleCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// consoleClient is a browser's cookie jar on the console.
type consoleClient struct {
	http *http.Client
	base string
}

func (c *consoleClient) get(target string) (string, error) {
	resp, err := c.http.Get(target)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %s", target, resp.StatusCode, body)
	}
	return string(body), nil
}

func (c *consoleClient) page(target string) error {
	_, err := c.get(target)
	return err
}

// post sends a form with the CSRF token of page and expects a redirect.
func (c *consoleClient) post(path, page string, form url.Values) (string, error) {
	m := consoleCSRF.FindStringSubmatch(page)
	if m == nil {
		return "", fmt.Errorf("POST %s: no csrf token on the page", path)
	}
	form.Set("csrf", m[1])
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, body)
	}
	return resp.Header.Get("Location"), nil
}

// consoleSignIn signs an operator in with its one-time password, changes
// it as the console asks, and signs in again.
func consoleSignIn(base, user, temporary, permanent string) (*consoleClient, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &consoleClient{base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	signIn := func(password string) error {
		page, err := c.get(base + "/console/sign-in")
		if err != nil {
			return err
		}
		_, err = c.post("/console/sign-in", page, url.Values{"name": {user}, "password": {password}})
		return err
	}
	if err := signIn(temporary); err != nil {
		return nil, err
	}
	page, err := c.get(base + "/console/password")
	if err != nil {
		return nil, err
	}
	if _, err := c.post("/console/password", page, url.Values{"current_password": {temporary}, "new_password": {permanent}, "new_password_again": {permanent}}); err != nil {
		return nil, err
	}
	if err := signIn(permanent); err != nil {
		return nil, err
	}
	return c, nil
}
