package console

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/payrun/payrun/accounts"
)

type signInData struct {
	Name   string
	Next   string
	Token  string // the pre-session CSRF token
	Notice string
}

// signInPage shows the sign-in form. It sets a fresh pre-session token
// (cookie and hidden field) for the form's double-submit CSRF check.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if sess, err := s.authenticate(r); err == nil && !sess.principal.Restricted {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	notice := ""
	switch r.URL.Query().Get("done") {
	case "signed-out":
		notice = "You are signed out."
	case "password-changed":
		notice = "Your password is changed. Sign in with the new one."
	case "expired":
		notice = "Your session ended. Sign in again."
	}
	s.showSignIn(w, r, http.StatusOK, signInData{Next: r.URL.Query().Get("next"), Notice: notice}, nil)
}

func (s *Server) showSignIn(w http.ResponseWriter, r *http.Request, status int, data signInData, p *problem) {
	data.Token = randomValue()
	setCookie(w, r, preSessionCookie, data.Token, int((15 * time.Minute).Seconds()))
	if data.Next != "" {
		data.Next = safeNext(data.Next)
	}
	s.render(w, r, nil, status, "signin", pageData{Title: "Sign in", Data: data, Problem: p})
}

// signIn checks an operator's name and password (accounts.SignInConsole:
// the API's rules, lockout included) and starts a session.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	data := signInData{}
	if err := r.ParseForm(); err != nil {
		s.showSignIn(w, r, http.StatusBadRequest, data, &problem{Title: "That form could not be read"})
		return
	}
	data.Name, data.Next = r.PostFormValue("name"), r.PostFormValue("next")
	pre, err := r.Cookie(preSessionCookie)
	if !sameOrigin(r) || err != nil || !equalTokens(r.PostFormValue(csrfField), pre.Value) {
		s.showSignIn(w, r, http.StatusForbidden, data, &problem{Title: "The sign-in form expired",
			Detail: "Sign in again from this page (cookies must be enabled for this site)."})
		return
	}
	err = s.api.LimitSignIn(r.RemoteAddr, data.Name)
	var grant accounts.Grant
	if err == nil {
		grant, err = s.accounts.SignInConsole(r.Context(), data.Name, r.PostFormValue("password"))
	}
	if err != nil {
		p := problemOf(err)
		var domain *accounts.Error
		if errors.As(err, &domain) && domain.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(domain.RetryAfter.Seconds()+0.5)))
		}
		if p.Status == http.StatusUnauthorized || p.Status == http.StatusBadRequest {
			p = problem{Status: http.StatusUnauthorized, Title: "Sign-in failed", Detail: "The name or the password is wrong."}
		}
		s.showSignIn(w, r, p.Status, data, &p)
		return
	}
	principal, err := s.api.AuthenticateConsole(r.Context(), grant.AccessToken)
	if err == nil {
		err = s.accounts.AddAuditEntry(r.Context(), 0, principal, "console.sign_in", operatorTarget(principal), nil,
			map[string]any{"expires_at": grant.ExpiresAt, "password_change_required": grant.Restricted})
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	clearCookie(w, r, preSessionCookie)
	setCookie(w, r, sessionCookie, grant.AccessToken, 0)
	if grant.Restricted {
		http.Redirect(w, r, Prefix+"password", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, safeNext(data.Next), http.StatusSeeOther)
}

func operatorTarget(p accounts.Principal) string { return "operator:" + strconv.FormatInt(p.ID, 10) }

// signOut revokes the session's token and forgets the cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.accounts.RevokeToken(r.Context(), sess.principal); err != nil {
		return err
	}
	if err := s.accounts.AddAuditEntry(r.Context(), 0, sess.principal, "console.sign_out", operatorTarget(sess.principal), nil, nil); err != nil {
		return err
	}
	clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, Prefix+"sign-in?done=signed-out", http.StatusSeeOther)
	return nil
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	s.render(w, r, sess, http.StatusOK, "password", pageData{Title: "Change your password", Data: sess.principal.Restricted})
	return nil
}

// changePassword changes the operator's password (accounts.ChangePassword:
// the API's rules), which ends every session of the operator: sign in
// again with the new password.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, sess *session) error {
	current, next, again := r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("new_password_again")
	if next != again {
		p := problemOf(&accounts.Error{Kind: accounts.KindInvalid, Field: "new_password_again", Reason: "does not match the new password"})
		s.render(w, r, sess, p.Status, "password", pageData{Title: "Change your password", Data: sess.principal.Restricted, Problem: &p})
		return nil
	}
	if err := s.accounts.ChangePassword(r.Context(), sess.principal, current, next); err != nil {
		p := problemOf(err)
		s.render(w, r, sess, p.Status, "password", pageData{Title: "Change your password", Data: sess.principal.Restricted, Problem: &p})
		return nil
	}
	clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, Prefix+"sign-in?done=password-changed", http.StatusSeeOther)
	return nil
}
