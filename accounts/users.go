package accounts

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// associatedTenant finds a tenant by public id and checks it is associated
// with the account. Errors: ErrNotFound (field).
func (s *Service) associatedTenant(ctx context.Context, q sqlx.QueryerContext, accountID int64, tenantID, field string) (Tenant, error) {
	tenant, err := s.Directory.Tenant(ctx, q, tenantID)
	if err != nil {
		return Tenant{}, notFound(field, "no tenant %q is associated with this account", tenantID)
	}
	var owner int64
	err = sqlx.GetContext(ctx, q, &owner, `SELECT account_id FROM account_tenants WHERE tenant_id = $1`, tenant.ID)
	if isNoRows(err) || (err == nil && owner != accountID) {
		return Tenant{}, notFound(field, "no tenant %q is associated with this account", tenantID)
	}
	return tenant, err
}

// requireGlobalAdmin checks that actor is a global administrator of the
// tenant's directory, signed in through it (SPEC §7.5). Errors: ErrForbidden.
func requireGlobalAdmin(actor Principal, tenant Tenant) error {
	if actor.Kind == KindUser && actor.GlobalAdmin && actor.TenantID == tenant.ID {
		return nil
	}
	return forbidden("only a global administrator of %s may do this", tenant.Domain)
}

// UserMember is a directory user with access to an account.
type UserMember struct {
	ID            int64      `db:"id" json:"id"`
	TenantID      string     `db:"tenant_id" json:"tenant_id"`
	Domain        string     `db:"domain" json:"-"`
	UserName      string     `db:"user_name" json:"-"`
	SignInName    string     `db:"-" json:"sign_in_name"`
	FirstName     string     `db:"first_name" json:"first_name"`
	LastName      string     `db:"last_name" json:"last_name"`
	Kind          string     `db:"kind" json:"kind"`
	Email         string     `db:"email" json:"email,omitempty"`
	GlobalAdmin   bool       `db:"global_admin" json:"global_admin"`
	RoleList      stringList `db:"roles" json:"-"`
	Roles         []Role     `db:"-" json:"roles"`
	AddedAt       time.Time  `db:"added_at" json:"added_at"`
	AddedBy       string     `db:"added_by" json:"added_by"`
	MemberVersion int64      `db:"member_version" json:"-"`
	UserVersion   int64      `db:"user_version" json:"-"`
	// Version backs the ETag.
	Version string `db:"-" json:"-"`
}

func (m *UserMember) finish() {
	m.SignInName = m.UserName + "@" + m.Domain
	m.Roles = rolesOf(m.RoleList)
	m.Version = strconv.FormatInt(m.MemberVersion, 10) + "." + strconv.FormatInt(m.UserVersion, 10)
}

const userMemberQuery = `
	SELECT u.id, t.tenant_id, t.domain, u.user_name, u.first_name, u.last_name, u.kind, u.email, u.global_admin,
	       to_json(m.roles) AS roles, m.added_at, m.added_by, m.version AS member_version, u.version AS user_version
	FROM account_members m JOIN directory_users u ON u.id = m.user_id JOIN tenants t ON t.id = u.tenant_id
	WHERE m.account_id = $1`

// Users lists the account's users with id > afterID, by id.
func (s *Service) Users(ctx context.Context, accountID, afterID int64, limit int) ([]UserMember, error) {
	users := []UserMember{}
	if err := s.DB.SelectContext(ctx, &users, userMemberQuery+` AND u.id > $2 ORDER BY u.id LIMIT $3`, accountID, afterID, limit); err != nil {
		return nil, err
	}
	for i := range users {
		users[i].finish()
	}
	return users, nil
}

// User returns one of the account's users. Errors: ErrNotFound.
func (s *Service) User(ctx context.Context, accountID, userID int64) (UserMember, error) {
	return userMember(ctx, s.DB, accountID, userID)
}

func userMember(ctx context.Context, q sqlx.QueryerContext, accountID, userID int64) (UserMember, error) {
	var m UserMember
	err := sqlx.GetContext(ctx, q, &m, userMemberQuery+` AND u.id = $2`, accountID, userID)
	if isNoRows(err) {
		return UserMember{}, notFound("user_id", "no user %d in this account", userID)
	}
	if err != nil {
		return UserMember{}, err
	}
	m.finish()
	return m, nil
}

