package admin_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
)

// memoryOperations is an in-memory Operations used only to test routing,
// permissions and auditing of the operator endpoints; admin/operations
// (tested end to end there) is the real one.
type memoryOperations struct {
	mu       sync.Mutex
	calls    int
	cycles   map[string]*admin.Cycle
	files    map[string]map[string]string // month → name → content
	imported int
}

func newMemoryOperations() *memoryOperations {
	m := &memoryOperations{cycles: map[string]*admin.Cycle{}, files: map[string]map[string]string{}}
	for i := 1; i <= 5; i++ {
		month := fmt.Sprintf("2025-%02d", i)
		m.cycles[month] = &admin.Cycle{Month: month, State: "released", ClosedBy: "job:close-cycle"}
	}
	m.cycles["2026-02"] = &admin.Cycle{Month: "2026-02", State: "awaiting_approval", ClosedBy: "operator:op.closer"}
	m.cycles["2026-03"] = &admin.Cycle{Month: "2026-03", State: "awaiting_approval", ClosedBy: "operator:op.finance_approver"}
	m.files["2025-05"] = map[string]string{"ach-2025-05.ach": "101 ACH FILE\n"}
	return m
}

// changeCount counts every call that reached the services.
func (m *memoryOperations) changeCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

func (m *memoryOperations) cycle(month time.Time) (*admin.Cycle, error) {
	m.calls++
	c, ok := m.cycles[month.Format("2006-01")]
	if !ok {
		return nil, &accounts.Error{Kind: accounts.KindNotFound, Field: "month", Reason: "no such cycle"}
	}
	return c, nil
}

func (m *memoryOperations) Cycles(_ context.Context, before time.Time, limit int) ([]admin.Cycle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	var months []string
	for month := range m.cycles {
		if before.IsZero() || month < before.Format("2006-01") {
			months = append(months, month)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(months)))
	var out []admin.Cycle
	for _, month := range months[:min(limit, len(months))] {
		out = append(out, *m.cycles[month])
	}
	return out, nil
}

func (m *memoryOperations) Cycle(_ context.Context, month time.Time) (admin.Cycle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.cycle(month)
	if err != nil {
		return admin.Cycle{}, err
	}
	return *c, nil
}

