package console

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/console/chart"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/review"
)

// trendCycles is how many cycles the trend chart shows.
const trendCycles = 12

// listedCycles is how many cycles the cycles page lists.
const listedCycles = 36

type cyclesData struct {
	Cycles []admin.Cycle
	Trend  template.HTML
	// Latest is the newest closed cycle (nil before the first close).
	Latest *admin.Cycle
}

func (s *Server) cyclesPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	cycles, err := s.api.Operations().Cycles(r.Context(), time.Time{}, listedCycles)
	if err != nil {
		return err
	}
	data := cyclesData{Cycles: cycles, Trend: trendChart(cycles)}
	upcoming, err := s.api.Operations().Upcoming(r.Context())
	if err != nil {
		return err
	}
	if len(cycles) == 0 || cycles[0].Month < upcoming.Month {
		data.Cycles = append([]admin.Cycle{upcoming}, cycles...)
	}
	for i := range data.Cycles {
		if payout.CycleState(data.Cycles[i].State).Closed() {
			data.Latest = &data.Cycles[i]
			break
		}
	}
	s.render(w, r, sess, http.StatusOK, "cycles", pageData{Title: "Cycles", Section: "Cycles", Data: data})
	return nil
}

// trendChart draws the last trendCycles closed cycles, oldest first.
func trendChart(cycles []admin.Cycle) template.HTML {
	var months []string
	paid, withheld, held, carried := chart.Series{Name: "Paid", Class: "paid"}, chart.Series{Name: "Withheld", Class: "withheld"},
		chart.Series{Name: "Held", Class: "held"}, chart.Series{Name: "Carried", Class: "carried"}
	for i := len(cycles) - 1; i >= 0; i-- {
		c := cycles[i]
		if !payout.CycleState(c.State).Closed() {
			continue
		}
		months = append(months, c.Month)
		paid.Values = append(paid.Values, dec(c.Totals.Paid.Amount))
		withheld.Values = append(withheld.Values, dec(c.Totals.Withheld))
		held.Values = append(held.Values, dec(c.Totals.Held.Amount))
		carried.Values = append(carried.Values, dec(c.Totals.Carried.Amount))
	}
	if n := len(months); n > trendCycles {
		months = months[n-trendCycles:]
		for _, s := range []*chart.Series{&paid, &withheld, &held, &carried} {
			s.Values = s.Values[n-trendCycles:]
		}
	}
	return chart.Trend("trend", "The last 12 cycles", "Paid, withheld, held and carried USD of each closed cycle, oldest first",
		[]chart.Series{paid, withheld, held, carried}, months)
}

// dec reads an amount the services give as a decimal string; the services
// write them, so a bad one is a bug shown as zero rather than a broken page.
func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}

// monthOf reads the {month} path value (YYYY-MM).
func monthOf(r *http.Request) (time.Time, error) {
	raw := r.PathValue("month")
	t, err := time.Parse("2006-01", raw)
	if err != nil || t.Format("2006-01") != raw {
		return time.Time{}, &accounts.Error{Kind: accounts.KindNotFound, Field: "month", Reason: "not a month (YYYY-MM): " + strconv.Quote(raw)}
	}
	return t.UTC(), nil
}

// reviewData is the cycle review page.
type reviewData struct {
	Cycle     admin.Cycle
	Checks    []admin.WorkbookCheck
	ChecksErr string
	Failed    int
	Breakdown review.Breakdown
	Reasons   template.HTML
	Methods   template.HTML
	Countries template.HTML
	Files     []admin.CycleFile
	Preview   *admin.CycleTotals

	Closed, Released  bool
	MayApprove        bool
	MayRelease        bool
	MayDownload       bool
	ApprovalRequired  bool
	Approved          bool
	ViewerClosedIt    bool
	CanApproveNow     bool
	CanReleaseNow     bool
	PreviewAvailable  bool
	WorkbookAvailable bool
}

func (s *Server) cyclePage(w http.ResponseWriter, r *http.Request, sess *session) error {
	month, err := monthOf(r)
	if err != nil {
		return err
	}
	data, err := s.review(r.Context(), sess, month)
	if err != nil {
		return err
	}
	s.render(w, r, sess, http.StatusOK, "cycle", pageData{Title: "Cycle " + monthLabel(data.Cycle.Month), Section: "Cycles", Data: data,
		Flash: flash(r.URL.Query().Get("done"))})
	return nil
}

// flash is the message a redirect after an action asks for (a fixed set:
// never text from the query string).
func flash(done string) string {
	switch done {
	case "approved":
		return "The cycle is approved. It can now be released."
	case "released":
		return "The cycle is released: its payment files are written and listed below."
	}
	return ""
}

