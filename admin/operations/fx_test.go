package operations_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/admin/operations"
	"github.com/payrun/payrun/testsupport/fixture"
)

// POST /v1/imports/fx/{month}: plain decimals only (400 naming the line and
// column); a move beyond fx_max_change is a 422 at query.confirm_change
// showing both rates until confirm_change=true; a re-import replaces a rate
// until the cycle closes (the audit log and fx_rate_changes hold before and
// after, by the signed-in operator) and is a 409 naming the state after.
func TestFXImportOverHTTPConfirmsAndCorrects(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	service := &operations.Service{DB: w.DB, Store: w.Store, Clock: w.Now, TempDir: t.TempDir()}
	server := admin.New(admin.Config{DB: w.DB, Clock: w.Now, OutDir: t.TempDir(), Operations: service})
	ts := httptest.NewServer(server.Handler())
	t.Cleanup(ts.Close)
	h := &harness{t: t, w: w, server: ts}
	w.Set("2026-10-03T09:00:00Z")
	ops := h.operator("op.fx", accounts.RoleOps)()
	csv := func(line string) []byte { return []byte("currency,rate,date,source\n" + line + "\n") }

	a := h.call("POST", "/v1/imports/fx/2026-10", ops, "text/csv", csv("EUR,0.9335,2026-10-03,ECB"))
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	require.EqualValues(t, 1, a.body["added"])

	w.Set("2026-11-02T09:00:00Z")
	login := h.operator("op.fx2", accounts.RoleOps)
	ops = login()
	a = h.call("POST", "/v1/imports/fx/2026-11", ops, "text/csv", csv("EUR,1e3,2026-11-01,ECB"))
	require.Equal(t, http.StatusBadRequest, a.status, string(a.raw))
	require.Equal(t, []string{"body.lines[2].rate"}, a.locations())

	a = h.call("POST", "/v1/imports/fx/2026-11", ops, "text/csv", csv("EUR,93.35,2026-11-01,ECB"))
	require.Equal(t, http.StatusUnprocessableEntity, a.status, string(a.raw))
	require.Equal(t, []string{"query.confirm_change"}, a.locations())
	require.Contains(t, a.str("detail"), "EUR 93.35 moves +9900.00% from 2026-10's rate 0.9335")
	require.Zero(t, h.count(`SELECT count(*) FROM fx_rates WHERE month = '2026-11-01'`))

	a = h.call("POST", "/v1/imports/fx/2026-11?confirm_change=true", ops, "text/csv", csv("EUR,93.35,2026-11-01,ECB"))
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	var result admin.FXImport
	require.NoError(t, json.Unmarshal(a.raw, &result))
	require.Equal(t, admin.FXImport{Month: "2026-11", Added: 1, Changes: []admin.FXRateChange{{Currency: "EUR", After: "93.35",
		PreviousMonth: "2026-10", PreviousRate: "0.9335", ChangePercent: "+9900.00", Confirmed: true}}}, result)

	a = h.call("POST", "/v1/imports/fx/2026-11", ops, "text/csv", csv("EUR,0.9340,2026-11-02,ECB"))
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	result = admin.FXImport{}
	require.NoError(t, json.Unmarshal(a.raw, &result))
	require.Equal(t, admin.FXImport{Month: "2026-11", Replaced: 1, Changes: []admin.FXRateChange{{Currency: "EUR", Before: "93.35", After: "0.934",
		PreviousMonth: "2026-10", PreviousRate: "0.9335", ChangePercent: "+0.05"}}}, result)
	var audited string
	require.NoError(t, w.DB.Get(&audited, `SELECT after->'changes'->0->>'before' FROM audit_log WHERE action = 'fx_rates.import' ORDER BY id DESC LIMIT 1`))
	require.Equal(t, "93.35", audited)
	require.Equal(t, 2, h.count(`SELECT count(*) FROM fx_rate_changes WHERE month = '2026-11-01' AND changed_by = 'operator:op.fx2'`))

	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	ops = login()
	a = h.call("POST", "/v1/imports/fx/2026-11?confirm_change=true", ops, "text/csv", csv("EUR,0.95,2026-11-04,ECB"))
	require.Equal(t, http.StatusConflict, a.status, string(a.raw))
	require.Contains(t, a.str("detail"), "the 2026-11 cycle is closed")
}
