package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
)

// Custom permission sets of the grant matrix: granters holding one write
// permission each, a custom target, and the baseline every victim starts with.
var grantSets = map[string][]accounts.Permission{
	"users_admin":   {accounts.PermAccountRead, accounts.PermUsersWrite},
	"groups_admin":  {accounts.PermAccountRead, accounts.PermGroupsWrite},
	"apps_admin":    {accounts.PermAccountRead, accounts.PermAppsWrite},
	"roles_admin":   {accounts.PermAccountRead, accounts.PermRolesWrite},
	"payout_writer": {accounts.PermAccountRead, accounts.PermPayoutAccountWrite},
	"reader":        {accounts.PermAccountRead},
}

// permsOf resolves a built-in role or one of grantSets.
func permsOf(role string) accounts.PermissionSet {
	if perms, ok := grantSets[role]; ok {
		set := accounts.PermissionSet{}
		for _, p := range perms {
			set[p] = true
		}
		return set
	}
	return accounts.RolePermissions(accounts.Role(role))
}

// lacking lists what want has and held lacks.
func lacking(held, want accounts.PermissionSet) []string {
	var out []string
	for _, p := range want.Sorted() {
		if !held.Has(p) {
			out = append(out, string(p))
		}
	}
	return out
}

// user creates a directory user with access and the given roles (as ada),
// signs it in and changes its temporary password; it returns the token and
// the user id.
func (e *env) user(userName string, globalAdmin bool, roles ...accounts.Role) (string, int64) {
	e.t.Helper()
	ctx := context.Background()
	ada, err := e.svc.Authenticate(ctx, e.token)
	require.NoError(e.t, err)
	u, temporary, err := e.svc.CreateUser(ctx, ada, e.account.ID, accounts.NewUser{TenantID: e.tenant.TenantID, FirstName: "Test", LastName: userName,
		UserName: userName, GlobalAdmin: globalAdmin, RecoveryEmail: userName + "@example.com", Roles: roles})
	require.NoError(e.t, err)
	restricted := e.signIn(u.SignInName, temporary)
	r := e.do("POST", "/v1/me/password", restricted, map[string]any{"current_password": temporary, "new_password": "grant password 1"})
	require.Equal(e.t, http.StatusNoContent, r.status, string(r.raw))
	return e.signIn(u.SignInName, "grant password 1"), u.ID
}

// grantState is what a refused grant must leave unchanged: every access row
// with its roles, every key, invitation, set and directory object.
func (e *env) grantState() string {
	e.t.Helper()
	var rows []string
	require.NoError(e.t, e.db.Select(&rows, `
		SELECT format('member %s/%s/%s %s', user_id, group_id, app_id, roles) FROM account_members
		UNION ALL SELECT format('key %s %s', key_id, removed_at) FROM app_keys
		UNION ALL SELECT format('invitation %s %s %s', email, roles, status) FROM invitations
		UNION ALL SELECT format('set %s %s', name, permissions) FROM permission_sets
		UNION ALL SELECT format('group member %s %s', group_id, user_id) FROM directory_group_members
		UNION ALL SELECT format('users %s groups %s apps %s', (SELECT count(*) FROM directory_users), (SELECT count(*) FROM directory_groups), (SELECT count(*) FROM directory_apps))
		UNION ALL SELECT format('password %s %s', id, password_hash) FROM directory_users
		ORDER BY 1`))
	return strings.Join(rows, "\n")
}

// TestGrantMatrix tries every grant path (user roles on create, add and
// update, the caller's own roles, invitations, group roles on create and add,
// group membership of a new user, app roles on create and add, app keys,
// password resets, removals, custom permission sets) as every account role
// and a custom set holding each write permission, against every role and a
// custom set as the target. The expectation is computed from the role table
// alone: a path is allowed when the caller holds the endpoint's permission and
// every permission the target role carries (SPEC §7.8); otherwise the answer
// is 403 naming a missing permission and nothing changes.
func TestGrantMatrix(t *testing.T) {
	t.Parallel()
	granters := []string{"owner", "manager", "developer", "business_contributor", "financial_contributor", "marketer",
		"users_admin", "groups_admin", "apps_admin", "roles_admin"}
	targets := []string{"owner", "manager", "developer", "business_contributor", "financial_contributor", "marketer", "payout_writer"}
	for _, granter := range granters {
		t.Run(granter, func(t *testing.T) {
			t.Parallel()
			grantMatrixRow(t, granter, targets)
		})
	}
}

