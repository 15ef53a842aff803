package console

import (
	"net/http"
	"strings"
)

// contentSecurityPolicy allows nothing inline and nothing from elsewhere:
// scripts and styles are the console's own files, SVG charts are inline
// elements (not style), forms post only to the console, and no site may
// frame it.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the security headers on every console response.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if !strings.HasPrefix(r.URL.Path, Prefix+"static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// routes is the console's page table. Each page names the admin API
// endpoint whose permission it needs: the console shows what that endpoint
// would answer, or does what it would do, through the same service.
func (s *Server) routes() {
	get, post := http.MethodGet, http.MethodPost
	static := http.StripPrefix(Prefix+"static/", http.FileServerFS(staticFS()))
	s.mux.Handle("GET "+Prefix+"static/", static)
	s.mux.HandleFunc("GET "+Prefix+"sign-in", s.signInPage)
	s.mux.HandleFunc("POST "+Prefix+"sign-in", s.signIn)
	s.mux.HandleFunc("GET "+Prefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"cycles", http.StatusSeeOther)
	})
	s.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		sess, _ := s.authenticate(r)
		s.render(w, r, sess, http.StatusNotFound, "error", pageData{Title: "Not found",
			Problem: &problem{Status: http.StatusNotFound, Title: "Not found", Detail: "There is no console page at this address."}})
	})

	s.handle(route{method: post, pattern: Prefix + "sign-out", restricted: true, serve: s.signOut})
	s.handle(route{method: get, pattern: Prefix + "password", restricted: true, serve: s.passwordPage})
	s.handle(route{method: post, pattern: Prefix + "password", restricted: true, serve: s.changePassword})

	cycle := Prefix + "cycles/{month}"
	s.handle(route{method: get, pattern: Prefix + "cycles", endpoint: "list-cycles", serve: s.cyclesPage})
	s.handle(route{method: get, pattern: cycle, endpoint: "get-cycle", serve: s.cyclePage})
	s.handle(route{method: post, pattern: cycle + "/preview", endpoint: "get-cycle", serve: s.previewCycle})
	s.handle(route{method: get, pattern: cycle + "/approve", endpoint: "approve-cycle", serve: s.confirmPage(actionApprove)})
	s.handle(route{method: post, pattern: cycle + "/approve", endpoint: "approve-cycle", serve: s.confirmAction(actionApprove)})
	s.handle(route{method: get, pattern: cycle + "/release", endpoint: "release-cycle", serve: s.confirmPage(actionRelease)})
	s.handle(route{method: post, pattern: cycle + "/release", endpoint: "release-cycle", serve: s.confirmAction(actionRelease)})
	s.handle(route{method: get, pattern: cycle + "/workbook", endpoint: "get-cycle-workbook", serve: s.downloadWorkbook})
	s.handle(route{method: get, pattern: cycle + "/files/{name}", endpoint: "get-cycle-file", serve: s.downloadFile})
	s.handle(route{method: get, pattern: cycle + "/publishers", endpoint: "get-cycle", serve: s.publishersPage})
	s.handle(route{method: get, pattern: cycle + "/publishers.csv", endpoint: "get-cycle", serve: s.exportPublishers})
	s.handle(route{method: get, pattern: cycle + "/publishers/{seller}", endpoint: "get-cycle", serve: s.publisherPage})
	s.handle(route{method: get, pattern: Prefix + "returns", endpoint: "list-cycles", serve: s.returnsPage})
	s.handle(route{method: get, pattern: Prefix + "jobs", endpoint: "list-cycles", serve: s.jobsPage})
	s.handle(route{method: get, pattern: Prefix + "imports", endpoint: "import-earnings", serve: s.importsPage})
	s.handle(route{method: post, pattern: Prefix + "imports/earnings", endpoint: "import-earnings", upload: true, serve: s.importEarnings})
	s.handle(route{method: post, pattern: Prefix + "imports/returns", endpoint: "import-returns", upload: true, serve: s.importReturns})
	s.handle(route{method: post, pattern: Prefix + "imports/fx", endpoint: "import-fx-rates", upload: true, serve: s.importFX})
}
