package accounts

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// GroupMember is a directory group with access to an account; its members
// get its roles in addition to their own (SPEC §7.6).
type GroupMember struct {
	ID          int64      `db:"id" json:"id"`
	TenantID    string     `db:"tenant_id" json:"tenant_id"`
	DisplayName string     `db:"display_name" json:"display_name"`
	MemberCount int        `db:"member_count" json:"member_count"`
	RoleList    stringList `db:"roles" json:"-"`
	Roles       []Role     `db:"-" json:"roles"`
	AddedAt     time.Time  `db:"added_at" json:"added_at"`
	AddedBy     string     `db:"added_by" json:"added_by"`
}

const groupMemberQuery = `
	SELECT g.id, t.tenant_id, g.display_name, (SELECT count(*) FROM directory_group_members gm WHERE gm.group_id = g.id) AS member_count,
	       to_json(m.roles) AS roles, m.added_at, m.added_by
	FROM account_members m JOIN directory_groups g ON g.id = m.group_id JOIN tenants t ON t.id = g.tenant_id
	WHERE m.account_id = $1`

// Groups lists the account's groups with id > afterID.
func (s *Service) Groups(ctx context.Context, accountID, afterID int64, limit int) ([]GroupMember, error) {
	out := []GroupMember{}
	if err := s.DB.SelectContext(ctx, &out, groupMemberQuery+` AND g.id > $2 ORDER BY g.id LIMIT $3`, accountID, afterID, limit); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Roles = rolesOf(out[i].RoleList)
	}
	return out, nil
}

func groupMember(ctx context.Context, q sqlx.QueryerContext, accountID, groupID int64) (GroupMember, error) {
	var g GroupMember
	err := sqlx.GetContext(ctx, q, &g, groupMemberQuery+` AND g.id = $2`, accountID, groupID)
	if isNoRows(err) {
		return GroupMember{}, notFound("group_id", "no group %d in this account", groupID)
	}
	g.Roles = rolesOf(g.RoleList)
	return g, err
}

// CreateGroup creates a group in the tenant's directory, with members of
// that tenant, and gives it access with roles. Errors: ErrInvalid,
// ErrNotFound (tenant), ErrRule (synchronised tenant, a member from
// elsewhere), ErrConflict (name taken).
func (s *Service) CreateGroup(ctx context.Context, actor Principal, accountID int64, tenantID, displayName string, memberIDs []int64, roles []Role) (GroupMember, error) {
	if err := validateName("display_name", displayName, true); err != nil {
		return GroupMember{}, err
	}
	if len(memberIDs) > MaxUsersPerRequest {
		return GroupMember{}, invalid("member_ids", "at most %d members per request", MaxUsersPerRequest)
	}
	var created GroupMember
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		tenant, err := s.associatedTenant(ctx, tx, accountID, tenantID, "tenant_id")
		if err != nil {
			return err
		}
		roleList, err := grantableRoles(ctx, tx, actor, accountID, "roles", roles)
		if err != nil {
			return err
		}
		now := s.now()
		group, err := s.Directory.CreateGroup(ctx, tx, tenant, strings.TrimSpace(displayName), memberIDs, now)
		if err != nil {
			return err
		}
		if err := insertMember(ctx, tx, accountID, "group_id", group.ID, roleList, actor, now); err != nil {
			return err
		}
		if created, err = groupMember(ctx, tx, accountID, group.ID); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "group.create", "group:"+group.DisplayName, nil, map[string]any{"group": created, "member_ids": memberIDs})
	})
	return created, err
}

// AddExistingGroup gives an existing directory group access with roles.
// Errors: ErrNotFound, ErrConflict (already added).
func (s *Service) AddExistingGroup(ctx context.Context, actor Principal, accountID int64, tenantID, displayName string, roles []Role) (GroupMember, error) {
	var added GroupMember
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		tenant, err := s.associatedTenant(ctx, tx, accountID, tenantID, "tenant_id")
		if err != nil {
			return err
		}
		roleList, err := grantableRoles(ctx, tx, actor, accountID, "roles", roles)
		if err != nil {
			return err
		}
		group, err := s.Directory.GroupByName(ctx, tx, tenant, displayName)
		if err != nil {
			return err
		}
		now := s.now()
		if err := insertMember(ctx, tx, accountID, "group_id", group.ID, roleList, actor, now); err != nil {
			if _, dup := uniqueViolation(err); dup {
				return conflict("display_name", "group %q already has access to this account", displayName)
			}
			return err
		}
		if added, err = groupMember(ctx, tx, accountID, group.ID); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "group.add", "group:"+group.DisplayName, nil, added)
	})
	return added, err
}