func (m *memoryOperations) Workbook(_ context.Context, month time.Time) (admin.Download, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.cycle(month); err != nil {
		return admin.Download{}, err
	}
	body := "PK\x03\x04 not really a workbook"
	return admin.Download{Name: "payout-summary-" + month.Format("2006-01") + ".xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		Size: int64(len(body)), Body: io.NopCloser(strings.NewReader(body))}, nil
}

func (m *memoryOperations) Checks(_ context.Context, month time.Time) ([]admin.WorkbookCheck, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.cycle(month); err != nil {
		return nil, err
	}
	return []admin.WorkbookCheck{{Name: "Payouts: paid (USD)", Pass: true}}, nil
}

func (m *memoryOperations) Preview(_ context.Context, month time.Time) (admin.CycleTotals, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.cycle(month); err != nil {
		return admin.CycleTotals{}, err
	}
	return admin.CycleTotals{}, nil
}

func (m *memoryOperations) Upcoming(context.Context) (admin.Cycle, error) {
	return admin.Cycle{Month: "2026-04", State: "open"}, nil
}

func (m *memoryOperations) Files(_ context.Context, month time.Time) ([]admin.CycleFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.cycle(month); err != nil {
		return nil, err
	}
	var out []admin.CycleFile
	for name := range m.files[month.Format("2006-01")] {
		out = append(out, admin.CycleFile{Name: name, Kind: "ach"})
	}
	return out, nil
}

func (m *memoryOperations) File(_ context.Context, month time.Time, name string) (admin.Download, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.cycle(month); err != nil {
		return admin.Download{}, err
	}
	body, ok := m.files[month.Format("2006-01")][name]
	if !ok {
		return admin.Download{}, &accounts.Error{Kind: accounts.KindNotFound, Field: "name", Reason: "not in the manifest"}
	}
	return admin.Download{Name: name, ContentType: "text/plain", Size: -1, SHA256: "abc", Body: io.NopCloser(strings.NewReader(body))}, nil
}

func (m *memoryOperations) Approve(_ context.Context, month time.Time, approver accounts.Principal) (admin.Cycle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.cycle(month)
	switch {
	case err != nil:
		return admin.Cycle{}, err
	case c.State != "awaiting_approval" || c.ApprovedBy != "":
		return admin.Cycle{}, &accounts.Error{Kind: accounts.KindConflict, Field: "month", Reason: "not awaiting approval"}
	case c.ClosedBy == approver.Actor():
		return admin.Cycle{}, &accounts.Error{Kind: accounts.KindRule, Field: "month", Reason: "the approver closed it"}
	}
	c.ApprovedBy = approver.Actor()
	return *c, nil
}

func (m *memoryOperations) Release(_ context.Context, month time.Time, actor accounts.Principal) (admin.Release, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.cycle(month)
	if err != nil {
		return admin.Release{}, err
	}
	if c.State == "awaiting_approval" && c.ApprovedBy == "" {
		return admin.Release{}, &accounts.Error{Kind: accounts.KindConflict, Field: "month", Reason: "not approved"}
	}
	c.State, c.ReleasedBy = "released", actor.Actor()
	return admin.Release{Month: c.Month}, nil
}

// ImportEarnings refuses every line whose amount is not a number, as the
// real import does (all or nothing).
func (m *memoryOperations) ImportEarnings(_ context.Context, _ string, body io.Reader) (admin.EarningsImport, error) {
	m.mu.Lock()
	m.calls++
	m.mu.Unlock()
	reader := csv.NewReader(body)
	refused := &admin.ImportRefused{}
	lines := 0
	for line := 1; ; line++ {
		r, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return admin.EarningsImport{}, fmt.Errorf("reading: %w", err)
		}
		if line == 1 {
			continue
		}
		lines++
		if len(r) < 2 || strings.Trim(r[1], "0123456789.") != "" {
			refused.Total++
			refused.Problems = append(refused.Problems, admin.RowProblem{Location: fmt.Sprintf("lines[%d].amount", line), Reason: "not a decimal"})
		}
	}
	if refused.Total > 0 {
		return admin.EarningsImport{}, refused
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.imported += lines
	return admin.EarningsImport{ImportID: 1, LinesRead: int64(lines), Imported: int64(lines), Total: "0"}, nil
}

func (m *memoryOperations) ImportReturns(_ context.Context, name string, body io.Reader) (admin.ReturnsImport, error) {
	m.mu.Lock()
	m.calls++
	m.mu.Unlock()
	if _, err := io.Copy(io.Discard, body); err != nil {
		return admin.ReturnsImport{}, fmt.Errorf("reading: %w", err)
	}
	return admin.ReturnsImport{File: name, Format: "ach", ReturnedUSD: "0"}, nil
}

func (m *memoryOperations) ImportFX(_ context.Context, month time.Time, body io.Reader, _ bool, _ accounts.Principal) (admin.FXImport, error) {
	m.mu.Lock()
	m.calls++
	m.mu.Unlock()
	if _, err := io.Copy(io.Discard, body); err != nil {
		return admin.FXImport{}, fmt.Errorf("reading: %w", err)
	}
	return admin.FXImport{Month: month.Format("2006-01"), Added: 1}, nil
}

func (m *memoryOperations) RecordVerification(_ context.Context, id int64, status, reason string, _ accounts.Principal) (admin.Verification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if id != 7 {
		return admin.Verification{}, &accounts.Error{Kind: accounts.KindNotFound, Field: "id", Reason: "no such payout account"}
	}
	return admin.Verification{PayoutAccountID: id, Status: status, Reason: reason}, nil
}

// operator creates an operator with roles and returns a token.
func (e *env) operator(name string, roles ...accounts.Role) string {
	e.t.Helper()
	_, temporary, err := accounts.CreateOperator(context.Background(), e.db, accounts.NewOperator{UserName: name, Roles: roles}, e.clock.now())
	require.NoError(e.t, err)
	restricted := e.signIn(name, temporary)
	r := e.do("POST", "/v1/me/password", restricted, map[string]any{"current_password": temporary, "new_password": "operator password 1"})
	require.Equal(e.t, http.StatusNoContent, r.status, string(r.raw))
	return e.signIn(name, "operator password 1")
}

// upload sends a raw body with a content type.
func (e *env) upload(path, token, contentType string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.http.URL+path, body)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(e.t, json.Unmarshal(raw, &r.body), string(raw))
	}
	return r
}

func TestOperatorCyclesPaginateAndDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	viewer := e.operator("op.viewer", accounts.RoleFinanceViewer)

	var months []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		r := e.do("GET", "/v1/cycles?limit=3&cursor="+cursor, viewer, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		for _, item := range r.field("items").([]any) {
			months = append(months, item.(map[string]any)["month"].(string))
		}
		if cursor = r.str("next_cursor"); cursor == "" {
			break
		}
	}
	require.Equal(t, []string{"2026-03", "2026-02", "2025-05", "2025-04", "2025-03", "2025-02", "2025-01"}, months)
	requireProblem(t, e.do("GET", "/v1/cycles?cursor=nonsense", viewer, nil), http.StatusBadRequest, "query.cursor")

	r := e.do("GET", "/v1/cycles/2025-05", viewer, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "released", r.str("state"))
	requireProblem(t, e.do("GET", "/v1/cycles/2024-01", viewer, nil), http.StatusNotFound, "path.month")
	requireProblem(t, e.do("GET", "/v1/cycles/2024-13", viewer, nil), http.StatusBadRequest, "path.month")

	audits := e.count("audit_log")
	r = e.do("GET", "/v1/cycles/2025-05/workbook", viewer, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", r.header.Get("Content-Type"))
	require.Contains(t, r.header.Get("Content-Disposition"), `filename=payout-summary-2025-05.xlsx`)
	require.True(t, strings.HasPrefix(string(r.raw), "PK"))

	r = e.do("GET", "/v1/cycles/2025-05/files", viewer, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.list, 1)
	r = e.do("GET", "/v1/cycles/2025-05/files/ach-2025-05.ach", viewer, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "101 ACH FILE\n", string(r.raw))
	require.Equal(t, `"abc"`, r.header.Get("ETag"))
	require.Equal(t, audits+2, e.count("audit_log"), "downloads are audited")

	// Names never become paths: not in the manifest is 404, a path is 400
	// (or never reaches the route).
	requireProblem(t, e.do("GET", "/v1/cycles/2025-05/files/other.ach", viewer, nil), http.StatusNotFound, "path.name")
	for _, name := range []string{"..%2F..%2Fetc%2Fpasswd", ".hidden", "%2Fetc%2Fpasswd"} {
		r := e.do("GET", "/v1/cycles/2025-05/files/"+name, viewer, nil)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound}, r.status, name)
		require.NotContains(t, string(r.raw), "root:")
	}
}

