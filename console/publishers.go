package console

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/payout/review"
)

// filterParams are the publishers table's query parameters; any other is
// refused, as the API refuses parameters it does not declare.
var filterParams = map[string]bool{"status": true, "reason": true, "method": true, "currency": true, "country": true,
	"q": true, "sort": true, "order": true, "after": true, "limit": true}

// filterOf reads the table's filter from the query.
func filterOf(q url.Values) (review.Filter, error) {
	for name := range q {
		if !filterParams[name] {
			return review.Filter{}, &accounts.Error{Kind: accounts.KindInvalid, Field: name, Reason: "not a filter of this table"}
		}
	}
	f := review.Filter{Status: q.Get("status"), Reason: q.Get("reason"), Method: q.Get("method"), Currency: q.Get("currency"),
		Country: q.Get("country"), Query: q.Get("q"), Sort: q.Get("sort"), After: q.Get("after")}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		return f, &accounts.Error{Kind: accounts.KindInvalid, Field: "order", Reason: "asc or desc"}
	}
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return f, &accounts.Error{Kind: accounts.KindInvalid, Field: "limit", Reason: "a whole number of rows"}
		}
		f.Limit = n
	}
	return f, f.Check()
}

// query writes a filter back as query parameters (without the cursor).
func query(f review.Filter) url.Values {
	q := url.Values{}
	for name, value := range map[string]string{"status": f.Status, "reason": f.Reason, "method": f.Method, "currency": f.Currency,
		"country": f.Country, "q": f.Query, "sort": f.Sort} {
		if value != "" {
			q.Set(name, value)
		}
	}
	if f.Desc {
		q.Set("order", "desc")
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

type publishersData struct {
	Cycle    admin.Cycle
	Filter   review.Filter
	Page     review.PublisherPage
	First    bool
	NextURL  string
	FirstURL string
	CSVURL   string
	Reasons  []payout.Reason
	Sorts    []option
	Statuses []option
	Methods  []option
}

type option struct{ Value, Label string }

func (s *Server) publishersPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	month, c, err := s.pathCycle(r)
	if err != nil {
		return err
	}
	base := Prefix + "cycles/" + c.Month + "/publishers"
	data := publishersData{Cycle: c, Reasons: payout.Reasons,
		Sorts:    []option{{"seller", "Seller id"}, {"balance", "Balance"}, {"paid", "Paid"}, {"withheld", "Withheld"}, {"carried", "Carried"}},
		Statuses: []option{{"paid", "Paid"}, {"held", "Held"}, {"carried", "Carried"}},
		Methods:  []option{{"bank", "Bank"}, {"paypal", "PayPal"}}}
	filter, err := filterOf(r.URL.Query())
	data.Filter = filter
	status := http.StatusOK
	var prob *problem
	if err == nil {
		data.Page, err = s.reads.Publishers(r.Context(), month, filter)
	}
	if err != nil {
		p := problemOf(err)
		if p.Status == http.StatusInternalServerError {
			return err
		}
		status, prob = p.Status, &p
	}
	q := query(filter)
	data.FirstURL = base + "?" + q.Encode()
	data.CSVURL = base + ".csv?" + q.Encode()
	data.First = filter.After == ""
	if data.Page.Next != "" {
		q.Set("after", data.Page.Next)
		data.NextURL = base + "?" + q.Encode()
	}
	s.render(w, r, sess, status, "publishers", pageData{Title: "Publishers · " + monthLabel(c.Month), Section: "Cycles", Data: data, Problem: prob})
	return nil
}

// exportPublishers streams the current filter's rows as CSV (audited: it
// is the cycle's financial detail leaving payrun).
func (s *Server) exportPublishers(w http.ResponseWriter, r *http.Request, sess *session) error {
	month, _, err := s.pathCycle(r)
	if err != nil {
		return err
	}
	filter, err := filterOf(r.URL.Query())
	if err != nil {
		return err
	}
	if err := s.accounts.AddAuditEntry(r.Context(), 0, sess.principal, "cycle.publishers.export", "cycle:"+month.Format("2006-01"), nil,
		map[string]any{"filter": query(filter).Encode()}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="publishers-`+month.Format("2006-01")+`.csv"`)
	if _, err := s.reads.ExportPublishers(r.Context(), month, filter, w); err != nil {
		// The header is gone: the truncated file ends here, and the log says why.
		s.logger.Error("console: exporting publishers", "month", month.Format("2006-01"), "error", err)
	}
	return nil
}

type publisherData struct {
	Cycle       admin.Cycle
	Detail      review.Detail
	Summary     *publisher.Summary
	SummaryErr  string
	MayChanges  bool
	MayHolds    bool
	MayAudit    bool
	MaySummary  bool
	PublisherID int64
}

func (s *Server) publisherPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	month, c, err := s.pathCycle(r)
	if err != nil {
		return err
	}
	detail, err := s.reads.Publisher(r.Context(), month, r.PathValue("seller"))
	if err != nil {
		return err
	}
	data := publisherData{Cycle: c, Detail: detail,
		MayChanges: s.may(sess, "get-payout-account") && s.may(sess, "get-tax-profile"),
		MayHolds:   s.may(sess, "get-payment-hold"), MayAudit: s.may(sess, "list-audit"), MaySummary: s.may(sess, "get-payouts-summary")}
	if !data.MayChanges {
		data.Detail.Changes = nil
	}
	if !data.MayHolds {
		data.Detail.Holds = nil
	}
	if !data.MayAudit {
		data.Detail.Audit = nil
	}
	if data.MaySummary {
		acct, err := s.accounts.AccountBySellerID(r.Context(), detail.SellerID)
		if err != nil {
			return err
		}
		summary, err := s.api.Payouts().Summary(r.Context(), acct.ID)
		if err != nil {
			data.SummaryErr = problemOf(err).Detail
		} else {
			data.Summary = &summary
		}
	}
	title := detail.Name
	if title == "" {
		title = detail.SellerID
	}
	s.render(w, r, sess, http.StatusOK, "publisher", pageData{Title: title + " · " + monthLabel(c.Month), Section: "Cycles", Data: data})
	return nil
}
