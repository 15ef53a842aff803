package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/payrun/payrun/accounts"
)

// Cookies. The session cookie carries a console token (accounts.SignInConsole):
// HttpOnly, SameSite=Strict, Secure when the request came over TLS, scoped
// to the console's path. The pre-session cookie carries the sign-in form's
// CSRF secret (double submit), since there is no session to bind it to yet.
const (
	sessionCookie    = "payrun_console"
	preSessionCookie = "payrun_console_signin"
	csrfField        = "csrf"
)

// session is a signed-in request's principal and its CSRF token.
type session struct {
	principal accounts.Principal
	csrf      string
}

type sessionKey struct{}

func sessionOf(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// csrfFor derives a session's CSRF token from its secret token: an HMAC,
// so the form token reveals nothing about the cookie, and it needs no
// storage. A cross-site page can read neither (the cookie is HttpOnly and
// the page is same-origin only).
func csrfFor(token string) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("payrun console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func equalTokens(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func randomValue() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// secure says whether cookies get the Secure attribute: the request came
// over TLS, directly or through a proxy that says so.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, HttpOnly: true, Secure: secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	setCookie(w, r, name, "", -1)
}

var errNoSession = errors.New("console: no session")

// authenticate resolves the request's session cookie through the admin
// API's authentication (audience console) and slides its idle limit.
func (s *Server) authenticate(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	p, err := s.api.AuthenticateConsole(r.Context(), c.Value)
	if err != nil {
		var domain *accounts.Error
		if errors.As(err, &domain) && domain.Kind == accounts.KindUnauthenticated {
			return nil, errNoSession
		}
		return nil, err
	}
	live, err := s.accounts.TouchConsole(r.Context(), p.TokenID)
	if err != nil {
		return nil, err
	}
	if !live {
		return nil, errNoSession
	}
	return &session{principal: p, csrf: csrfFor(c.Value)}, nil
}

// sameOrigin refuses a state-changing request whose Origin (or, without
// one, Referer) names another site: with SameSite=Strict cookies and CSRF
// tokens this is the third lock on the door.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" || origin == "null" {
		return origin == "" // a browser always sends one on a form post; tools may not
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// signInRedirect is where an anonymous request goes: the sign-in page,
// remembering a same-console path to come back to.
func signInRedirect(r *http.Request) string {
	next := ""
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, Prefix) {
		next = r.URL.RequestURI()
	}
	if next == "" || next == Prefix || next == Prefix+"sign-in" {
		return Prefix + "sign-in"
	}
	return Prefix + "sign-in?next=" + url.QueryEscape(next)
}

// safeNext keeps a post-sign-in redirect inside the console: a path under
// Prefix, never another host or a scheme-relative URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix + "cycles"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return Prefix + "cycles"
	}
	return next
}
