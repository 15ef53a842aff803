package console_test

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/admin/operations"
	"github.com/payrun/payrun/console"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/review"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

// site is the console over a small closed marketplace (fixture), served
// in-process with the real admin server, operations and review services.
type site struct {
	t   *testing.T
	w   *fixture.World
	srv *httptest.Server
	api *admin.Server
}

// password is every test operator's own password (after the one-time one).
const password = "a long operator password"

// newSite builds October's marketplace and closes November's cycle as the
// operator closer (maker-checker on), then serves the console.
func newSite(t *testing.T) *site {
	t.Helper()
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	for i, o := range []fixture.Publisher{{}, {Country: "DE"}, {Country: "GB", Treaty: true}, {NoTax: true}, {UnverifiedPay: true},
		{Method: payout.PayPal, Country: "DE"}, {}, {Country: "GB"}, {}, {}} {
		w.Publisher("P"+string(rune('A'+i)), o)
	}
	w.Set("2026-10-10T00:00:00Z")
	for i, amount := range []string{"120.004", "150.5", "300", "75", "75", "200", "49.99", "1000", "-30", "65.43"} {
		w.Earn("P"+string(rune('A'+i)), []string{"US", "GB"}[i%2], amount, "2026-10-20T00:00:00Z")
	}
	w.Set("2026-12-02T09:00:00Z")
	out := t.TempDir()
	ops := &operations.Service{DB: w.DB, Store: w.Store, OutDir: out, Clock: w.Now,
		Releaser: func() (*release.Releaser, error) { return nil, os.ErrNotExist }, Policy: payout.DefaultPolicy()}
	api := admin.New(admin.Config{DB: w.DB, Clock: w.Now, OutDir: out, Operations: ops})
	c, err := console.New(console.Config{API: api, Review: &review.Service{DB: w.DB, Clock: w.Now}, Clock: w.Now,
		Schedules: []console.Schedule{{Job: "close-cycle", Spec: "0 6 5 * *"}}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/v1/", api.Handler())
	mux.Handle(console.Prefix, c.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &site{t: t, w: w, srv: srv, api: api}
}

// operator creates an operator with role and a password of its own.
func (s *site) operator(name string, role accounts.Role) int64 {
	s.t.Helper()
	op, temporary, err := accounts.CreateOperator(context.Background(), s.w.DB, accounts.NewOperator{UserName: name, Roles: []accounts.Role{role}}, s.w.Now())
	require.NoError(s.t, err)
	b := s.browser()
	b.signIn(name, temporary, "/console/password")
	b.get("/console/password")
	b.post("/console/password", url.Values{"current_password": {temporary}, "new_password": {password}, "new_password_again": {password}},
		http.StatusSeeOther, "/console/sign-in?done=password-changed")
	return op.ID
}

// closeAs closes November 2026 as the operator id, maker-checker on.
func (s *site) closeAs(id int64) {
	s.t.Helper()
	s.w.Close("2026-11", func(o *store.CloseOptions) {
		o.Operator = id
		o.Policy.Approval = true
	})
}

// closedByCloser closes November as the finance approver "closer" and
// returns its id and a browser signed in as it.
func (s *site) closedByCloser() (int64, *browser) {
	s.t.Helper()
	closer := s.operator("closer", accounts.RoleFinanceApprover)
	s.closeAs(closer)
	b := s.browser()
	b.signIn("closer", password, "/console/cycles")
	return closer, b
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each answer.
type browser struct {
	s      *site
	client *http.Client
	page   string // the last page's body
}

func (s *site) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(s.t, err)
	return &browser{s: s, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status   int
	body     string
	header   http.Header
	location string
}

func (b *browser) do(req *http.Request) answer {
	b.s.t.Helper()
	res, err := b.client.Do(req)
	require.NoError(b.s.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b.s.t, err)
	a := answer{status: res.StatusCode, body: string(body), header: res.Header, location: res.Header.Get("Location")}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		b.page = a.body
	}
	return a
}

func (b *browser) get(path string) answer {
	b.s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.s.srv.URL+path, nil)
	require.NoError(b.s.t, err)
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token of the last page's forms.
func (b *browser) csrf() string {
	m := csrfInput.FindStringSubmatch(b.page)
	require.NotNil(b.s.t, m, "no form with a csrf token on the last page")
	return m[1]
}

// post sends a form from the last page (its csrf token added unless the
// form sets one) as a browser on this site would, and checks the answer.
func (b *browser) post(path string, form url.Values, status int, location string) answer {
	b.s.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf())
	}
	req, err := http.NewRequest(http.MethodPost, b.s.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.s.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.s.srv.URL)
	a := b.do(req)
	require.Equal(b.s.t, status, a.status, "POST %s: %s", path, a.body)
	if location != "" {
		require.Equal(b.s.t, location, a.location)
	}
	return a
}

// signIn signs in from the sign-in page and expects a redirect to then.
func (b *browser) signIn(name, pass, then string) {
	b.s.t.Helper()
	require.Equal(b.s.t, http.StatusOK, b.get("/console/sign-in").status)
	b.post("/console/sign-in", url.Values{"name": {name}, "password": {pass}}, http.StatusSeeOther, then)
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.s.srv.URL + "/console/")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (s *site) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	require.NoError(s.t, s.w.DB.Get(&n, query, args...))
	return n
}

