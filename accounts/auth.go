package accounts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/internal/db"
)

// Token and lockout limits (SPEC §7.11; lockout after OWASP's authentication
// cheat sheet: a handful of failures, then a wait).
const (
	// TokenTTL is how long a bearer token is valid.
	TokenTTL = 60 * time.Minute
	// MaxFailedSignIns failures within LockoutWindow lock a sign-in name
	// until the oldest of them leaves the window.
	MaxFailedSignIns = 5
	LockoutWindow    = 15 * time.Minute
)

// Grant is an issued bearer token. AccessToken is shown once; only its hash
// is stored.
type Grant struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresIn   int       `json:"expires_in"`
	ExpiresAt   time.Time `json:"expires_at"`
	// Restricted tokens may only change the temporary password.
	Restricted bool `json:"password_change_required"`
}

func isUnauthenticated(err error) bool { return errors.Is(err, ErrUnauthenticated) }

// signInLockClass is the first key of the two-key transaction advisory lock
// that serialises the lockout check of one sign-in subject ("psig" in
// ASCII); the second is hashtext(subject).
const signInLockClass int32 = 0x70736967

// checkPassword verifies a secret for a sign-in subject with lockout. The
// lockout check and the recording of the attempt are one atomic step in the
// database: under a transaction advisory lock on the subject it counts the
// failures since the last success within LockoutWindow (an attempt still
// being checked counts as failed) and, below MaxFailedSignIns, records this
// attempt as failed before anything is verified; a success then marks its
// own attempt succeeded. So however many requests race, at most
// MaxFailedSignIns secrets are checked for a subject inside the window, and
// a locked subject gets ErrLockedOut (RetryAfter: until the oldest counted
// failure leaves the window) without any hashing.
//
// lookup returns the stored hashes that may match: none for an unknown
// principal, which costs the same argon2id work as a wrong secret. The
// check runs in a hashing slot (Hashing); when none frees up in time the
// attempt is taken back (nothing was checked) and the answer is
// ErrRateLimited. Attempts are recorded outside any caller's transaction, so
// a rollback cannot erase them. Errors: ErrUnauthenticated, ErrLockedOut,
// ErrRateLimited.
func (s *Service) checkPassword(ctx context.Context, subject string, lookup func() ([]string, error), secret string) error {
	subject = strings.ToLower(subject)
	now := s.now()
	var attempt int64
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, signInLockClass, subject); err != nil {
			return err
		}
		var failures []time.Time
		if err := tx.SelectContext(ctx, &failures, `
			SELECT at FROM sign_in_attempts
			WHERE subject = $1 AND at > $2 AND NOT succeeded
			  AND id > coalesce((SELECT max(id) FROM sign_in_attempts WHERE subject = $1 AND succeeded), 0)
			ORDER BY at DESC, id DESC LIMIT $3`, subject, now.Add(-LockoutWindow), MaxFailedSignIns); err != nil {
			return err
		}
		if len(failures) >= MaxFailedSignIns {
			until := failures[len(failures)-1].Add(LockoutWindow)
			return &Error{Kind: KindLockedOut, Reason: "too many failed sign-ins: try again later", RetryAfter: until.Sub(now)}
		}
		return tx.GetContext(ctx, &attempt, `INSERT INTO sign_in_attempts (subject, at, succeeded) VALUES ($1, $2, false) RETURNING id`, subject, now)
	})
	if err != nil {
		return err
	}
	ok, err := s.verifyAttempt(ctx, lookup, secret)
	// The attempt is settled even when the client has gone.
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case err != nil:
		// Nothing was checked (no hashing slot, a database error): the
		// attempt does not count.
		if _, undo := s.DB.ExecContext(settle, `DELETE FROM sign_in_attempts WHERE id = $1`, attempt); undo != nil {
			return errors.Join(err, undo)
		}
		return err
	case ok:
		_, err := s.DB.ExecContext(settle, `UPDATE sign_in_attempts SET succeeded = true WHERE id = $1`, attempt)
		return err
	default:
		return errBadCredentials
	}
}

