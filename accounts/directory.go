package accounts

import (
	"context"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Directory is the identity directory payrun's users, groups and apps live
// in (SPEC §7.5–7.9). PostgresDirectory is the built-in one; a real identity
// provider can replace it behind this interface.
//
// Every method takes q, the transaction of the payrun change it is part of:
// the built-in directory joins it, so a directory change and payrun's record
// of it commit or fail together. A remote implementation would ignore q and
// must then make its calls idempotent, because payrun may roll back after the
// remote change succeeded.
//
// Methods that create things in a tenant refuse (ErrRule, field tenant_id)
// when the tenant is synchronised from an on-premises directory.
type Directory interface {
	CreateTenant(ctx context.Context, q sqlx.ExtContext, tenant NewTenant, now time.Time) (Tenant, error)
	Tenant(ctx context.Context, q sqlx.QueryerContext, tenantID string) (Tenant, error)
	TenantByDomain(ctx context.Context, q sqlx.QueryerContext, domain string) (Tenant, error)

	CreateUser(ctx context.Context, q sqlx.ExtContext, tenant Tenant, user NewDirectoryUser, now time.Time) (DirectoryUser, error)
	// CreateGuest returns the tenant's guest user for email, creating it when
	// there is none.
	CreateGuest(ctx context.Context, q sqlx.ExtContext, tenant Tenant, email string, now time.Time) (DirectoryUser, error)
	User(ctx context.Context, q sqlx.QueryerContext, id int64) (DirectoryUser, error)
	UserByName(ctx context.Context, q sqlx.QueryerContext, tenant Tenant, userName string) (DirectoryUser, error)
	RenameUser(ctx context.Context, q sqlx.ExtContext, id int64, firstName, lastName string) error
	// SetPassword stores a password hash (argon2id) for a user.
	SetPassword(ctx context.Context, q sqlx.ExtContext, id int64, passwordHash string, mustChange bool) error

	CreateGroup(ctx context.Context, q sqlx.ExtContext, tenant Tenant, displayName string, memberIDs []int64, now time.Time) (DirectoryGroup, error)
	Group(ctx context.Context, q sqlx.QueryerContext, id int64) (DirectoryGroup, error)
	GroupByName(ctx context.Context, q sqlx.QueryerContext, tenant Tenant, displayName string) (DirectoryGroup, error)

	CreateApp(ctx context.Context, q sqlx.ExtContext, tenant Tenant, app NewApp, now time.Time) (DirectoryApp, error)
	AppByClientID(ctx context.Context, q sqlx.QueryerContext, clientID string) (DirectoryApp, error)
	AddKey(ctx context.Context, q sqlx.ExtContext, appID int64, secretHash string, now, expires time.Time) (AppKey, error)
	Keys(ctx context.Context, q sqlx.QueryerContext, appID int64, now time.Time) ([]AppKey, error)
	RemoveKey(ctx context.Context, q sqlx.ExtContext, appID int64, keyID string, now time.Time) error
}

// NewTenant is what creating a directory tenant needs.
type NewTenant struct {
	// Name is the domain's first label: Name.onmicrosoft.com.
	Name           string
	Organization   string
	ContactEmail   string
	OnPremisesSync bool
	Admin          NewDirectoryUser
}

// Tenant is a directory tenant.
type Tenant struct {
	ID             int64     `db:"id" json:"-"`
	TenantID       string    `db:"tenant_id" json:"tenant_id"`
	Domain         string    `db:"domain" json:"domain"`
	Organization   string    `db:"organization" json:"organization"`
	ContactEmail   string    `db:"contact_email" json:"contact_email"`
	OnPremisesSync bool      `db:"on_premises_sync" json:"on_premises_sync"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
}

// NewDirectoryUser is what creating a directory user needs. PasswordHash is
// empty for a user who cannot sign in yet.
type NewDirectoryUser struct {
	UserName           string
	FirstName          string
	LastName           string
	GlobalAdmin        bool
	RecoveryEmail      string
	PasswordHash       string
	MustChangePassword bool
}

// DirectoryUser is a user of a tenant's directory.
type DirectoryUser struct {
	ID                 int64     `db:"id"`
	TenantID           int64     `db:"tenant_id"`
	UserName           string    `db:"user_name"`
	FirstName          string    `db:"first_name"`
	LastName           string    `db:"last_name"`
	Kind               string    `db:"kind"`
	Email              string    `db:"email"`
	GlobalAdmin        bool      `db:"global_admin"`
	RecoveryEmail      *string   `db:"recovery_email"`
	PasswordHash       *string   `db:"password_hash"`
	MustChangePassword bool      `db:"must_change_password"`
	Version            int64     `db:"version"`
	CreatedAt          time.Time `db:"created_at"`
}

// DirectoryGroup is a group of a tenant's directory.
type DirectoryGroup struct {
	ID          int64     `db:"id"`
	TenantID    int64     `db:"tenant_id"`
	DisplayName string    `db:"display_name"`
	CreatedAt   time.Time `db:"created_at"`
}

// NewApp is what creating a directory app needs.
type NewApp struct {
	DisplayName string
	ReplyURL    string
	AppIDURI    string
}

// DirectoryApp is an app registration of a tenant's directory.
type DirectoryApp struct {
	ID          int64     `db:"id"`
	TenantID    int64     `db:"tenant_id"`
	ClientID    string    `db:"client_id"`
	DisplayName string    `db:"display_name"`
	ReplyURL    string    `db:"reply_url"`
	AppIDURI    string    `db:"app_id_uri"`
	CreatedAt   time.Time `db:"created_at"`
}

// AppKey is an app's client secret, without the secret.
type AppKey struct {
	ID         int64      `db:"id" json:"-"`
	AppID      int64      `db:"app_id" json:"-"`
	KeyID      string     `db:"key_id" json:"key_id"`
	SecretHash string     `db:"secret_hash" json:"-"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at" json:"expires_at"`
	RemovedAt  *time.Time `db:"removed_at" json:"-"`
}

// PostgresDirectory is the built-in directory, in payrun's own database.
type PostgresDirectory struct{}

var _ Directory = PostgresDirectory{}

const tenantColumns = `id, tenant_id, domain, organization, contact_email, on_premises_sync, created_at`
const userColumns = `id, tenant_id, user_name, first_name, last_name, kind, email, global_admin, recovery_email, password_hash, must_change_password, version, created_at`

func refuseSynced(tenant Tenant, what string) error {
	if tenant.OnPremisesSync {
		return rule("tenant_id", "tenant %s is synchronised from an on-premises directory: create the %s there", tenant.Domain, what)
	}
	return nil
}

// CreateTenant creates a tenant and its first global administrator.
// Errors: ErrInvalid, ErrConflict (domain taken).
func (PostgresDirectory) CreateTenant(ctx context.Context, q sqlx.ExtContext, t NewTenant, now time.Time) (Tenant, error) {
	name := strings.ToLower(t.Name)
	if !domainLabel.MatchString(name) || strings.HasSuffix(name, "-") {
		return Tenant{}, invalid("domain_name", "%q must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'", t.Name)
	}
	var tenant Tenant
	err := sqlx.GetContext(ctx, q, &tenant, `
		INSERT INTO tenants (tenant_id, domain, organization, contact_email, on_premises_sync, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+tenantColumns,
		newUUID(), name+DomainSuffix, t.Organization, t.ContactEmail, t.OnPremisesSync, now)
	if _, dup := uniqueViolation(err); dup {
		return Tenant{}, conflict("domain_name", "%s%s is already taken", name, DomainSuffix)
	}
	if err != nil {
		return Tenant{}, err
	}
	admin := t.Admin
	admin.GlobalAdmin = true
	if _, err := insertUser(ctx, q, tenant, admin, "member", "", now); err != nil {
		return Tenant{}, err
	}
	return tenant, nil
}

// Tenant finds a tenant by its public id. Errors: ErrNotFound.
func (PostgresDirectory) Tenant(ctx context.Context, q sqlx.QueryerContext, tenantID string) (Tenant, error) {
	var tenant Tenant
	if !uuidPattern.MatchString(tenantID) {
		return Tenant{}, notFound("tenant_id", "no tenant %q", tenantID)
	}
	err := sqlx.GetContext(ctx, q, &tenant, `SELECT `+tenantColumns+` FROM tenants WHERE tenant_id = $1`, tenantID)
	if isNoRows(err) {
		return Tenant{}, notFound("tenant_id", "no tenant %q", tenantID)
	}
	return tenant, err
}

// TenantByDomain finds a tenant by domain. Errors: ErrNotFound.
func (PostgresDirectory) TenantByDomain(ctx context.Context, q sqlx.QueryerContext, domain string) (Tenant, error) {
	var tenant Tenant
	err := sqlx.GetContext(ctx, q, &tenant, `SELECT `+tenantColumns+` FROM tenants WHERE domain = lower($1)`, domain)
	if isNoRows(err) {
		return Tenant{}, notFound("domain", "no tenant %q", domain)
	}
	return tenant, err
}

// CreateUser creates a member user. Errors: ErrRule (synced tenant),
// ErrConflict (user name taken).
func (PostgresDirectory) CreateUser(ctx context.Context, q sqlx.ExtContext, tenant Tenant, u NewDirectoryUser, now time.Time) (DirectoryUser, error) {
	if err := refuseSynced(tenant, "user"); err != nil {
		return DirectoryUser{}, err
	}
	return insertUser(ctx, q, tenant, u, "member", "", now)
}

func insertUser(ctx context.Context, q sqlx.ExtContext, tenant Tenant, u NewDirectoryUser, kind, email string, now time.Time) (DirectoryUser, error) {
	var recovery, hash any
	if u.RecoveryEmail != "" {
		recovery = u.RecoveryEmail
	}
	if u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	var user DirectoryUser
	err := sqlx.GetContext(ctx, q, &user, `
		INSERT INTO directory_users (tenant_id, user_name, first_name, last_name, kind, email, global_admin, recovery_email, password_hash, must_change_password, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING `+userColumns,
		tenant.ID, u.UserName, u.FirstName, u.LastName, kind, email, u.GlobalAdmin, recovery, hash, u.MustChangePassword, now)
	if _, dup := uniqueViolation(err); dup {
		return DirectoryUser{}, conflict("user_name", "%s@%s already exists", u.UserName, tenant.Domain)
	}
	return user, err
}

// CreateGuest returns (creating when needed) the guest user for email.
// Errors: ErrRule (synced tenant).
func (d PostgresDirectory) CreateGuest(ctx context.Context, q sqlx.ExtContext, tenant Tenant, email string, now time.Time) (DirectoryUser, error) {
	userName := guestUserName(email)
	existing, err := d.UserByName(ctx, q, tenant, userName)
	if err == nil {
		return existing, nil
	}
	if !isNotFound(err) {
		return DirectoryUser{}, err
	}
	if err := refuseSynced(tenant, "guest user"); err != nil {
		return DirectoryUser{}, err
	}
	return insertUser(ctx, q, tenant, NewDirectoryUser{UserName: userName}, "guest", email, now)
}

// guestUserName is the directory's name for a guest: the address with '@'
// replaced and #EXT# appended, so it can never clash with a member's name.
func guestUserName(email string) string {
	return strings.ReplaceAll(strings.ToLower(email), "@", "_") + "#EXT#"
}

// User finds a user by id. Errors: ErrNotFound.
func (PostgresDirectory) User(ctx context.Context, q sqlx.QueryerContext, id int64) (DirectoryUser, error) {
	var user DirectoryUser
	err := sqlx.GetContext(ctx, q, &user, `SELECT `+userColumns+` FROM directory_users WHERE id = $1`, id)
	if isNoRows(err) {
		return DirectoryUser{}, notFound("user_id", "no user %d", id)
	}
	return user, err
}

// UserByName finds a user by user name in a tenant. Errors: ErrNotFound.
func (PostgresDirectory) UserByName(ctx context.Context, q sqlx.QueryerContext, tenant Tenant, userName string) (DirectoryUser, error) {
	var user DirectoryUser
	err := sqlx.GetContext(ctx, q, &user, `SELECT `+userColumns+` FROM directory_users WHERE tenant_id = $1 AND lower(user_name) = lower($2)`, tenant.ID, userName)
	if isNoRows(err) {
		return DirectoryUser{}, notFound("user_name", "no user %s@%s", userName, tenant.Domain)
	}
	return user, err
}

// RenameUser changes a user's names. Errors: ErrNotFound.
func (PostgresDirectory) RenameUser(ctx context.Context, q sqlx.ExtContext, id int64, firstName, lastName string) error {
	result, err := q.ExecContext(ctx, `UPDATE directory_users SET first_name = $2, last_name = $3, version = version + 1 WHERE id = $1`, id, firstName, lastName)
	return oneRow(result, err, notFound("user_id", "no user %d", id))
}

// SetPassword stores a user's password hash. Errors: ErrNotFound.
func (PostgresDirectory) SetPassword(ctx context.Context, q sqlx.ExtContext, id int64, passwordHash string, mustChange bool) error {
	result, err := q.ExecContext(ctx, `UPDATE directory_users SET password_hash = $2, must_change_password = $3 WHERE id = $1`, id, passwordHash, mustChange)
	return oneRow(result, err, notFound("user_id", "no user %d", id))
}

// CreateGroup creates a group with members of the same tenant.
// Errors: ErrRule (synced tenant; a member of another tenant), ErrConflict.
func (PostgresDirectory) CreateGroup(ctx context.Context, q sqlx.ExtContext, tenant Tenant, displayName string, memberIDs []int64, now time.Time) (DirectoryGroup, error) {
	if err := refuseSynced(tenant, "group"); err != nil {
		return DirectoryGroup{}, err
	}
	var group DirectoryGroup
	err := sqlx.GetContext(ctx, q, &group, `
		INSERT INTO directory_groups (tenant_id, display_name, created_at) VALUES ($1, $2, $3)
		RETURNING id, tenant_id, display_name, created_at`, tenant.ID, displayName, now)
	if _, dup := uniqueViolation(err); dup {
		return DirectoryGroup{}, conflict("display_name", "group %q already exists in %s", displayName, tenant.Domain)
	}
	if err != nil {
		return DirectoryGroup{}, err
	}
	for i, id := range memberIDs {
		result, err := q.ExecContext(ctx, `
			INSERT INTO directory_group_members (group_id, user_id)
			SELECT $1, id FROM directory_users WHERE id = $2 AND tenant_id = $3
			ON CONFLICT DO NOTHING`, group.ID, id, tenant.ID)
		if err != nil {
			return DirectoryGroup{}, err
		}
		if n, _ := result.RowsAffected(); n == 0 {
			var duplicate bool
			for _, earlier := range memberIDs[:i] {
				duplicate = duplicate || earlier == id
			}
			if !duplicate {
				return DirectoryGroup{}, rule("member_ids", "user %d is not in %s", id, tenant.Domain)
			}
		}
	}
	return group, nil
}

// Group finds a group by id. Errors: ErrNotFound.
func (PostgresDirectory) Group(ctx context.Context, q sqlx.QueryerContext, id int64) (DirectoryGroup, error) {
	var group DirectoryGroup
	err := sqlx.GetContext(ctx, q, &group, `SELECT id, tenant_id, display_name, created_at FROM directory_groups WHERE id = $1`, id)
	if isNoRows(err) {
		return DirectoryGroup{}, notFound("group_id", "no group %d", id)
	}
	return group, err
}

// GroupByName finds a group by display name. Errors: ErrNotFound.
func (PostgresDirectory) GroupByName(ctx context.Context, q sqlx.QueryerContext, tenant Tenant, displayName string) (DirectoryGroup, error) {
	var group DirectoryGroup
	err := sqlx.GetContext(ctx, q, &group, `SELECT id, tenant_id, display_name, created_at FROM directory_groups WHERE tenant_id = $1 AND display_name = $2`, tenant.ID, displayName)
	if isNoRows(err) {
		return DirectoryGroup{}, notFound("display_name", "no group %q in %s", displayName, tenant.Domain)
	}
	return group, err
}

const appColumns = `id, tenant_id, client_id, display_name, reply_url, app_id_uri, created_at`

// CreateApp registers an app. Errors: ErrRule (synced tenant), ErrConflict
// (reply URL or app-ID URI already used in the tenant).
func (PostgresDirectory) CreateApp(ctx context.Context, q sqlx.ExtContext, tenant Tenant, a NewApp, now time.Time) (DirectoryApp, error) {
	if err := refuseSynced(tenant, "app"); err != nil {
		return DirectoryApp{}, err
	}
	var app DirectoryApp
	err := sqlx.GetContext(ctx, q, &app, `
		INSERT INTO directory_apps (tenant_id, client_id, display_name, reply_url, app_id_uri, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+appColumns,
		tenant.ID, newUUID(), a.DisplayName, a.ReplyURL, a.AppIDURI, now)
	if constraint, dup := uniqueViolation(err); dup {
		if strings.Contains(constraint, "reply_url") {
			return DirectoryApp{}, conflict("reply_url", "%q is already used by another app in %s", a.ReplyURL, tenant.Domain)
		}
		return DirectoryApp{}, conflict("app_id_uri", "%q is already used by another app in %s", a.AppIDURI, tenant.Domain)
	}
	return app, err
}

// AppByClientID finds an app. Errors: ErrNotFound.
func (PostgresDirectory) AppByClientID(ctx context.Context, q sqlx.QueryerContext, clientID string) (DirectoryApp, error) {
	var app DirectoryApp
	if !uuidPattern.MatchString(clientID) {
		return DirectoryApp{}, notFound("client_id", "no app %q", clientID)
	}
	err := sqlx.GetContext(ctx, q, &app, `SELECT `+appColumns+` FROM directory_apps WHERE client_id = $1`, clientID)
	if isNoRows(err) {
		return DirectoryApp{}, notFound("client_id", "no app %q", clientID)
	}
	return app, err
}

// AddKey stores a new key (its secret hashed). Errors: ErrRule (too many).
func (PostgresDirectory) AddKey(ctx context.Context, q sqlx.ExtContext, appID int64, secretHash string, now, expires time.Time) (AppKey, error) {
	var active int
	if err := sqlx.GetContext(ctx, q, &active, `SELECT count(*) FROM app_keys WHERE app_id = $1 AND removed_at IS NULL AND expires_at > $2`, appID, now); err != nil {
		return AppKey{}, err
	}
	if active >= MaxKeysPerApp {
		return AppKey{}, rule("client_id", "the app already has %d active keys: remove one first", MaxKeysPerApp)
	}
	var key AppKey
	err := sqlx.GetContext(ctx, q, &key, `
		INSERT INTO app_keys (app_id, key_id, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
		RETURNING id, app_id, key_id, secret_hash, created_at, expires_at, removed_at`, appID, newUUID(), secretHash, now, expires)
	return key, err
}

// Keys lists an app's active (not removed, not expired) keys, oldest first.
func (PostgresDirectory) Keys(ctx context.Context, q sqlx.QueryerContext, appID int64, now time.Time) ([]AppKey, error) {
	keys := []AppKey{}
	err := sqlx.SelectContext(ctx, q, &keys, `
		SELECT id, app_id, key_id, secret_hash, created_at, expires_at, removed_at FROM app_keys
		WHERE app_id = $1 AND removed_at IS NULL AND expires_at > $2 ORDER BY id`, appID, now)
	return keys, err
}

// RemoveKey removes a key. Errors: ErrNotFound.
func (PostgresDirectory) RemoveKey(ctx context.Context, q sqlx.ExtContext, appID int64, keyID string, now time.Time) error {
	if !uuidPattern.MatchString(keyID) {
		return notFound("key_id", "no key %q", keyID)
	}
	result, err := q.ExecContext(ctx, `UPDATE app_keys SET removed_at = $3 WHERE app_id = $1 AND key_id = $2 AND removed_at IS NULL`, appID, keyID, now)
	return oneRow(result, err, notFound("key_id", "no key %q", keyID))
}

// MaxKeysPerApp bounds an app's active keys (rotation needs two; ten leaves
// room for mistakes without letting keys pile up unseen).
const MaxKeysPerApp = 10
