package admin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
)

// TestOneQueryAuthenticationAgrees: the server's one-query authentication
// gives exactly the principal accounts.Service.Authenticate gives, for
// every kind of principal (a user with roles of its own, of a group and of
// a custom permission set; an app; the owner's identity; operators), and
// refuses exactly what it refuses.
func TestOneQueryAuthenticationAgrees(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tokens := map[string]string{"ada (owner role)": e.token}

	// mia: marketer herself, manager through a group, a custom set.
	r := e.do("POST", e.acct("/permission-sets"), e.token, map[string]any{"name": "user_viewer", "permissions": []string{"users.read", "audit.read"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	r = e.do("POST", e.acct("/users"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "Mia", "last_name": "M", "user_name": "mia", "roles": []string{"marketer", "user_viewer"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	temporary := r.str("temporary_password")
	tokens["mia (restricted)"] = e.signIn("mia@contoso.onmicrosoft.com", temporary)
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/me/password", tokens["mia (restricted)"], map[string]any{"current_password": temporary, "new_password": "mia's password!"}).status)
	tokens["mia"] = e.signIn("mia@contoso.onmicrosoft.com", "mia's password!")
	r = e.do("POST", e.acct("/groups"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Admins", "member_ids": []any{r.field("user", "id")}, "roles": []string{"developer"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))

	r = e.do("POST", e.acct("/apps"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Sync", "reply_url": "https://contoso.example/cb",
		"app_id_uri": "api://sync", "roles": []string{"developer", "user_viewer"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	clientID := r.str("client_id")
	r = e.do("POST", e.acct("/apps/"+clientID+"/keys"), e.token, map[string]any{"valid_days": 30})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	r = e.do("POST", "/v1/token", "", map[string]any{"grant_type": "client_credentials", "client_id": clientID, "client_secret": r.str("secret")})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	tokens["app"] = r.str("access_token")

	require.Equal(t, http.StatusNoContent, e.do("PUT", e.acct("/owner-identity"), e.token, map[string]any{"email": "owner@example.com", "password": "owner's password"}).status)
	tokens["owner identity"] = e.signIn("owner@example.com", "owner's password")
	tokens["ops"] = e.operator("op.ops", accounts.RoleOps)
	tokens["approver"] = e.operator("op.approver", accounts.RoleFinanceApprover, accounts.RoleFinanceViewer)
	tokens["revoked"] = e.signIn("ada@contoso.onmicrosoft.com", adminPassword)
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/token/revoke", tokens["revoked"], nil).status)
	tokens["unknown"] = "not-a-token"
	tokens["empty"] = ""

	for name, token := range tokens {
		want, wantErr := e.svc.Authenticate(ctx, token)
		for _, seller := range []string{"", e.account.SellerID, "no-such-seller"} {
			got, acct, err := e.server.AuthenticateForTest(ctx, token, seller)
			if wantErr != nil {
				require.Error(t, err, name)
				require.Equal(t, wantErr.Error(), err.Error(), name)
				continue
			}
			require.NoError(t, err, name)
			require.Equal(t, want, got, name)
			switch seller {
			case e.account.SellerID:
				require.NotNil(t, acct, name)
				want, err := e.svc.AccountBySellerID(ctx, seller)
				require.NoError(t, err)
				require.Equal(t, want.ID, acct.ID)
				require.Equal(t, want.SellerID, acct.SellerID)
				require.Equal(t, want.PublisherID, acct.PublisherID)
				require.Equal(t, want.Type, acct.Type)
				require.True(t, want.CreatedAt.Equal(acct.CreatedAt))
			default:
				require.Nil(t, acct, name)
			}
		}
		if name == "mia" {
			require.True(t, want.Permissions.Has(accounts.PermOffersWrite), "developer through the group")
			require.True(t, want.Permissions.Has(accounts.PermAuditRead), "the custom set")
		}
	}
}

// TestRevocationIsImmediate: a revoked token, a removed member and a
// removed app stop working with the very next request (nothing caches a
// principal).
func TestRevocationIsImmediate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	token := e.signIn("ada@contoso.onmicrosoft.com", adminPassword)
	require.Equal(t, http.StatusOK, e.do("GET", e.acct(""), token, nil).status)
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/token/revoke", token, nil).status)
	requireProblem(t, e.do("GET", e.acct(""), token, nil), http.StatusUnauthorized, "")

	r := e.do("POST", e.acct("/users"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "Tom", "last_name": "T", "user_name": "tom", "roles": []string{"manager"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	tomID := r.field("user", "id")
	temporary := r.str("temporary_password")
	restricted := e.signIn("tom@contoso.onmicrosoft.com", temporary)
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/me/password", restricted, map[string]any{"current_password": temporary, "new_password": "tom's password!"}).status)
	tom := e.signIn("tom@contoso.onmicrosoft.com", "tom's password!")
	require.Equal(t, http.StatusOK, e.do("GET", e.acct(""), tom, nil).status)
	require.Equal(t, http.StatusNoContent, e.do("POST", e.acct("/users/remove"), e.token, map[string]any{"ids": []any{tomID}}).status)
	requireProblem(t, e.do("GET", e.acct(""), tom, nil), http.StatusUnauthorized, "")
}