// DeleteGroup removes a group's access to the account (the directory group
// stays: other systems may use it). Errors: ErrNotFound.
func (s *Service) DeleteGroup(ctx context.Context, actor Principal, accountID, groupID int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		before, err := groupMember(ctx, tx, accountID, groupID)
		if err != nil {
			return err
		}
		if err := requireHoldsMember(ctx, tx, actor, accountID, before.RoleList, "group_id", "deleting group "+before.DisplayName); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_members WHERE account_id = $1 AND group_id = $2`, accountID, groupID); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, s.now(), "group.delete", "group:"+before.DisplayName, before, nil)
	})
}

// AppMember is a directory app with access to an account (SPEC §7.7).
type AppMember struct {
	TenantID    string     `db:"tenant_id" json:"tenant_id"`
	ClientID    string     `db:"client_id" json:"client_id"`
	DisplayName string     `db:"display_name" json:"display_name"`
	ReplyURL    string     `db:"reply_url" json:"reply_url"`
	AppIDURI    string     `db:"app_id_uri" json:"app_id_uri"`
	RoleList    stringList `db:"roles" json:"-"`
	Roles       []Role     `db:"-" json:"roles"`
	AddedAt     time.Time  `db:"added_at" json:"added_at"`
	AddedBy     string     `db:"added_by" json:"added_by"`
	AppID       int64      `db:"app_id" json:"-"`
	// Keys are the active keys (filled by App, not by Apps).
	Keys []AppKey `db:"-" json:"keys,omitempty"`
}

const appMemberQuery = `
	SELECT a.id AS app_id, t.tenant_id, a.client_id, a.display_name, a.reply_url, a.app_id_uri,
	       to_json(m.roles) AS roles, m.added_at, m.added_by
	FROM account_members m JOIN directory_apps a ON a.id = m.app_id JOIN tenants t ON t.id = a.tenant_id
	WHERE m.account_id = $1`

// Apps lists the account's apps with id > afterID.
func (s *Service) Apps(ctx context.Context, accountID, afterID int64, limit int) ([]AppMember, error) {
	out := []AppMember{}
	if err := s.DB.SelectContext(ctx, &out, appMemberQuery+` AND a.id > $2 ORDER BY a.id LIMIT $3`, accountID, afterID, limit); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Roles = rolesOf(out[i].RoleList)
	}
	return out, nil
}

func appMember(ctx context.Context, q sqlx.QueryerContext, accountID int64, clientID string) (AppMember, error) {
	var a AppMember
	if !uuidPattern.MatchString(clientID) {
		return AppMember{}, notFound("client_id", "no app %q in this account", clientID)
	}
	err := sqlx.GetContext(ctx, q, &a, appMemberQuery+` AND a.client_id = $2`, accountID, clientID)
	if isNoRows(err) {
		return AppMember{}, notFound("client_id", "no app %q in this account", clientID)
	}
	a.Roles = rolesOf(a.RoleList)
	return a, err
}

// App returns one of the account's apps with its active keys.
// Errors: ErrNotFound.
func (s *Service) App(ctx context.Context, accountID int64, clientID string) (AppMember, error) {
	app, err := appMember(ctx, s.DB, accountID, clientID)
	if err != nil {
		return AppMember{}, err
	}
	app.Keys, err = s.Directory.Keys(ctx, s.DB, app.AppID, s.now())
	return app, err
}

func validateAbsoluteURL(field, value string, https bool) error {
	if value == "" {
		return invalid(field, "required")
	}
	if length(value) > MaxURLLength {
		return invalid(field, "%d characters: at most %d", length(value), MaxURLLength)
	}
	u, err := url.Parse(value)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		return invalid(field, "%q is not an absolute URI", value)
	}
	if https && u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")) {
		return invalid(field, "must use https (http only for localhost)")
	}
	return nil
}

// NewAccountApp is what creating an app needs.
type NewAccountApp struct {
	TenantID    string
	DisplayName string
	ReplyURL    string
	AppIDURI    string
	Roles       []Role
}

// CreateApp registers an app in the tenant's directory and gives it access
// with roles. Errors: ErrInvalid (URLs over 256 characters, not absolute),
// ErrNotFound (tenant), ErrRule (synchronised tenant), ErrConflict (reply URL
// or app-ID URI already used in the directory).
func (s *Service) CreateApp(ctx context.Context, actor Principal, accountID int64, a NewAccountApp) (AppMember, error) {
	if err := validateName("display_name", a.DisplayName, true); err != nil {
		return AppMember{}, err
	}
	if err := validateAbsoluteURL("reply_url", a.ReplyURL, true); err != nil {
		return AppMember{}, err
	}
	if err := validateAbsoluteURL("app_id_uri", a.AppIDURI, false); err != nil {
		return AppMember{}, err
	}
	var created AppMember
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		tenant, err := s.associatedTenant(ctx, tx, accountID, a.TenantID, "tenant_id")
		if err != nil {
			return err
		}
		roleList, err := grantableRoles(ctx, tx, actor, accountID, "roles", a.Roles)
		if err != nil {
			return err
		}
		now := s.now()
		app, err := s.Directory.CreateApp(ctx, tx, tenant, NewApp{DisplayName: strings.TrimSpace(a.DisplayName), ReplyURL: a.ReplyURL, AppIDURI: a.AppIDURI}, now)
		if err != nil {
			return err
		}
		if err := insertMember(ctx, tx, accountID, "app_id", app.ID, roleList, actor, now); err != nil {
			return err
		}
		if created, err = appMember(ctx, tx, accountID, app.ClientID); err != nil {
			return err
		}
		created.Keys = []AppKey{}
		return audit(ctx, tx, accountID, actor, now, "app.create", "app:"+app.ClientID, nil, created)
	})
	return created, err
}

// AddExistingApp gives an app of one of the account's tenants access.
// Errors: ErrNotFound, ErrConflict (already added).
func (s *Service) AddExistingApp(ctx context.Context, actor Principal, accountID int64, clientID string, roles []Role) (AppMember, error) {
	var added AppMember
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		app, err := s.Directory.AppByClientID(ctx, tx, clientID)
		if err != nil {
			return err
		}
		var tenant Tenant
		if err := tx.GetContext(ctx, &tenant, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, app.TenantID); err != nil {
			return err
		}
		if _, err := s.associatedTenant(ctx, tx, accountID, tenant.TenantID, "client_id"); err != nil {
			return notFound("client_id", "no app %q in this account's tenants", clientID)
		}
		roleList, err := grantableRoles(ctx, tx, actor, accountID, "roles", roles)
		if err != nil {
			return err
		}
		now := s.now()
		if err := insertMember(ctx, tx, accountID, "app_id", app.ID, roleList, actor, now); err != nil {
			if _, dup := uniqueViolation(err); dup {
				return conflict("client_id", "app %s already has access to this account", clientID)
			}
			return err
		}
		if added, err = appMember(ctx, tx, accountID, clientID); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "app.add", "app:"+clientID, nil, added)
	})
	return added, err
}

// RemoveApp removes an app's access; its tokens stop working at once.
// Errors: ErrNotFound.
func (s *Service) RemoveApp(ctx context.Context, actor Principal, accountID int64, clientID string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		before, err := appMember(ctx, tx, accountID, clientID)
		if err != nil {
			return err
		}
		if err := requireHoldsMember(ctx, tx, actor, accountID, before.RoleList, "client_id", "removing app "+clientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_members WHERE account_id = $1 AND app_id = $2`, accountID, before.AppID); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $3 WHERE principal_kind = 'app' AND principal_id = $1 AND account_id = $2 AND revoked_at IS NULL`,
			before.AppID, accountID, now); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "app.remove", "app:"+clientID, before, nil)
	})
}

// Key validity: DefaultKeyDays when the request gives none, at most
// MaxKeyDays (two years, the longest client-secret lifetime common
// directories allow).
const (
	DefaultKeyDays = 365
	MaxKeyDays     = 730
)

// AddKey adds a key to one of the account's apps and returns it with its
// secret, which is never available again (only its argon2id hash is kept).
// Errors: ErrNotFound, ErrInvalid (days), ErrRule (too many keys).
func (s *Service) AddKey(ctx context.Context, actor Principal, accountID int64, clientID string, validDays int) (AppKey, string, error) {
	if validDays == 0 {
		validDays = DefaultKeyDays
	}
	if validDays < 1 || validDays > MaxKeyDays {
		return AppKey{}, "", invalid("valid_days", "must be 1 to %d", MaxKeyDays)
	}
	secret := randomToken(32)
	hash, err := s.hash(ctx, secret)
	if err != nil {
		return AppKey{}, "", err
	}
	var key AppKey
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		app, err := appMember(ctx, tx, accountID, clientID)
		if err != nil {
			return err
		}
		// A key is the app's credential: holding one is acting as the app.
		if err := requireHoldsMember(ctx, tx, actor, accountID, app.RoleList, "client_id", "managing the keys of app "+clientID); err != nil {
			return err
		}
		now := s.now()
		if key, err = s.Directory.AddKey(ctx, tx, app.AppID, hash, now, now.AddDate(0, 0, validDays)); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "app.add_key", fmt.Sprintf("app:%s/key:%s", clientID, key.KeyID), nil, map[string]any{"key": key, "secret": secret})
	})
	if err != nil {
		return AppKey{}, "", err
	}
	return key, secret, nil
}

// RemoveKey removes a key of one of the account's apps. Errors: ErrNotFound.
func (s *Service) RemoveKey(ctx context.Context, actor Principal, accountID int64, clientID, keyID string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		app, err := appMember(ctx, tx, accountID, clientID)
		if err != nil {
			return err
		}
		// A key is the app's credential: holding one is acting as the app.
		if err := requireHoldsMember(ctx, tx, actor, accountID, app.RoleList, "client_id", "managing the keys of app "+clientID); err != nil {
			return err
		}
		now := s.now()
		if err := s.Directory.RemoveKey(ctx, tx, app.AppID, keyID, now); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "app.remove_key", fmt.Sprintf("app:%s/key:%s", clientID, keyID), map[string]any{"key_id": keyID}, nil)
	})
}

// ExpiringKeys counts the active app keys that expire within days of now
// (the key-expiry job reports it).
func ExpiringKeys(ctx context.Context, q sqlx.QueryerContext, now time.Time, days int) (int, error) {
	var expiring int
	err := sqlx.GetContext(ctx, q, &expiring, `SELECT count(*) FROM app_keys WHERE removed_at IS NULL AND expires_at BETWEEN $1 AND $2`, now, now.AddDate(0, 0, days))
	return expiring, err
}