// verifyAttempt looks the hashes up and checks secret against them in a
// hashing slot (against dummyHash when there are none).
func (s *Service) verifyAttempt(ctx context.Context, lookup func() ([]string, error), secret string) (bool, error) {
	hashes, err := lookup()
	if err != nil {
		return false, err
	}
	release, err := s.hashing().Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	if len(hashes) == 0 {
		verifySecret(dummyHash, secret)
		return false, nil
	}
	for _, hash := range hashes {
		if verifySecret(hash, secret) {
			return true, nil
		}
	}
	return false, nil
}

func issueToken(ctx context.Context, q sqlx.ExecerContext, kind PrincipalKind, id, accountID, tenantID int64, restricted bool, now time.Time) (Grant, error) {
	return issue(ctx, q, AudienceAPI, TokenTTL, kind, id, accountID, tenantID, restricted, now)
}

// issue stores a new token for audience, valid ttl from now.
func issue(ctx context.Context, q sqlx.ExecerContext, audience Audience, ttl time.Duration, kind PrincipalKind, id, accountID, tenantID int64, restricted bool, now time.Time) (Grant, error) {
	token := randomToken(32)
	expires := now.Add(ttl)
	var account, tenant any
	if accountID != 0 {
		account = accountID
	}
	if tenantID != 0 {
		tenant = tenantID
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO tokens (token_hash, principal_kind, principal_id, account_id, tenant_id, restricted, issued_at, expires_at, audience)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, tokenHash(token), kind, id, account, tenant, restricted, now, expires, audience)
	if err != nil {
		return Grant{}, err
	}
	return Grant{AccessToken: token, TokenType: "Bearer", ExpiresIn: int(ttl / time.Second), ExpiresAt: expires, Restricted: restricted}, nil
}

// SignIn is the password grant. The name says who signs in: a plain name is
// an operator, user@<tenant>.onmicrosoft.com a directory user, any other
// e-mail address an owner's personal identity. Errors: ErrUnauthenticated,
// ErrLockedOut.
func (s *Service) SignIn(ctx context.Context, name, password string) (Grant, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 320 || password == "" || len(password) > MaxPasswordLength*4 {
		return Grant{}, errBadCredentials
	}
	switch {
	case !strings.Contains(name, "@"):
		return s.signInOperator(ctx, name, password)
	case strings.HasSuffix(strings.ToLower(name), DomainSuffix):
		return s.signInUser(ctx, name, password)
	default:
		return s.signInOwner(ctx, name, password)
	}
}

func (s *Service) signInOperator(ctx context.Context, name, password string) (Grant, error) {
	return s.operatorSignIn(ctx, name, password, func(id int64, mustChange bool) (Grant, error) {
		return issueToken(ctx, s.DB, KindOperator, id, 0, 0, mustChange, s.now())
	})
}

// operatorSignIn checks an operator's password (with the lockout) and
// issues what grant makes of the operator.
func (s *Service) operatorSignIn(ctx context.Context, name, password string, grant func(id int64, mustChange bool) (Grant, error)) (Grant, error) {
	var op struct {
		ID         int64  `db:"id"`
		Hash       string `db:"password_hash"`
		MustChange bool   `db:"must_change_password"`
	}
	err := s.checkPassword(ctx, name, func() ([]string, error) {
		err := s.DB.GetContext(ctx, &op, `SELECT id, password_hash, must_change_password FROM operators WHERE user_name = lower($1)`, name)
		if isNoRows(err) {
			return nil, nil
		}
		return []string{op.Hash}, err
	}, password)
	if err != nil {
		return Grant{}, err
	}
	return grant(op.ID, op.MustChange)
}

func (s *Service) signInOwner(ctx context.Context, email, password string) (Grant, error) {
	var owner struct {
		ID         int64  `db:"id"`
		AccountID  int64  `db:"account_id"`
		Hash       string `db:"password_hash"`
		MustChange bool   `db:"must_change_password"`
	}
	err := s.checkPassword(ctx, email, func() ([]string, error) {
		err := s.DB.GetContext(ctx, &owner, `SELECT id, account_id, password_hash, must_change_password FROM owner_identities WHERE email = lower($1)`, email)
		if isNoRows(err) {
			return nil, nil
		}
		return []string{owner.Hash}, err
	}, password)
	if err != nil {
		return Grant{}, err
	}
	return issueToken(ctx, s.DB, KindOwner, owner.ID, owner.AccountID, 0, owner.MustChange, s.now())
}