// review gathers the cycle review page.
func (s *Server) review(ctx context.Context, sess *session, month time.Time) (reviewData, error) {
	c, err := s.cycle(ctx, month)
	if err != nil {
		return reviewData{}, err
	}
	state := payout.CycleState(c.State)
	d := reviewData{Cycle: c, Closed: state.Closed(), Released: state.ReleasedOrLater(),
		MayApprove: s.may(sess, "approve-cycle"), MayRelease: s.may(sess, "release-cycle"), MayDownload: s.may(sess, "get-cycle-file"),
		ApprovalRequired: state == payout.CycleAwaitingApproval || c.ApprovedAt != nil, Approved: c.ApprovedAt != nil,
		ViewerClosedIt:   c.ClosedByOperatorID != 0 && c.ClosedByOperatorID == sess.principal.ID,
		PreviewAvailable: state == payout.CycleOpen}
	d.CanApproveNow = state == payout.CycleAwaitingApproval && c.ApprovedAt == nil
	d.CanReleaseNow = state.CanRelease(c.ApprovedAt != nil)
	if !d.Closed {
		return d, nil
	}
	d.WorkbookAvailable = true
	if d.Checks, err = s.api.Operations().Checks(ctx, month); err != nil {
		d.ChecksErr = "The workbook's checks could not be read: " + problemOf(err).Detail
	}
	for _, check := range d.Checks {
		if !check.Pass {
			d.Failed++
		}
	}
	if d.Breakdown, err = s.reads.Breakdown(ctx, month); err != nil {
		return d, err
	}
	d.Reasons, d.Methods, d.Countries = breakdownCharts(d.Breakdown)
	if d.Released {
		if d.Files, err = s.api.Operations().Files(ctx, month); err != nil {
			return d, err
		}
	}
	return d, nil
}

// pathCycle reads the {month} path value and the cycle it names.
func (s *Server) pathCycle(r *http.Request) (time.Time, admin.Cycle, error) {
	month, err := monthOf(r)
	if err != nil {
		return month, admin.Cycle{}, err
	}
	c, err := s.cycle(r.Context(), month)
	return month, c, err
}

// cycle is month's cycle, or, for the next cycle to close (no row until its
// close starts), the open cycle with its calendar.
func (s *Server) cycle(ctx context.Context, month time.Time) (admin.Cycle, error) {
	c, err := s.api.Operations().Cycle(ctx, month)
	if err == nil || problemOf(err).Status != http.StatusNotFound {
		return c, err
	}
	upcoming, upErr := s.api.Operations().Upcoming(ctx)
	if upErr != nil {
		return c, upErr
	}
	if upcoming.Month != month.Format("2006-01") {
		return c, err
	}
	return upcoming, nil
}

// maxCountryBars bounds the country chart; the table beside it lists all.
const maxCountryBars = 12

func breakdownCharts(b review.Breakdown) (reasons, methods, countries template.HTML) {
	var bars []chart.Bar
	for _, r := range b.ByReason {
		if r.Held.Count > 0 {
			bars = append(bars, chart.Bar{Label: labelOf(r.Reason) + " (held)", Value: r.Held.Amount, Class: "held",
				Text: publishers(r.Held.Count) + " · " + usd(r.Held.Amount) + " USD"})
		}
		if r.Carried.Count > 0 {
			bars = append(bars, chart.Bar{Label: labelOf(r.Reason) + " (carried)", Value: r.Carried.Amount, Class: "carried",
				Text: publishers(r.Carried.Count) + " · " + usd(r.Carried.Amount) + " USD"})
		}
	}
	reasons = chart.Bars("reasons", "Held and carried by reason", "USD kept back in this cycle, by each publisher's first reason", bars)
	bars = nil
	for _, m := range b.ByMethod {
		bars = append(bars, chart.Bar{Label: labelOf(m.Method) + " · " + m.Currency, Value: m.Paid.Amount, Class: "paid",
			Text: payments(m.Paid.Count) + " · " + usd(m.Paid.Amount) + " USD"})
	}
	methods = chart.Bars("methods", "Paid by method and currency", "USD paid in this cycle, by payout method and currency", bars)
	bars = nil
	for i, c := range b.ByCountry {
		if i == maxCountryBars {
			break
		}
		bars = append(bars, chart.Bar{Label: c.Country, Value: c.Paid.Amount, Class: "paid",
			Text: payments(c.Paid.Count) + " · " + usd(c.Paid.Amount) + " USD"})
	}
	countries = chart.Bars("countries", "Paid by country", fmt.Sprintf("USD paid in this cycle, by the publishers' registration country (the first %d)", maxCountryBars), bars)
	return reasons, methods, countries
}

func publishers(n int64) string {
	if n == 1 {
		return "1 publisher"
	}
	return count(n) + " publishers"
}

func payments(n int64) string {
	if n == 1 {
		return "1 payment"
	}
	return count(n) + " payments"
}