func grantMatrixRow(t *testing.T, granter string, targets []string) {
	e := newEnv(t)
	ctx := context.Background()
	ada, err := e.svc.Authenticate(ctx, e.token)
	require.NoError(t, err)
	for name, perms := range grantSets {
		_, err := e.svc.CreatePermissionSet(ctx, ada, e.account.ID, name, perms)
		require.NoError(t, err)
	}
	token, selfID := e.user("granter", true, accounts.Role(granter))
	held := permsOf(granter)
	dir := e.svc.Directory
	now := e.clock.now()
	ep := func(id string) accounts.Permission {
		for _, x := range e.server.Endpoints() {
			if x.ID == id {
				return x.Permission
			}
		}
		t.Fatalf("no endpoint %s", id)
		return ""
	}
	bare := func(name string) {
		_, err := dir.CreateUser(ctx, e.db, e.tenant, accounts.NewDirectoryUser{UserName: name, FirstName: "Bare", LastName: name, PasswordHash: "$argon2id$unused"}, now)
		require.NoError(t, err)
	}
	member := func(name string, roles ...accounts.Role) int64 {
		bare(name)
		added, err := e.svc.AddExistingUsers(ctx, ada, e.account.ID, []string{name + "@contoso.onmicrosoft.com"}, roles)
		require.NoError(t, err)
		return added[0].ID
	}
	group := func(name string, roles ...accounts.Role) int64 {
		g, err := e.svc.CreateGroup(ctx, ada, e.account.ID, e.tenant.TenantID, name, nil, roles)
		require.NoError(t, err)
		return g.ID
	}
	app := func(name string, roles ...accounts.Role) string {
		a, err := e.svc.CreateApp(ctx, ada, e.account.ID, accounts.NewAccountApp{TenantID: e.tenant.TenantID, DisplayName: name,
			ReplyURL: "https://" + name + ".example.com/cb", AppIDURI: "api://" + name, Roles: roles})
		require.NoError(t, err)
		return a.ClientID
	}

	allowed, denied := 0, 0
	for _, target := range targets {
		tr := accounts.Role(target)
		tp := permsOf(target)
		slug := strings.ReplaceAll(target, "_", "")
		// Fixtures, made by ada (the owner) before the granter acts.
		bare("add" + slug)
		victim := member("victim"+slug, "reader")
		resetID := member("reset"+slug, tr)
		removeID := member("remove"+slug, tr)
		joinGroup := group("join "+slug, tr)
		deleteGroup := group("delete "+slug, tr)
		_, err := dir.CreateGroup(ctx, e.db, e.tenant, "dir "+slug, nil, now)
		require.NoError(t, err)
		keyApp := app("key"+slug, tr)
		removeApp := app("rm"+slug, tr)
		dirApp, err := dir.CreateApp(ctx, e.db, e.tenant, accounts.NewApp{DisplayName: "dir" + slug, ReplyURL: "https://dir" + slug + ".example.com/cb", AppIDURI: "api://dir" + slug}, now)
		require.NoError(t, err)
		r := e.do("GET", e.acct(fmt.Sprintf("/users/%d", victim)), e.token, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		victimTag := r.header.Get("ETag")
		r = e.do("GET", e.acct(fmt.Sprintf("/users/%d", selfID)), e.token, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		selfTag := r.header.Get("ETag")
		targetList := []string{target}
		tenant := e.tenant.TenantID
		reader := permsOf("reader")
		union := func(sets ...accounts.PermissionSet) accounts.PermissionSet {
			out := accounts.PermissionSet{}
			for _, s := range sets {
				for p := range s {
					out[p] = true
				}
			}
			return out
		}

		type path struct {
			id      string // endpoint id
			method  string
			url     string
			body    any
			headers []string
			needs   accounts.PermissionSet // what the caller must hold besides the endpoint's permission
			never   bool                   // refused whatever the caller holds
		}
		paths := []path{
			{"create-user", "POST", e.acct("/users"), map[string]any{"tenant_id": tenant, "first_name": "New", "last_name": slug, "user_name": "new" + slug, "roles": targetList}, nil, tp, false},
			{"add-users", "POST", e.acct("/users/add"), map[string]any{"user_names": []string{"add" + slug + "@contoso.onmicrosoft.com"}, "roles": targetList}, nil, tp, false},
			{"update-user", "PUT", e.acct(fmt.Sprintf("/users/%d", victim)), map[string]any{"first_name": "Bare", "last_name": "victim" + slug, "roles": targetList}, []string{"If-Match", victimTag}, union(tp, reader), false},
			{"invite-users", "POST", e.acct("/invitations"), map[string]any{"tenant_id": tenant, "emails": "inv" + slug + "@example.com", "roles": targetList}, nil, tp, false},
			{"create-group", "POST", e.acct("/groups"), map[string]any{"tenant_id": tenant, "display_name": "new " + slug, "member_ids": []int64{selfID}, "roles": targetList}, nil, tp, false},
			{"add-group", "POST", e.acct("/groups/add"), map[string]any{"tenant_id": tenant, "display_name": "dir " + slug, "roles": targetList}, nil, tp, false},
			{"create-app", "POST", e.acct("/apps"), map[string]any{"tenant_id": tenant, "display_name": "new" + slug, "reply_url": "https://new" + slug + ".example.com/cb", "app_id_uri": "api://new" + slug, "roles": targetList}, nil, tp, false},
			{"add-app", "POST", e.acct("/apps/add"), map[string]any{"client_id": dirApp.ClientID, "roles": targetList}, nil, tp, false},
			{"add-app-key", "POST", e.acct("/apps/" + keyApp + "/keys"), map[string]any{}, nil, tp, false},
			{"reset-user-password", "POST", e.acct(fmt.Sprintf("/users/%d/reset-password", resetID)), nil, nil, tp, false},
			{"remove-users", "POST", e.acct("/users/remove"), map[string]any{"ids": []int64{removeID}}, nil, tp, false},
			{"delete-group", "DELETE", e.acct(fmt.Sprintf("/groups/%d", deleteGroup)), nil, nil, tp, false},
			{"remove-app", "DELETE", e.acct("/apps/" + removeApp), nil, nil, tp, false},
			{"create-user", "POST", e.acct("/users"), map[string]any{"tenant_id": tenant, "first_name": "Joiner", "last_name": slug, "user_name": "join" + slug, "group_ids": []int64{joinGroup}, "roles": []string{"reader"}}, nil, union(tp, reader), false},
			{"create-permission-set", "POST", e.acct("/permission-sets"), map[string]any{"name": "copy_" + slug, "permissions": tp.Sorted()}, nil, tp, false},
		}
		if target != granter {
			paths = append(paths, path{"update-user", "PUT", e.acct(fmt.Sprintf("/users/%d", selfID)), map[string]any{"first_name": "Test", "last_name": "granter", "roles": targetList}, []string{"If-Match", selfTag}, nil, true})
		}
		for i, p := range paths {
			endpoint := ep(p.id)
			missing := lacking(held, p.needs)
			if !held.Has(endpoint) {
				missing = append([]string{string(endpoint)}, missing...)
			}
			before := e.grantState()
			r := e.do(p.method, p.url, token, p.body, append([]string{"Idempotency-Key", fmt.Sprintf("grant-%s-%d", slug, i)}, p.headers...)...)
			what := fmt.Sprintf("%s as %s on %s (%s)", p.id, granter, target, p.url)
			if len(missing) == 0 && !p.never {
				require.True(t, r.status >= 200 && r.status < 300, "%s: want success, got %d %s", what, r.status, r.raw)
				allowed++
				continue
			}
			requireProblem(t, r, http.StatusForbidden, "")
			if p.never && len(missing) == 0 {
				require.Contains(t, r.str("detail"), "your own roles", what)
			} else {
				named := false
				for _, m := range missing {
					named = named || strings.Contains(r.str("detail"), m)
				}
				require.True(t, named, "%s: the refusal names none of %v: %s", what, missing, r.raw)
			}
			require.Equal(t, before, e.grantState(), "%s was refused but changed something", what)
			denied++
		}
	}
	t.Logf("%s: %d grants allowed, %d refused", granter, allowed, denied)
}

// TestPrivilegeEscalationToOwnerIsRefused replays the four escalations found
// by hand, each ending where the attacker wanted to be (holding
// payout_account.write, switching the hold off or pointing the payout account
// at its own PayPal address), and checks each is refused with 403 naming the
// missing permission and leaves the payout account untouched.
func TestPrivilegeEscalationToOwnerIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ada, err := e.svc.Authenticate(ctx, e.token)
	require.NoError(t, err)
	_, err = e.svc.CreatePermissionSet(ctx, ada, e.account.ID, "users_only", []accounts.Permission{accounts.PermUsersWrite})
	require.NoError(t, err)

	refused := func(r response, missing string) {
		t.Helper()
		requireProblem(t, r, http.StatusForbidden, "")
		require.Contains(t, r.str("detail"), missing, string(r.raw))
	}
	mustNotPay := func(token string) {
		t.Helper()
		refused(e.do("PUT", e.acct("/payout-account"), token, map[string]any{"method": "paypal", "paypal_email": "mallory@example.com", "currency": "USD"}), "payout_account.write")
		refused(e.do("PUT", e.acct("/payment-hold"), token, map[string]any{"on": false}), "payment_hold.write")
		require.Empty(t, e.fin.payout, "nobody set a payout account")
	}

	// 1. A manager gives itself owner.
	manager, managerID := e.user("mallory", true, accounts.RoleManager)
	r := e.do("GET", e.acct(fmt.Sprintf("/users/%d", managerID)), manager, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	refused(e.do("PUT", e.acct(fmt.Sprintf("/users/%d", managerID)), manager, map[string]any{"first_name": "Test", "last_name": "mallory", "roles": []string{"owner"}},
		"If-Match", r.header.Get("ETag")), "your own roles")
	mustNotPay(manager)

	// 2. A custom set holding only users.write grants owner to a user it
	// controls (itself, or a new one whose temporary password it gets).
	usersOnly, usersOnlyID := e.user("trudy", true, "users_only")
	r = e.do("GET", e.acct(fmt.Sprintf("/users/%d", usersOnlyID)), e.token, nil)
	refused(e.do("PUT", e.acct(fmt.Sprintf("/users/%d", usersOnlyID)), usersOnly, map[string]any{"first_name": "Test", "last_name": "trudy", "roles": []string{"owner"}},
		"If-Match", r.header.Get("ETag")), "your own roles")
	refused(e.do("POST", e.acct("/users"), usersOnly, map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "Sock", "last_name": "Puppet", "user_name": "sock",
		"roles": []string{"owner"}}), "payout_account.write")

	// 3. A groups.write holder creates an owner group with itself in it.
	manager2, manager2ID := e.user("grace", false, accounts.RoleManager)
	refused(e.do("POST", e.acct("/groups"), manager2, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Owners", "member_ids": []int64{manager2ID},
		"roles": []string{"owner"}}), "payout_account.write")
	mustNotPay(manager2)

	// 4. An apps.write holder creates an owner app, or adds a key to the
	// existing owner app, then signs in with client credentials.
	refused(e.do("POST", e.acct("/apps"), manager, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Payroll", "reply_url": "https://payroll.example.com/cb",
		"app_id_uri": "api://payroll", "roles": []string{"owner"}}), "payout_account.write")
	ownerApp, err := e.svc.CreateApp(ctx, ada, e.account.ID, accounts.NewAccountApp{TenantID: e.tenant.TenantID, DisplayName: "Finance bot",
		ReplyURL: "https://bot.example.com/cb", AppIDURI: "api://bot", Roles: []accounts.Role{accounts.RoleOwner}})
	require.NoError(t, err)
	keys := e.count("app_keys")
	refused(e.do("POST", e.acct("/apps/"+ownerApp.ClientID+"/keys"), manager, map[string]any{}), "payout_account.write")
	require.Equal(t, keys, e.count("app_keys"), "no key was added")

	// The owner still can, so the refusals are about who asks.
	r = e.do("POST", e.acct("/apps/"+ownerApp.ClientID+"/keys"), e.token, map[string]any{})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
}
