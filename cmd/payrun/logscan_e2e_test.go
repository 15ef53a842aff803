package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// lockedBuffer collects a running process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logScan gathers every byte the processes of a test printed, and the
// secrets they were given or hold, and says whether any secret got out.
type logScan struct {
	outputs  []string
	secrets  map[string]string // value → where it came from
	requests []string          // request ids the logs must show
}

func (s *logScan) add(r result) { s.outputs = append(s.outputs, r.stdout, r.stderr) }

func (s *logScan) secret(value, origin string) {
	if value != "" {
		s.secrets[value] = origin
	}
}

// The requirement (issue 8 item 4, SPEC §11): a demo-like run —
// `payrun simulate`, then `payrun serve` with its jobs and the README's
// admin walk-through (sign-ins, password changes, a payout account with an
// account number and one with an IBAN, a W-9 with a TIN, refused inputs, a
// bogus bearer token, a forced 500) — prints none of the secrets it handled:
// not the TINs, account numbers and IBANs of the requests nor of the
// simulated marketplace (read back from the sealed columns with the
// development key), not the passwords, the one-time password (after
// `operators create` printed it, its one legitimate appearance) or the bearer
// tokens. And the logs do say what they should: JSON lines, the request ids
// of the requests, the jobs with their occurrence keys and attempts, the
// cycle of the close and release jobs.
func TestLogsOfADemoRunHoldNoSecrets(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)
	env := devEnv(url)
	scan := &logScan{secrets: map[string]string{}}

	r := payrunEnv(t, env, "simulate", "--seed", "5", "--publishers", "150", "--months", "2")
	require.Zero(t, r.code, r.stderr)
	scan.add(r)
	createAccount := func(country, name string) string {
		r := payrunEnv(t, env, "accounts", "create", "--type", "company", "--country", country, "--name", name)
		require.Zero(t, r.code, r.stderr)
		scan.add(r)
		sellerID := regexp.MustCompile(`S[0-9]{9}`).FindString(r.stdout)
		require.NotEmpty(t, sellerID, r.stdout)
		return sellerID
	}
	contoso, fabrikam := createAccount("US", "Contoso"), createAccount("DE", "Fabrikam")
	r = payrunEnv(t, env, "operators", "create", "--user", "opsie", "--role", "ops")
	require.Zero(t, r.code, r.stderr)
	// stdout shows the one-time password once, by design: not scanned.
	scan.outputs = append(scan.outputs, r.stderr)
	oneTimePassword := regexp.MustCompile(`one-time password[^:]*: (\S+)`).FindStringSubmatch(r.stdout)
	require.Len(t, oneTimePassword, 2, r.stdout)
	scan.secret(oneTimePassword[1], "one-time password")

	// payrun serve, with every byte it prints kept; installed long ago, so
	// that every job has an occurrence to catch up.
	installedLongAgo(t, url)
	addr := freePort(t)
	serve := exec.Command(binary, "serve")
	serve.Dir = t.TempDir()
	serve.Env = append(os.Environ(), "PAYRUN_DATA_KEY=", "PAYRUN_NOW=", "DATABASE_URL="+url, "PAYRUN_DEV=1", "PAYRUN_ADDR="+addr, "PAYRUN_OUT="+serve.Dir)
	var serveOut, serveErr lockedBuffer
	serve.Stdout, serve.Stderr = &serveOut, &serveErr
	require.NoError(t, serve.Start())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = serve.Process.Kill()
			_ = serve.Wait()
		}
	})
	api := "http://" + addr + "/v1"
	client := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		response, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "payrun serve did not get ready: %s", serveErr.String())
		time.Sleep(100 * time.Millisecond)
	}

	// call makes one request with a request id of ours and returns the
	// status and decoded body.
	requestNumber := 0
	call := func(method, path, token string, body any, headers ...string) (int, map[string]any) {
		t.Helper()
		requestNumber++
		id := fmt.Sprintf("logscan-%02d", requestNumber)
		var reader io.Reader
		if body != nil {
			encoded, err := json.Marshal(body)
			require.NoError(t, err)
			reader = bytes.NewReader(encoded)
		}
		request, err := http.NewRequest(method, api+path, reader)
		require.NoError(t, err)
		request.Header.Set("Content-Type", "application/json")
		request.Header.Set(logging.RequestIDHeader, id)
		if token != "" {
			request.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			request.Header.Set(headers[i], headers[i+1])
		}
		response, err := client.Do(request)
		require.NoError(t, err)
		defer response.Body.Close()
		require.Equal(t, id, response.Header.Get(logging.RequestIDHeader))
		scan.requests = append(scan.requests, id)
		var decoded map[string]any
		raw, err := io.ReadAll(response.Body)
		require.NoError(t, err)
		_ = json.Unmarshal(raw, &decoded)
		return response.StatusCode, decoded
	}
	signIn := func(user, password string) string {
		t.Helper()
		status, body := call("POST", "/token", "", map[string]any{"grant_type": "password", "username": user, "password": password})
		require.Equal(t, http.StatusOK, status, "%v", body)
		token, _ := body["access_token"].(string)
		require.NotEmpty(t, token)
		scan.secret(token, "bearer token of "+user)
		return token
	}
	const (
		operatorPassword = "correct horse battery staple 5"
		adminTemporary   = "temporary password q7x"
		adminPassword    = "ada secret passphrase 9k"
		ownerPassword    = "owner personal passphrase 3z"
		wrongPassword    = "wrong horse battery staple 1"
		accountNumber    = "4815162342"
		badAccountNumber = "9988776655443"
		failedAccount    = "31415926535"
		iban             = "DE89370400440532013000"
		badIBAN          = "DE00370400440532013001"
		tin              = "47-2638195"
		badTIN           = "07-1234560"
		bogusToken       = "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1enF1dXo"
	)
	for value, origin := range map[string]string{operatorPassword: "operator password", adminTemporary: "temporary password", adminPassword: "admin password",
		ownerPassword: "owner password", wrongPassword: "wrong password", accountNumber: "account number", badAccountNumber: "refused account number",
		failedAccount: "account number of the forced 500", iban: "IBAN", badIBAN: "refused IBAN", tin: "TIN", badTIN: "refused TIN", bogusToken: "bogus bearer token"} {
		scan.secret(value, origin)
	}

	// The README's walk-through.
	token := signIn("opsie", oneTimePassword[1])
	status, _ := call("POST", "/me/password", token, map[string]any{"current_password": oneTimePassword[1], "new_password": operatorPassword})
	require.Equal(t, http.StatusNoContent, status)
	token = signIn("opsie", operatorPassword)
	// onboard creates the account's tenant and administrator, who changes
	// the temporary password and links the owner identity (needed before
	// financial details); it returns the administrator's token.
	onboard := func(account, domain string) string {
		status, body := call("POST", account+"/tenants", token, map[string]any{"domain_name": domain, "contact_email": "it@" + domain + ".example",
			"admin_first_name": "Ada", "admin_last_name": "Lovelace", "admin_user_name": "ada", "admin_password": adminTemporary})
		require.Equal(t, http.StatusCreated, status, "%v", body)
		user := "ada@" + domain + ".onmicrosoft.com"
		admin := signIn(user, adminTemporary)
		status, _ = call("POST", "/me/password", admin, map[string]any{"current_password": adminTemporary, "new_password": adminPassword})
		require.Equal(t, http.StatusNoContent, status)
		admin = signIn(user, adminPassword)
		status, body = call("PUT", account+"/owner-identity", admin, map[string]any{"email": "owner@" + domain + ".example", "password": ownerPassword})
		require.Equal(t, http.StatusNoContent, status, "%v", body)
		return admin
	}
	account, germanAccount := "/accounts/"+contoso, "/accounts/"+fabrikam
	admin, germanAdmin := onboard(account, "contoso"), onboard(germanAccount, "fabrikam")

	// Refused inputs (4xx) carrying secrets.
	status, _ = call("POST", "/token", "", map[string]any{"grant_type": "password", "username": "opsie", "password": wrongPassword})
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = call("GET", "/me", bogusToken, nil)
	require.Equal(t, http.StatusUnauthorized, status)
	usBank := func(number, routing string) map[string]any {
		return map[string]any{"method": "bank", "holder_name": "Contoso Inc", "currency": "USD", "bank_country": "US", "account_type": "checking",
			"routing_number": routing, "account_number": number}
	}
	refused := func(status int) bool {
		return status == http.StatusBadRequest || status == http.StatusUnprocessableEntity
	}
	// ifMatch reads a resource's ETag, as a client does before updating it.
	ifMatch := func(path, token string) []string {
		t.Helper()
		request, err := http.NewRequest("GET", api+path, nil)
		require.NoError(t, err)
		request.Header.Set("Authorization", "Bearer "+token)
		response, err := client.Do(request)
		require.NoError(t, err)
		response.Body.Close()
		require.Equal(t, http.StatusOK, response.StatusCode)
		return []string{"If-Match", response.Header.Get("ETag")}
	}
	status, body := call("PUT", account+"/payout-account", admin, usBank(badAccountNumber, "011000016"), ifMatch(account+"/payout-account", admin)...)
	require.True(t, refused(status), "%d %v", status, body)
	deBank := func(iban string) map[string]any {
		return map[string]any{"method": "bank", "holder_name": "Contoso GmbH", "currency": "EUR", "bank_country": "DE", "iban": iban, "bic": "COBADEFFXXX"}
	}
	status, body = call("PUT", germanAccount+"/payout-account", germanAdmin, deBank(badIBAN), ifMatch(germanAccount+"/payout-account", germanAdmin)...)
	require.True(t, refused(status), "%d %v", status, body)
	w9 := func(tin string) map[string]any {
		return map[string]any{"form": "W-9", "legal_name": "Contoso Inc", "entity_type": "corporation", "residence_country": "US",
			"tin": tin, "tin_kind": "ein", "signer_name": "Ada", "signed_on": "2026-11-20",
			"permanent_address": map[string]any{"line1": "1 Main", "city": "Redmond", "region": "WA", "country": "US"}}
	}
	status, body = call("POST", account+"/tax-forms", admin, w9(badTIN))
	require.True(t, refused(status), "%d %v", status, body)

	// Accepted secrets.
	status, body = call("PUT", germanAccount+"/payout-account", germanAdmin, deBank(iban), ifMatch(germanAccount+"/payout-account", germanAdmin)...)
	require.Equal(t, http.StatusOK, status, "%v", body)
	status, body = call("PUT", account+"/payout-account", admin, usBank(accountNumber, "011000015"), ifMatch(account+"/payout-account", admin)...)
	require.Equal(t, http.StatusOK, status, "%v", body)
	status, body = call("POST", account+"/tax-forms", admin, w9(tin))
	require.Equal(t, http.StatusCreated, status, "%v", body)

	// A forced 500: the payout accounts table is gone for a moment, and
	// the internal error is logged with the account number in the request.
	database := dbtest.Open(t, url)
	current := ifMatch(account+"/payout-account", admin)
	_, err := database.Exec(`ALTER TABLE payout_accounts RENAME TO payout_accounts_hidden`)
	require.NoError(t, err)
	status, body = call("PUT", account+"/payout-account", admin, usBank(failedAccount, "011000015"), current...)
	_, renameErr := database.Exec(`ALTER TABLE payout_accounts_hidden RENAME TO payout_accounts`)
	require.NoError(t, renameErr)
	require.Equal(t, http.StatusInternalServerError, status, "%v", body)
	forcedID := scan.requests[len(scan.requests)-1]

	// A request without an id of its own gets one, in the response and
	// the log.
	response, err := client.Get(api + "/me")
	require.NoError(t, err)
	response.Body.Close()
	generated := response.Header.Get(logging.RequestIDHeader)
	require.Regexp(t, `^[0-9a-f]{32}$`, generated)
	scan.requests = append(scan.requests, generated)

	// Every job's catch-up run, then a graceful stop.
	names := []string{jobs.CloseCycle, jobs.CloseStart, jobs.ReleasePayments, jobs.VerifyPayoutAccounts,
		jobs.YearEndTaxReports, jobs.ExpireInvitations, jobs.ExpireTaxForms, jobs.KeyExpiry, jobs.MaintainPartitions}
	deadline = time.Now().Add(60 * time.Second)
	for {
		var finished int
		require.NoError(t, database.Get(&finished, `SELECT count(DISTINCT job) FROM job_runs WHERE finished_at IS NOT NULL AND job = ANY($1)`, names))
		if finished >= len(names) {
			break
		}
		require.True(t, time.Now().Before(deadline), "jobs did not all run: %s", serveErr.String())
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, serve.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "graceful shutdown exits 0")
	case <-time.After(40 * time.Second):
		t.Fatal("payrun serve did not stop on SIGTERM")
	}
	stopped = true
	scan.outputs = append(scan.outputs, serveOut.String(), serveErr.String())

	// The marketplace's own secrets, from the sealed columns.
	sealer, err := secret.FromConfig("", true)
	require.NoError(t, err)
	counts := map[string]int{}
	for _, column := range []struct{ query, context, origin string }{
		{`SELECT tin_sealed FROM tax_forms WHERE tin_sealed IS NOT NULL`, "tax.tin", "TIN"},
		{`SELECT foreign_tin_sealed FROM tax_forms WHERE foreign_tin_sealed IS NOT NULL`, "tax.foreign_tin", "foreign TIN"},
		{`SELECT tin_sealed FROM tax_profile_changes WHERE tin_sealed IS NOT NULL`, "tax.tin", "TIN change"},
		{`SELECT account_number_sealed FROM payout_accounts WHERE account_number_sealed IS NOT NULL`, "payout.account_number", "account number"},
		{`SELECT iban_sealed FROM payout_accounts WHERE iban_sealed IS NOT NULL`, "payout.iban", "IBAN"},
	} {
		var sealed [][]byte
		require.NoError(t, database.Select(&sealed, column.query))
		for _, value := range sealed {
			opened, err := sealer.Open(value, column.context)
			require.NoError(t, err, column.origin)
			scan.secret(opened, "database "+column.origin)
			counts[column.origin]++
		}
	}
	t.Logf("sealed values checked: %v; %d secrets in all", counts, len(scan.secrets))
	require.Greater(t, counts["TIN"], 50, "the simulation submitted W-9s")
	require.Greater(t, counts["account number"], 20, "the simulation set US bank accounts")
	require.Greater(t, counts["IBAN"], 20, "the simulation set IBAN accounts")
	require.Contains(t, scan.secrets, tin[:2]+tin[3:], "the TIN was sealed in its 9-digit form")

	logs := strings.Join(scan.outputs, "\n")
	for value, origin := range scan.secrets {
		for _, form := range secretForms(value) {
			if loc := form.FindStringIndex(logs); loc != nil {
				start, end := max(0, loc[0]-200), min(len(logs), loc[1]+200)
				t.Errorf("%s %q is in the logs: …%s…", origin, value, logs[start:end])
			}
		}
	}

	// What the logs must say. serve's stderr is JSON lines (besides the
	// development-key banner and the listening line).
	var lines []map[string]any
	scanner := bufio.NewScanner(strings.NewReader(serveErr.String()))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		text := scanner.Text()
		if !strings.HasPrefix(text, "{") {
			continue
		}
		var line map[string]any
		require.NoError(t, json.Unmarshal([]byte(text), &line), text)
		lines = append(lines, line)
	}
	require.NotEmpty(t, lines)
	find := func(match func(map[string]any) bool) map[string]any {
		for _, line := range lines {
			if match(line) {
				return line
			}
		}
		return nil
	}
	for _, id := range scan.requests {
		access := find(func(l map[string]any) bool { return l["msg"] == "http request" && l["request_id"] == id })
		require.NotNil(t, access, "no access log line for request %s", id)
		require.NotEmpty(t, access["route"])
		require.NotContains(t, access["route"], "S0", "a route template, not a path")
	}
	forced := find(func(l map[string]any) bool { return l["msg"] == "http request" && l["request_id"] == forcedID })
	require.Equal(t, "ERROR", forced["level"])
	require.EqualValues(t, 500, forced["status"])
	require.Equal(t, "/v1/accounts/{seller_id}/payout-account", forced["route"])
	require.Equal(t, "PUT", forced["method"])
	require.NotNil(t, find(func(l map[string]any) bool { return l["msg"] == "admin: internal error" && l["request_id"] == forcedID }),
		"the 500's cause is logged with the request's id")
	for _, name := range names {
		require.NotNil(t, find(func(l map[string]any) bool {
			return l["msg"] == "job started" && l["job"] == name && l["key"] != nil && l["attempt"] != nil
		}), "no start of job %s", name)
	}
	closed := find(func(l map[string]any) bool { return l["msg"] == "cycle closed" })
	require.NotNil(t, closed, "the close job logs its cycle")
	require.Regexp(t, `^[0-9]{4}-[0-9]{2}$`, closed["cycle"])
	require.Contains(t, []any{jobs.CloseStart, jobs.CloseFinish}, closed["job"])
	require.NotNil(t, closed["key"])
	require.NotNil(t, closed["attempt"])
}

