package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/testsupport/browser"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// updateScreenshots writes the console's screenshots under docs/console/
// (also PAYRUN_UPDATE_SCREENSHOTS=1). Without it the test takes none, so
// `make test` never changes the tree.
var updateScreenshots = flag.Bool("update-screenshots", false, "write the finance console's screenshots under docs/console/")

// The console test's calendar: the simulator closes and releases October
// and November 2026; December's earnings are imported late in November,
// alice closes December on the 2nd (before the scheduled close of the 5th)
// and the console runs an hour later.
const (
	consoleMonth        = "2026-12"
	consoleImportAt     = "2026-11-25T00:00:00Z"
	consoleFXAt         = "2026-12-01T12:00:00Z"
	consoleCloseAt      = "2026-12-02T08:00:00Z"
	consoleServeAt      = "2026-12-02T09:00:00Z"
	consoleSellers      = 200
	consoleNewPassword  = "a long operator password"
	consoleReadyTimeout = 60 * time.Second
	// consoleStopTimeout bounds a graceful stop of the serve.
	consoleStopTimeout = 30 * time.Second
	// consoleActionTimeout bounds a step that waits for an element (a field
	// to type in): every console page is drawn in well under a second.
	consoleActionTimeout = 30 * time.Second
)

// The finance console in Debian's chromium against `payrun serve` on the
// demo's marketplace (1,200 publishers, two released months) and a
// December closed by alice that waits for approval: sign in, review the
// cycle, open a held publisher, approve as the closer (refused), approve as
// bob with the keyboard only, release with the mouse, download the ACH
// file and check its sha256 and the page's numbers against the release's
// result.json. Every page passes axe-core (nothing serious) and its CSP;
// -update-screenshots writes each page's 1366×768 screenshot into
// docs/console/.
func TestConsoleInTheBrowser(t *testing.T) {
	t.Parallel()
	started := time.Now()
	b := browser.Start(t) // fails, naming the package, when chromium is missing
	site := consoleSite(t)
	t.Logf("setup (simulate, December's import and close, serve, chromium) in %.1f s", time.Since(started).Seconds())

	// stopped names the step that could not finish: the steps after it
	// depend on it and are not run (the test has already failed).
	stopped := ""
	step := func(name string, f func(t *testing.T)) {
		if stopped != "" {
			t.Logf("%s: not run, %q did not finish", name, stopped)
			return
		}
		t.Run(name, func(t *testing.T) {
			finished := false
			defer func() {
				if !finished {
					stopped = name
				}
			}()
			f(t)
			finished = true
		})
	}

	alice, bob, olga := b.NewTab(t), b.NewTab(t), b.NewTab(t)
	var reviewedTotals map[string]string

	step("alice signs in and changes her one-time password", func(t *testing.T) {
		site.open(t, alice, "/console/cycles")
		requirePath(t, alice, "/console/sign-in?next=%2Fconsole%2Fcycles")
		site.check(t, alice, "sign-in")
		site.signIn(t, alice, "alice", site.passwords["alice"], "/console/password")
		site.check(t, alice, "password")
		requireText(t, alice, "main", "You signed in with a one-time password")
		// The console lets her nowhere else until it is changed.
		site.open(t, alice, "/console/cycles")
		requirePath(t, alice, "/console/password")

		typeInto(t, alice, "#current_password", site.passwords["alice"])
		typeInto(t, alice, "#new_password", consoleNewPassword)
		typeInto(t, alice, "#new_password_again", consoleNewPassword)
		submit(t, alice, "main form button.primary")
		requirePath(t, alice, "/console/sign-in?done=password-changed")
		requireText(t, alice, "main", "Your password is changed. Sign in with the new one.")
		site.check(t, alice, "")
		site.signIn(t, alice, "alice", consoleNewPassword, "/console/cycles")
	})

	step("alice reviews December from the cycles page", func(t *testing.T) {
		site.check(t, alice, "cycles")
		rows := evaluate[[][]string](t, alice, `[...document.querySelectorAll('table.data tbody tr')].map(tr => [...tr.children].map(c => c.innerText.trim()))`)
		require.Len(t, rows, 4, "January (the next cycle, open), December and the simulator's two months")
		require.Equal(t, "Jan 2027", rows[0][0])
		require.Equal(t, "Open", rows[0][1])
		require.Equal(t, "Dec 2026", rows[1][0])
		require.Equal(t, "Awaiting approval", rows[1][1])
		require.Equal(t, "Released", rows[2][1])
		require.Equal(t, "Released", rows[3][1])
		trend := evaluate[string](t, alice, `document.querySelector('svg[role=img] title').textContent`)
		require.Contains(t, trend, "The last 12 cycles")

		click(t, alice, `a[href="/console/cycles/2026-12"]`)
		requirePath(t, alice, "/console/cycles/2026-12")
		site.check(t, alice, "cycle")
		requireText(t, alice, "h1", "Cycle Dec 2026")
		requireText(t, alice, "h1 .state", "Awaiting approval")
		requireText(t, alice, "#maker-checker", "you closed this cycle, so another finance approver must approve it")
		requireText(t, alice, "main", "Files are written when the cycle is released.")
		reviewedTotals = tiles(t, alice)
		totals := site.cycleTotals(t)
		for _, name := range []string{"paid", "withheld", "held", "carried"} {
			requireAmount(t, totals[name], reviewedTotals[name], "the %s tile before the release: cycles.totals", name)
		}
		checks := evaluate[[]string](t, alice, `[...document.querySelectorAll('section[aria-labelledby=checks-heading] tbody tr td:nth-child(2)')].map(td => td.innerText.trim())`)
		require.NotEmpty(t, checks, "the workbook's self-checks are listed")
		for _, result := range checks {
			require.Equal(t, "PASS", result)
		}
		for _, chart := range []string{"reasons", "methods", "countries"} {
			bars := evaluate[int](t, alice, fmt.Sprintf(`document.querySelectorAll('section[aria-labelledby=%s-heading] svg rect').length`, chart))
			require.Positive(t, bars, "the %s chart has bars", chart)
		}
	})

	var held string
	step("alice opens a held publisher", func(t *testing.T) {
		click(t, alice, `a[href="/console/cycles/2026-12/publishers?status=held"]`)
		requirePath(t, alice, "/console/cycles/2026-12/publishers?status=held")
		site.check(t, alice, "publishers")
		statuses := evaluate[[]string](t, alice, `[...document.querySelectorAll('#publishers tbody tr td:nth-child(4)')].map(td => td.innerText.trim())`)
		require.Len(t, statuses, 50, "a full first page of held publishers")
		for _, status := range statuses {
			require.Equal(t, "Held", status)
		}
		held = evaluate[string](t, alice, `document.querySelector('#publishers tbody tr th a').textContent.trim()`)
		click(t, alice, `#publishers tbody tr th a`)
		requirePath(t, alice, "/console/cycles/2026-12/publishers/"+held)
		site.check(t, alice, "publisher")
		requireText(t, alice, "#decision-heading + p .state", "Held")
		reasons := evaluate[[]string](t, alice, `[...document.querySelectorAll('ol.reasons li')].map(li => li.innerText.trim())`)
		require.NotEmpty(t, reasons, "a held publisher's reasons are listed")
		want := site.reasons(t, held)
		require.Len(t, reasons, len(want))
		for i, reason := range reasons {
			require.Contains(t, reason, labelOf(want[i]), "the reasons in the order payrun checks them")
			require.Contains(t, reason, "Remedy: ", "each reason says what unblocks it")
		}
		history := evaluate[int](t, alice, `document.querySelectorAll('section[aria-labelledby=history-heading] tbody tr').length`)
		require.GreaterOrEqual(t, history, 2, "December and the months before")
	})

	step("alice may not approve the cycle she closed", func(t *testing.T) {
		site.open(t, alice, "/console/cycles/2026-12")
		click(t, alice, `a[href="/console/cycles/2026-12/approve"]`)
		requirePath(t, alice, "/console/cycles/2026-12/approve")
		requireText(t, alice, "main .warn", "You closed this cycle: payrun will refuse your approval.")
		site.check(t, alice, "")
		typeInto(t, alice, "#confirm_month", consoleMonth)
		response := submit(t, alice, "main form button.primary")
		require.Equal(t, int64(http.StatusUnprocessableEntity), response.Status)
		requireText(t, alice, ".problem", "must not be the operator who closed")
		site.check(t, alice, "approve-refused")
		var state string
		var approved bool
		require.NoError(t, site.db.QueryRow(`SELECT state, approved_at IS NOT NULL FROM cycles WHERE month = '2026-12-01'`).Scan(&state, &approved))
		require.Equal(t, "awaiting_approval", state)
		require.False(t, approved, "the refusal approved nothing")
	})

	step("alice signs out", func(t *testing.T) {
		submit(t, alice, "form.who button")
		requirePath(t, alice, "/console/sign-in?done=signed-out")
		requireText(t, alice, "main", "You are signed out.")
		site.check(t, alice, "")
		site.open(t, alice, "/console/cycles/2026-12")
		requirePath(t, alice, "/console/sign-in?next=%2Fconsole%2Fcycles%2F2026-12")
	})

	step("bob signs in with the keyboard only", func(t *testing.T) {
		site.open(t, bob, "/console/sign-in")
		site.check(t, bob, "")
		site.keyboardSignIn(t, bob, "bob", site.passwords["bob"])
		requirePath(t, bob, "/console/password")
		site.check(t, bob, "")
		focus := focused(t, bob)
		require.Equal(t, "current_password", focus.ID, "the password page's first field has the focus")
		keys(t, bob, site.passwords["bob"])
		tabTo(t, bob, "#new_password")
		keys(t, bob, consoleNewPassword)
		tabTo(t, bob, "#new_password_again")
		keys(t, bob, consoleNewPassword)
		enter(t, bob)
		requirePath(t, bob, "/console/sign-in?done=password-changed")
		site.check(t, bob, "")
		site.keyboardSignIn(t, bob, "bob", consoleNewPassword)
		requirePath(t, bob, "/console/cycles")
	})

	step("bob reviews, opens a held publisher and approves with the keyboard only", func(t *testing.T) {
		site.check(t, bob, "")
		// The skip link is the first Tab stop, and shows itself.
		order, err := browser.PressTab(bob, 1)
		require.NoError(t, err)
		require.Equal(t, browser.Focus{Tag: "a", Text: "Skip to content", Href: "#main", Visible: true}, order[0])
		requireFocusShown(t, bob)
		require.NoError(t, browser.PressEnter(bob))
		require.Equal(t, "main", focused(t, bob).ID, "the skip link moves the focus to the page's content")

		tabTo(t, bob, `a[href="/console/cycles/2026-12"]`)
		enter(t, bob)
		requirePath(t, bob, "/console/cycles/2026-12")
		site.check(t, bob, "")
		require.Empty(t, evaluate[int](t, bob, `document.querySelectorAll('#maker-checker').length`), "bob did not close the cycle: no warning")
		require.Equal(t, reviewedTotals, tiles(t, bob), "bob sees alice's numbers")

		tabTo(t, bob, `a[href="/console/cycles/2026-12/publishers?status=held"]`)
		enter(t, bob)
		site.check(t, bob, "")
		tabTo(t, bob, `#publishers tbody tr th a[href="/console/cycles/2026-12/publishers/`+held+`"]`)
		enter(t, bob)
		requirePath(t, bob, "/console/cycles/2026-12/publishers/"+held)
		site.check(t, bob, "")
		require.NotEmpty(t, evaluate[int](t, bob, `document.querySelectorAll('ol.reasons li').length`))
		tabTo(t, bob, `nav.crumbs a[href="/console/cycles/2026-12"]`)
		enter(t, bob)
		requirePath(t, bob, "/console/cycles/2026-12")

		tabTo(t, bob, `a[href="/console/cycles/2026-12/approve"]`)
		enter(t, bob)
		requirePath(t, bob, "/console/cycles/2026-12/approve")
		site.check(t, bob, "approve")
		require.Empty(t, evaluate[int](t, bob, `document.querySelectorAll('main .warn').length`))
		tabTo(t, bob, "#confirm_month")
		keys(t, bob, consoleMonth)
		enter(t, bob)
		requirePath(t, bob, "/console/cycles/2026-12?done=approved")
		requireText(t, bob, ".flash", "The cycle is approved. It can now be released.")
		site.check(t, bob, "")
		requireText(t, bob, "h1 .state", "Awaiting approval")
		requireText(t, bob, "ol.steps", "Approved by bob")

		var state, approver string
		require.NoError(t, site.db.QueryRow(`SELECT c.state, coalesce(o.user_name, '') FROM cycles c
			LEFT JOIN operators o ON o.id = c.approved_by_operator_id WHERE c.month = '2026-12-01'`).Scan(&state, &approver))
		require.Equal(t, "bob", approver, "the cycle records bob's approval, by his operator id")
		require.Equal(t, "awaiting_approval", state, "approved, not yet released")
	})

	step("bob releases with the mouse", func(t *testing.T) {
		click(t, bob, `a[href="/console/cycles/2026-12/release"]`)
		requirePath(t, bob, "/console/cycles/2026-12/release")
		site.check(t, bob, "release")
		requireText(t, bob, "main", "Releasing writes the payment files")
		typeInto(t, bob, "#confirm_month", consoleMonth)
		submit(t, bob, "main form button.primary")
		requirePath(t, bob, "/console/cycles/2026-12?done=released")
		requireText(t, bob, ".flash", "The cycle is released")
		requireText(t, bob, "h1 .state", "Released")
		site.check(t, bob, "cycle-released")
		scrollTo(t, bob, "#reasons-heading")
		site.screenshot(t, bob, "cycle-charts")
		var state string
		require.NoError(t, site.db.QueryRow(`SELECT state FROM cycles WHERE month = '2026-12-01'`).Scan(&state))
		require.Equal(t, "released", state)
	})

	step("bob downloads the ACH file: its sha256 is the manifest's", func(t *testing.T) {
		type fileRow struct {
			Name   string `json:"name"`
			Href   string `json:"href"`
			SHA256 string `json:"sha256"`
			Shown  string `json:"shown"`
		}
		files := evaluate[[]fileRow](t, bob, `[...document.querySelectorAll('a[data-sha256]')].map(a => ({
			name: a.textContent.trim(), href: a.getAttribute('href'), sha256: a.dataset.sha256,
			shown: a.closest('tr').querySelector('code.hash').textContent.trim()}))`)
		var ach fileRow
		for _, f := range files {
			if strings.HasPrefix(f.Name, "ach-2026-12") {
				ach = f
			}
		}
		require.NotEmpty(t, ach.Name, "the files table lists the ACH file: %v", files)
		require.Equal(t, ach.SHA256, ach.Shown, "the link's data-sha256 is the sha256 the table shows")
		scrollTo(t, bob, "#files-heading")
		site.screenshot(t, bob, "cycle-files")

		file, err := browser.DownloadLink(bob, `a[data-sha256][href="`+ach.Href+`"]`)
		require.NoError(t, err)
		require.Equal(t, ach.Name, file.Name)
		require.NotEmpty(t, file.Bytes)
		require.Equal(t, ach.SHA256, file.SHA256(), "the downloaded file's sha256 is the manifest's on the page")

		var stored string
		require.NoError(t, site.db.QueryRow(`SELECT sha256 FROM cycle_files WHERE month = '2026-12-01' AND name = $1`, ach.Name).Scan(&stored))
		require.Equal(t, stored, file.SHA256(), "and the database's cycle_files row")
		var manifest struct {
			Files []struct {
				Name   string `json:"name"`
				SHA256 string `json:"sha256"`
			} `json:"files"`
		}
		readJSON(t, filepath.Join(site.out, "cycles", consoleMonth, "manifest.json"), &manifest)
		found := false
		for _, f := range manifest.Files {
			if f.Name == ach.Name {
				found = true
				require.Equal(t, f.SHA256, file.SHA256(), "and manifest.json's")
			}
		}
		require.True(t, found, "manifest.json lists %s", ach.Name)
		onDisk, err := os.ReadFile(filepath.Join(site.out, "cycles", consoleMonth, ach.Name))
		require.NoError(t, err)
		require.True(t, bytes.Equal(onDisk, file.Bytes), "the browser saved the file the release wrote")
	})

	step("the page's numbers are result.json's", func(t *testing.T) {
		result := site.result(t)
		sums := map[string]decimal.Decimal{}
		for _, a := range result.Accounts {
			sums["paid"] = sums["paid"].Add(a.Paid)
			sums["withheld"] = sums["withheld"].Add(a.Withheld)
			if a.Status == "held" || a.Status == "carried" {
				// A held or carried publisher keeps its whole balance.
				sums[a.Status] = sums[a.Status].Add(a.Balance)
			}
		}
		shown := tiles(t, bob)
		require.Equal(t, reviewedTotals, shown, "the release changed none of the figures reviewed")
		for _, name := range []string{"paid", "withheld", "held", "carried"} {
			requireAmount(t, sums[name].String(), shown[name], "the %s tile: the sum over result.json's accounts", name)
			requireAmount(t, result.Totals[name], shown[name], "the %s tile: result.json's totals", name)
		}

		// A paid publisher with withholding, paid in a foreign currency, a
		// held one and a carried one, each looked up with the filter form.
		var picks []resultAccount
		for _, want := range []func(a resultAccount) bool{
			func(a resultAccount) bool {
				return a.Status == "paid" && a.Withheld.IsPositive() && a.Currency != "USD"
			},
			func(a resultAccount) bool { return a.Status == "held" && a.SellerID == held },
			func(a resultAccount) bool { return a.Status == "carried" && a.Balance.IsPositive() },
		} {
			for _, a := range result.Accounts {
				if want(a) {
					picks = append(picks, a)
					break
				}
			}
		}
		require.Len(t, picks, 3, "result.json has a paid, a held and a carried publisher")
		site.open(t, bob, "/console/cycles/2026-12/publishers")
		for _, a := range picks {
			clearField(t, bob, "#q")
			typeInto(t, bob, "#q", a.SellerID)
			submit(t, bob, "form.filters button.primary")
			site.check(t, bob, "")
			row := evaluate[[]string](t, bob, `[...document.querySelectorAll('#publishers tbody tr')].flatMap(tr => tr.children.length > 1 ? [[...tr.children].map(c => c.innerText.trim())] : []).flat()`)
			require.Len(t, row, 10, "one row for %s", a.SellerID)
			require.Equal(t, a.SellerID, row[0])
			require.Equal(t, labelOf(a.Status), row[3])
			for i, reason := range a.Reasons {
				require.Contains(t, row[4], labelOf(reason), "reason %d of %s", i+1, a.SellerID)
			}
			requireAmount(t, a.Balance.String(), row[5], "%s's balance", a.SellerID)
			requireAmount(t, a.Withheld.String(), row[6], "%s's withholding", a.SellerID)
			requireAmount(t, a.Paid.String(), row[7], "%s's payment", a.SellerID)
			requireAmount(t, a.Carried.String(), row[8], "%s's carried amount", a.SellerID)
			if a.Status == "paid" {
				require.Equal(t, labelOf(a.Method)+" · "+a.Currency, row[9])
			}
		}
	})

	step("bob's other pages: returns and jobs", func(t *testing.T) {
		site.open(t, bob, "/console/returns")
		site.check(t, bob, "returns")
		returned := evaluate[int](t, bob, `document.querySelectorAll('section[aria-labelledby=returned-heading] tbody tr').length`)
		require.Positive(t, returned, "the simulator's returned payments are listed")
		site.open(t, bob, "/console/jobs")
		site.check(t, bob, "jobs")
		requireText(t, bob, "section[aria-labelledby=next-heading] tbody", "expire-invitations")
		// bob may not import: the section is not in his navigation.
		require.Empty(t, evaluate[int](t, bob, `document.querySelectorAll('nav[aria-label=Sections] a[href="/console/imports"]').length`))
	})

	step("olga (ops) opens the imports", func(t *testing.T) {
		site.open(t, olga, "/console/sign-in")
		site.signIn(t, olga, "olga", site.passwords["olga"], "/console/password")
		site.check(t, olga, "")
		typeInto(t, olga, "#current_password", site.passwords["olga"])
		typeInto(t, olga, "#new_password", consoleNewPassword)
		typeInto(t, olga, "#new_password_again", consoleNewPassword)
		submit(t, olga, "main form button.primary")
		site.signIn(t, olga, "olga", consoleNewPassword, "")
		site.open(t, olga, "/console/imports")
		site.check(t, olga, "imports")
		forms := evaluate[[]string](t, olga, `[...document.querySelectorAll('main form h2')].map(h => h.textContent.trim())`)
		require.Equal(t, []string{"Earnings", "Returns", "FX rates"}, forms)
		history := evaluate[string](t, olga, `document.querySelector('section[aria-labelledby=history-heading] tbody').innerText`)
		require.Contains(t, history, "december.csv", "the earnings file imported for December is in the history")
	})

	t.Logf("the console test took %.1f s", time.Since(started).Seconds())
}

