package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/ledger"
)

func TestAccountSettingsETagAndImmutableIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", e.acct(""), e.token, nil)
	require.Equal(t, http.StatusOK, r.status)
	tag := r.header.Get("ETag")
	require.Equal(t, `"0"`, tag)
	update := map[string]any{
		"display_name":     "Contoso Games",
		"seller_contact":   map[string]any{"name": "Sam", "email": "sam@contoso.example", "phone": "+14255550100", "address": map[string]any{"line1": "1 Main St", "city": "Redmond", "country": "US"}},
		"company_approver": map[string]any{"name": "Pat", "email": "pat@contoso.example"},
	}
	audit := e.count("audit_log")
	requireProblem(t, e.do("PUT", e.acct(""), e.token, update), http.StatusPreconditionRequired, "header.If-Match")

	bad := map[string]any{"display_name": "x", "seller_contact": map[string]any{"name": "Sam", "email": "sam@contoso.example", "phone": "425-555-0100"}}
	requireProblem(t, e.do("PUT", e.acct(""), e.token, bad, "If-Match", tag), http.StatusBadRequest, "body.seller_contact.phone")

	withID := map[string]any{"seller_id": "S999999999", "display_name": "x"}
	requireProblem(t, e.do("PUT", e.acct(""), e.token, withID, "If-Match", tag), http.StatusConflict, "body.seller_id")
	require.Equal(t, audit, e.count("audit_log"), "refused updates change nothing")

	r = e.do("PUT", e.acct(""), e.token, update, "If-Match", tag)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, `"1"`, r.header.Get("ETag"))
	require.Equal(t, "Contoso Games", r.str("display_name"))
	require.Equal(t, "+14255550100", r.str("seller_contact", "phone"))

	// The old ETag is stale: 412, never a silent overwrite.
	requireProblem(t, e.do("PUT", e.acct(""), e.token, update, "If-Match", tag), http.StatusPreconditionFailed, "header.If-Match")

	// Sending the ids back unchanged is fine.
	same := map[string]any{"seller_id": e.account.SellerID, "publisher_id": e.account.PublisherID, "display_name": "Contoso"}
	require.Equal(t, http.StatusOK, e.do("PUT", e.acct(""), e.token, same, "If-Match", `"1"`).status)
	require.Equal(t, audit+2, e.count("audit_log"))

	// Another account is invisible.
	other, err := ledger.CreateAccount(context.Background(), e.db, ledger.NewAccount{Type: ledger.Individual, RegistrationCountry: "DE"}, e.clock.now())
	require.NoError(t, err)
	requireProblem(t, e.do("GET", "/v1/accounts/"+other.SellerID, e.token, nil), http.StatusNotFound, "")
}

func TestVerificationStepsByOperator(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, temporary, err := accounts.CreateOperator(context.Background(), e.db, accounts.NewOperator{UserName: "ops1", Roles: []accounts.Role{accounts.RoleOps}}, e.clock.now())
	require.NoError(t, err)
	restricted := e.signIn("ops1", temporary)
	requireProblem(t, e.do("GET", e.acct(""), restricted, nil), http.StatusForbidden, "")
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/me/password", restricted, map[string]any{"current_password": temporary, "new_password": "operator password"}).status)
	ops := e.signIn("ops1", "operator password")
	for _, step := range []string{"email", "employment", "business"} {
		r := e.do("PUT", e.acct("/verification-steps/"+step), ops, map[string]any{"state": "passed"})
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
	}
	r := e.do("GET", e.acct(""), e.token, nil)
	require.Equal(t, "verified", r.str("status"))
	var status string
	require.NoError(t, e.db.Get(&status, `SELECT status FROM account_status_events WHERE account_id = $1 ORDER BY id DESC LIMIT 1`, e.account.ID))
	require.Equal(t, "verified", status)
}

