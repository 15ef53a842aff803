package operations_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/admin/operations"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (a answer) str(key string) string { s, _ := a.body[key].(string); return s }

// locations lists a problem's field-error locations.
func (a answer) locations() []string {
	var out []string
	list, _ := a.body["errors"].([]any)
	for _, item := range list {
		loc, _ := item.(map[string]any)["location"].(string)
		out = append(out, loc)
	}
	return out
}

type harness struct {
	t      *testing.T
	w      *fixture.World
	server *httptest.Server
	out    string
}

func (h *harness) call(method, path, token, contentType string, body []byte) answer {
	h.t.Helper()
	req, err := http.NewRequest(method, h.server.URL+path, bytes.NewReader(body))
	require.NoError(h.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(h.t, err)
	a := answer{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.Contains(res.Header.Get("Content-Type"), "json") && len(raw) > 0 && raw[0] == '{' {
		require.NoError(h.t, json.Unmarshal(raw, &a.body), string(raw))
	}
	return a
}

func (h *harness) json(method, path, token string, v any) answer {
	h.t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(h.t, err)
	return h.call(method, path, token, "application/json", raw)
}

// operator creates an operator (password changed) and returns a function
// that signs it in at the world's current time.
func (h *harness) operator(name string, role accounts.Role) func() string {
	h.t.Helper()
	_, temporary, err := accounts.CreateOperator(context.Background(), h.w.DB, accounts.NewOperator{UserName: name, Roles: []accounts.Role{role}}, h.w.Now())
	require.NoError(h.t, err)
	signIn := func(password string) string {
		a := h.json("POST", "/v1/token", "", map[string]string{"grant_type": "password", "username": name, "password": password})
		require.Equal(h.t, http.StatusOK, a.status, string(a.raw))
		return a.str("access_token")
	}
	a := h.json("POST", "/v1/me/password", signIn(temporary), map[string]string{"current_password": temporary, "new_password": "operator password 1"})
	require.Equal(h.t, http.StatusNoContent, a.status, string(a.raw))
	return func() string { return signIn("operator password 1") }
}

func (h *harness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	require.NoError(h.t, h.w.DB.Get(&n, query, args...))
	return n
}

// TestOperatorsRunACycleOverHTTP drives a cycle through the operator
// endpoints against real Postgres and the real stores: earnings import
// (refused, then accepted), close (by an operator, with maker-checker),
// listing and totals, the workbook, approval refused to the closer and
// given by another approver, release refused without FX rates, FX import,
// release, the manifest's files downloaded byte for byte, a refused return
// file and a verification result — each change in the audit log.
func TestOperatorsRunACycleOverHTTP(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	out := t.TempDir()
	releaser := &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: out,
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN TEST", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}}
	service := &operations.Service{DB: w.DB, Store: w.Store, Releaser: func() (*release.Releaser, error) { return releaser, nil },
		OutDir: out, Clock: w.Now, TempDir: t.TempDir()}
	server := admin.New(admin.Config{DB: w.DB, Clock: w.Now, OutDir: out, Operations: service})
	ts := httptest.NewServer(server.Handler())
	t.Cleanup(ts.Close)
	h := &harness{t: t, w: w, server: ts, out: out}

	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("US1", fixture.Publisher{})
	w.Publisher("DE1", fixture.Publisher{Country: "DE", Treaty: true})
	w.Publisher("PP1", fixture.Publisher{Country: "DE", Method: payout.PayPal, Treaty: true})
	opsLogin := h.operator("op.ops", accounts.RoleOps)
	closerLogin := h.operator("op.closer", accounts.RoleFinanceApprover)
	approverLogin := h.operator("op.approver", accounts.RoleFinanceApprover)
	viewerLogin := h.operator("op.viewer", accounts.RoleFinanceViewer)
	audits := h.count(`SELECT count(*) FROM audit_log`)

	// Earnings: a file with bad rows imports nothing and names each row.
	w.Set("2026-10-10T00:00:00Z")
	ops := opsLogin()
	header := "transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount,eligible_at\n"
	bad := header + "t1,US1,app,purchase,US,2026-09-20T00:00:00Z,120.50,2026-10-20T00:00:00Z\n" +
		"t2,NOPE,app,purchase,US,2026-09-20T00:00:00Z,10,2026-10-20T00:00:00Z\n" +
		"t3,DE1,app,purchase,DE,2026-09-20T00:00:00Z,ten,2026-10-20T00:00:00Z\n"
	a := h.call("POST", "/v1/imports/earnings?name=october.csv", ops, "text/csv", []byte(bad))
	require.Equal(t, http.StatusBadRequest, a.status, string(a.raw))
	require.Equal(t, "application/problem+json", a.header.Get("Content-Type"))
	require.Contains(t, a.locations(), "body.lines[3].seller_id", string(a.raw))
	require.Contains(t, a.locations(), "body.lines[4].amount", string(a.raw))
	require.Zero(t, h.count(`SELECT count(*) FROM earnings_lines`))

	good := header + "t1,US1,app,purchase,US,2026-09-20T00:00:00Z,120.50,2026-10-20T00:00:00Z\n" +
		"t2,DE1,app,purchase,US,2026-09-20T00:00:00Z,250,2026-10-20T00:00:00Z\n" +
		"t3,PP1,app,purchase,US,2026-09-20T00:00:00Z,75.25,2026-10-20T00:00:00Z\n"
	a = h.call("POST", "/v1/imports/earnings?name=october.csv", ops, "text/csv", []byte(good))
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.EqualValues(t, 3, a.body["imported"])
	a = h.call("POST", "/v1/imports/earnings?name=october.csv", ops, "text/csv", []byte(good))
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.EqualValues(t, 3, a.body["skipped"], "the same file again imports nothing")
	require.Equal(t, 3, h.count(`SELECT count(*) FROM earnings_lines`))

	// The close is the job's or the CLI's; this one was run by op.closer
	// (`payrun cycle close --by op.closer`: recorded by operator id).
	w.Set("2026-11-05T06:00:00Z")
	closerID, err := w.Store.Operator(context.Background(), "op.closer")
	require.NoError(t, err)
	w.Close("2026-11", func(o *store.CloseOptions) { o.Policy.Approval = true; o.Operator = closerID.OperatorID })
	viewer, closer, approver, ops := viewerLogin(), closerLogin(), approverLogin(), opsLogin()

	a = h.call("GET", "/v1/cycles", viewer, "", nil)
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	items := a.body["items"].([]any)
	require.Len(t, items, 1)
	a = h.call("GET", "/v1/cycles/2026-11", viewer, "", nil)
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.Equal(t, store.StateAwaitingApproval, a.str("state"))
	require.EqualValues(t, 3, a.body["totals"].(map[string]any)["paid"].(map[string]any)["count"])
	require.Equal(t, http.StatusNotFound, h.call("GET", "/v1/cycles/2026-12", viewer, "", nil).status)

	a = h.call("GET", "/v1/cycles/2026-11/workbook", viewer, "", nil)
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", a.header.Get("Content-Type"))
	require.True(t, bytes.HasPrefix(a.raw, []byte("PK")), "an xlsx is a zip")

	// Maker-checker: not the closer; the viewer may not; another approver may.
	a = h.call("POST", "/v1/cycles/2026-11/approve", closer, "", nil)
	require.Equal(t, http.StatusUnprocessableEntity, a.status, string(a.raw))
	require.Equal(t, http.StatusForbidden, h.call("POST", "/v1/cycles/2026-11/approve", viewer, "", nil).status)
	require.Equal(t, http.StatusForbidden, h.call("POST", "/v1/cycles/2026-11/release", ops, "", nil).status)
	a = h.call("POST", "/v1/cycles/2026-11/release", approver, "", nil)
	require.Equal(t, http.StatusConflict, a.status, "not approved yet: %s", a.raw)
	a = h.call("POST", "/v1/cycles/2026-11/approve", approver, "", nil)
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.Equal(t, "operator:op.approver", a.str("approved_by"))
	require.Equal(t, http.StatusConflict, h.call("POST", "/v1/cycles/2026-11/approve", approver, "", nil).status)

	// No EUR rate yet: the release is refused and writes nothing.
	a = h.call("POST", "/v1/cycles/2026-11/release", approver, "", nil)
	require.Equal(t, http.StatusUnprocessableEntity, a.status, string(a.raw))
	a = h.call("POST", "/v1/imports/fx/2026-11", ops, "text/csv", []byte("currency,rate,date,source\nEUR,zero,2026-11-04,ECB\n"))
	require.Equal(t, http.StatusBadRequest, a.status, string(a.raw))
	require.Contains(t, a.locations(), "body.lines[2].rate")
	a = h.call("POST", "/v1/imports/fx/2026-11", ops, "text/csv", []byte("currency,rate,date,source\nEUR,0.9234,2026-11-04,ECB reference rate\n"))
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.EqualValues(t, 1, a.body["added"])
	a = h.call("POST", "/v1/imports/fx/2026-11", ops, "text/csv", []byte("currency,rate,date,source\nEUR,0.95,2026-11-04,ECB reference rate\n"))
	require.Equal(t, http.StatusConflict, a.status, string(a.raw))

	a = h.call("POST", "/v1/cycles/2026-11/release", approver, "", nil)
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.False(t, a.body["already_released"].(bool))
	released := a.body["files"].([]any)
	require.NotEmpty(t, released)

	// Every manifest file downloads with the manifest's sha256.
	a = h.call("GET", "/v1/cycles/2026-11/files", viewer, "", nil)
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	var files []admin.CycleFile
	require.NoError(t, json.Unmarshal(a.raw, &files))
	require.Len(t, files, len(released))
	for _, f := range files {
		d := h.call("GET", "/v1/cycles/2026-11/files/"+f.Name, viewer, "", nil)
		require.Equal(t, http.StatusOK, d.status, string(d.raw))
		sum := sha256.Sum256(d.raw)
		require.Equal(t, f.SHA256, hex.EncodeToString(sum[:]), f.Name)
		require.Equal(t, `"`+f.SHA256+`"`, d.header.Get("ETag"))
	}
	d := h.call("GET", "/v1/cycles/2026-11/files/manifest.json", viewer, "", nil)
	require.Equal(t, http.StatusOK, d.status, string(d.raw))
	require.Contains(t, string(d.raw), files[0].SHA256)
	require.Equal(t, http.StatusNotFound, h.call("GET", "/v1/cycles/2026-11/files/payout-summary-2026-11.xlsx", viewer, "", nil).status,
		"a file beside the payment files is not in the manifest")

	// Returns: a file that is neither ACH nor PayPal is refused whole.
	a = h.call("POST", "/v1/imports/returns?name=bank.csv", ops, "text/csv", []byte("sender_item_id,status\nnope,FAILED\n"))
	require.Equal(t, http.StatusBadRequest, a.status, string(a.raw))
	require.NotEmpty(t, a.locations())

	// A PayPal return imported over the API: the released cycle's workbook
	// is written again and its Exceptions sheet shows the return.
	var paymentID, paid string
	require.NoError(t, w.DB.QueryRow(`SELECT p.payment_id, p.amount_in_currency::numeric(20,2)::text FROM payments p JOIN accounts a ON a.id = p.account_id WHERE a.seller_id = 'PP1'`).Scan(&paymentID, &paid))
	status := "sender_item_id,transaction_status,amount,currency,time_processed,reason\n" + paymentID + ",RETURNED," + paid + ",USD,2026-11-18T10:00:00Z,RECEIVER_ACCOUNT_LOCKED\n"
	a = h.call("POST", "/v1/imports/returns?name=paypal.csv", ops, "text/csv", []byte(status))
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	book, err := excelize.OpenFile(cyclereport.Path(out, fixture.Month("2026-11"), false))
	require.NoError(t, err)
	rows, err := book.GetRows("Exceptions")
	require.NoError(t, err)
	require.NoError(t, book.Close())
	require.Contains(t, fmt.Sprint(rows), paymentID, "the Exceptions sheet lists the returned payment")

	// Verification results: a new DE payout account, verified by ops.
	id := w.PayoutAccount("DE1", "DE", payout.Bank)
	path := "/v1/payout-accounts/" + jsonNumber(id) + "/verification"
	a = h.json("POST", path, ops, map[string]string{"status": "verified"})
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.Equal(t, "DE1", a.str("seller_id"))
	a = h.json("POST", path, ops, map[string]string{"status": "verified"})
	require.Equal(t, http.StatusConflict, a.status, string(a.raw))
	a = h.json("POST", "/v1/payout-accounts/999999/verification", ops, map[string]string{"status": "verified"})
	require.Equal(t, http.StatusNotFound, a.status, string(a.raw))

	var actions []string
	require.NoError(t, w.DB.Select(&actions, `SELECT action FROM audit_log WHERE id > $1 AND actor LIKE 'operator:%' AND action NOT LIKE 'principal.%' ORDER BY id`, audits))
	want := []string{"earnings.import", "earnings.import", "cycle.workbook.download", "cycle.approve", "fx_rates.import", "cycle.release"}
	for range len(files) + 1 {
		want = append(want, "cycle.file.download")
	}
	want = append(want, "returns.import", "payout_account.verification")
	require.Equal(t, want, actions, "every successful operator action is audited, refusals are not")
}

func jsonNumber(id int64) string {
	raw, _ := json.Marshal(id)
	return string(raw)
}
