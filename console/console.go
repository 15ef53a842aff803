package console

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/payout/review"
)

// Prefix is where `payrun serve` mounts the console.
const Prefix = "/console/"

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Schedule is one scheduled job, for the jobs page's next occurrences.
type Schedule struct {
	Job  string
	Spec string // robfig/cron standard five fields, UTC
}

// Config is what the console needs: the admin API's server (its
// authentication, its endpoint table's permissions and its audited
// actions), the review read models, and the jobs' schedules.
type Config struct {
	API    *admin.Server
	Review *review.Service
	// Schedules are the scheduled jobs (jobs page).
	Schedules []Schedule
	// Clock is the time source; nil means time.Now.
	Clock  func() time.Time
	Logger *slog.Logger
}

// Server is the finance console.
type Server struct {
	cfg       Config
	api       *admin.Server
	accounts  *accounts.Service
	reads     *review.Service
	pages     map[string]*template.Template
	mux       *http.ServeMux
	logger    *slog.Logger
	schedules []parsedSchedule
	// table is the page table, as registered (tests read it).
	table []route
}

type parsedSchedule struct {
	job      string
	spec     string
	schedule cron.Schedule
}

// New builds the console. A schedule that does not parse is an error.
func New(cfg Config) (*Server, error) {
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, api: cfg.API, accounts: cfg.API.Service(), reads: cfg.Review, logger: cfg.Logger}
	for _, sc := range cfg.Schedules {
		parsed, err := cron.ParseStandard(sc.Spec)
		if err != nil {
			return nil, err
		}
		s.schedules = append(s.schedules, parsedSchedule{job: sc.Job, spec: sc.Spec, schedule: parsed})
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.mux = http.NewServeMux()
	s.routes()
	return s, nil
}

// Handler serves everything under Prefix.
func (s *Server) Handler() http.Handler { return s.headers(s.mux) }

func (s *Server) now() time.Time { return s.cfg.Clock().UTC() }

func staticFS() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	return sub
}
