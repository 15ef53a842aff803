package reports

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
)

// The workbook as finance prints it: LibreOffice converts a demo-sized
// cycle workbook to PDF, and the PDF's text is checked. LibreOffice and
// poppler are outside tools `make deps` installs (libreoffice-calc,
// poppler-utils, fonts-crosextra-carlito); without them the test fails,
// naming them — it never skips.

// requireTool fails the test when a command is missing, naming the Debian
// package that has it.
func requireTool(t *testing.T, command, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(command)
	if err != nil {
		t.Fatalf("%s not found: run `make deps` (installs the Debian package %s)", command, pkg)
	}
	return path
}

// convertToPDF converts the workbook at path with LibreOffice, headless,
// into dir, and returns the PDF's path.
func convertToPDF(t *testing.T, path, dir string) string {
	t.Helper()
	soffice := requireTool(t, "soffice", "libreoffice-calc")
	if out, err := exec.Command("fc-list", "Carlito").Output(); err != nil || len(out) == 0 {
		t.Fatalf("the Carlito font (metric-compatible with Calibri, the workbooks' font) is missing: run `make deps` (installs fonts-crosextra-carlito)")
	}
	profile := "file://" + filepath.Join(dir, "profile") // a private profile: no clash with a running LibreOffice
	cmd := exec.Command(soffice, "-env:UserInstallation="+profile, "--headless", "--convert-to", "pdf", "--outdir", dir, path)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "soffice: %s", out)
	pdf := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".xlsx")+".pdf")
	_, err = os.Stat(pdf)
	require.NoError(t, err, "soffice wrote no PDF: %s", out)
	return pdf
}

// pdfPages returns the text of every page of pdf, laid out (pdftotext
// -layout), in order.
func pdfPages(t *testing.T, pdf string) []string {
	t.Helper()
	pdftotext := requireTool(t, "pdftotext", "poppler-utils")
	out, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
	require.NoError(t, err)
	pages := strings.Split(string(out), "\f")
	if len(pages) > 0 && strings.TrimSpace(pages[len(pages)-1]) == "" {
		pages = pages[:len(pages)-1]
	}
	return pages
}

