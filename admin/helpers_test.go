package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// clock is a settable test clock, safe for the server's goroutines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const adminPassword = "correct horse battery"

// env is one test's server over its own database: a company account with a
// tenant whose global administrator (ada) holds the owner role.
type env struct {
	t       testing.TB
	db      *sqlx.DB
	server  *admin.Server
	svc     *accounts.Service
	http    *httptest.Server
	clock   *clock
	fin     *memoryFinancials
	ops     *memoryOperations
	payouts *publisher.Service
	outDir  string
	account ledger.Account
	tenant  accounts.Tenant
	token   string // ada's token
}

// configure, when given, adjusts the server before it serves anything.
func newEnv(t testing.TB, configure ...func(*admin.Server)) *env {
	t.Helper()
	database := dbtest.New(t)
	c := &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	fin := newMemoryFinancials()
	ops := newMemoryOperations()
	out := t.TempDir()
	payouts := payoutsOn(t, database, c.now)
	server := admin.New(admin.Config{DB: database, Clock: c.now, OutDir: out, Financials: fin, Operations: ops, Payouts: payouts})
	for _, f := range configure {
		f(server)
	}
	ts := httptest.NewServer(server.Handler())
	t.Cleanup(ts.Close)
	ctx := context.Background()
	account, err := ledger.CreateAccount(ctx, database, ledger.NewAccount{Type: ledger.Company, RegistrationCountry: "US", DisplayName: "Contoso"}, c.now())
	require.NoError(t, err)
	svc := server.Service()
	tenant, err := svc.CreateTenant(ctx, accounts.System("test"), account.ID, accounts.CreateTenantRequest{
		DomainName: "contoso", Organization: "Contoso Ltd", ContactEmail: "it@contoso.example",
		AdminFirstName: "Ada", AdminLastName: "Admin", AdminUserName: "ada", AdminPassword: adminPassword})
	require.NoError(t, err)
	e := &env{t: t, db: database, server: server, svc: svc, http: ts, clock: c, fin: fin, ops: ops, payouts: payouts, outDir: out, account: account, tenant: tenant}
	e.token = e.signIn("ada@contoso.onmicrosoft.com", adminPassword)
	return e
}

// payoutsOn is the real publisher payouts service over database (the
// fixture's development sealing key, the default policy). Exports are
// recorded and never run by a job: a test runs one itself (RunExport).
func payoutsOn(t testing.TB, database *sqlx.DB, now func() time.Time) *publisher.Service {
	t.Helper()
	sealer, err := secret.FromConfig("", true)
	require.NoError(t, err)
	return &publisher.Service{DB: database, Store: &store.Store{DB: database, Sealer: sealer, Clock: now}, Clock: now,
		Policy:  func() (payout.Policy, error) { return payout.DefaultPolicy(), nil },
		OutDir:  t.TempDir(),
		Enqueue: func(context.Context, pgx.Tx, string, time.Time) error { return nil }}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	list   []any
	raw    []byte
}

func (r response) field(path ...string) any {
	var v any = r.body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func (r response) str(path ...string) string { s, _ := r.field(path...).(string); return s }

// errorLocations lists the locations of a problem's field errors.
func (r response) errorLocations() []string {
	var out []string
	list, _ := r.body["errors"].([]any)
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			loc, _ := m["location"].(string)
			out = append(out, loc)
		}
	}
	return out
}

// do sends a request; body may be nil, a string (sent as is) or a value
// (JSON-encoded). headers are name, value pairs.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.http.URL+path, reader)
	require.NoError(e.t, err)
	if reader != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
		if raw[0] == '{' {
			require.NoError(e.t, json.Unmarshal(raw, &r.body), string(raw))
		} else {
			require.NoError(e.t, json.Unmarshal(raw, &r.list), string(raw))
		}
	}
	return r
}

func (e *env) signIn(name, password string) string {
	e.t.Helper()
	r := e.do("POST", "/v1/token", "", map[string]any{"grant_type": "password", "username": name, "password": password})
	require.Equal(e.t, http.StatusOK, r.status, string(r.raw))
	return r.str("access_token")
}