// consoleTestSite is the marketplace, the running serve and what the test
// reads back.
type consoleTestSite struct {
	url       string // the serve's base URL
	out       string // PAYRUN_OUT
	db        *sqlx.DB
	passwords map[string]string // the one-time passwords
	shots     string            // where screenshots go ("" = none)
}

// consoleSite builds the demo's marketplace and a December awaiting
// approval, then starts `payrun serve` on it.
func consoleSite(t *testing.T) *consoleTestSite {
	t.Helper()
	databaseURL := dbtest.NewURL(t)
	out := t.TempDir()
	env := append(devEnv(databaseURL), "PAYRUN_OUT="+out)
	at := func(now string) []string { return append(env[:len(env):len(env)], "PAYRUN_NOW="+now) }
	site := &consoleTestSite{out: out, db: dbtest.Open(t, databaseURL), passwords: map[string]string{}}
	if *updateScreenshots || os.Getenv("PAYRUN_UPDATE_SCREENSHOTS") == "1" {
		root, err := browser.RepoRoot()
		require.NoError(t, err)
		site.shots = filepath.Join(root, "docs", "console")
	}

	began := time.Now()
	r := payrunEnv(t, env, "simulate", "--seed", "2026", "--publishers", "1200", "--months", "2", "--lines", "60000", "--first-month", "2026-10")
	require.Zero(t, r.code, r.stderr)
	t.Logf("simulate: %.1f s", time.Since(began).Seconds())
	for _, operator := range []struct{ name, role string }{{"alice", "finance_approver"}, {"bob", "finance_approver"}, {"olga", "ops"}} {
		site.passwords[operator.name] = createOperator(t, env, operator.name, operator.role)
	}

	// December's earnings: ~200 publishers paid in November earn again,
	// half in the US (withheld at their rate), half in Great Britain.
	var sellers []string
	require.NoError(t, site.db.Select(&sellers, `
		SELECT a.seller_id FROM payouts p JOIN accounts a ON a.id = p.account_id
		WHERE p.month = '2026-11-01' AND p.status = 'paid' ORDER BY a.seller_id LIMIT $1`, consoleSellers))
	require.Len(t, sellers, consoleSellers)
	var earnings strings.Builder
	earnings.WriteString("transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount,eligible_at\n")
	for i, seller := range sellers {
		market := []string{"US", "GB"}[i%2]
		fmt.Fprintf(&earnings, "E2E-202612-%04d,%s,app,purchase,%s,2026-10-15T12:00:00Z,%d.%02d,2026-11-20T00:00:00Z\n",
			i+1, seller, market, 150+(i*37)%900, (i*13)%100)
	}
	dir := t.TempDir()
	earningsFile := filepath.Join(dir, "december.csv")
	require.NoError(t, os.WriteFile(earningsFile, []byte(earnings.String()), 0o600))
	r = payrunEnv(t, at(consoleImportAt), "earnings", "import", earningsFile)
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("imported %d,", consoleSellers))

	// December's FX rates: November's again.
	var rates []struct {
		Currency string `db:"currency"`
		Rate     string `db:"rate"`
		Source   string `db:"source"`
	}
	require.NoError(t, site.db.Select(&rates, `SELECT currency, rate::text AS rate, source FROM fx_rates WHERE month = '2026-11-01' ORDER BY currency`))
	require.NotEmpty(t, rates)
	var fx strings.Builder
	fx.WriteString("currency,rate,date,source\n")
	for _, rate := range rates {
		fmt.Fprintf(&fx, "%s,%s,2026-12-01,%s\n", rate.Currency, rate.Rate, rate.Source)
	}
	fxFile := filepath.Join(dir, "fx-2026-12.csv")
	require.NoError(t, os.WriteFile(fxFile, []byte(fx.String()), 0o600))
	r = payrunEnv(t, at(consoleFXAt), "fx", "import", fxFile, "--month", consoleMonth)
	require.Zero(t, r.code, r.stderr)

	r = payrunEnv(t, at(consoleCloseAt), "cycle", "close", "--month", consoleMonth, "--by", "alice", "--policy", approvalPolicy(t))
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stdout, "state awaiting_approval")
	var statuses []string
	require.NoError(t, site.db.Select(&statuses, `SELECT DISTINCT status FROM payouts WHERE month = '2026-12-01' ORDER BY 1`))
	require.Equal(t, []string{"carried", "held", "paid"}, statuses, "December has paid, held and carried publishers")

	site.url = startConsoleServe(t, append(at(consoleServeAt), "PAYRUN_JOBS=expire-invitations"))
	return site
}

