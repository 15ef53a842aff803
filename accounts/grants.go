package accounts

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// The grant rule (SPEC §7.8): a principal grants only permissions it holds.
//
// Every path that gives a principal permissions in an account goes through
// one of the two checks below:
//
//   - requireGrant: the permissions being handed out (roles given to a user,
//     group or app; an invitation's roles; a custom permission set being
//     defined; the roles of a group a new user is put in) must all be held by
//     the actor.
//   - requireHoldsMember / requireHoldsUser: acting on a member as a whole (changing or removing its
//     roles, deleting a group, removing an app, adding or removing an app's
//     keys, resetting a user's password) needs every permission the member
//     has. Adding a key or resetting a password hands the caller the member's
//     credentials, so it is acting as that member; changing or removing a
//     member's roles takes away permissions, which only someone holding them
//     may decide.
//
// Nobody changes their own roles (UpdateUser). payrun's own actions
// (KindSystem: the CLI, jobs, onboarding) are trusted and skip both checks;
// operator onboarding of an account with no members (CreateTenant's
// bootstrap owner) is the one place an owner is created without an owner
// granting it.

// missingFrom lists, in order, the permissions of want that held lacks.
func missingFrom(held, want PermissionSet) []Permission {
	var missing []Permission
	for _, p := range want.Sorted() {
		if !held.Has(p) {
			missing = append(missing, p)
		}
	}
	return missing
}

// grantRefused is the ErrForbidden of the grant rule, naming the missing
// permissions so a caller can see exactly what it lacks.
func grantRefused(field, what string, missing []Permission) error {
	names := make([]string, len(missing))
	for i, p := range missing {
		names[i] = string(p)
	}
	return &Error{Kind: KindForbidden, Field: field, Missing: missing,
		Reason: fmt.Sprintf("%s needs %s, which you do not hold: a principal grants only permissions it holds", what, strings.Join(names, ", "))}
}

// requireGrant refuses when granted holds a permission the actor lacks.
// Errors: ErrForbidden (field, the missing permissions).
func requireGrant(actor Principal, granted PermissionSet, field, what string) error {
	if actor.Kind == KindSystem {
		return nil
	}
	if missing := missingFrom(actor.Permissions, granted); len(missing) > 0 {
		return grantRefused(field, what, missing)
	}
	return nil
}

// grantableRoles validates a role list (checkRoles) and applies the grant
// rule to it: the list the caller may store. Errors: ErrInvalid,
// ErrForbidden.
func grantableRoles(ctx context.Context, q sqlx.QueryerContext, actor Principal, accountID int64, field string, roles []Role) ([]string, error) {
	list, err := checkRoles(ctx, q, accountID, field, roles)
	if err != nil {
		return nil, err
	}
	if err := requireRoleGrant(ctx, q, actor, accountID, field, list); err != nil {
		return nil, err
	}
	return list, nil
}

// requireRoleGrant applies the grant rule to a stored role list.
func requireRoleGrant(ctx context.Context, q sqlx.QueryerContext, actor Principal, accountID int64, field string, list []string) error {
	if actor.Kind == KindSystem {
		return nil
	}
	granted, err := permissionsOf(ctx, q, accountID, []stringList{list})
	if err != nil {
		return err
	}
	return requireGrant(actor, granted, field, fmt.Sprintf("granting %s", strings.Join(list, ", ")))
}

// memberPermissions is what a member's own role list grants in the account.
func memberPermissions(ctx context.Context, q sqlx.QueryerContext, accountID int64, roles stringList) (PermissionSet, error) {
	return permissionsOf(ctx, q, accountID, []stringList{roles})
}

// userPermissions is a user's effective permissions in the account: its own
// roles and those of every group of the account it belongs to.
func userPermissions(ctx context.Context, q sqlx.QueryerContext, accountID, userID int64) (PermissionSet, error) {
	var lists []stringList
	if err := sqlx.SelectContext(ctx, q, &lists, `
		SELECT to_json(m.roles) FROM account_members m
		WHERE m.account_id = $1 AND (m.user_id = $2 OR m.group_id IN (SELECT group_id FROM directory_group_members WHERE user_id = $2))`,
		accountID, userID); err != nil {
		return nil, err
	}
	return permissionsOf(ctx, q, accountID, lists)
}

// requireHoldsMember applies the grant rule to everything a member's own role list.
func requireHoldsMember(ctx context.Context, q sqlx.QueryerContext, actor Principal, accountID int64, roles stringList, field, what string) error {
	if actor.Kind == KindSystem {
		return nil
	}
	held, err := memberPermissions(ctx, q, accountID, roles)
	if err != nil {
		return err
	}
	return requireGrant(actor, held, field, what)
}

// requireHoldsUser applies the grant rule to a user's effective permissions.
func requireHoldsUser(ctx context.Context, q sqlx.QueryerContext, actor Principal, accountID, userID int64, field, what string) error {
	if actor.Kind == KindSystem {
		return nil
	}
	held, err := userPermissions(ctx, q, accountID, userID)
	if err != nil {
		return err
	}
	return requireGrant(actor, held, field, what)
}