func (e *env) acct(suffix string) string { return "/v1/accounts/" + e.account.SellerID + suffix }

// count returns a table's row count.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.db.Get(&n, `SELECT count(*) FROM `+table))
	return n
}

// requireProblem checks a problem+json answer with a field error at loc.
func requireProblem(t *testing.T, r response, status int, loc string) {
	t.Helper()
	require.Equal(t, status, r.status, string(r.raw))
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"), string(r.raw))
	if loc != "" {
		require.Contains(t, r.errorLocations(), loc, string(r.raw))
	}
}

// memoryFinancials is an in-memory Financials used only to test routing and
// permissions of the financial endpoints; the real services replace it.
type memoryFinancials struct {
	mu     sync.Mutex
	payout map[int64]admin.PayoutAccount
	hold   map[int64]admin.PaymentHold
	tax    map[int64]admin.TaxProfile
}

func newMemoryFinancials() *memoryFinancials {
	return &memoryFinancials{payout: map[int64]admin.PayoutAccount{}, hold: map[int64]admin.PaymentHold{}, tax: map[int64]admin.TaxProfile{}}
}

func (m *memoryFinancials) PayoutAccount(_ context.Context, id int64) (admin.PayoutAccount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.payout[id]
	if p.Version == "" {
		p.Version = "0"
	}
	return p, nil
}

// stale is the fake's If-Match check: the version is the count of changes.
func stale(current, version string) error {
	if current == "" {
		current = "0"
	}
	if version != current {
		return &accounts.Error{Kind: accounts.KindStale, Field: "If-Match", Reason: "changed since it was read"}
	}
	return nil
}

func next(version string) string {
	n := 0
	fmt.Sscan(version, &n)
	return fmt.Sprint(n + 1)
}

func (m *memoryFinancials) SetPayoutAccount(_ context.Context, id int64, version string, in admin.PayoutAccountInput, _ accounts.Principal) (admin.PayoutAccount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := stale(m.payout[id].Version, version); err != nil {
		return admin.PayoutAccount{}, err
	}
	masked := ""
	if n := in.AccountNumber + in.IBAN; len(n) >= 4 {
		masked = "****" + n[len(n)-4:]
	}
	p := admin.PayoutAccount{Method: in.Method, HolderName: in.HolderName, Currency: in.Currency, AccountNumberMasked: masked, Status: "pending_verification",
		Version: next(version)}
	m.payout[id] = p
	return p, nil
}

func (m *memoryFinancials) TaxProfile(_ context.Context, id int64) (admin.TaxProfile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.tax[id]
	if !ok {
		p.Status = "missing"
	}
	return p, nil
}

func (m *memoryFinancials) SubmitTaxForm(_ context.Context, id int64, form json.RawMessage, _ accounts.Principal) (admin.TaxProfile, error) {
	var f struct {
		Form string `json:"form"`
	}
	if err := json.Unmarshal(form, &f); err != nil || f.Form == "" {
		return admin.TaxProfile{}, &accounts.Error{Kind: accounts.KindInvalid, Field: "form", Reason: "required"}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tax[id] = admin.TaxProfile{Form: f.Form, Status: "valid"}
	return m.tax[id], nil
}

func (m *memoryFinancials) Hold(_ context.Context, id int64) (admin.PaymentHold, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.hold[id]
	if h.Version == "" {
		h.Version = "0"
	}
	return h, nil
}

func (m *memoryFinancials) SetHold(_ context.Context, id int64, version string, on bool, actor accounts.Principal) (admin.PaymentHold, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := stale(m.hold[id].Version, version); err != nil {
		return admin.PaymentHold{}, err
	}
	m.hold[id] = admin.PaymentHold{On: on, ChangedBy: actor.Actor(), Version: next(version)}
	return m.hold[id], nil
}

func (m *memoryFinancials) Statements(context.Context, int64, string, int) ([]admin.Statement, string, error) {
	return []admin.Statement{{Month: "2026-02", Status: "paid", Paid: "12.34"}}, "", nil
}