// demoSizedCycle is a cycle the size of `make demo`'s (1,200 publishers):
// 1,000 paid in nine currencies by bank and PayPal (long PayPal addresses,
// names with accents, 40-character names), 200 held or carried with every
// reason, returns of both kinds. Its totals are added up from its rows.
func demoSizedCycle() cycleFixture {
	rng := rand.New(rand.NewPCG(2026, 11))
	fixture := newCycleFixture()
	currencies := []struct {
		code string
		fx   string
	}{{"USD", "1"}, {"EUR", "0.933557"}, {"GBP", "0.799802"}, {"JPY", "153.035070"}, {"HUF", "365.223750"},
		{"BRL", "5.662813"}, {"SEK", "10.728511"}, {"PLN", "4.030914"}, {"INR", "83.502"}}
	names := []string{"Acme Apps LLC", "Müller Software GmbH", "Nordlicht Interactive Entertainment GmbH", "Kyoto Games KK",
		"Pune Apps", "Société Générale des Jeux SARL", "=Sampa Jogos", "Tiny Tools", "Budapest Bits Kft", "O'Reilly & Daughters Studio Ltd"}
	rates := []struct{ rate, reason string }{{"0", "w9"}, {"0.30", "w8_no_treaty"}, {"0.15", "treaty:IN:12"}, {"0.05", "treaty:AU:12"}, {"0", "treaty:DE:12"}}
	t := Totals{Gross: decimal.Zero, USSourced: decimal.Zero, Withheld: decimal.Zero, Paid: decimal.Zero, SubCentCarried: decimal.Zero}
	methods := map[methodKey]*MethodTotal{}
	byRate := map[string]*RateTotal{}
	fixture.payouts = nil
	fixture.withholding = nil
	files := map[string]*FileRow{}
	for i := 0; i < 1000; i++ {
		currency := currencies[rng.IntN(len(currencies))]
		rate := rates[rng.IntN(len(rates))]
		method, account := "bank", fmt.Sprintf("*****%04d", rng.IntN(10000))
		if rng.IntN(3) == 0 {
			method = "paypal"
			account = fmt.Sprintf("publisher.number.%07d@marketplace-example.com", i)
		}
		gross := decimal.New(rng.Int64N(2_000_000_000)+50_000_000, -6)
		if i == 7 {
			gross = decimal.New(987_654_321_123_456, -6) // a large balance: 987,654,321.12
		}
		base := gross.Mul(decimal.New(int64(rng.IntN(101)), -2)).Round(6)
		withheld := decimal.RequireFromString(rate.rate).Mul(base).Round(2)
		paid := gross.Sub(withheld).RoundFloor(2)
		fx := decimal.RequireFromString(currency.fx)
		places := int32(2)
		if currency.code == "JPY" {
			places = 0
		}
		inCurrency := paid.Mul(fx).RoundFloor(places)
		file := "pain001-2026-11-" + currency.code + ".xml"
		switch {
		case method == "paypal":
			file = "paypal-2026-11-" + currency.code + "-001.json"
		case currency.code == "USD":
			file = "ach-2026-11.txt"
		}
		row := PayoutRow{SellerID: fmt.Sprintf("S%09d", i+1), DisplayName: names[i%len(names)], Country: "US", Method: method,
			MaskedAccount: account, Currency: currency.code, Gross: gross, USBase: base, Rate: decimal.RequireFromString(rate.rate),
			RateReason: rate.reason, Withheld: withheld, PaidUSD: paid, FXRate: fx, PaidInCurrency: inCurrency,
			PaymentID: fmt.Sprintf("P202611%08d", i+1), File: file}
		fixture.payouts = append(fixture.payouts, row)
		t.Publishers++
		t.Gross, t.USSourced = t.Gross.Add(gross), t.USSourced.Add(base)
		t.Withheld, t.Paid = t.Withheld.Add(withheld), t.Paid.Add(paid)
		t.SubCentCarried = t.SubCentCarried.Add(gross.Sub(withheld).Sub(paid))
		key := methodKey{method, currency.code}
		if methods[key] == nil {
			methods[key] = &MethodTotal{Method: method, Currency: currency.code, AmountUSD: decimal.Zero, Amount: decimal.Zero}
		}
		m := methods[key]
		m.Payments++
		m.AmountUSD, m.Amount = m.AmountUSD.Add(paid), m.Amount.Add(inCurrency)
		r := byRate[row.Rate.String()]
		if r == nil {
			r = &RateTotal{Rate: row.Rate, Base: decimal.Zero, Withheld: decimal.Zero}
			byRate[row.Rate.String()] = r
		}
		r.Recipients++
		r.Base, r.Withheld = r.Base.Add(base), r.Withheld.Add(withheld)
		f := files[file]
		if f == nil {
			f = &FileRow{Name: file, Kind: "pain.001", SHA256: strings.Repeat("9f86d081884c7d65", 4), Currency: currency.code,
				ControlTotalUSD: decimal.Zero, ControlTotal: decimal.Zero}
			files[file] = f
		}
		f.Records++
		f.ControlTotalUSD, f.ControlTotal = f.ControlTotalUSD.Add(paid), f.ControlTotal.Add(inCurrency)
	}
	for _, m := range methods {
		t.PaidByMethod = append(t.PaidByMethod, *m)
	}
	for _, r := range byRate {
		t.WithheldByRate = append(t.WithheldByRate, *r)
		fixture.withholding = append(fixture.withholding, WithholdingRow{Country: "US", Rate: r.Rate, Reason: "mixed",
			Recipients: r.Recipients, Base: r.Base, Withheld: r.Withheld})
	}
	fixture.files = nil
	for _, f := range files {
		fixture.files = append(fixture.files, *f)
	}
	fixture.unpaid = nil
	held, carried := map[string]*ReasonTotal{}, map[string]*ReasonTotal{}
	for i := 0; i < 200; i++ {
		reason := string(payout.Reasons[i%len(payout.Reasons)])
		status, group := StatusHeld, held
		if !payout.Reason(reason).Held() {
			status, group = StatusCarried, carried
		}
		balance := decimal.New(rng.Int64N(900_000_000)+1, -6)
		if reason == "negative_balance" {
			balance = balance.Neg()
		}
		fixture.unpaid = append(fixture.unpaid, UnpaidRow{SellerID: fmt.Sprintf("S%09d", 2000+i), DisplayName: names[i%len(names)],
			Country: "GB", Status: status, Balance: balance, PrimaryReason: reason, Reasons: []string{reason, "tax_profile_missing"}})
		if group[reason] == nil {
			group[reason] = &ReasonTotal{Reason: reason, Balance: decimal.Zero}
		}
		group[reason].Publishers++
		group[reason].Balance = group[reason].Balance.Add(balance)
		t.Publishers++
	}
	for _, r := range held {
		t.HeldByReason = append(t.HeldByReason, *r)
	}
	for _, r := range carried {
		t.CarriedByReason = append(t.CarriedByReason, *r)
	}
	fixture.exceptions = []ExceptionRow{
		{Kind: ExceptionReturned, SellerID: "S000000002", Reference: "P20261100000002",
			Detail: "PayPal return RETURNED RECEIVER_ACCOUNT_LOCKED, returned 2026-11-18; 1,753.78 USD recredited to the publisher's balance (non-US part) for cycle 2026-12",
			Amount: d("1753.78")},
		{Kind: ExceptionRecredited, SellerID: "S-3001", Reference: "P20261000000042", Detail: "payment of cycle 2026-10: ACH return R03 NO ACCOUNT, returned 2026-10-20", Amount: d("150.00")},
	}
	t.Returned = CountAmount{Count: 1, Amount: d("150.00")}
	t.PaymentsReturned = CountAmount{Count: 1, Amount: d("1753.78")}
	fixture.summary.Totals = t
	return fixture
}