func insertMember(ctx context.Context, q sqlx.ExtContext, accountID int64, column string, id int64, roles []string, actor Principal, now time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO account_members (account_id, `+column+`, roles, added_at, added_by) VALUES ($1, $2, $3, $4, $5)`,
		accountID, id, roles, now, actor.Actor())
	return err
}

// splitSignInName splits user@domain.
func splitSignInName(field, name string) (string, string, error) {
	at := strings.LastIndexByte(name, '@')
	if at <= 0 || at == len(name)-1 {
		return "", "", invalid(field, "%q is not a sign-in name (user@tenant%s)", name, DomainSuffix)
	}
	return name[:at], strings.ToLower(name[at+1:]), nil
}

// AddExistingUsers gives users of the account's tenants access, all with the
// same roles (SPEC §7.5). All or nothing. Errors: ErrInvalid, ErrNotFound
// (a name not in an associated tenant), ErrConflict (already a user).
func (s *Service) AddExistingUsers(ctx context.Context, actor Principal, accountID int64, signInNames []string, roles []Role) ([]UserMember, error) {
	if len(signInNames) == 0 {
		return nil, invalid("user_names", "at least one user is required")
	}
	if len(signInNames) > MaxUsersPerRequest {
		return nil, invalid("user_names", "at most %d users per request", MaxUsersPerRequest)
	}
	var added []UserMember
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		roleList, err := grantableRoles(ctx, tx, actor, accountID, "roles", roles)
		if err != nil {
			return err
		}
		now := s.now()
		seen := map[int64]bool{}
		for i, name := range signInNames {
			field := fmt.Sprintf("user_names[%d]", i)
			userName, domain, err := splitSignInName(field, name)
			if err != nil {
				return err
			}
			tenant, err := s.Directory.TenantByDomain(ctx, tx, domain)
			if err != nil {
				return notFound(field, "%s is not a tenant associated with this account", domain)
			}
			if _, err := s.associatedTenant(ctx, tx, accountID, tenant.TenantID, field); err != nil {
				return err
			}
			user, err := s.Directory.UserByName(ctx, tx, tenant, userName)
			if err != nil {
				return notFound(field, "no user %s in the directory", name)
			}
			if seen[user.ID] {
				continue
			}
			seen[user.ID] = true
			if err := insertMember(ctx, tx, accountID, "user_id", user.ID, roleList, actor, now); err != nil {
				if _, dup := uniqueViolation(err); dup {
					return conflict(field, "%s already has access to this account", name)
				}
				return err
			}
			m, err := userMember(ctx, tx, accountID, user.ID)
			if err != nil {
				return err
			}
			added = append(added, m)
			if err := audit(ctx, tx, accountID, actor, now, "user.add", "user:"+m.SignInName, nil, m); err != nil {
				return err
			}
		}
		return nil
	})
	return added, err
}

// NewUser is what creating a user needs (SPEC §7.5).
type NewUser struct {
	TenantID      string
	FirstName     string
	LastName      string
	UserName      string
	GlobalAdmin   bool
	RecoveryEmail string
	GroupIDs      []int64
	Roles         []Role
}

// CreateUser creates a user in the tenant's directory and gives it access
// with roles. The user gets a temporary password, returned once, that must be
// changed at the first sign-in. Errors: ErrInvalid, ErrNotFound (tenant,
// group), ErrForbidden (not a global administrator of the tenant), ErrRule
// (synchronised tenant), ErrConflict (user name taken).
func (s *Service) CreateUser(ctx context.Context, actor Principal, accountID int64, u NewUser) (UserMember, string, error) {
	if err := validateName("first_name", u.FirstName, true); err != nil {
		return UserMember{}, "", err
	}
	if err := validateName("last_name", u.LastName, true); err != nil {
		return UserMember{}, "", err
	}
	if err := validateUserName("user_name", u.UserName); err != nil {
		return UserMember{}, "", err
	}
	if u.GlobalAdmin && u.RecoveryEmail == "" {
		return UserMember{}, "", invalid("recovery_email", "required for a global administrator")
	}
	if u.RecoveryEmail != "" {
		if err := validateEmail("recovery_email", u.RecoveryEmail); err != nil {
			return UserMember{}, "", err
		}
	}
	temporary := newTemporaryPassword()
	hash, err := s.hash(ctx, temporary)
	if err != nil {
		return UserMember{}, "", err
	}
	var created UserMember
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		tenant, err := s.associatedTenant(ctx, tx, accountID, u.TenantID, "tenant_id")
		if err != nil {
			return err
		}
		if err := requireGlobalAdmin(actor, tenant); err != nil {
			return err
		}
		roleList, err := grantableRoles(ctx, tx, actor, accountID, "roles", u.Roles)
		if err != nil {
			return err
		}
		now := s.now()
		user, err := s.Directory.CreateUser(ctx, tx, tenant, NewDirectoryUser{
			UserName: u.UserName, FirstName: strings.TrimSpace(u.FirstName), LastName: strings.TrimSpace(u.LastName),
			GlobalAdmin: u.GlobalAdmin, RecoveryEmail: u.RecoveryEmail, PasswordHash: hash, MustChangePassword: true,
		}, now)
		if err != nil {
			return err
		}
		for i, groupID := range u.GroupIDs {
			group, err := s.Directory.Group(ctx, tx, groupID)
			if err != nil || group.TenantID != tenant.ID {
				return notFound(fmt.Sprintf("group_ids[%d]", i), "no group %d in %s", groupID, tenant.Domain)
			}
			// Membership hands the new user the group's roles here.
			if g, err := groupMember(ctx, tx, accountID, group.ID); err == nil {
				if err := requireHoldsMember(ctx, tx, actor, accountID, g.RoleList, fmt.Sprintf("group_ids[%d]", i), "joining group "+g.DisplayName); err != nil {
					return err
				}
			} else if !isNotFound(err) {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO directory_group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, group.ID, user.ID); err != nil {
				return err
			}
		}
		if err := insertMember(ctx, tx, accountID, "user_id", user.ID, roleList, actor, now); err != nil {
			return err
		}
		if created, err = userMember(ctx, tx, accountID, user.ID); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "user.create", "user:"+created.SignInName, nil,
			map[string]any{"user": created, "group_ids": u.GroupIDs, "recovery_email": u.RecoveryEmail})
	})
	if err != nil {
		return UserMember{}, "", err
	}
	return created, temporary, nil
}

// UserUpdate replaces a user's names (renaming it in the directory too) and
// roles.
type UserUpdate struct {
	FirstName string
	LastName  string
	Roles     []Role
}

// UpdateUser applies an update when version is current. A rename needs a
// global administrator of the user's tenant. Errors: ErrInvalid,
// ErrNotFound, ErrForbidden, ErrStale.
func (s *Service) UpdateUser(ctx context.Context, actor Principal, accountID, userID int64, version string, u UserUpdate) (UserMember, error) {
	if err := validateName("first_name", u.FirstName, true); err != nil {
		return UserMember{}, err
	}
	if err := validateName("last_name", u.LastName, true); err != nil {
		return UserMember{}, err
	}
	var after UserMember
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		before, err := userMember(ctx, tx, accountID, userID)
		if err != nil {
			return err
		}
		if before.Version != version {
			return stale("If-Match")
		}
		roleList, err := checkRoles(ctx, tx, accountID, "roles", u.Roles)
		if err != nil {
			return err
		}
		if !slices.Equal(roleList, []string(before.RoleList)) {
			if actor.Kind == KindUser && actor.ID == userID {
				return &Error{Kind: KindForbidden, Field: "roles", Reason: "you cannot change your own roles: another principal holding them must"}
			}
			if err := requireHoldsMember(ctx, tx, actor, accountID, before.RoleList, "roles", "changing the roles of "+before.SignInName); err != nil {
				return err
			}
			if err := requireRoleGrant(ctx, tx, actor, accountID, "roles", roleList); err != nil {
				return err
			}
		}
		first, last := strings.TrimSpace(u.FirstName), strings.TrimSpace(u.LastName)
		if first != before.FirstName || last != before.LastName {
			tenant, err := s.Directory.Tenant(ctx, tx, before.TenantID)
			if err != nil {
				return err
			}
			if err := requireGlobalAdmin(actor, tenant); err != nil {
				return err
			}
			if err := s.Directory.RenameUser(ctx, tx, userID, first, last); err != nil {
				return err
			}
		}
		if !slices.Equal(roleList, []string(before.RoleList)) {
			if _, err := tx.ExecContext(ctx, `UPDATE account_members SET roles = $3, version = version + 1 WHERE account_id = $1 AND user_id = $2`,
				accountID, userID, roleList); err != nil {
				return err
			}
		}
		if after, err = userMember(ctx, tx, accountID, userID); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, s.now(), "user.update", "user:"+before.SignInName, before, after)
	})
	return after, err
}

// RemoveUsers removes the account's access for exactly the users listed
// (SPEC §7.5): every id must be a user this account added, or nothing is
// removed. A caller cannot remove itself. Their tokens for the account stop
// working at once. Errors: ErrInvalid, ErrRule (ids that do not match).
func (s *Service) RemoveUsers(ctx context.Context, actor Principal, accountID int64, ids []int64) error {
	if len(ids) == 0 {
		return invalid("ids", "at least one user id is required")
	}
	if len(ids) > MaxUsersPerRequest {
		return invalid("ids", "at most %d users per request", MaxUsersPerRequest)
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		var members []UserMember
		var unmatched []string
		for _, id := range ids {
			if actor.Kind == KindUser && actor.ID == id {
				return rule("ids", "you cannot remove yourself")
			}
			m, err := userMember(ctx, tx, accountID, id)
			if isNotFound(err) {
				unmatched = append(unmatched, strconv.FormatInt(id, 10))
				continue
			}
			if err != nil {
				return err
			}
			if err := requireHoldsMember(ctx, tx, actor, accountID, m.RoleList, "ids", "removing "+m.SignInName); err != nil {
				return err
			}
			members = append(members, m)
		}
		if len(unmatched) > 0 {
			return rule("ids", "not users of this account: %s; nothing was removed", strings.Join(unmatched, ", "))
		}
		now := s.now()
		for _, m := range members {
			if _, err := tx.ExecContext(ctx, `DELETE FROM account_members WHERE account_id = $1 AND user_id = $2`, accountID, m.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `
				UPDATE tokens SET revoked_at = $3
				WHERE principal_kind = 'user' AND principal_id = $1 AND account_id = $2 AND revoked_at IS NULL`, m.ID, accountID, now); err != nil {
				return err
			}
			if err := audit(ctx, tx, accountID, actor, now, "user.remove", "user:"+m.SignInName, m, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResetPassword gives a user of the account a new temporary password,
// returned once, which must be changed at the next sign-in; the user's
// tokens are revoked. Errors: ErrNotFound, ErrForbidden (not a global
// administrator of the user's tenant).
func (s *Service) ResetPassword(ctx context.Context, actor Principal, accountID, userID int64) (string, error) {
	temporary := newTemporaryPassword()
	hash, err := s.hash(ctx, temporary)
	if err != nil {
		return "", err
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		m, err := userMember(ctx, tx, accountID, userID)
		if err != nil {
			return err
		}
		tenant, err := s.Directory.Tenant(ctx, tx, m.TenantID)
		if err != nil {
			return err
		}
		if err := requireGlobalAdmin(actor, tenant); err != nil {
			return err
		}
		// The temporary password lets the caller sign in as the user.
		if err := requireHoldsUser(ctx, tx, actor, accountID, userID, "user_id", "resetting the password of "+m.SignInName); err != nil {
			return err
		}
		if err := s.Directory.SetPassword(ctx, tx, userID, hash, true); err != nil {
			return err
		}
		now := s.now()
		if err := revokePrincipalTokens(ctx, tx, KindUser, userID, now); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "user.reset_password", "user:"+m.SignInName, nil, map[string]any{"temporary_password": temporary})
	})
	if err != nil {
		return "", err
	}
	return temporary, nil
}

func revokePrincipalTokens(ctx context.Context, q sqlx.ExecerContext, kind PrincipalKind, id int64, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE tokens SET revoked_at = $3 WHERE principal_kind = $1 AND principal_id = $2 AND revoked_at IS NULL`, kind, id, now)
	return err
}