// secretForms are the patterns a secret would have in the logs: the value
// itself and, for TINs and IBANs, their other written forms. A value of
// digits (or an IBAN) must stand apart from other letters and digits, so
// that a 9-digit account number is not "found" inside a seller id
// (S000000001), a payment id or a nanosecond duration; other secrets
// (passwords, tokens) are looked for anywhere.
func secretForms(value string) []*regexp.Regexp {
	apart := func(form string) *regexp.Regexp {
		return regexp.MustCompile(`(?:^|[^A-Za-z0-9])` + regexp.QuoteMeta(form) + `(?:$|[^A-Za-z0-9])`)
	}
	digits := regexp.MustCompile(`^[0-9]+$`)
	switch {
	case digits.MatchString(value) && len(value) == 9: // a TIN, or an account number
		return []*regexp.Regexp{apart(value), apart(value[:3] + "-" + value[3:5] + "-" + value[5:]), apart(value[:2] + "-" + value[2:])}
	case regexp.MustCompile(`^[0-9]{2}-[0-9]{7}$|^[0-9]{3}-[0-9]{2}-[0-9]{4}$`).MatchString(value):
		return []*regexp.Regexp{apart(value), apart(strings.ReplaceAll(value, "-", ""))}
	case digits.MatchString(value):
		return []*regexp.Regexp{apart(value)}
	case regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$`).MatchString(value): // an IBAN
		var grouped []string
		for i := 0; i < len(value); i += 4 {
			grouped = append(grouped, value[i:min(i+4, len(value))])
		}
		return []*regexp.Regexp{apart(value), apart(strings.Join(grouped, " "))}
	default:
		return []*regexp.Regexp{regexp.MustCompile(regexp.QuoteMeta(value))}
	}
}

// The scan finds a secret in each written form, and not inside payrun's
// identifiers.
func TestSecretFormsFindSecretsNotIdentifiers(t *testing.T) {
	t.Parallel()
	found := func(value, logs string) bool {
		for _, form := range secretForms(value) {
			if form.MatchString(logs) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		value, logs string
		want        bool
	}{
		{"472638195", `{"tin":"472638195"}`, true},
		{"472638195", `tin 47-2638195 refused`, true},
		{"472638195", `tin 472-63-8195`, true},
		{"47-2638195", `tin=472638195`, true},
		{"000000001", `seller S000000001`, false},
		{"000000042", `payment P20261100000042`, false},
		{"123456789", `"duration":1234567890`, false},
		{"DE89370400440532013000", `iban DE89 3704 0044 0532 0130 00.`, true},
		{"DE89370400440532013000", `"DE89370400440532013000"`, true},
		{"correct horse", `{"password":"correct horse battery"}`, true},
		{"Zm9vYmFy", `Bearer Zm9vYmFy`, true},
	} {
		require.Equal(t, c.want, found(c.value, c.logs), "%s in %s", c.value, c.logs)
	}
}