// TestWorkbookPrintsInLibreOffice converts the demo-sized workbook to PDF:
// no cell shows ### anywhere, the Summary takes at most three pages, and
// the Payouts sheet is one page wide — every Payouts page shows the first
// and the last column's header (the header row repeated) — with as many
// pages as its rows need at the rows one page holds.
func TestWorkbookPrintsInLibreOffice(t *testing.T) {
	fixture := demoSizedCycle()
	dir := t.TempDir()
	path := filepath.Join(dir, CycleWorkbookName(fixture.summary.Month, false))
	require.NoError(t, WriteCycleWorkbook(path, fixture.summary, fixture.data()))
	pages := pdfPages(t, convertToPDF(t, path, dir))

	footer := regexp.MustCompile(`Payout summary 2026-11\s+(\S.*?)\s+Page (\d+) of (\d+)\s*$`)
	seller := regexp.MustCompile(`(?m)^\s*S\d{9}\s`)
	perSheet := map[string][]string{}
	for i, page := range pages {
		require.NotContains(t, page, "###", "page %d shows ### (a number wider than its column)", i+1)
		m := footer.FindStringSubmatch(strings.TrimRight(page, "\n "))
		require.NotNil(t, m, "page %d has no footer naming the document, the sheet and the page: %q", i+1, lastLine(page))
		require.Equal(t, strconv.Itoa(i+1), m[2])
		require.Equal(t, strconv.Itoa(len(pages)), m[3])
		perSheet[m[1]] = append(perSheet[m[1]], page)
	}
	require.LessOrEqual(t, len(perSheet[SheetSummary]), 3, "the Summary prints on at most three pages")
	payouts := perSheet[SheetPayouts]
	require.NotEmpty(t, payouts)
	rowsPerPage, rows := 0, 0
	for i, page := range payouts {
		require.Contains(t, page, "Seller ID", "Payouts page %d repeats the header row", i+1)
		require.Contains(t, page, "File", "Payouts page %d shows the last column: one page wide", i+1)
		require.Contains(t, page, "Payment ID", "Payouts page %d", i+1)
		n := len(seller.FindAllString(page, -1))
		rowsPerPage = max(rowsPerPage, n)
		rows += n
	}
	t.Logf("%d pages; Summary %d; Payouts %d pages of up to %d rows", len(pages), len(perSheet[SheetSummary]), len(payouts), rowsPerPage)
	if keep := os.Getenv("REPORTS_KEEP_PDF"); keep != "" { // for a look at it: REPORTS_KEEP_PDF=/tmp/x.pdf
		body, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".xlsx")+".pdf"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(keep, body, 0o600))
	}
	require.Equal(t, len(fixture.payouts), rows, "every payout row is printed once")
	want := (rows + 2 + rowsPerPage - 1) / rowsPerPage // and the blank and totals rows
	require.InDelta(t, want, len(payouts), 1, "%d rows at %d a page", rows, rowsPerPage)
	require.Greater(t, rowsPerPage, 30, "a landscape page holds a useful number of rows")
	require.Less(t, len(pages), 60, "the whole workbook prints on a sensible number of pages")
}

func lastLine(page string) string {
	lines := strings.Split(strings.TrimRight(page, "\n "), "\n")
	return lines[len(lines)-1]
}