func (s *Service) signInUser(ctx context.Context, signInName, password string) (Grant, error) {
	userName, domain, err := splitSignInName("username", signInName)
	if err != nil {
		return Grant{}, errBadCredentials
	}
	var user DirectoryUser
	var tenant Tenant
	err = s.checkPassword(ctx, signInName, func() ([]string, error) {
		var err error
		tenant, err = s.Directory.TenantByDomain(ctx, s.DB, domain)
		if isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		user, err = s.Directory.UserByName(ctx, s.DB, tenant, userName)
		if isNotFound(err) || (err == nil && user.PasswordHash == nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []string{*user.PasswordHash}, nil
	}, password)
	if err != nil {
		return Grant{}, err
	}
	accountID, err := userAccount(ctx, s.DB, tenant.ID, user.ID)
	if err != nil {
		return Grant{}, err
	}
	return issueToken(ctx, s.DB, KindUser, user.ID, accountID, tenant.ID, user.MustChangePassword, s.now())
}

// userAccount is the account a directory user has access to: the one its
// tenant is associated with, when the user (or one of its groups) is a
// member. Errors: ErrUnauthenticated.
func userAccount(ctx context.Context, q sqlx.QueryerContext, tenantID, userID int64) (int64, error) {
	var accountID int64
	err := sqlx.GetContext(ctx, q, &accountID, `
		SELECT a.account_id FROM account_tenants a
		WHERE a.tenant_id = $1 AND EXISTS (
			SELECT 1 FROM account_members m WHERE m.account_id = a.account_id
			AND (m.user_id = $2 OR m.group_id IN (SELECT group_id FROM directory_group_members WHERE user_id = $2)))`, tenantID, userID)
	if isNoRows(err) {
		return 0, &Error{Kind: KindUnauthenticated, Reason: "the user has no access to a publisher account"}
	}
	return accountID, err
}

// ClientCredentials is the client-credentials grant for apps: client id and
// one of the app's active keys. Errors: ErrUnauthenticated, ErrLockedOut.
func (s *Service) ClientCredentials(ctx context.Context, clientID, secret string) (Grant, error) {
	if !uuidPattern.MatchString(clientID) || secret == "" || len(secret) > 256 {
		return Grant{}, errBadCredentials
	}
	now := s.now()
	var app DirectoryApp
	var keys []AppKey
	// Any of the app's active keys may match: checkPassword tries each (in
	// one hashing slot).
	err := s.checkPassword(ctx, "app:"+clientID, func() ([]string, error) {
		var err error
		app, err = s.Directory.AppByClientID(ctx, s.DB, clientID)
		if isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if keys, err = s.Directory.Keys(ctx, s.DB, app.ID, now); err != nil {
			return nil, err
		}
		hashes := make([]string, 0, len(keys))
		for _, k := range keys {
			hashes = append(hashes, k.SecretHash)
		}
		return hashes, nil
	}, secret)
	if err != nil {
		return Grant{}, err
	}
	var accountID int64
	err = s.DB.GetContext(ctx, &accountID, `
		SELECT a.account_id FROM account_tenants a JOIN account_members m ON m.account_id = a.account_id AND m.app_id = $2
		WHERE a.tenant_id = $1`, app.TenantID, app.ID)
	if isNoRows(err) {
		return Grant{}, &Error{Kind: KindUnauthenticated, Reason: "the app has no access to a publisher account"}
	}
	if err != nil {
		return Grant{}, err
	}
	return issueToken(ctx, s.DB, KindApp, app.ID, accountID, app.TenantID, false, now)
}

// Authenticate resolves a bearer token to its principal, with permissions
// computed now (a role change or removal counts at once).
// Errors: ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	return s.AuthenticateFor(ctx, AudienceAPI, token)
}

