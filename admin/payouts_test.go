package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/testsupport/fixture"
)

// payoutsWorld makes the env's account a payable publisher (verified, a
// verified US bank account, a W-9) and gives it a closed and released
// cycle (2026-11: 120.50 US and 30.00 GB, paid), a line that enters the
// next cycle (60.00, available 2026-11-12) and one not available yet
// (15.00, 2026-12-10); it leaves both clocks at 2026-11-20 and returns
// ada's token signed in again (the old one expired on the way).
func payoutsWorld(t *testing.T, e *env) (*fixture.World, string) {
	t.Helper()
	ctx := context.Background()
	w := fixture.On(t, e.db)
	at := func(text string) {
		w.Set(text)
		e.clock.mu.Lock()
		e.clock.t = fixture.At(text)
		e.clock.mu.Unlock()
	}
	seller := e.account.SellerID
	w.IDs[seller] = e.account.ID
	at("2026-09-15T00:00:00Z")
	require.NoError(t, w.Store.SetAccountStatus(ctx, e.account.ID, "verified", "test"))
	w.PayoutAccount(seller, "US", payout.Bank)
	w.VerifyLatest(seller)
	_, err := w.Taxes.Submit(ctx, e.account.ID, fixture.TaxForm("US", false), "test", w.Now())
	require.NoError(t, err)

	at("2026-10-10T00:00:00Z")
	w.Earn(seller, "US", "120.50", "2026-10-20T00:00:00Z")
	w.Earn(seller, "GB", "30.00", "2026-10-25T00:00:00Z")
	at("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	require.Equal(t, "paid", w.Payout("2026-11", seller).Status)
	at("2026-11-06T09:00:00Z")
	releaser := &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: t.TempDir(),
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN TEST", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}}
	_, err = releaser.Release(ctx, fixture.Month("2026-11"), "ops")
	require.NoError(t, err)

	at("2026-11-10T00:00:00Z")
	w.Earn(seller, "US", "60.00", "2026-11-12T00:00:00Z")
	w.Earn(seller, "DE", "15.00", "2026-12-10T00:00:00Z")
	at("2026-11-20T00:00:00Z")
	return w, e.signIn("ada@contoso.onmicrosoft.com", adminPassword)
}

// items decodes a page's items.
func items(t *testing.T, r response) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	var page struct {
		Items []map[string]any `json:"items"`
	}
	require.NoError(t, json.Unmarshal(r.raw, &page))
	return page.Items
}

