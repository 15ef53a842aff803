package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
)

// matrixPrincipal is one row of the authorisation matrix.
type matrixPrincipal struct {
	name        string
	token       string
	permissions accounts.PermissionSet
}

// TestAuthorisationMatrix calls every endpoint as every role (and a custom
// permission set). The expectation comes from accounts.RoleTable, the same
// table the server checks: a role without the endpoint's permission gets 403
// and nothing changes; a role with it never gets 401 or 403.
func TestAuthorisationMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ada, err := e.svc.Authenticate(ctx, e.token)
	require.NoError(t, err)
	_, err = e.svc.CreatePermissionSet(ctx, ada, e.account.ID, "auditor", []accounts.Permission{accounts.PermAuditRead, accounts.PermAccountRead})
	require.NoError(t, err)

	var principals []matrixPrincipal
	newUser := func(userName string, roles ...accounts.Role) string {
		user, temporary, err := e.svc.CreateUser(ctx, ada, e.account.ID, accounts.NewUser{TenantID: e.tenant.TenantID, FirstName: "Test", LastName: userName,
			UserName: userName, GlobalAdmin: true, RecoveryEmail: userName + "@example.com", Roles: roles})
		require.NoError(t, err)
		grant, err := e.svc.SignIn(ctx, user.SignInName, temporary)
		require.NoError(t, err)
		p, err := e.svc.Authenticate(ctx, grant.AccessToken)
		require.NoError(t, err)
		require.NoError(t, e.svc.ChangePassword(ctx, p, temporary, "matrix password 1"))
		return e.signIn(user.SignInName, "matrix password 1")
	}
	for _, role := range accounts.RoleTable {
		var token string
		if role.Operator {
			_, temporary, err := accounts.CreateOperator(ctx, e.db, accounts.NewOperator{UserName: "op." + string(role.Name), Roles: []accounts.Role{role.Name}}, e.clock.now())
			require.NoError(t, err)
			restricted := e.signIn("op."+string(role.Name), temporary)
			r := e.do("POST", "/v1/me/password", restricted, map[string]any{"current_password": temporary, "new_password": "matrix password 1"})
			require.Equal(t, http.StatusNoContent, r.status, string(r.raw))
			token = e.signIn("op."+string(role.Name), "matrix password 1")
		} else {
			token = newUser("m_"+string(role.Name), role.Name)
		}
		principals = append(principals, matrixPrincipal{string(role.Name), token, accounts.RolePermissions(role.Name)})
	}
	principals = append(principals, matrixPrincipal{"custom:auditor", newUser("m_auditor", "auditor"),
		accounts.PermissionSet{accounts.PermAuditRead: true, accounts.PermAccountRead: true}})

	endpoints := e.server.Endpoints()
	// Revoking the token must come last: it ends the principal's session.
	for i, ep := range endpoints {
		if ep.ID == "revoke-token" {
			endpoints = append(append(endpoints[:i:i], endpoints[i+1:]...), ep)
			break
		}
	}
	replacer := strings.NewReplacer(
		"{seller_id}", e.account.SellerID, "{user_id}", "999999", "{group_id}", "999999", "{invitation_id}", "999999",
		"{client_id}", "00000000-0000-4000-8000-000000000000", "{key_id}", "00000000-0000-4000-8000-000000000000",
		"{tenant_id}", "00000000-0000-4000-8000-000000000000", "{name}", "nope", "{step}", "email",
		"{month}", "2026-02", "{id}", "999999")

	type snapshot map[string]int
	take := func() snapshot {
		s := snapshot{}
		for _, table := range []string{"audit_log", "account_members", "tenants", "account_tenants", "directory_users", "directory_apps",
			"app_keys", "invitations", "permission_sets", "agreements", "agreement_acceptances", "idempotency_keys", "outbox", "owner_identities",
			"verification_step_events", "account_contacts"} {
			s[table] = e.count(table)
		}
		var revoked int
		require.NoError(t, e.db.Get(&revoked, `SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL`))
		s["revoked tokens"] = revoked
		return s
	}
	allowedCount, deniedCount := 0, 0
	for _, ep := range endpoints {
		if ep.Permission == accounts.PermPublic {
			continue
		}
		path := replacer.Replace(ep.Path)
		var body any
		if ep.Method == http.MethodPost || ep.Method == http.MethodPut {
			body = map[string]any{}
			if ep.ID == "revoke-token" {
				body = nil
			}
		}
		// No token at all: 401 for every non-public endpoint.
		r := e.do(ep.Method, path, "", body)
		require.Equal(t, http.StatusUnauthorized, r.status, "%s without a token", ep.ID)

		for _, p := range principals {
			allowed := ep.Permission == accounts.PermSelf || ep.Permission == accounts.PermPasswordChange || p.permissions.Has(ep.Permission)
			before := take()
			fin := len(e.fin.hold) + len(e.fin.payout) + len(e.fin.tax)
			changes := e.ops.changeCount()
			r := e.do(ep.Method, path, p.token, body, "Idempotency-Key", "matrix-"+ep.ID+"-"+p.name)
			if allowed {
				require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, r.status, "%s as %s: %s", ep.ID, p.name, r.raw)
				if ep.Permission == accounts.PermPayoutsRead && ep.Method == http.MethodGet && !strings.Contains(ep.Path, "{id}") {
					// The payouts reads run on the real service.
					require.Equal(t, http.StatusOK, r.status, "%s as %s: %s", ep.ID, p.name, r.raw)
				}
				allowedCount++
				continue
			}
			requireProblem(t, r, http.StatusForbidden, "")
			require.Contains(t, r.str("detail"), string(ep.Permission), "%s as %s", ep.ID, p.name)
			require.Equal(t, before, take(), "%s as %s was refused but changed something", ep.ID, p.name)
			require.Equal(t, fin, len(e.fin.hold)+len(e.fin.payout)+len(e.fin.tax))
			require.Equal(t, changes, e.ops.changeCount(), "%s as %s was refused but reached the operator services", ep.ID, p.name)
			deniedCount++
		}
	}
	t.Logf("%d endpoints x %d principals: %d allowed, %d denied", len(endpoints), len(principals), allowedCount, deniedCount)
	require.Positive(t, allowedCount)
	require.Positive(t, deniedCount)
}