// AuthenticateFor is Authenticate for a token of audience: a token of
// another audience is unknown here.
func (s *Service) AuthenticateFor(ctx context.Context, audience Audience, token string) (Principal, error) {
	invalidToken := &Error{Kind: KindUnauthenticated, Reason: "the token is unknown, expired or revoked"}
	if token == "" || len(token) > 128 {
		return Principal{}, invalidToken
	}
	var row struct {
		ID         int64         `db:"id"`
		Kind       PrincipalKind `db:"principal_kind"`
		Principal  int64         `db:"principal_id"`
		AccountID  *int64        `db:"account_id"`
		TenantID   *int64        `db:"tenant_id"`
		Restricted bool          `db:"restricted"`
	}
	err := s.DB.GetContext(ctx, &row, `
		SELECT id, principal_kind, principal_id, account_id, tenant_id, restricted FROM tokens
		WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND audience = $3`, tokenHash(token), s.now(), audience)
	if isNoRows(err) {
		return Principal{}, invalidToken
	}
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Kind: row.Kind, ID: row.Principal, Restricted: row.Restricted, TokenID: row.ID}
	if row.AccountID != nil {
		p.AccountID = *row.AccountID
	}
	if row.TenantID != nil {
		p.TenantID = *row.TenantID
	}
	switch p.Kind {
	case KindOperator:
		var op struct {
			Name  string     `db:"user_name"`
			Roles stringList `db:"roles"`
		}
		if err := s.DB.GetContext(ctx, &op, `SELECT user_name, to_json(roles) AS roles FROM operators WHERE id = $1`, p.ID); err != nil {
			return Principal{}, invalidToken
		}
		p.Name = op.Name
		p.Permissions = RolePermissions(rolesOf(op.Roles)...)
	case KindOwner:
		if err := s.DB.GetContext(ctx, &p.Name, `SELECT email FROM owner_identities WHERE id = $1 AND account_id = $2`, p.ID, p.AccountID); err != nil {
			return Principal{}, invalidToken
		}
		p.Permissions = RolePermissions(RoleOwner)
	case KindUser:
		user, err := s.Directory.User(ctx, s.DB, p.ID)
		if err != nil {
			return Principal{}, invalidToken
		}
		var domain string
		if err := s.DB.GetContext(ctx, &domain, `SELECT domain FROM tenants WHERE id = $1`, user.TenantID); err != nil {
			return Principal{}, err
		}
		p.Name, p.GlobalAdmin = user.UserName+"@"+domain, user.GlobalAdmin
		var lists []stringList
		if err := s.DB.SelectContext(ctx, &lists, `
			SELECT to_json(m.roles) FROM account_members m
			JOIN account_tenants a ON a.account_id = m.account_id AND a.tenant_id = $3
			WHERE m.account_id = $1 AND (m.user_id = $2 OR m.group_id IN (SELECT group_id FROM directory_group_members WHERE user_id = $2))`,
			p.AccountID, p.ID, p.TenantID); err != nil {
			return Principal{}, err
		}
		if len(lists) == 0 {
			return Principal{}, invalidToken
		}
		if p.Permissions, err = permissionsOf(ctx, s.DB, p.AccountID, lists); err != nil {
			return Principal{}, err
		}
	case KindApp:
		var app struct {
			ClientID string     `db:"client_id"`
			Roles    stringList `db:"roles"`
		}
		err := s.DB.GetContext(ctx, &app, `
			SELECT d.client_id, to_json(m.roles) AS roles FROM account_members m
			JOIN directory_apps d ON d.id = m.app_id
			JOIN account_tenants a ON a.account_id = m.account_id AND a.tenant_id = d.tenant_id
			WHERE m.account_id = $1 AND m.app_id = $2`, p.AccountID, p.ID)
		if err != nil {
			return Principal{}, invalidToken
		}
		p.Name = app.ClientID
		if p.Permissions, err = permissionsOf(ctx, s.DB, p.AccountID, []stringList{app.Roles}); err != nil {
			return Principal{}, err
		}
	default:
		return Principal{}, invalidToken
	}
	return p, nil
}

// RevokeToken revokes the token the principal presented.
func (s *Service) RevokeToken(ctx context.Context, p Principal) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, p.TokenID, s.now())
	return err
}