// The three endpoints on a publisher with a closed and released cycle:
// the balance by state reconciles and names the next payment, the payment
// is listed with its destination masked, every line has its state and the
// paid ones their payment; filters and cursor pages work.
func TestPublisherPayoutsOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, token := payoutsWorld(t, e)

	r := e.do("GET", e.acct("/payouts/summary"), token, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	var summary publisher.Summary
	require.NoError(t, json.Unmarshal(r.raw, &summary))
	require.Equal(t, e.account.SellerID, summary.SellerID)
	require.True(t, summary.Reconciled)
	require.Equal(t, "75.00", summary.Balance)
	require.Equal(t, "60.00", summary.Upcoming.Amount)
	require.Equal(t, "15.00", summary.Unprocessed.Amount)
	require.Equal(t, []publisher.UnprocessedPart{{AvailableOn: "2026-12-10", Amount: "15.00", Lines: 1}}, summary.Unprocessed.Parts)
	require.Equal(t, publisher.InTransit{Amount: "150.50", Payments: 1}, summary.InTransit)
	require.Equal(t, publisher.YearToDate{Year: 2026, Sent: "150.50", Withheld: "0.00"}, summary.YearToDate)
	next := summary.NextPayment
	require.Equal(t, "2026-12", next.Cycle)
	require.Equal(t, "paid", next.Status)
	require.Equal(t, "60.00", next.PayableUSD)
	require.Equal(t, "bank", next.Method)
	require.Equal(t, "2026-12-15", next.PaymentDate)
	require.Equal(t, []any{}, r.field("held", "reasons"), "empty lists are [] in JSON, never null")

	r = e.do("GET", e.acct("/payments"), token, nil)
	payments := items(t, r)
	require.Len(t, payments, 1)
	require.Equal(t, "2026-11", payments[0]["cycle"])
	require.Equal(t, "sent", payments[0]["status"])
	require.Equal(t, "150.50", payments[0]["amount_usd"])
	require.Equal(t, "*****6789", payments[0]["destination"])
	require.NotContains(t, string(r.raw), "123456789", "the account number is masked")
	paymentID := payments[0]["payment_id"].(string)
	require.Empty(t, items(t, e.do("GET", e.acct("/payments?year=2025"), token, nil)))
	require.Len(t, items(t, e.do("GET", e.acct("/payments?year=2026&status=sent"), token, nil)), 1)
	require.Empty(t, items(t, e.do("GET", e.acct("/payments?status=settled"), token, nil)))

	// The year-end data of the W-9 publisher: its 1099 for 2026, TIN masked.
	r = e.do("GET", e.acct("/tax-documents"), token, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	var documents struct {
		Years []publisher.TaxYear `json:"years"`
	}
	require.NoError(t, json.Unmarshal(r.raw, &documents))
	require.Len(t, documents.Years, 1)
	require.Equal(t, 2026, documents.Years[0].Year)
	require.Empty(t, documents.Years[0].Form1042S)
	require.Equal(t, &publisher.Form1099{Form: "1099-MISC", RecipientName: "Test Person", MaskedTIN: "*****6789", Gross: "120.50",
		Withheld: "0.00", Transactions: 1}, documents.Years[0].Form1099)
	require.NotContains(t, string(r.raw), "123456789", "the TIN is masked")

	lines := items(t, e.do("GET", e.acct("/transactions"), token, nil))
	require.Len(t, lines, 4)
	states := map[string]string{}
	for _, line := range lines {
		states[line["amount"].(string)] = line["state"].(string)
		if line["state"] == publisher.LineSent {
			require.Equal(t, paymentID, line["payment_id"])
			require.Equal(t, "0.00", line["withheld"])
		}
	}
	require.Equal(t, map[string]string{"15.00": "unprocessed", "60.00": "upcoming", "120.50": "sent", "30.00": "sent"}, states)
	require.Len(t, items(t, e.do("GET", e.acct("/transactions?state=sent"), token, nil)), 2)
	require.Len(t, items(t, e.do("GET", e.acct("/transactions?market=GB&revenue_source=app&transaction_type=purchase"), token, nil)), 1)
	require.Len(t, items(t, e.do("GET", e.acct("/transactions?from=2026-11&to=2026-12"), token, nil)), 2)
	require.Len(t, items(t, e.do("GET", e.acct("/transactions?from=2024-12&to=2026-11"), token, nil)), 3, "24 months is the longest range")

	// Cursor pages of one line: the same lines in the same order.
	var paged []map[string]any
	cursor := ""
	for range 10 {
		r := e.do("GET", e.acct("/transactions?limit=1&cursor="+cursor), token, nil)
		page := items(t, r)
		paged = append(paged, page...)
		cursor = r.str("next_cursor")
		if cursor == "" {
			break
		}
	}
	require.Equal(t, lines, paged)

	// Operators read any account.
	_, temporary, err := accounts.CreateOperator(context.Background(), e.db, accounts.NewOperator{UserName: "op.viewer", Roles: []accounts.Role{accounts.RoleFinanceViewer}}, e.clock.now())
	require.NoError(t, err)
	r = e.do("POST", "/v1/me/password", e.signIn("op.viewer", temporary), map[string]any{"current_password": temporary, "new_password": "viewer password 1"})
	require.Equal(t, http.StatusNoContent, r.status, string(r.raw))
	viewer := e.signIn("op.viewer", "viewer password 1")
	require.Len(t, items(t, e.do("GET", e.acct("/payments"), viewer, nil)), 1)
}

// Bad input is a 400 naming the parameter: unknown parameters (huma
// refuses them only when the operation asks), values outside a filter's
// set, malformed months, years and cursors, inverted and over-long ranges
// (the domain's field errors, located at query.<name>), limits out of
// range and control characters.
func TestPayoutsBadInputNamesTheParameter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ query, location string }{
		{"/payouts/summary?verbose=1", "query.verbose"},
		{"/payments?bogus=1", "query.bogus"},
		{"/payments?year=2026&stauts=sent", "query.stauts"},
		{"/transactions?stat=held", "query.stat"},
		{"/payments?status=paid", "query.status"},
		{"/payments?year=1999", "query.year"},
		{"/payments?year=twenty", "query.year"},
		{"/payments?cursor=November", "query.cursor"},
		{"/payments?limit=0", "query.limit"},
		{"/payments?limit=101", "query.limit"},
		{"/transactions?state=lost", "query.state"},
		{"/transactions?state=held%00", "query.state"},
		{"/transactions?revenue_source=tv", "query.revenue_source"},
		{"/transactions?transaction_type=gift", "query.transaction_type"},
		{"/transactions?market=us", "query.market"},
		{"/transactions?from=2026-13", "query.from"},
		{"/transactions?to=November", "query.to"},
		{"/transactions?from=2026-05&to=2026-03", "query.to"},
		{"/transactions?from=2024-01&to=2026-01", "query.to"},
		{"/transactions?cursor=not-a-cursor!", "query.cursor"},
		{"/transactions?cursor=" + strings.Repeat("A", 600), "query.cursor"},
		{"/transactions?limit=-1", "query.limit"},
		{"/transactions?limit=1000", "query.limit"},
	} {
		r := e.do("GET", e.acct(c.query), e.token, nil)
		requireProblem(t, r, http.StatusBadRequest, c.location)
		require.Len(t, r.errorLocations(), 1, "%s: %s", c.query, r.raw)
	}
	// The domain's own message comes through.
	r := e.do("GET", e.acct("/transactions?from=2024-01&to=2026-01"), e.token, nil)
	require.Contains(t, string(r.raw), "more than 24 months")
	r = e.do("GET", e.acct("/transactions?from=2026-05&to=2026-03"), e.token, nil)
	require.Contains(t, string(r.raw), "before from")
}