// previewCycle runs a dry-run close of an open cycle (nothing is kept) and
// shows the review page with what it would do.
func (s *Server) previewCycle(w http.ResponseWriter, r *http.Request, sess *session) error {
	month, err := monthOf(r)
	if err != nil {
		return err
	}
	data, err := s.review(r.Context(), sess, month)
	if err != nil {
		return err
	}
	if !data.PreviewAvailable {
		return &accounts.Error{Kind: accounts.KindConflict, Field: "month", Reason: "cycle " + data.Cycle.Month + " is " + data.Cycle.State + ": only an open cycle has a preview"}
	}
	totals, err := s.api.Operations().Preview(r.Context(), month)
	if err != nil {
		return err
	}
	if err := s.accounts.AddAuditEntry(r.Context(), 0, sess.principal, "cycle.preview", "cycle:"+data.Cycle.Month, nil, totals); err != nil {
		return err
	}
	data.Preview = &totals
	s.render(w, r, sess, http.StatusOK, "cycle", pageData{Title: "Cycle " + monthLabel(data.Cycle.Month), Section: "Cycles", Data: data})
	return nil
}

// An action needing a confirmation step.
type action struct {
	Name, Verb, Done string
}

var (
	actionApprove = action{Name: "approve", Verb: "Approve", Done: "approved"}
	actionRelease = action{Name: "release", Verb: "Release", Done: "released"}
)

type confirmData struct {
	Action action
	Review reviewData
	Typed  string
}

// confirmPage shows what an approval or a release will do and asks the
// operator to type the month to confirm.
func (s *Server) confirmPage(a action) handler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) error {
		month, err := monthOf(r)
		if err != nil {
			return err
		}
		return s.showConfirm(w, r, sess, month, a, "", nil)
	}
}

// showConfirm renders the confirmation page of a on month, with what the
// operator typed and the refusal of a try, when there was one.
func (s *Server) showConfirm(w http.ResponseWriter, r *http.Request, sess *session, month time.Time, a action, typed string, p *problem) error {
	data, err := s.review(r.Context(), sess, month)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if p != nil {
		status = p.Status
	}
	s.render(w, r, sess, status, "confirm", pageData{Title: a.Verb + " cycle " + monthLabel(data.Cycle.Month), Section: "Cycles",
		Problem: p, Data: confirmData{Action: a, Review: data, Typed: typed}})
	return nil
}

// confirmAction performs an approval or a release once the month was typed
// back, through the admin API's audited action; a refusal (maker-checker,
// the cycle's state) is shown on the confirmation page.
func (s *Server) confirmAction(a action) handler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) error {
		month, err := monthOf(r)
		if err != nil {
			return err
		}
		typed := r.PostFormValue("confirm_month")
		if typed != month.Format("2006-01") {
			err = &accounts.Error{Kind: accounts.KindInvalid, Field: "confirm_month", Reason: "type the cycle's month, " + month.Format("2006-01") + ", to confirm"}
		} else if a == actionApprove {
			_, err = s.api.ApproveCycle(r.Context(), sess.principal, month)
		} else {
			_, err = s.api.ReleaseCycle(r.Context(), sess.principal, month)
		}
		if err != nil {
			p := problemOf(err)
			if p.Status == http.StatusInternalServerError {
				return err
			}
			return s.showConfirm(w, r, sess, month, a, typed, &p)
		}
		http.Redirect(w, r, Prefix+"cycles/"+month.Format("2006-01")+"?done="+a.Done, http.StatusSeeOther)
		return nil
	}
}

func (s *Server) downloadWorkbook(w http.ResponseWriter, r *http.Request, sess *session) error {
	month, err := monthOf(r)
	if err != nil {
		return err
	}
	d, err := s.api.OpenWorkbook(r.Context(), sess.principal, month)
	if err != nil {
		return err
	}
	return s.send(w, r, d)
}

func (s *Server) downloadFile(w http.ResponseWriter, r *http.Request, sess *session) error {
	month, err := monthOf(r)
	if err != nil {
		return err
	}
	d, err := s.api.OpenCycleFile(r.Context(), sess.principal, month, r.PathValue("name"))
	if err != nil {
		return err
	}
	return s.send(w, r, d)
}

// send streams a download, as the API does: attachment, its sha256 as the
// ETag, never cached.
func (s *Server) send(w http.ResponseWriter, r *http.Request, d admin.Download) error {
	defer d.Body.Close()
	h := w.Header()
	h.Set("Content-Type", d.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.Name}))
	if d.Size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(d.Size, 10))
	}
	if d.SHA256 != "" {
		h.Set("ETag", `"`+d.SHA256+`"`)
	}
	if _, err := io.Copy(w, d.Body); err != nil && r.Context().Err() == nil {
		s.logger.Error("console: sending a file", "file", d.Name, "error", err)
	}
	return nil
}