// ChangePassword replaces the principal's password after checking the
// current one, clears a must-change flag and revokes every token of the
// principal (sign in again). Errors: ErrInvalid, ErrUnauthenticated (wrong
// current password), ErrLockedOut, ErrRule (the same password, or a
// principal without a password).
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) error {
	if err := validatePassword("new_password", next); err != nil {
		return err
	}
	if current == next {
		return rule("new_password", "must differ from the current password")
	}
	var table string
	switch p.Kind {
	case KindUser:
		table = "directory_users"
	case KindOwner:
		table = "owner_identities"
	case KindOperator:
		table = "operators"
	default:
		return rule("current_password", "this principal has no password")
	}
	err := s.checkPassword(ctx, p.Name, func() ([]string, error) {
		var hash *string
		err := s.DB.GetContext(ctx, &hash, `SELECT password_hash FROM `+table+` WHERE id = $1`, p.ID)
		if isNoRows(err) || (err == nil && hash == nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []string{*hash}, nil
	}, current)
	if err != nil {
		if isUnauthenticated(err) {
			return &Error{Kind: KindUnauthenticated, Field: "current_password", Reason: "is wrong"}
		}
		return err
	}
	hash, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	return db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET password_hash = $2, must_change_password = false WHERE id = $1`, p.ID, hash); err != nil {
			return err
		}
		if table == "directory_users" {
			if _, err := tx.ExecContext(ctx, `UPDATE directory_users SET version = version + 1 WHERE id = $1`, p.ID); err != nil {
				return err
			}
		}
		if err := revokePrincipalTokens(ctx, tx, p.Kind, p.ID, now); err != nil {
			return err
		}
		return audit(ctx, tx, p.AccountID, p, now, "principal.change_password", p.Actor(), nil, nil)
	})
}

// NewOperator is what creating an operator needs.
type NewOperator struct {
	UserName    string
	DisplayName string
	Roles       []Role
}

// Operator is a platform staff principal.
type Operator struct {
	ID          int64     `json:"id"`
	UserName    string    `json:"user_name"`
	DisplayName string    `json:"display_name"`
	Roles       []Role    `json:"roles"`
	CreatedAt   time.Time `json:"created_at"`
}

// CreateOperator creates an operator with operator roles and returns it with
// a one-time temporary password, which must be changed at first sign-in.
// Errors: ErrInvalid (user name, roles), ErrConflict (user name taken).
func CreateOperator(ctx context.Context, database *sqlx.DB, op NewOperator, now time.Time) (Operator, string, error) {
	name := strings.ToLower(op.UserName)
	if !operatorNamePattern.MatchString(name) {
		return Operator{}, "", invalid("user_name", "%q must be 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter", op.UserName)
	}
	if err := validateName("display_name", op.DisplayName, false); err != nil {
		return Operator{}, "", err
	}
	if len(op.Roles) == 0 {
		return Operator{}, "", invalid("roles", "at least one of finance_viewer, finance_approver, ops")
	}
	var roles []string
	for _, r := range op.Roles {
		def, ok := LookupRole(r)
		if !ok || !def.Operator {
			return Operator{}, "", invalid("roles", "%q is not an operator role (finance_viewer, finance_approver, ops)", r)
		}
		if !slices.Contains(roles, string(r)) {
			roles = append(roles, string(r))
		}
	}
	temporary := newTemporaryPassword()
	created := Operator{UserName: name, DisplayName: op.DisplayName, Roles: rolesOf(roles), CreatedAt: now.UTC()}
	err := db.WithTx(ctx, database, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &created.ID, `
			INSERT INTO operators (user_name, display_name, roles, password_hash, must_change_password, created_at)
			VALUES ($1, $2, $3, $4, true, $5) RETURNING id`, name, op.DisplayName, roles, hashSecret(temporary), created.CreatedAt)
		if _, dup := uniqueViolation(err); dup {
			return conflict("user_name", "operator %q already exists", name)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, 0, System("cli"), created.CreatedAt, "operator.create", "operator:"+name, nil, created)
	})
	if err != nil {
		return Operator{}, "", err
	}
	return created, temporary, nil
}
