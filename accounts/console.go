package accounts

import (
	"context"
	"time"
)

// Audience says where a token is accepted: the API takes bearer tokens of
// AudienceAPI only, the finance console's session cookie carries a token of
// AudienceConsole and nothing else (migration 190).
type Audience string

// The audiences.
const (
	AudienceAPI     Audience = "api"
	AudienceConsole Audience = "console"
)

// Console session limits (issue 21): a session ends after ConsoleIdle
// without a request, and ConsoleMaxAge after its sign-in whatever happens.
const (
	ConsoleIdle   = 30 * time.Minute
	ConsoleMaxAge = 12 * time.Hour
)

// SignInConsole signs an operator in to the finance console: the same
// password, lockout and must-change rule as SignIn, but only operators (the
// console is the platform's, not a publisher's), and the token is a
// console session's, valid ConsoleIdle and extended by TouchConsole.
// Errors: ErrUnauthenticated (any name that is not an operator's, so the
// answer does not say which names exist), ErrLockedOut.
func (s *Service) SignInConsole(ctx context.Context, name, password string) (Grant, error) {
	if name == "" || len(name) > 320 || password == "" || len(password) > MaxPasswordLength*4 {
		return Grant{}, errBadCredentials
	}
	return s.operatorSignIn(ctx, name, password, func(id int64, mustChange bool) (Grant, error) {
		return issue(ctx, s.DB, AudienceConsole, ConsoleIdle, KindOperator, id, 0, 0, mustChange, s.now())
	})
}

// TouchConsole extends a console session by ConsoleIdle from now, never past
// ConsoleMaxAge after its sign-in. It reports whether the session is still
// live (false: expired, revoked or not a console session).
func (s *Service) TouchConsole(ctx context.Context, tokenID int64) (bool, error) {
	now := s.now()
	result, err := s.DB.ExecContext(ctx, `
		UPDATE tokens SET expires_at = least(issued_at + $3 * interval '1 second', $2::timestamptz + $4 * interval '1 second')
		WHERE id = $1 AND audience = 'console' AND revoked_at IS NULL AND expires_at > $2`,
		tokenID, now, int64(ConsoleMaxAge/time.Second), int64(ConsoleIdle/time.Second))
	if err != nil {
		return false, err
	}
	n, err := result.RowsAffected()
	return n == 1, err
}