// outboxToken reads the newest outbox file to address and returns the token
// in it.
func (e *env) outboxToken(address string) string {
	e.t.Helper()
	files, err := filepath.Glob(filepath.Join(e.outDir, "outbox", "*.eml"))
	require.NoError(e.t, err)
	token := regexp.MustCompile(`(?m)^    ([A-Za-z0-9_-]{43})$`)
	for i := len(files) - 1; i >= 0; i-- {
		raw, err := os.ReadFile(files[i])
		require.NoError(e.t, err)
		if strings.Contains(string(raw), "To: "+address+"\r\n") {
			m := token.FindStringSubmatch(string(raw))
			require.NotNil(e.t, m, string(raw))
			return m[1]
		}
	}
	e.t.Fatalf("no mail to %s", address)
	return ""
}

func TestUsersCreateResetRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", e.acct("/users"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "Bob", "last_name": "Builder",
		"user_name": "bob", "global_admin": true, "roles": []string{"developer"}})
	requireProblem(t, r, http.StatusBadRequest, "body.recovery_email")

	r = e.do("POST", e.acct("/users"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "Bob", "last_name": "Builder",
		"user_name": "bob", "roles": []string{"manager"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	require.Equal(t, "no-store", r.header.Get("Cache-Control"))
	temporary := r.str("temporary_password")
	require.Len(t, temporary, 20)
	bobID := int64(r.field("user", "id").(float64))

	// A temporary password only allows changing it.
	restricted := e.signIn("bob@contoso.onmicrosoft.com", temporary)
	requireProblem(t, e.do("GET", e.acct("/users"), restricted, nil), http.StatusForbidden, "")
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/me/password", restricted, map[string]any{"current_password": temporary, "new_password": "bob's new password"}).status)
	bob := e.signIn("bob@contoso.onmicrosoft.com", "bob's new password")
	r = e.do("GET", e.acct("/users"), bob, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.field("items"), 2)

	// Bob manages users but is no global administrator: he cannot create.
	requireProblem(t, e.do("POST", e.acct("/users"), bob, map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "C", "last_name": "D",
		"user_name": "carol", "roles": []string{"developer"}}), http.StatusForbidden, "")

	// Rename (ETag), which renames in the directory.
	r = e.do("GET", e.acct(fmt.Sprintf("/users/%d", bobID)), e.token, nil)
	tag := r.header.Get("ETag")
	r = e.do("PUT", e.acct(fmt.Sprintf("/users/%d", bobID)), e.token, map[string]any{"first_name": "Robert", "last_name": "Builder", "roles": []string{"manager", "marketer"}}, "If-Match", tag)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	var first string
	require.NoError(t, e.db.Get(&first, `SELECT first_name FROM directory_users WHERE id = $1`, bobID))
	require.Equal(t, "Robert", first)

	// Reset: the temporary password is shown once; bob's tokens stop.
	r = e.do("POST", e.acct(fmt.Sprintf("/users/%d/reset-password", bobID)), e.token, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.NotEmpty(t, r.str("temporary_password"))
	requireProblem(t, e.do("GET", "/v1/me", bob, nil), http.StatusUnauthorized, "")
	var audit string
	require.NoError(t, e.db.Get(&audit, `SELECT after::text FROM audit_log WHERE action = 'user.reset_password'`))
	require.NotContains(t, audit, r.str("temporary_password"), "the audit log never holds secrets")
	bob = e.signIn("bob@contoso.onmicrosoft.com", r.str("temporary_password"))

	// Remove: a partial match removes nothing.
	members := e.count("account_members")
	requireProblem(t, e.do("POST", e.acct("/users/remove"), e.token, map[string]any{"ids": []int64{bobID, 424242}}), http.StatusUnprocessableEntity, "body.ids")
	require.Equal(t, members, e.count("account_members"))
	require.Equal(t, http.StatusNoContent, e.do("POST", e.acct("/users/remove"), e.token, map[string]any{"ids": []int64{bobID}}).status)
	require.Equal(t, members-1, e.count("account_members"))
	requireProblem(t, e.do("GET", "/v1/me", bob, nil), http.StatusUnauthorized, "")

	// Add him back as an existing directory user.
	r = e.do("POST", e.acct("/users/add"), e.token, map[string]any{"user_names": []string{"bob@contoso.onmicrosoft.com"}, "roles": []string{"developer"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	requireProblem(t, e.do("POST", e.acct("/users/add"), e.token, map[string]any{"user_names": []string{"bob@contoso.onmicrosoft.com"}, "roles": []string{"developer"}}),
		http.StatusConflict, "body.user_names[0]")
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, fmt.Sprintf("guest%d@example.com", i))
	}
	before := e.count("directory_users")
	requireProblem(t, e.do("POST", e.acct("/invitations"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "emails": strings.Join(eleven, ";"), "roles": []string{"marketer"}}),
		http.StatusBadRequest, "body.emails")
	requireProblem(t, e.do("POST", e.acct("/invitations"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "emails": "a@example.com; nope", "roles": []string{"marketer"}}),
		http.StatusBadRequest, "body.emails")
	require.Equal(t, before, e.count("directory_users"))

	r := e.do("POST", e.acct("/invitations"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "emails": "gina@example.com, hal@example.com", "roles": []string{"business_contributor"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	require.Len(t, r.list, 2)
	require.Equal(t, before+2, e.count("directory_users"))
	var stored string
	require.NoError(t, e.db.Get(&stored, `SELECT body FROM outbox WHERE to_address = 'gina@example.com'`))
	require.Contains(t, stored, "[redacted]", "the outbox table keeps no token")
	first := e.outboxToken("gina@example.com")

	// No access before accepting.
	_, err := e.svc.SignIn(context.Background(), "gina_example.com#EXT#@contoso.onmicrosoft.com", "anything at all")
	require.Error(t, err)

	// Resend: a new token; the old one stops working.
	id := int64(r.list[0].(map[string]any)["id"].(float64))
	r = e.do("POST", e.acct(fmt.Sprintf("/invitations/%d/resend", id)), e.token, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.EqualValues(t, 2, r.field("sent_count"))
	second := e.outboxToken("gina@example.com")
	require.NotEqual(t, first, second)
	requireProblem(t, e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": first, "password": "gina's password"}), http.StatusUnprocessableEntity, "body.token")

	r = e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": second, "password": "gina's password"})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	gina := e.signIn(r.str("sign_in_name"), "gina's password")
	r = e.do("GET", "/v1/me", gina, nil)
	require.Contains(t, r.field("permissions"), "payout_account.read")

	// Invitations expire (14 days by default).
	e.clock.advance(accounts.DefaultInvitationTTL)
	hal := e.outboxToken("hal@example.com")
	requireProblem(t, e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": hal, "password": "hal's password!"}), http.StatusUnprocessableEntity, "body.token")
	e.token = e.signIn("ada@contoso.onmicrosoft.com", adminPassword)
	r = e.do("GET", e.acct("/invitations"), e.token, nil)
	require.Equal(t, "expired", r.field("items").([]any)[1].(map[string]any)["status"])
}

func TestSelfServicePasswordReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// ada's recovery e-mail is the tenant's contact address.
	require.Equal(t, http.StatusAccepted, e.do("POST", "/v1/password-reset", "", map[string]any{"username": "ada@contoso.onmicrosoft.com"}).status)
	require.Equal(t, http.StatusAccepted, e.do("POST", "/v1/password-reset", "", map[string]any{"username": "nobody@contoso.onmicrosoft.com"}).status, "no enumeration")
	code := e.outboxToken("it@contoso.example")
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/password-reset/complete", "", map[string]any{"code": code, "password": "ada's fresh password"}).status)
	requireProblem(t, e.do("POST", "/v1/password-reset/complete", "", map[string]any{"code": code, "password": "ada's fresh password"}), http.StatusUnprocessableEntity, "body.code")
	requireProblem(t, e.do("GET", "/v1/me", e.token, nil), http.StatusUnauthorized, "")
	e.signIn("ada@contoso.onmicrosoft.com", "ada's fresh password")
}

func TestGroupsGiveTheirRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", e.acct("/users"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "Mia", "last_name": "M", "user_name": "mia", "roles": []string{"marketer"}})
	require.Equal(t, http.StatusCreated, r.status)
	miaID := r.field("user", "id")
	temporary := r.str("temporary_password")
	restricted := e.signIn("mia@contoso.onmicrosoft.com", temporary)
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/me/password", restricted, map[string]any{"current_password": temporary, "new_password": "mia's password!"}).status)
	mia := e.signIn("mia@contoso.onmicrosoft.com", "mia's password!")
	requireProblem(t, e.do("GET", e.acct("/users"), mia, nil), http.StatusForbidden, "")

	r = e.do("POST", e.acct("/groups"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Admins", "member_ids": []any{miaID}, "roles": []string{"manager"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	groupID := int64(r.field("id").(float64))
	require.Equal(t, http.StatusOK, e.do("GET", e.acct("/users"), mia, nil).status, "a group's roles count at once")

	requireProblem(t, e.do("POST", e.acct("/groups/add"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Admins", "roles": []string{"manager"}}), http.StatusConflict, "body.display_name")
	require.Equal(t, http.StatusNoContent, e.do("DELETE", e.acct(fmt.Sprintf("/groups/%d", groupID)), e.token, nil).status)
	requireProblem(t, e.do("GET", e.acct("/users"), mia, nil), http.StatusForbidden, "")
	r = e.do("POST", e.acct("/groups/add"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Admins", "roles": []string{"developer"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))

	// Custom permission sets work like roles.
	r = e.do("POST", e.acct("/permission-sets"), e.token, map[string]any{"name": "user_viewer", "permissions": []string{"users.read"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	requireProblem(t, e.do("POST", e.acct("/permission-sets"), e.token, map[string]any{"name": "ops", "permissions": []string{"users.read"}}), http.StatusConflict, "body.name")
	requireProblem(t, e.do("POST", e.acct("/permission-sets"), e.token, map[string]any{"name": "sneaky", "permissions": []string{"cycles.approve"}}), http.StatusBadRequest, "body.permissions[0]")
}

func TestAppsAndKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := "https://contoso.example/" + strings.Repeat("a", 257-len("https://contoso.example/"))
	apps := e.count("directory_apps")
	requireProblem(t, e.do("POST", e.acct("/apps"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Sync", "reply_url": long,
		"app_id_uri": "api://sync", "roles": []string{"developer"}}), http.StatusBadRequest, "body.reply_url")
	r := e.do("POST", e.acct("/apps"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Sync", "reply_url": "https://contoso.example/cb",
		"app_id_uri": "api://sync", "roles": []string{"manager"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	clientID := r.str("client_id")
	require.Equal(t, e.tenant.TenantID, r.str("tenant_id"))
	requireProblem(t, e.do("POST", e.acct("/apps"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Other", "reply_url": "https://contoso.example/other",
		"app_id_uri": "api://sync", "roles": []string{"developer"}}), http.StatusConflict, "body.app_id_uri")
	require.Equal(t, apps+1, e.count("directory_apps"))

	r = e.do("POST", e.acct("/apps/"+clientID+"/keys"), e.token, map[string]any{"valid_days": 30})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	secret, keyID := r.str("secret"), r.str("key_id")
	require.NotEmpty(t, secret)
	var hash string
	require.NoError(t, e.db.Get(&hash, `SELECT secret_hash FROM app_keys WHERE key_id = $1`, keyID))
	require.True(t, strings.HasPrefix(hash, "$argon2id$"))

	r = e.do("GET", e.acct("/apps/"+clientID), e.token, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.raw), secret)
	require.Len(t, r.field("keys"), 1)
	require.Equal(t, "api://sync", r.str("app_id_uri"))

	r = e.do("POST", "/v1/token", "", map[string]any{"grant_type": "client_credentials", "client_id": clientID, "client_secret": secret})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	appToken := r.str("access_token")
	require.Equal(t, http.StatusOK, e.do("GET", e.acct("/users"), appToken, nil).status)
	requireProblem(t, e.do("GET", e.acct("/payout-account"), appToken, nil), http.StatusForbidden, "")

	require.Equal(t, http.StatusNoContent, e.do("DELETE", e.acct("/apps/"+clientID+"/keys/"+keyID), e.token, nil).status)
	requireProblem(t, e.do("POST", "/v1/token", "", map[string]any{"grant_type": "client_credentials", "client_id": clientID, "client_secret": secret}), http.StatusUnauthorized, "")
	require.Equal(t, http.StatusNoContent, e.do("DELETE", e.acct("/apps/"+clientID), e.token, nil).status)
	requireProblem(t, e.do("GET", e.acct("/users"), appToken, nil), http.StatusUnauthorized, "")
}

func TestTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	requireProblem(t, e.do("POST", e.acct("/tenants"), e.token, map[string]any{"domain_name": "contoso", "contact_email": "x@example.com",
		"admin_first_name": "A", "admin_last_name": "B", "admin_user_name": "root", "admin_password": "a long password"}), http.StatusConflict, "body.domain_name")
	r := e.do("POST", e.acct("/tenants"), e.token, map[string]any{"domain_name": "fabrikam", "contact_email": "x@example.com",
		"admin_first_name": "Fay", "admin_last_name": "B", "admin_user_name": "fay", "admin_password": "fay's password"})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	require.Equal(t, "fabrikam.onmicrosoft.com", r.str("domain"))
	fabrikam := r.str("tenant_id")

	// An existing tenant: its administrator's credentials and confirmation.
	ctx := context.Background()
	tx, err := e.db.Beginx()
	require.NoError(t, err)
	admin := accounts.NewDirectoryUser{UserName: "root", FirstName: "R", LastName: "T"}
	_, err = accounts.PostgresDirectory{}.CreateTenant(ctx, tx, accounts.NewTenant{Name: "northwind", Organization: "Northwind", OnPremisesSync: true, Admin: admin}, e.clock.now())
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	r = e.do("GET", e.acct(""), e.token, nil)
	// The tenant admin has no password yet: set one through the directory.
	_, err = e.db.Exec(`UPDATE directory_users SET password_hash = (SELECT password_hash FROM directory_users WHERE user_name = 'fay') WHERE user_name = 'root'`)
	require.NoError(t, err)
	associate := map[string]any{"domain": "northwind.onmicrosoft.com", "user_name": "root", "password": "fay's password", "confirm_organization": "Northwind", "confirm_domain": "northwind.onmicrosoft.com"}
	wrong := map[string]any{"domain": "northwind.onmicrosoft.com", "user_name": "root", "password": "fay's password", "confirm_organization": "Southwind", "confirm_domain": "northwind.onmicrosoft.com"}
	requireProblem(t, e.do("POST", e.acct("/tenants/associate"), e.token, wrong), http.StatusUnprocessableEntity, "body.confirm_organization")
	r = e.do("POST", e.acct("/tenants/associate"), e.token, associate)
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	northwind := r.str("tenant_id")

	// A synchronised tenant refuses new users, groups and apps.
	requireProblem(t, e.do("POST", e.acct("/groups"), e.token, map[string]any{"tenant_id": northwind, "display_name": "G", "roles": []string{"developer"}}), http.StatusUnprocessableEntity, "body.tenant_id")
	requireProblem(t, e.do("POST", e.acct("/apps"), e.token, map[string]any{"tenant_id": northwind, "display_name": "A", "reply_url": "https://n.example/cb", "app_id_uri": "api://n", "roles": []string{"developer"}}), http.StatusUnprocessableEntity, "body.tenant_id")

	// Fay (fabrikam) is given access; removing fabrikam ends it at once.
	require.Equal(t, http.StatusCreated, e.do("POST", e.acct("/users/add"), e.token, map[string]any{"user_names": []string{"fay@fabrikam.onmicrosoft.com"}, "roles": []string{"manager"}}).status)
	fay := e.signIn("fay@fabrikam.onmicrosoft.com", "fay's password")
	require.Equal(t, http.StatusOK, e.do("GET", e.acct("/tenants"), fay, nil).status)

	// Nobody removes the tenant they are signed in through.
	tenants := e.count("account_tenants")
	requireProblem(t, e.do("DELETE", e.acct("/tenants/"+fabrikam), fay, nil), http.StatusUnprocessableEntity, "path.tenant_id")
	require.Equal(t, tenants, e.count("account_tenants"))
	require.Equal(t, http.StatusNoContent, e.do("DELETE", e.acct("/tenants/"+fabrikam), e.token, nil).status)
	requireProblem(t, e.do("GET", "/v1/me", fay, nil), http.StatusUnauthorized, "")
	require.Equal(t, http.StatusNoContent, e.do("DELETE", e.acct("/tenants/"+northwind), e.token, nil).status)

	// contoso is the last tenant: only the owner's personal identity can
	// remove it.
	require.Equal(t, http.StatusNoContent, e.do("PUT", e.acct("/owner-identity"), e.token, map[string]any{"email": "owner@example.com", "password": "owner's password"}).status)
	owner := e.signIn("owner@example.com", "owner's password")
	requireProblem(t, e.do("DELETE", e.acct("/tenants/"+e.tenant.TenantID), e.token, nil), http.StatusUnprocessableEntity, "path.tenant_id")
	require.Equal(t, http.StatusNoContent, e.do("DELETE", e.acct("/tenants/"+e.tenant.TenantID), owner, nil).status)
	requireProblem(t, e.do("GET", "/v1/me", e.token, nil), http.StatusUnauthorized, "")
}

func TestAgreements(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.svc.PublishAgreement(ctx, accounts.System("test"), accounts.AgreementVersion{Name: "publisher", Version: 1, RequiredForPayout: true, GraceDays: 30})
	require.NoError(t, err)
	r := e.do("GET", e.acct("/agreements"), e.token, nil)
	require.Len(t, r.field("action_required"), 1)
	r = e.do("POST", e.acct("/agreements/publisher/accept"), e.token, map[string]any{"version": 1})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	require.Equal(t, "user:ada@contoso.onmicrosoft.com", r.str("accepted_by"))
	requireProblem(t, e.do("POST", e.acct("/agreements/publisher/accept"), e.token, map[string]any{"version": 1}), http.StatusConflict, "body.version")

	e.clock.advance(10 * time.Minute)
	_, err = e.svc.PublishAgreement(ctx, accounts.System("test"), accounts.AgreementVersion{Name: "publisher", Version: 2, RequiredForPayout: true, GraceDays: 14})
	require.NoError(t, err)
	r = e.do("GET", e.acct("/agreements"), e.token, nil)
	items := r.field("action_required").([]any)
	require.Len(t, items, 1)
	require.EqualValues(t, 2, items[0].(map[string]any)["version"])
	requireProblem(t, e.do("POST", e.acct("/agreements/publisher/accept"), e.token, map[string]any{"version": 1}), http.StatusUnprocessableEntity, "body.version")
	r = e.do("GET", "/v1/agreements", e.token, nil)
	require.Len(t, r.list, 2)
}

// TestFinancialUpdatesNeedIfMatch: setting the payout account or the payment
// hold follows the ETag/If-Match rule of every update (SPEC §7.11): 428
// without If-Match, 412 with a stale or weak tag, and the change otherwise.
func TestFinancialUpdatesNeedIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	require.Equal(t, http.StatusNoContent, e.do("PUT", e.acct("/owner-identity"), e.token, map[string]any{"email": "owner@example.com", "password": "owner's password"}).status)
	paypal := map[string]any{"method": "paypal", "holder_name": "Contoso", "currency": "USD", "paypal_email": "pay@contoso.example"}
	for _, c := range []struct {
		path string
		body any
	}{{"/payout-account", paypal}, {"/payment-hold", map[string]any{"on": true}}} {
		requireProblem(t, e.do("PUT", e.acct(c.path), e.token, c.body), http.StatusPreconditionRequired, "header.If-Match")
		first := e.do("GET", e.acct(c.path), e.token, nil).header.Get("ETag")
		requireProblem(t, e.do("PUT", e.acct(c.path), e.token, c.body, "If-Match", "W/"+first), http.StatusPreconditionFailed, "header.If-Match")
		r := e.do("PUT", e.acct(c.path), e.token, c.body, "If-Match", first)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", c.path, r.raw)
		require.NotEqual(t, first, r.header.Get("ETag"))
		require.Equal(t, r.header.Get("ETag"), e.do("GET", e.acct(c.path), e.token, nil).header.Get("ETag"))
		// Someone else's change came in between: the old tag is stale.
		requireProblem(t, e.do("PUT", e.acct(c.path), e.token, c.body, "If-Match", first), http.StatusPreconditionFailed, "header.If-Match")
	}
	require.Equal(t, 1, e.count("audit_log WHERE action = 'payment_hold.set'"), "refused updates left no audit entry")
}

func TestFinancialEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	input := map[string]any{"method": "bank", "holder_name": "Contoso", "currency": "USD", "bank_country": "US", "account_type": "checking",
		"routing_number": "011000015", "account_number": "123456789"}
	requireProblem(t, e.do("PUT", e.acct("/payout-account"), e.token, input), http.StatusUnprocessableEntity, "body.owner_identity")
	require.Empty(t, e.fin.payout)
	require.Equal(t, http.StatusNoContent, e.do("PUT", e.acct("/owner-identity"), e.token, map[string]any{"email": "owner@example.com", "password": "owner's password"}).status)
	r := e.do("GET", e.acct("/payout-account"), e.token, nil)
	require.Equal(t, `"0"`, r.header.Get("ETag"), "no payout account yet: version 0")
	r = e.do("PUT", e.acct("/payout-account"), e.token, input, "If-Match", r.header.Get("ETag"))
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, "****6789", r.str("account_number_masked"))
	require.Equal(t, `"1"`, r.header.Get("ETag"))
	var after string
	require.NoError(t, e.db.Get(&after, `SELECT after::text FROM audit_log WHERE action = 'payout_account.set'`))
	require.NotContains(t, after, "123456789")

	r = e.do("GET", e.acct("/payment-hold"), e.token, nil)
	require.Equal(t, http.StatusOK, e.do("PUT", e.acct("/payment-hold"), e.token, map[string]any{"on": true}, "If-Match", r.header.Get("ETag")).status)
	require.Equal(t, true, e.do("GET", e.acct("/payment-hold"), e.token, nil).field("on"))
	requireProblem(t, e.do("POST", e.acct("/tax-forms"), e.token, map[string]any{"name": "x"}), http.StatusBadRequest, "body.form")
	require.Equal(t, http.StatusCreated, e.do("POST", e.acct("/tax-forms"), e.token, map[string]any{"form": "W-9"}).status)
	require.Equal(t, "W-9", e.do("GET", e.acct("/tax-profile"), e.token, nil).str("form"))
	require.Len(t, e.do("GET", e.acct("/statements"), e.token, nil).field("items"), 1)
	r = e.do("GET", "/v1/audit", e.token, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotEmpty(t, r.field("items"))
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := map[string]any{"name": "viewer", "permissions": []string{"users.read"}}
	first := e.do("POST", e.acct("/permission-sets"), e.token, body, "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, first.status, string(first.raw))
	again := e.do("POST", e.acct("/permission-sets"), e.token, body, "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, again.status, string(again.raw))
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.JSONEq(t, string(first.raw), string(again.raw))
	require.Equal(t, 1, e.count("permission_sets"))
	other := map[string]any{"name": "viewer2", "permissions": []string{"users.read"}}
	requireProblem(t, e.do("POST", e.acct("/permission-sets"), e.token, other, "Idempotency-Key", "k1"), http.StatusConflict, "header.Idempotency-Key")
	require.Equal(t, 1, e.count("permission_sets"))
	// Secrets in a create's response are shown once: the replay redacts them
	// and the stored response never holds them.
	user := map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "Kim", "last_name": "K", "user_name": "kim", "roles": []string{"developer"}}
	created := e.do("POST", e.acct("/users"), e.token, user, "Idempotency-Key", "k2")
	require.Equal(t, http.StatusCreated, created.status, string(created.raw))
	replayed := e.do("POST", e.acct("/users"), e.token, user, "Idempotency-Key", "k2")
	require.Equal(t, http.StatusCreated, replayed.status)
	require.Equal(t, "[redacted]", replayed.str("temporary_password"))
	require.Equal(t, created.field("user", "id"), replayed.field("user", "id"))
	var stored int
	require.NoError(t, e.db.Get(&stored, `SELECT count(*) FROM idempotency_keys WHERE position($1::bytea IN body) > 0`, []byte(created.str("temporary_password"))))
	require.Zero(t, stored)
	// Without a key, the duplicate is a plain conflict.
	requireProblem(t, e.do("POST", e.acct("/permission-sets"), e.token, body), http.StatusConflict, "body.name")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	audit := e.count("audit_log")
	requireProblem(t, e.do("POST", e.acct("/permission-sets"), e.token, `{"name": "x",`), http.StatusBadRequest, "body")
	requireProblem(t, e.do("POST", e.acct("/permission-sets"), e.token, map[string]any{"name": "x", "permissions": []string{"users.read"}, "admin": true}), http.StatusBadRequest, "body.admin")
	huge := `{"name": "x", "permissions": ["users.read"], "pad": "` + strings.Repeat("a", 2<<20) + `"}`
	r := e.do("POST", e.acct("/permission-sets"), e.token, huge)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	requireProblem(t, e.do("GET", e.acct("/users?cursor=%21%21"), e.token, nil), http.StatusBadRequest, "query.cursor")
	requireProblem(t, e.do("POST", "/v1/token", "", map[string]any{"grant_type": "password", "username": "ada@contoso.onmicrosoft.com", "password": "wrong", "extra": 1}), http.StatusBadRequest, "body.extra")
	require.Equal(t, audit, e.count("audit_log"))
	// Malformed input never echoes its value (it may be a secret).
	r = e.do("POST", "/v1/token", "", `{"grant_type": "password", "password": "hunter2-secret`)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.NotContains(t, string(r.raw), "hunter2-secret")
}

func TestLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for range accounts.MaxFailedSignIns {
		r := e.do("POST", "/v1/token", "", map[string]any{"grant_type": "password", "username": "ada@contoso.onmicrosoft.com", "password": "wrong password"})
		requireProblem(t, r, http.StatusUnauthorized, "")
	}
	r := e.do("POST", "/v1/token", "", map[string]any{"grant_type": "password", "username": "ada@contoso.onmicrosoft.com", "password": adminPassword})
	requireProblem(t, r, http.StatusTooManyRequests, "")
	require.Equal(t, "900", r.header.Get("Retry-After"))
	e.clock.advance(accounts.LockoutWindow)
	e.signIn("ada@contoso.onmicrosoft.com", adminPassword)

	// Revoked tokens stop working.
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/token/revoke", e.token, nil).status)
	requireProblem(t, e.do("GET", "/v1/me", e.token, nil), http.StatusUnauthorized, "")
}