// startConsoleServe starts `payrun serve`, waits for /readyz and stops it
// (SIGTERM) when the test ends; its log is shown when the test failed.
func startConsoleServe(t *testing.T, env []string) string {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(binary, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PAYRUN_DEV=", "PAYRUN_DATA_KEY=", "XDG_CONFIG_HOME="+filepath.Join(cmd.Dir, ".config"))
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, "PAYRUN_ADDR="+addr)
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("payrun serve did not stop cleanly: %v", err)
			}
		case <-time.After(consoleStopTimeout):
			_ = cmd.Process.Kill()
			t.Errorf("payrun serve did not stop within %s of SIGTERM", consoleStopTimeout)
		}
		if t.Failed() {
			t.Logf("payrun serve's log:\n%s", log.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(consoleReadyTimeout)
	for {
		select {
		case err := <-exited:
			t.Fatalf("payrun serve exited before it was ready (%v):\n%s", err, log.String())
		default:
		}
		response, err := http.Get(base + "/readyz")
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("payrun serve was not ready within %s:\n%s", consoleReadyTimeout, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// open navigates the tab to a console path and requires a page (any
// redirect followed) that the server answered with 200.
func (s *consoleTestSite) open(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	response, err := browser.Navigate(ctx, s.url+path)
	require.NoError(t, err)
	require.Equal(t, int64(http.StatusOK), response.Status, "%s answered %d", path, response.Status)
}

// check runs axe-core and the CSP check on the tab's page and, when asked
// to, writes its screenshot as docs/console/<name>.png ("" = none).
func (s *consoleTestSite) check(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browser.RequireNoCSPViolations(t, ctx)
	browser.RequireAccessible(t, ctx)
	if name != "" {
		// axe-core leaves the page as it found it, scrolled to the top.
		s.screenshot(t, ctx, name)
	}
}

func (s *consoleTestSite) screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if s.shots == "" {
		return
	}
	require.NoError(t, browser.Screenshot(ctx, filepath.Join(s.shots, name+".png")))
}

// signIn fills the sign-in form with the mouse and the keyboard and
// requires the page it leads to (landing, a path; "" = any).
func (s *consoleTestSite) signIn(t *testing.T, ctx context.Context, name, password, landing string) {
	t.Helper()
	if location := evaluate[string](t, ctx, `location.pathname`); location != "/console/sign-in" {
		s.open(t, ctx, "/console/sign-in")
	}
	typeInto(t, ctx, "#name", name)
	typeInto(t, ctx, "#password", password)
	submit(t, ctx, "main form button.primary")
	if landing != "" {
		requirePath(t, ctx, landing)
	}
}

// keyboardSignIn signs in on the sign-in page with keys only: the name
// field has the focus when the page opens.
func (s *consoleTestSite) keyboardSignIn(t *testing.T, ctx context.Context, name, password string) {
	t.Helper()
	require.Equal(t, "name", focused(t, ctx).ID, "the sign-in page opens with the focus in the name field")
	keys(t, ctx, name)
	tabTo(t, ctx, "#password")
	keys(t, ctx, password)
	enter(t, ctx)
}

// cycleTotals is December's totals as the cycle stores them.
func (s *consoleTestSite) cycleTotals(t *testing.T) map[string]string {
	t.Helper()
	var totals map[string]string
	var raw []byte
	require.NoError(t, s.db.QueryRow(`SELECT json_build_object('paid', totals->'paid'->>'amount', 'withheld', totals->>'withheld',
		'held', totals->'held'->>'amount', 'carried', totals->'carried'->>'amount') FROM cycles WHERE month = '2026-12-01'`).Scan(&raw))
	require.NoError(t, json.Unmarshal(raw, &totals))
	return totals
}

// reasons is a publisher's December reasons as the close recorded them.
func (s *consoleTestSite) reasons(t *testing.T, seller string) []string {
	t.Helper()
	var raw []byte
	require.NoError(t, s.db.QueryRow(`SELECT to_json(p.reasons) FROM payouts p JOIN accounts a ON a.id = p.account_id
		WHERE p.month = '2026-12-01' AND a.seller_id = $1`, seller).Scan(&raw))
	var reasons []string
	require.NoError(t, json.Unmarshal(raw, &reasons))
	return reasons
}

// resultAccount is one account of result.json.
type resultAccount struct {
	SellerID string          `json:"seller_id"`
	Status   string          `json:"status"`
	Reasons  []string        `json:"reasons"`
	Balance  decimal.Decimal `json:"balance"`
	Withheld decimal.Decimal `json:"withheld"`
	Paid     decimal.Decimal `json:"paid"`
	Carried  decimal.Decimal `json:"carried"`
	Currency string          `json:"currency"`
	Method   string          `json:"method"`
}

type resultFile struct {
	Month    string            `json:"month"`
	State    string            `json:"state"`
	Accounts []resultAccount   `json:"accounts"`
	Totals   map[string]string `json:"totals"`
}

// result reads December's result.json, written at the release.
func (s *consoleTestSite) result(t *testing.T) resultFile {
	t.Helper()
	var result resultFile
	readJSON(t, filepath.Join(s.out, "cycles", consoleMonth, "result.json"), &result)
	require.Equal(t, consoleMonth, result.Month)
	require.Equal(t, "released", result.State)
	require.NotEmpty(t, result.Accounts)
	return result
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, v), path)
}

// --- the tab ---

// evaluate runs a JavaScript expression in the tab's page.
func evaluate[T any](t *testing.T, ctx context.Context, expression string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	require.NoError(t, err, expression)
	return v
}

// requirePath requires the tab's location, path and query.
func requirePath(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	require.Equal(t, want, evaluate[string](t, ctx, `location.pathname + location.search`))
}

// requireText requires the text of the first element the selector finds
// to contain want.
func requireText(t *testing.T, ctx context.Context, selector, want string) {
	t.Helper()
	arg, err := json.Marshal(selector)
	require.NoError(t, err)
	text := evaluate[string](t, ctx, `(e => e ? e.innerText.replace(/\s+/g, ' ') : '<no element>')(document.querySelector(`+string(arg)+`))`)
	require.Contains(t, text, want, "the text of %s", selector)
}

// tiles reads the cycle review page's totals tiles (data-total).
func tiles(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	return evaluate[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('[data-total]')].map(e => [e.dataset.total, e.textContent.trim()]))`)
}

// requireAmount compares an amount as a page shows it (thousands grouped
// with commas) with an exact decimal.
func requireAmount(t *testing.T, want, shown string, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	wantAmount, err := decimal.NewFromString(want)
	require.NoError(t, err, what)
	shownAmount, err := decimal.NewFromString(strings.ReplaceAll(shown, ",", ""))
	require.NoError(t, err, what)
	require.True(t, wantAmount.Equal(shownAmount), "%s: shown %s, want %s", what, shown, want)
}

// labelOf writes a code as the console does (held_tax_form_missing →
// "Held tax form missing").
func labelOf(code string) string {
	text := strings.ReplaceAll(code, "_", " ")
	if text == "" {
		return text
	}
	return strings.ToUpper(text[:1]) + text[1:]
}

// withTimeout runs an action that waits for an element within
// consoleActionTimeout.
func withTimeout(t *testing.T, ctx context.Context, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, consoleActionTimeout)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, action))
}

// typeInto clicks into a field and types text (the mouse path).
func typeInto(t *testing.T, ctx context.Context, selector, text string) {
	t.Helper()
	withTimeout(t, ctx, chromedp.Click(chromedp.CSS(selector)))
	withTimeout(t, ctx, chromedp.SendKeys(chromedp.CSS(selector), text))
}

func clearField(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	withTimeout(t, ctx, chromedp.Clear(chromedp.CSS(selector)))
}

func scrollTo(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	withTimeout(t, ctx, chromedp.ScrollIntoView(chromedp.CSS(selector)))
}

// click clicks a link and waits for the page it opens.
func click(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	response, err := browser.AndWait(ctx, chromedp.Click(chromedp.CSS(selector)))
	require.NoError(t, err, selector)
	require.Equal(t, int64(http.StatusOK), response.Status, "%s opened %s, %d", selector, response.URL, response.Status)
}

// submit clicks a form's button and returns the response of the page it
// leads to.
func submit(t *testing.T, ctx context.Context, selector string) *network.Response {
	t.Helper()
	response, err := browser.AndWait(ctx, chromedp.Click(chromedp.CSS(selector)))
	require.NoError(t, err, selector)
	return response
}

// --- the keyboard ---

func focused(t *testing.T, ctx context.Context) browser.Focus {
	t.Helper()
	focus, err := browser.Focused(ctx)
	require.NoError(t, err)
	return focus
}

// keys types text into the focused element.
func keys(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	require.NoError(t, browser.TypeText(ctx, text))
}

// tabTo presses Tab until the selector's element has the focus, requiring
// every element on the way to show itself, and the last one its focus
// ring.
func tabTo(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	order, err := browser.TabUntil(ctx, selector)
	require.NoError(t, err)
	for _, focus := range order {
		require.True(t, focus.Visible, "the focused %s is on screen (Tab went through:\n%s)", focus, browser.FocusOrder(order))
	}
	requireFocusShown(t, ctx)
}

// requireFocusShown requires the focused element to be on screen with a
// visible outline (the console's :focus-visible ring).
func requireFocusShown(t *testing.T, ctx context.Context) {
	t.Helper()
	focus := focused(t, ctx)
	require.True(t, focus.Visible, "%s is on screen", focus)
	ring := evaluate[string](t, ctx, `(s => s.outlineStyle + ' ' + s.outlineWidth)(getComputedStyle(document.activeElement))`)
	require.NotContains(t, ring, "none", "%s shows a focus ring", focus)
	require.NotEqual(t, "0px", strings.Fields(ring)[1], "%s shows a focus ring", focus)
}

// enter presses Enter on the focused element and waits for the page it
// opens.
func enter(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := browser.PressEnterAndWait(ctx)
	require.NoError(t, err)
}