// Another account's seller id answers 404, as everywhere in the API; an
// unknown one too.
func TestPayoutsOfAnotherAccountAre404(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other, err := ledger.CreateAccount(context.Background(), e.db, ledger.NewAccount{Type: ledger.Company, RegistrationCountry: "US", DisplayName: "Fabrikam"}, e.clock.now())
	require.NoError(t, err)
	for _, seller := range []string{other.SellerID, "S999999999"} {
		for _, suffix := range []string{"/payouts/summary", "/payments", "/transactions?state=sent", "/tax-documents"} {
			r := e.do("GET", "/v1/accounts/"+seller+suffix, e.token, nil)
			requireProblem(t, r, http.StatusNotFound, "path.seller_id")
		}
	}
}

// Who reads payouts, stated here rather than derived from the role table
// (TestAuthorisationMatrix derives it): the account's owner and financial
// contributors and the finance operators; not managers, business
// contributors, developers, marketers or ops.
func TestPayoutsReadByOwnerFinancialContributorAndFinanceOperators(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tokens := map[string]string{"owner": e.token}
	for _, role := range []accounts.Role{accounts.RoleFinancialContributor, accounts.RoleManager, accounts.RoleBusinessContributor,
		accounts.RoleDeveloper, accounts.RoleMarketer} {
		tokens[string(role)], _ = e.user("u_"+string(role), false, role)
	}
	for _, role := range []accounts.Role{accounts.RoleFinanceViewer, accounts.RoleFinanceApprover, accounts.RoleOps} {
		name := "op." + string(role)
		_, temporary, err := accounts.CreateOperator(ctx, e.db, accounts.NewOperator{UserName: name, Roles: []accounts.Role{role}}, e.clock.now())
		require.NoError(t, err)
		r := e.do("POST", "/v1/me/password", e.signIn(name, temporary), map[string]any{"current_password": temporary, "new_password": "operator password 1"})
		require.Equal(t, http.StatusNoContent, r.status, string(r.raw))
		tokens[string(role)] = e.signIn(name, "operator password 1")
	}
	allowed := []string{"owner", "financial_contributor", "finance_viewer", "finance_approver"}
	for role, token := range tokens {
		for _, suffix := range []string{"/payouts/summary", "/payments", "/transactions", "/tax-documents"} {
			r := e.do("GET", e.acct(suffix), token, nil)
			if slices.Contains(allowed, role) {
				require.Equal(t, http.StatusOK, r.status, "%s %s: %s", role, suffix, r.raw)
				continue
			}
			requireProblem(t, r, http.StatusForbidden, "")
			require.Contains(t, r.str("detail"), "payouts.read", "%s %s", role, suffix)
		}
	}
}

