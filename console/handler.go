package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout/review"
)

// Limits of the console's requests.
const (
	// maxFormBytes bounds a form without a file.
	maxFormBytes = 64 << 10
	// maxUploadBytes bounds an import's upload, as the API's imports.
	maxUploadBytes = 64 << 20
)

// handler serves one page for a signed-in operator.
type handler func(w http.ResponseWriter, r *http.Request, sess *session) error

// route is one line of the console's page table: what it serves and the
// admin API endpoint whose permission gates it (the same table as the
// API's, Server.Permission), or "" for any signed-in operator.
type route struct {
	method, pattern string
	endpoint        string
	// restricted: open to a session that must still change its temporary
	// password (the password page and sign-out only).
	restricted bool
	// upload: a multipart form with a file.
	upload bool
	serve  handler
}

// handle registers a route: authentication, the must-change-password rule,
// same-origin and CSRF checks on every POST, the permission, then the page.
func (s *Server) handle(rt route) {
	if rt.endpoint != "" {
		s.api.Permission(rt.endpoint) // an unknown endpoint panics here, at start
	}
	s.table = append(s.table, rt)
	s.mux.HandleFunc(rt.method+" "+rt.pattern, func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.authenticate(r)
		if errors.Is(err, errNoSession) {
			clearCookie(w, r, sessionCookie)
			http.Redirect(w, r, signInRedirect(r), http.StatusSeeOther)
			return
		}
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		if sess.principal.Restricted && !rt.restricted {
			http.Redirect(w, r, Prefix+"password", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := s.checkPost(w, r, rt.upload, sess.csrf); err != nil {
				s.fail(w, r, sess, err)
				return
			}
		}
		if rt.endpoint != "" && !sess.principal.Permissions[s.api.Permission(rt.endpoint)] {
			s.fail(w, r, sess, forbidden(s.api.Permission(rt.endpoint)))
			return
		}
		if err := rt.serve(w, r, sess); err != nil {
			s.fail(w, r, sess, err)
		}
	})
}

// may says whether the session's principal holds the permission of the
// admin API endpoint id.
func (s *Server) may(sess *session, endpointID string) bool {
	return sess != nil && sess.principal.Permissions[s.api.Permission(endpointID)]
}

// checkPost parses a POST's form within its limit and checks its origin
// and CSRF token.
func (s *Server) checkPost(w http.ResponseWriter, r *http.Request, upload bool, want string) error {
	if !sameOrigin(r) {
		return &accounts.Error{Kind: accounts.KindForbidden, Reason: "the form was posted from another site"}
	}
	var err error
	if upload {
		r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
		err = r.ParseMultipartForm(1 << 20)
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &accounts.Error{Kind: accounts.KindInvalid, Field: "file", Reason: fmt.Sprintf("larger than %d MiB", tooBig.Limit>>20)}
		}
		return &accounts.Error{Kind: accounts.KindInvalid, Field: "form", Reason: "not a form this console sent"}
	}
	if !equalTokens(r.PostFormValue(csrfField), want) {
		return &accounts.Error{Kind: accounts.KindForbidden, Field: csrfField,
			Reason: "the form's security token is missing or stale: reload the page and try again"}
	}
	return nil
}

func forbidden(p accounts.Permission) error {
	return &accounts.Error{Kind: accounts.KindForbidden, Missing: []accounts.Permission{p},
		Reason: "your roles do not include the permission " + string(p)}
}

// problem is an error as a page shows it.
type problem struct {
	Status  int
	Title   string
	Detail  string
	Fields  []*fielderr.Error
	Missing []accounts.Permission
}

// problemOf maps an error to its status and text, as the API's problem
// details do (admin/errors.go): a field error or KindInvalid 400,
// forbidden 403, not found 404, conflict 409, a business rule 422, locked
// out or rate limited 429, anything else 500 with the cause logged only.
func problemOf(err error) problem {
	var refused *admin.ImportRefused
	if errors.As(err, &refused) {
		p := problem{Status: http.StatusBadRequest, Title: "The file has problems", Detail: refused.Error()}
		for _, row := range refused.Problems {
			p.Fields = append(p.Fields, &fielderr.Error{Path: row.Location, Message: row.Reason})
		}
		return p
	}
	if errors.Is(err, review.ErrNotFound) {
		return problem{Status: http.StatusNotFound, Title: "Not found", Detail: err.Error()}
	}
	if fields := fielderr.All(err); len(fields) > 0 {
		return problem{Status: http.StatusBadRequest, Title: "Some fields need attention", Fields: fields}
	}
	var domain *accounts.Error
	if errors.As(err, &domain) {
		// A refusal reads as a sentence; a bad field names the field.
		p := problem{Detail: domain.Reason, Missing: slices.Clone(domain.Missing)}
		if domain.Kind == accounts.KindInvalid {
			p.Detail = domain.Error()
		}
		switch domain.Kind {
		case accounts.KindInvalid:
			p.Status, p.Title = http.StatusBadRequest, "That input is not valid"
		case accounts.KindForbidden:
			p.Status, p.Title = http.StatusForbidden, "Not allowed"
		case accounts.KindNotFound:
			p.Status, p.Title = http.StatusNotFound, "Not found"
		case accounts.KindConflict, accounts.KindImmutable, accounts.KindStale:
			p.Status, p.Title = http.StatusConflict, "That cannot be done in the current state"
		case accounts.KindRule:
			p.Status, p.Title = http.StatusUnprocessableEntity, "Refused by a rule"
		case accounts.KindUnauthenticated:
			p.Status, p.Title = http.StatusUnauthorized, "Sign-in failed"
		case accounts.KindLockedOut, accounts.KindRateLimited:
			p.Status, p.Title = http.StatusTooManyRequests, "Too many attempts"
		default:
			p.Status, p.Title = http.StatusInternalServerError, "Something went wrong"
		}
		return p
	}
	return problem{Status: http.StatusInternalServerError, Title: "Something went wrong",
		Detail: "payrun could not complete this request; the error is in the server's log"}
}

// fail renders an error page (or the error within the page that asked,
// see the handlers) and logs what a person cannot act on.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	p := problemOf(err)
	if p.Status == http.StatusInternalServerError {
		s.logger.Error("console: request failed", "path", r.URL.Path, "error", err)
	}
	s.render(w, r, sess, p.Status, "error", pageData{Title: p.Title, Problem: &p})
}