// The session: a one-time password opens only the password page; the
// cookie is HttpOnly, SameSite=Strict and console-scoped; it is not an API
// token (nor the reverse); it ends after 30 idle minutes, slides with use,
// and signing out revokes it. Every sign-in and sign-out is audited with
// the operator's id.
func TestSessions(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	op, temporary, err := accounts.CreateOperator(context.Background(), s.w.DB, accounts.NewOperator{UserName: "vera", Roles: []accounts.Role{accounts.RoleFinanceViewer}}, s.w.Now())
	require.NoError(t, err)
	b := s.browser()

	a := b.get("/console/cycles")
	require.Equal(t, http.StatusSeeOther, a.status)
	require.Equal(t, "/console/sign-in?next=%2Fconsole%2Fcycles", a.location)

	// The sign-in form's own CSRF check (double submit).
	require.Equal(t, http.StatusOK, b.get("/console/sign-in").status)
	b.post("/console/sign-in", url.Values{"name": {"vera"}, "password": {temporary}, "csrf": {"forged"}}, http.StatusForbidden, "")
	b.post("/console/sign-in", url.Values{"name": {"vera"}, "password": {"wrong password!"}}, http.StatusUnauthorized, "")
	require.Contains(t, b.page, "The name or the password is wrong.")
	b.post("/console/sign-in", url.Values{"name": {"vera"}, "password": {temporary}}, http.StatusSeeOther, "/console/password")
	c := b.cookie("payrun_console")
	require.NotNil(t, c)

	// Restricted: only the password page.
	a = b.get("/console/cycles")
	require.Equal(t, http.StatusSeeOther, a.status)
	require.Equal(t, "/console/password", a.location)
	require.Equal(t, http.StatusOK, b.get("/console/password").status)
	b.post("/console/password", url.Values{"current_password": {temporary}, "new_password": {password}, "new_password_again": {"something else entirely"}},
		http.StatusBadRequest, "")
	require.Contains(t, b.page, "new_password_again")
	b.post("/console/password", url.Values{"current_password": {temporary}, "new_password": {password}, "new_password_again": {password}},
		http.StatusSeeOther, "/console/sign-in?done=password-changed")
	a = b.get("/console/password")
	require.Equal(t, http.StatusSeeOther, a.status, "changing the password ended the session")

	// A full session, back where it was asked for.
	require.Equal(t, http.StatusOK, b.get("/console/sign-in?next=%2Fconsole%2Fjobs").status)
	b.post("/console/sign-in", url.Values{"name": {"vera"}, "password": {password}, "next": {"/console/jobs"}}, http.StatusSeeOther, "/console/jobs")
	require.Equal(t, http.StatusOK, b.get("/console/jobs").status)

	// The cookie's attributes, as sent.
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/console/sign-in", nil)
	fresh := s.browser()
	sent := fresh.do(req)
	pre := sent.header.Get("Set-Cookie")
	require.Contains(t, pre, "HttpOnly")
	require.Contains(t, pre, "SameSite=Strict")
	require.Contains(t, pre, "Path=/console/")
	require.NotContains(t, pre, "Secure", "plain HTTP: a Secure cookie would never come back")
	req, _ = http.NewRequest(http.MethodGet, s.srv.URL+"/console/sign-in", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	require.Contains(t, fresh.do(req).header.Get("Set-Cookie"), "Secure", "behind TLS the cookie is Secure")

	// Not an API token, and an API token is not a session.
	token := b.cookie("payrun_console").Value
	req, _ = http.NewRequest(http.MethodGet, s.srv.URL+"/v1/cycles", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	require.Equal(t, http.StatusUnauthorized, b.do(req).status)
	grant, err := s.api.Service().SignIn(context.Background(), "vera", password)
	require.NoError(t, err)
	other := s.browser()
	u, _ := url.Parse(s.srv.URL + "/console/")
	other.client.Jar.SetCookies(u, []*http.Cookie{{Name: "payrun_console", Value: grant.AccessToken, Path: "/console/"}})
	require.Equal(t, http.StatusSeeOther, other.get("/console/cycles").status)

	// Idle: 29 minutes is fine and slides the limit; 31 idle minutes end it.
	s.w.Set("2026-12-02T09:29:00Z")
	require.Equal(t, http.StatusOK, b.get("/console/cycles").status)
	s.w.Set("2026-12-02T09:58:00Z")
	require.Equal(t, http.StatusOK, b.get("/console/cycles").status)
	s.w.Set("2026-12-02T10:29:01Z")
	a = b.get("/console/cycles")
	require.Equal(t, http.StatusSeeOther, a.status)
	require.Contains(t, a.location, "/console/sign-in")

	// Sign out revokes the token.
	b.signIn("vera", password, "/console/cycles")
	require.Equal(t, http.StatusOK, b.get("/console/cycles").status)
	token = b.cookie("payrun_console").Value
	b.post("/console/sign-out", url.Values{}, http.StatusSeeOther, "/console/sign-in?done=signed-out")
	other.client.Jar.SetCookies(u, []*http.Cookie{{Name: "payrun_console", Value: token, Path: "/console/"}})
	require.Equal(t, http.StatusSeeOther, other.get("/console/cycles").status, "a signed-out token opens nothing")

	require.Equal(t, 3, s.count(`SELECT count(*) FROM audit_log WHERE action = 'console.sign_in' AND actor_id = $1`, op.ID))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM audit_log WHERE action = 'console.sign_out' AND actor_id = $1`, op.ID))
}

// Every response carries the security headers, and no page has an inline
// script, an inline style or an event-handler attribute (the CSP would
// refuse them: they would be broken, not merely unsafe).
func TestSecurityHeadersAndNoInlineCode(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	_, b := s.closedByCloser()
	inline := regexp.MustCompile(`(?i)<script|<style|\sstyle=|\son[a-z]+=|javascript:`)
	for _, path := range []string{"/console/sign-in", "/console/cycles", "/console/cycles/2026-11", "/console/cycles/2026-11/publishers",
		"/console/cycles/2026-11/publishers/PA", "/console/cycles/2026-11/approve", "/console/returns", "/console/jobs", "/console/nowhere",
		"/console/cycles/2026-11/publishers?status=nonsense"} {
		a := b.get(path)
		require.NotEqual(t, http.StatusInternalServerError, a.status, path)
		csp := a.header.Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'none'", path)
		require.Contains(t, csp, "frame-ancestors 'none'", path)
		require.NotContains(t, csp, "unsafe-inline", path)
		require.NotContains(t, csp, "unsafe-eval", path)
		require.Equal(t, "DENY", a.header.Get("X-Frame-Options"), path)
		require.Equal(t, "same-origin", a.header.Get("Referrer-Policy"), path)
		require.Equal(t, "no-store", a.header.Get("Cache-Control"), path)
		require.Nil(t, inline.FindStringIndex(a.body), "%s has inline code: %q", path, inline.FindString(a.body))
	}
	css := b.get("/console/static/console.css")
	require.Equal(t, http.StatusOK, css.status)
	require.Contains(t, css.header.Get("Content-Type"), "text/css")
}

// Approving takes a confirmation (the month typed back), a CSRF token and
// a same-origin form; maker-checker is shown to the closer and enforced by
// the service; the approval is the admin API's action, audited with the
// approver's id.
func TestApprovalConfirmationAndMakerChecker(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	closer := s.operator("closer", accounts.RoleFinanceApprover)
	checker := s.operator("checker", accounts.RoleFinanceApprover)
	s.closeAs(closer)
	approved := func() int {
		return s.count(`SELECT count(*) FROM cycles WHERE month = '2026-11-01' AND approved_at IS NOT NULL`)
	}

	b := s.browser()
	b.signIn("closer", password, "/console/cycles")
	page := b.get("/console/cycles/2026-11")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, "you closed this cycle, so another finance approver must approve it")
	require.Equal(t, http.StatusOK, b.get("/console/cycles/2026-11/approve").status)
	require.Contains(t, b.page, "payrun will refuse your approval")

	// No token, a stale token, another site: refused, nothing changes.
	b.post("/console/cycles/2026-11/approve", url.Values{"confirm_month": {"2026-11"}, "csrf": {""}}, http.StatusForbidden, "")
	b.get("/console/cycles/2026-11/approve")
	b.post("/console/cycles/2026-11/approve", url.Values{"confirm_month": {"2026-11"}, "csrf": {"x" + b.csrf()[1:]}}, http.StatusForbidden, "")
	b.get("/console/cycles/2026-11/approve")
	form := url.Values{"confirm_month": {"2026-11"}, "csrf": {b.csrf()}}
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/console/cycles/2026-11/approve", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	require.Equal(t, http.StatusForbidden, b.do(req).status)
	// The month not typed back.
	b.get("/console/cycles/2026-11/approve")
	b.post("/console/cycles/2026-11/approve", url.Values{"confirm_month": {"2026-10"}}, http.StatusBadRequest, "")
	require.Contains(t, b.page, "confirm_month")
	// The closer: the service refuses.
	b.post("/console/cycles/2026-11/approve", url.Values{"confirm_month": {"2026-11"}}, http.StatusUnprocessableEntity, "")
	require.Contains(t, b.page, "must not be the operator who closed")
	require.Zero(t, approved())

	c := s.browser()
	c.signIn("checker", password, "/console/cycles")
	c.get("/console/cycles/2026-11/approve")
	c.post("/console/cycles/2026-11/approve", url.Values{"confirm_month": {"2026-11"}}, http.StatusSeeOther, "/console/cycles/2026-11?done=approved")
	require.Equal(t, 1, approved())
	require.Equal(t, 1, s.count(`SELECT count(*) FROM cycles WHERE approved_by_operator_id = $1`, checker))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM audit_log WHERE action = 'cycle.approve' AND actor_id = $1 AND actor = 'operator:checker'`, checker))
	require.Contains(t, c.get("/console/cycles/2026-11?done=approved").body, "The cycle is approved.")
}

