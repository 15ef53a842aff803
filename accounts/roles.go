package accounts

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// stringList scans a JSON array (select to_json(text_array)).
type stringList []string

// Scan implements sql.Scanner.
func (l *stringList) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	case nil:
		*l = nil
		return nil
	default:
		return fmt.Errorf("stringList: cannot scan %T", src)
	}
	return json.Unmarshal(raw, (*[]string)(l))
}

// Value implements driver.Valuer.
func (l stringList) Value() (driver.Value, error) { return json.Marshal([]string(l)) }

func rolesOf(l stringList) []Role {
	out := make([]Role, len(l))
	for i, r := range l {
		out[i] = Role(r)
	}
	return out
}

// checkRoles validates a role list given to a member: each entry is an
// account role of the role table or a custom permission set of the account.
// It returns the list without duplicates. Errors: ErrInvalid naming field.
func checkRoles(ctx context.Context, q sqlx.QueryerContext, accountID int64, field string, roles []Role) ([]string, error) {
	if len(roles) == 0 {
		return nil, invalid(field, "at least one role is required")
	}
	if len(roles) > MaxRolesPerMember {
		return nil, invalid(field, "at most %d roles", MaxRolesPerMember)
	}
	var custom []string
	if err := sqlx.SelectContext(ctx, q, &custom, `SELECT name FROM permission_sets WHERE account_id = $1`, accountID); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range roles {
		def, builtIn := LookupRole(r)
		switch {
		case builtIn && def.Operator:
			return nil, invalid(field, "%q is an operator role, not an account role", r)
		case !builtIn && !slices.Contains(custom, string(r)):
			return nil, invalid(field, "%q is neither a role nor a permission set of this account", r)
		}
		if !slices.Contains(out, string(r)) {
			out = append(out, string(r))
		}
	}
	return out, nil
}

// permissionsOf resolves role lists (built-in roles and the account's custom
// permission sets) to one permission set: the union of all.
func permissionsOf(ctx context.Context, q sqlx.QueryerContext, accountID int64, roleLists []stringList) (PermissionSet, error) {
	var sets []struct {
		Name        string     `db:"name"`
		Permissions stringList `db:"permissions"`
	}
	if err := sqlx.SelectContext(ctx, q, &sets, `SELECT name, to_json(permissions) AS permissions FROM permission_sets WHERE account_id = $1`, accountID); err != nil {
		return nil, err
	}
	custom := map[string][]string{}
	for _, s := range sets {
		custom[s.Name] = s.Permissions
	}
	out := PermissionSet{}
	for _, list := range roleLists {
		for _, r := range list {
			if out.addRole(Role(r)) {
				continue
			}
			for _, p := range custom[r] {
				out[Permission(p)] = true
			}
		}
	}
	// An operator role can never reach an account member, but make sure a
	// stored list can never grant operator-only permissions either.
	account := PermissionSet{}
	for _, p := range accountPermissions {
		if out[p] {
			account[p] = true
		}
	}
	return account, nil
}

// PermissionSetView is a custom permission set.
type PermissionSetView struct {
	Name        string       `db:"name" json:"name"`
	Permissions []Permission `db:"-" json:"permissions"`
	CreatedAt   time.Time    `db:"created_at" json:"created_at"`
}

// PermissionSets lists the account's custom permission sets.
func (s *Service) PermissionSets(ctx context.Context, accountID int64) ([]PermissionSetView, error) {
	var rows []struct {
		Name        string     `db:"name"`
		Permissions stringList `db:"permissions"`
		CreatedAt   time.Time  `db:"created_at"`
	}
	if err := s.DB.SelectContext(ctx, &rows, `SELECT name, to_json(permissions) AS permissions, created_at FROM permission_sets WHERE account_id = $1 ORDER BY name`, accountID); err != nil {
		return nil, err
	}
	out := []PermissionSetView{}
	for _, r := range rows {
		v := PermissionSetView{Name: r.Name, CreatedAt: r.CreatedAt}
		for _, p := range r.Permissions {
			v.Permissions = append(v.Permissions, Permission(p))
		}
		out = append(out, v)
	}
	return out, nil
}

// CreatePermissionSet defines a custom permission set. Errors: ErrInvalid
// (name, unknown or operator permission), ErrConflict (name taken or the
// name of a role).
func (s *Service) CreatePermissionSet(ctx context.Context, actor Principal, accountID int64, name string, permissions []Permission) (PermissionSetView, error) {
	if !permissionSetName.MatchString(name) {
		return PermissionSetView{}, invalid("name", "%q must be 1-64 lowercase letters, digits or '_', starting with a letter", name)
	}
	if _, builtIn := LookupRole(Role(name)); builtIn {
		return PermissionSetView{}, conflict("name", "%q is a built-in role", name)
	}
	if len(permissions) == 0 {
		return PermissionSetView{}, invalid("permissions", "at least one permission is required")
	}
	var list []string
	for i, p := range permissions {
		if !slices.Contains(accountPermissions, p) {
			return PermissionSetView{}, invalid(fmt.Sprintf("permissions[%d]", i), "%q is not an account permission", p)
		}
		if !slices.Contains(list, string(p)) {
			list = append(list, string(p))
		}
	}
	view := PermissionSetView{Name: name}
	defined := PermissionSet{}
	for _, p := range list {
		view.Permissions = append(view.Permissions, Permission(p))
		defined[Permission(p)] = true
	}
	if err := requireGrant(actor, defined, "permissions", "defining permission set "+name); err != nil {
		return PermissionSetView{}, err
	}
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		view.CreatedAt = s.now()
		_, err := tx.ExecContext(ctx, `INSERT INTO permission_sets (account_id, name, permissions, created_at) VALUES ($1, $2, $3, $4)`,
			accountID, name, list, view.CreatedAt)
		if _, dup := uniqueViolation(err); dup {
			return conflict("name", "permission set %q already exists", name)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, view.CreatedAt, "permission_set.create", "permission_set:"+name, nil, view)
	})
	return view, err
}

// DeletePermissionSet removes a custom permission set that no member holds.
// Errors: ErrNotFound, ErrConflict (still assigned).
func (s *Service) DeletePermissionSet(ctx context.Context, actor Principal, accountID int64, name string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		// A pending invitation holds the name too: were the set deleted and a
		// wider one defined under its name, accepting would grant the new one.
		var inUse bool
		if err := tx.GetContext(ctx, &inUse, `
			SELECT EXISTS (SELECT 1 FROM account_members WHERE account_id = $1 AND $2 = ANY (roles))
			    OR EXISTS (SELECT 1 FROM invitations WHERE account_id = $1 AND status = 'pending' AND $2 = ANY (roles))`, accountID, name); err != nil {
			return err
		}
		if inUse {
			return conflict("name", "permission set %q is still assigned", name)
		}
		result, err := tx.ExecContext(ctx, `DELETE FROM permission_sets WHERE account_id = $1 AND name = $2`, accountID, name)
		if err := oneRow(result, err, notFound("name", "no permission set %q", name)); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, s.now(), "permission_set.delete", "permission_set:"+name, map[string]any{"name": name}, nil)
	})
}