// The filters and export fields the OpenAPI document lists are exactly the
// domain's.
func TestPayoutsFilterEnumsAreTheDomains(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string `json:"name"`
				In     string `json:"in"`
				Schema struct {
					Enum []string `json:"enum"`
				} `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	enum := func(path, name string) []string {
		for _, p := range doc.Paths[path]["get"].Parameters {
			if p.In == "query" && p.Name == name {
				return p.Schema.Enum
			}
		}
		t.Fatalf("%s has no query parameter %s", path, name)
		return nil
	}
	require.Equal(t, publisher.PaymentStatuses, enum("/v1/accounts/{seller_id}/payments", "status"))
	require.Equal(t, publisher.LineStates, enum("/v1/accounts/{seller_id}/transactions", "state"))
	require.Equal(t, ledger.RevenueSources, enum("/v1/accounts/{seller_id}/transactions", "revenue_source"))
	require.Equal(t, ledger.TransactionTypes, enum("/v1/accounts/{seller_id}/transactions", "transaction_type"))

	var body struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(raw, &body))
	request := body.Components.Schemas["StartExportInputBody"].Properties
	require.Equal(t, publisher.ExportKinds, request["kind"].Enum)
	require.Equal(t, publisher.ExportFormats, request["format"].Enum)
}

// Exports over HTTP: POST records the export and answers 202 with its
// Location (queued: the job writes it); the file is a 409 until the job
// ran, then streams with its sha256 as the ETag; creating and downloading
// are audited; Idempotency-Key replays the first export; bad requests are
// 400s naming the field; another account's export, an unknown one, are
// 404s.
func TestPayoutsExportsOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, token := payoutsWorld(t, e)
	ctx := context.Background()

	r := e.do("POST", e.acct("/payouts/exports"), token, map[string]any{"kind": "transactions", "format": "csv", "from": "2026-10", "to": "2026-12"},
		"Idempotency-Key", "export-1")
	require.Equal(t, http.StatusAccepted, r.status, string(r.raw))
	id := r.str("id")
	require.Equal(t, e.acct("/payouts/exports/"+id), r.header.Get("Location"))
	require.Equal(t, publisher.ExportQueued, r.str("status"))
	again := e.do("POST", e.acct("/payouts/exports"), token, map[string]any{"kind": "transactions", "format": "csv", "from": "2026-10", "to": "2026-12"},
		"Idempotency-Key", "export-1")
	require.Equal(t, http.StatusAccepted, again.status, string(again.raw))
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.Equal(t, id, again.str("id"), "the same key and body replay the first export")
	require.Equal(t, 1, e.count("payout_exports"))

	r = e.do("GET", r.header.Get("Location"), token, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, publisher.ExportQueued, r.str("status"))
	requireProblem(t, e.do("GET", e.acct("/payouts/exports/"+id+"/file"), token, nil), http.StatusConflict, "path.id")

	// The job's work.
	_, err := e.payouts.RunExport(ctx, id)
	require.NoError(t, err)
	r = e.do("GET", e.acct("/payouts/exports/"+id), token, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, publisher.ExportDone, r.str("status"))
	require.EqualValues(t, 4, r.field("rows"))
	sha := r.str("sha256")
	r = e.do("GET", e.acct("/payouts/exports/"+id+"/file"), token, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, "text/csv; charset=utf-8", r.header.Get("Content-Type"))
	require.Equal(t, `attachment; filename=`+e.account.SellerID+`-transactions-2026-10-2026-12.csv`, r.header.Get("Content-Disposition"))
	require.Equal(t, `"`+sha+`"`, r.header.Get("ETag"))
	csvLines := strings.Split(strings.TrimSpace(string(r.raw)), "\n")
	require.Len(t, csvLines, 5, string(r.raw))
	require.Equal(t, strings.Join(publisher.TransactionColumns, ","), strings.TrimSpace(csvLines[0]))

	// Payments as xlsx.
	r = e.do("POST", e.acct("/payouts/exports"), token, map[string]any{"kind": "payments", "format": "xlsx", "from": "2026-01", "to": "2026-12"})
	require.Equal(t, http.StatusAccepted, r.status, string(r.raw))
	_, err = e.payouts.RunExport(ctx, r.str("id"))
	require.NoError(t, err)
	r = e.do("GET", e.acct("/payouts/exports/"+r.str("id")+"/file"), token, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", r.header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(string(r.raw), "PK"), "an xlsx is a zip")

	var audited []string
	require.NoError(t, e.db.Select(&audited, `SELECT action FROM audit_log WHERE action LIKE 'payouts_export.%' ORDER BY id`))
	require.Equal(t, []string{"payouts_export.create", "payouts_export.download", "payouts_export.create", "payouts_export.download"}, audited)

	// Bad requests name the field.
	for _, c := range []struct {
		body     map[string]any
		location string
	}{
		{map[string]any{"kind": "invoices", "format": "csv", "from": "2026-01", "to": "2026-02"}, "body.kind"},
		{map[string]any{"kind": "payments", "format": "pdf", "from": "2026-01", "to": "2026-02"}, "body.format"},
		{map[string]any{"kind": "payments", "format": "csv", "from": "January", "to": "2026-02"}, "body.from"},
		{map[string]any{"kind": "payments", "format": "csv", "from": "2026-05", "to": "2026-02"}, "body.to"},
		{map[string]any{"kind": "payments", "format": "csv", "from": "2024-01", "to": "2026-01"}, "body.to"},
		{map[string]any{"kind": "payments", "format": "csv", "from": "2026-01", "to": "2026-02", "compress": true}, "body.compress"},
	} {
		requireProblem(t, e.do("POST", e.acct("/payouts/exports"), token, c.body), http.StatusBadRequest, c.location)
	}
	requireProblem(t, e.do("POST", e.acct("/payouts/exports?async=false"), token, map[string]any{"kind": "payments", "format": "csv", "from": "2026-01", "to": "2026-02"}),
		http.StatusBadRequest, "query.async")
	requireProblem(t, e.do("GET", e.acct("/payouts/exports/not-an-id"), token, nil), http.StatusBadRequest, "path.id")
	requireProblem(t, e.do("GET", e.acct("/payouts/exports/"+strings.Repeat("A", 26)), token, nil), http.StatusNotFound, "path.id")

	// Another account's export is unknown here.
	other, err := ledger.CreateAccount(ctx, e.db, ledger.NewAccount{Type: ledger.Company, RegistrationCountry: "US", DisplayName: "Fabrikam"}, e.clock.now())
	require.NoError(t, err)
	theirs, err := e.payouts.StartExport(ctx, other.ID, publisher.ExportRequest{Kind: "payments", Format: "csv", From: "2026-01", To: "2026-02"}, "test")
	require.NoError(t, err)
	requireProblem(t, e.do("GET", e.acct("/payouts/exports/"+theirs.ID), token, nil), http.StatusNotFound, "path.id")
	requireProblem(t, e.do("GET", e.acct("/payouts/exports/"+theirs.ID+"/file"), token, nil), http.StatusNotFound, "path.id")
	requireProblem(t, e.do("GET", "/v1/accounts/"+other.SellerID+"/payouts/exports/"+theirs.ID, token, nil), http.StatusNotFound, "path.seller_id")
}