// The console's page table is the API's: each role opens exactly the pages
// whose endpoint's permission it holds (a 403 otherwise), and the
// navigation lists only those.
func TestPagesFollowTheAPIPermissions(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	closer := s.operator("closer", accounts.RoleFinanceApprover)
	s.closeAs(closer)
	pages := []struct {
		path     string
		endpoint string
	}{
		{"/console/cycles", "list-cycles"},
		{"/console/cycles/2026-11", "get-cycle"},
		{"/console/cycles/2026-11/publishers", "get-cycle"},
		{"/console/cycles/2026-11/publishers.csv", "get-cycle"},
		{"/console/cycles/2026-11/publishers/PA", "get-cycle"},
		{"/console/cycles/2026-11/approve", "approve-cycle"},
		{"/console/cycles/2026-11/release", "release-cycle"},
		{"/console/cycles/2026-11/workbook", "get-cycle-workbook"},
		{"/console/returns", "list-cycles"},
		{"/console/jobs", "list-cycles"},
		{"/console/imports", "import-earnings"},
	}
	for _, role := range []accounts.Role{accounts.RoleFinanceViewer, accounts.RoleFinanceApprover, accounts.RoleOps} {
		name := strings.ReplaceAll(string(role), "_", "")
		s.operator(name, role)
		b := s.browser()
		b.signIn(name, password, "/console/cycles")
		held := accounts.RolePermissions(role)
		for _, p := range pages {
			a := b.get(p.path)
			if held[s.api.Permission(p.endpoint)] {
				require.NotEqual(t, http.StatusForbidden, a.status, "%s may open %s", role, p.path)
				require.Less(t, a.status, 500, "%s %s: %s", role, p.path, a.body)
			} else {
				require.Equal(t, http.StatusForbidden, a.status, "%s may not open %s", role, p.path)
				require.Contains(t, a.body, string(s.api.Permission(p.endpoint)))
			}
		}
		nav := b.get("/console/cycles").body
		require.Equal(t, held[accounts.PermImportsWrite], strings.Contains(nav, `href="/console/imports"`), role)
	}
}