func TestOperatorApprovalIsNotByTheCloser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	approver := e.operator("op.finance_approver", accounts.RoleFinanceApprover)
	audits := e.count("audit_log")
	// 2026-03 was closed by this approver: refused, nothing recorded.
	r := e.do("POST", "/v1/cycles/2026-03/approve", approver, nil)
	requireProblem(t, r, http.StatusUnprocessableEntity, "path.month")
	require.Equal(t, audits, e.count("audit_log"))

	r = e.do("POST", "/v1/cycles/2026-02/release", approver, nil)
	requireProblem(t, r, http.StatusConflict, "")
	r = e.do("POST", "/v1/cycles/2026-02/approve", approver, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, "operator:op.finance_approver", r.str("approved_by"))
	requireProblem(t, e.do("POST", "/v1/cycles/2026-02/approve", approver, nil), http.StatusConflict, "")
	r = e.do("POST", "/v1/cycles/2026-02/release", approver, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))

	var actions []string
	require.NoError(t, e.db.Select(&actions, `SELECT action FROM audit_log WHERE id > $1 ORDER BY id`, audits))
	require.Equal(t, []string{"cycle.approve", "cycle.release"}, actions)
	var actor string
	require.NoError(t, e.db.Get(&actor, `SELECT actor FROM audit_log WHERE action = 'cycle.approve'`))
	require.Equal(t, "operator:op.finance_approver", actor)
}

func TestOperatorImports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ops := e.operator("op.ops", accounts.RoleOps)
	audits := e.count("audit_log")

	// Every bad row is named; nothing imported.
	r := e.upload("/v1/imports/earnings?name=march.csv", ops, "text/csv", strings.NewReader("id,amount\na,1.5\nb,x\nc,2\nd,y\n"))
	requireProblem(t, r, http.StatusBadRequest, "body.lines[3].amount")
	require.Contains(t, r.errorLocations(), "body.lines[5].amount")
	require.Zero(t, e.ops.imported)

	r = e.upload("/v1/imports/earnings", ops, "text/csv; charset=utf-8", strings.NewReader("id,amount\na,1.5\nb,2\n"))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.EqualValues(t, 2, r.field("imported"))
	require.Equal(t, 2, e.ops.imported)

	requireProblem(t, e.upload("/v1/imports/earnings", ops, "application/json", strings.NewReader(`{}`)), http.StatusUnsupportedMediaType, "header.Content-Type")

	// A body over the limit is 413 and imports nothing.
	big := io.MultiReader(strings.NewReader("id,amount\n"), strings.NewReader(strings.Repeat("a,1\n", admin.MaxImportBytes/4+1)))
	requireProblem(t, e.upload("/v1/imports/earnings", ops, "text/csv", big), http.StatusRequestEntityTooLarge, "body")
	require.Equal(t, 2, e.ops.imported)

	r = e.upload("/v1/imports/returns?name=returns.ach", ops, "text/plain", strings.NewReader("1..."))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	r = e.upload("/v1/imports/fx/2026-02", ops, "text/csv", strings.NewReader("currency,rate,date,source\n"))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	requireProblem(t, e.upload("/v1/imports/fx/2026-2", ops, "text/csv", strings.NewReader("")), http.StatusBadRequest, "path.month")

	r = e.do("POST", "/v1/payout-accounts/7/verification", ops, map[string]any{"status": "rejected"})
	requireProblem(t, r, http.StatusBadRequest, "body.reason")
	r = e.do("POST", "/v1/payout-accounts/8/verification", ops, map[string]any{"status": "verified"})
	requireProblem(t, r, http.StatusNotFound, "path.id")
	r = e.do("POST", "/v1/payout-accounts/7/verification", ops, map[string]any{"status": "rejected", "reason": "R03 no account"})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))

	var actions []string
	require.NoError(t, e.db.Select(&actions, `SELECT action FROM audit_log WHERE id > $1 ORDER BY id`, audits))
	require.Equal(t, []string{"earnings.import", "returns.import", "fx_rates.import", "payout_account.verification"}, actions)

	// finance_viewer reads only.
	viewer := e.operator("op.viewer", accounts.RoleFinanceViewer)
	requireProblem(t, e.upload("/v1/imports/earnings", viewer, "text/csv", strings.NewReader("id,amount\n")), http.StatusForbidden, "")
	requireProblem(t, e.do("POST", "/v1/cycles/2026-02/approve", viewer, nil), http.StatusForbidden, "")
}
