package console

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/payout/review"
)

// How many rows the returns, jobs and imports pages list.
const (
	listedReturns = 200
	listedRuns    = 100
	listedImports = 50
)

func (s *Server) returnsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	view, err := s.reads.Returns(r.Context(), listedReturns)
	if err != nil {
		return err
	}
	s.render(w, r, sess, http.StatusOK, "returns", pageData{Title: "Returns", Section: "Returns", Data: view})
	return nil
}

// occurrence is a scheduled job's next run.
type occurrence struct {
	Job  string
	Spec string
	At   time.Time
}

type jobsData struct {
	View review.JobsView
	Next []occurrence
}

func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	view, err := s.reads.Jobs(r.Context(), listedRuns)
	if err != nil {
		return err
	}
	now := s.now()
	data := jobsData{View: view}
	for _, sc := range s.schedules {
		data.Next = append(data.Next, occurrence{Job: sc.job, Spec: sc.spec, At: sc.schedule.Next(now).UTC()})
	}
	slices.SortStableFunc(data.Next, func(a, b occurrence) int { return a.At.Compare(b.At) })
	s.render(w, r, sess, http.StatusOK, "jobs", pageData{Title: "Jobs", Section: "Jobs", Data: data})
	return nil
}

// importsData is the imports page: the forms, the last result, the history.
type importsData struct {
	History  []review.ImportLine
	Kind     string // the import just run
	Earnings *admin.EarningsImport
	Returns  *admin.ReturnsImport
	FX       *admin.FXImport
	Month    string // the FX form's month
}

func (s *Server) importsPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.showImports(w, r, sess, http.StatusOK, importsData{}, nil)
}

func (s *Server) showImports(w http.ResponseWriter, r *http.Request, sess *session, status int, data importsData, p *problem) error {
	history, err := s.reads.Imports(r.Context(), listedImports)
	if err != nil {
		return err
	}
	data.History = history
	if data.Month == "" {
		data.Month = s.now().Format("2006-01")
	}
	s.render(w, r, sess, status, "imports", pageData{Title: "Imports", Section: "Imports", Data: data, Problem: p})
	return nil
}

// upload is the form's file: its name (the base name only) and body.
func upload(r *http.Request) (string, io.ReadCloser, error) {
	file, header, err := r.FormFile("file")
	if err != nil {
		return "", nil, &accounts.Error{Kind: accounts.KindInvalid, Field: "file", Reason: "choose a file to import"}
	}
	name := header.Filename
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return name, file, nil
}

// imported shows an import's outcome: the result, or every line's errors
// (the import is all or nothing: a refused file changed nothing).
func (s *Server) imported(w http.ResponseWriter, r *http.Request, sess *session, data importsData, err error) error {
	if err != nil {
		p := problemOf(err)
		if p.Status == http.StatusInternalServerError {
			return err
		}
		p.Title = "Nothing was imported: " + strings.ToLower(p.Title[:1]) + p.Title[1:]
		return s.showImports(w, r, sess, p.Status, data, &p)
	}
	return s.showImports(w, r, sess, http.StatusOK, data, nil)
}

func (s *Server) importEarnings(w http.ResponseWriter, r *http.Request, sess *session) error {
	data := importsData{Kind: "earnings"}
	name, body, err := upload(r)
	if err == nil {
		defer body.Close()
		var result admin.EarningsImport
		if result, err = s.api.ImportEarnings(r.Context(), sess.principal, name, body); err == nil {
			data.Earnings = &result
		}
	}
	return s.imported(w, r, sess, data, err)
}

func (s *Server) importReturns(w http.ResponseWriter, r *http.Request, sess *session) error {
	data := importsData{Kind: "returns"}
	name, body, err := upload(r)
	if err == nil {
		defer body.Close()
		var result admin.ReturnsImport
		if result, err = s.api.ImportReturns(r.Context(), sess.principal, name, body); err == nil {
			data.Returns = &result
		}
	}
	return s.imported(w, r, sess, data, err)
}

func (s *Server) importFX(w http.ResponseWriter, r *http.Request, sess *session) error {
	data := importsData{Kind: "fx", Month: r.PostFormValue("month")}
	month, err := time.Parse("2006-01", data.Month)
	if err != nil {
		err = &accounts.Error{Kind: accounts.KindInvalid, Field: "month", Reason: "the cycle's month, YYYY-MM"}
		return s.imported(w, r, sess, data, err)
	}
	_, body, err := upload(r)
	if err == nil {
		defer body.Close()
		var result admin.FXImport
		if result, err = s.api.ImportFX(r.Context(), sess.principal, month.UTC(), body, r.PostFormValue("confirm_change") == "yes"); err == nil {
			data.FX = &result
		}
	}
	return s.imported(w, r, sess, data, err)
}