// The publishers table filters on the server, refuses a filter it does
// not know naming it, and exports the same rows as CSV.
func TestPublishersTable(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	_, b := s.closedByCloser()

	held := s.count(`SELECT count(*) FROM payouts WHERE month = '2026-11-01' AND status = 'held'`)
	require.Positive(t, held)
	a := b.get("/console/cycles/2026-11/publishers?status=held")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, held, strings.Count(a.body, `<span class="state state-held">`))
	require.NotContains(t, a.body, `<span class="state state-paid">`)

	a = b.get("/console/cycles/2026-11/publishers.csv?status=held")
	require.Equal(t, http.StatusOK, a.status)
	require.Contains(t, a.header.Get("Content-Disposition"), "publishers-2026-11.csv")
	lines := strings.Split(strings.TrimSpace(a.body), "\n")
	require.Len(t, lines, held+1, "a header and every held publisher")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM audit_log WHERE action = 'cycle.publishers.export'`))

	for query, field := range map[string]string{"status=lost": "status", "sort=name%3Bdrop": "sort", "colour=red": "colour", "after=garbage": "cursor"} {
		a = b.get("/console/cycles/2026-11/publishers?" + query)
		require.Equal(t, http.StatusBadRequest, a.status, query)
		require.Contains(t, a.body, field, query)
	}
}

// An import is all or nothing: a file with bad lines imports nothing and
// the page lists every bad line.
func TestImportListsEveryBadLine(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.operator("ivan", accounts.RoleOps)
	b := s.browser()
	b.signIn("ivan", password, "/console/cycles")
	require.Equal(t, http.StatusOK, b.get("/console/imports").status)
	before := s.count(`SELECT count(*) FROM earnings_lines`)

	var body strings.Builder
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("csrf", b.csrf()))
	part, err := mw.CreateFormFile("file", "november.csv")
	require.NoError(t, err)
	_, err = io.WriteString(part, "transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount\n"+
		"t-1,PA,app,sale,US,2026-11-03T10:00:00Z,12.50\n"+
		"t-2,PA,app,sale,US,2026-11-03T10:00:00Z,twelve\n"+
		"t-3,PA,app,sale,US,not a time,1.00\n")
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/console/imports/earnings", strings.NewReader(body.String()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", s.srv.URL)
	a := b.do(req)
	require.Equal(t, http.StatusBadRequest, a.status, a.body)
	require.Contains(t, a.body, "Nothing was imported")
	require.Contains(t, a.body, "amount")
	require.Contains(t, a.body, "transaction_at")
	require.Equal(t, before, s.count(`SELECT count(*) FROM earnings_lines`), "nothing imported")
}

// The review page's figures are the cycle's totals, and the publisher
// page shows a held publisher's reasons with their remedies.
func TestReviewShowsTheCycle(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	_, b := s.closedByCloser()
	c, err := s.api.Operations().Cycle(context.Background(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	page := b.get("/console/cycles/2026-11").body
	for total, amount := range map[string]string{"paid": c.Totals.Paid.Amount, "withheld": c.Totals.Withheld, "held": c.Totals.Held.Amount, "carried": c.Totals.Carried.Amount} {
		m := regexp.MustCompile(`data-total="` + total + `">([^<]+)<`).FindStringSubmatch(page)
		require.NotNil(t, m, total)
		shown, err := decimal.NewFromString(strings.ReplaceAll(m[1], ",", ""))
		require.NoError(t, err, total)
		require.True(t, shown.Equal(decimal.RequireFromString(amount)), "%s: page %s, cycle %s", total, m[1], amount)
	}
	require.Contains(t, page, "Workbook self-checks")
	require.Contains(t, page, "PASS")
	require.NotContains(t, page, "FAIL")
	require.Contains(t, page, `role="img"`, "the charts")

	var seller string
	require.NoError(t, s.w.DB.Get(&seller, `SELECT a.seller_id FROM payouts p JOIN accounts a ON a.id = p.account_id
		WHERE p.month = '2026-11-01' AND p.status = 'held' ORDER BY a.seller_id LIMIT 1`))
	var reason string
	require.NoError(t, s.w.DB.Get(&reason, `SELECT p.reasons[1] FROM payouts p JOIN accounts a ON a.id = p.account_id WHERE p.month = '2026-11-01' AND a.seller_id = $1`, seller))
	detail := b.get("/console/cycles/2026-11/publishers/" + seller)
	require.Equal(t, http.StatusOK, detail.status)
	require.Contains(t, detail.body, payout.Reason(reason).Remedy())
	require.Equal(t, http.StatusNotFound, b.get("/console/cycles/2026-11/publishers/NOBODY").status)
}

// The sign-in form shares the API's sign-in allowance per address and per
// name: a flood of guesses at one name is answered 429 (with Retry-After)
// before any password is checked, whichever door it comes through.
func TestSignInIsRateLimited(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	statuses := map[int]int{}
	var retry string
	limited := 0
	for range 12 {
		require.Equal(t, http.StatusOK, b.get("/console/sign-in").status)
		form := url.Values{"name": {"mallory"}, "password": {"not the password"}, "csrf": {b.csrf()}}
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/console/sign-in", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.srv.URL)
		a := b.do(req)
		statuses[a.status]++
		if strings.Contains(a.body, "too many requests for this name") {
			limited++
			retry = a.header.Get("Retry-After")
		}
	}
	// Five wrong passwords lock the name (accounts' lockout, 429 too); the
	// name's bucket (10) then refuses before the database is asked.
	require.Equal(t, 5, statuses[http.StatusUnauthorized], statuses)
	require.Equal(t, 7, statuses[http.StatusTooManyRequests], statuses)
	require.Equal(t, 2, limited, "the 11th and 12th attempts: the rate limit")
	require.NotEmpty(t, retry)
	require.Zero(t, s.count(`SELECT count(*) FROM tokens`))
}

// The next cycle has no row until its close starts: the cycles page lists
// it as open with its calendar, and its page runs a dry-run close that
// shows the totals and keeps nothing.
func TestPreviewOfTheNextCycle(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	closer, b := s.closedByCloser()
	require.Contains(t, b.get("/console/cycles").body, `href="/console/cycles/2026-12"`)
	page := b.get("/console/cycles/2026-12")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, "Run a dry run")
	require.Equal(t, http.StatusNotFound, b.get("/console/cycles/2027-01").status, "only the next cycle is open")

	before := s.w.Dump()
	a := b.post("/console/cycles/2026-12/preview", url.Values{}, http.StatusOK, "")
	require.Contains(t, a.body, "If the cycle closed now")
	require.Equal(t, before, s.w.Dump(), "a dry run keeps nothing")
	require.Zero(t, s.count(`SELECT count(*) FROM cycles WHERE month = '2026-12-01'`))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM audit_log WHERE action = 'cycle.preview' AND actor_id = $1`, closer))
}
