package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSecurityIssueItem4BadTextIs400 replays the examples of the security
// issue (item 4): a NUL byte or another control character in a body, a
// path or a query answered 500 on twelve endpoints (Postgres refuses NUL in
// text). Every one is now a 400 naming the field, and nothing changes.
func TestSecurityIssueItem4BadTextIs400(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	require.Equal(t, http.StatusNoContent, e.do("PUT", e.acct("/owner-identity"), e.token, map[string]any{"email": "owner@example.com", "password": "owner's password"}).status)
	tenant := e.tenant.TenantID
	bank := func(holder string, address map[string]any) map[string]any {
		body := map[string]any{"method": "bank", "holder_name": holder, "currency": "USD", "bank_country": "US", "account_type": "checking",
			"routing_number": "011000015", "account_number": "123456789"}
		if address != nil {
			body["billing_address"] = address
		}
		return body
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		headers            []string
		location           string
	}{
		{"NUL in the token's username", "POST", "/v1/token", map[string]any{"grant_type": "password", "username": "a\u0000b", "password": "x"}, nil, "body.username"},
		{"NUL in a client secret", "POST", "/v1/token", map[string]any{"grant_type": "client_credentials", "client_id": "00000000-0000-4000-8000-000000000000", "client_secret": "s\u0000"}, nil, "body.client_secret"},
		{"NUL in a password reset", "POST", "/v1/password-reset", map[string]any{"username": "ada\u0000@contoso.onmicrosoft.com"}, nil, "body.username"},
		{"NUL in a reset code", "POST", "/v1/password-reset/complete", map[string]any{"code": "c\u0000", "password": "a new password 1"}, nil, "body.code"},
		{"NUL in an invitation token", "POST", "/v1/invitations/accept", map[string]any{"token": "t\u0000", "password": "a new password 1"}, nil, "body.token"},
		{"NUL in a group name", "POST", e.acct("/groups"), map[string]any{"tenant_id": tenant, "display_name": "Ops\u0000", "roles": []string{"marketer"}}, nil, "body.display_name"},
		{"NUL in a tenant's organization", "POST", e.acct("/tenants"), map[string]any{"domain_name": "fabrikam", "organization": "Fabrikam\u0000", "contact_email": "it@fabrikam.example",
			"admin_first_name": "F", "admin_last_name": "A", "admin_user_name": "fa", "admin_password": "a long password 1"}, nil, "body.organization"},
		{"NUL in an associated tenant's domain", "POST", e.acct("/tenants/associate"), map[string]any{"domain": "x\u0000.onmicrosoft.com", "admin_user_name": "a", "admin_password": "p"}, nil, "body.domain"},
		{"NEL in a payout account's holder_name", "PUT", e.acct("/payout-account"), bank("Ada\u0085Admin", nil), nil, "body.holder_name"},
		{"newline in a payout account's holder_name", "PUT", e.acct("/payout-account"), bank("Ada\nAdmin", nil), nil, "body.holder_name"},
		{"tab in a payout account's holder_name", "PUT", e.acct("/payout-account"), bank("Ada\tAdmin", nil), nil, "body.holder_name"},
		{"NUL in a billing address", "PUT", e.acct("/payout-account"), bank("Ada", map[string]any{"line1": "1 Main\u0000St", "city": "Redmond", "country": "US"}), nil, "body.billing_address.line1"},
		{"line separator in a contact's address", "PUT", e.acct(""), map[string]any{"display_name": "Contoso", "seller_contact": map[string]any{"name": "Sam", "email": "sam@contoso.example",
			"address": map[string]any{"line1": "1 Main St", "city": "Red\u2028mond", "country": "US"}}}, []string{"If-Match", `"0"`}, "body.seller_contact.address.city"},
		{"DEL in a user's roles", "POST", e.acct("/users/add"), map[string]any{"user_names": []string{"bob@contoso.onmicrosoft.com"}, "roles": []string{"marketer", "own\u007fer"}}, nil, "body.roles[1]"},
		{"NUL in a tax form", "POST", e.acct("/tax-forms"), map[string]any{"form": "W-9", "legal_name": "Ada\u0000"}, nil, "body.legal_name"},
		{"NUL in the path's seller_id", "GET", "/v1/accounts/S000000001%00", nil, nil, "path.seller_id"},
		{"invalid UTF-8 in the path's seller_id", "GET", "/v1/accounts/S000000001%FF", nil, nil, "path.seller_id"},
		{"NUL in a query's seller_id", "GET", "/v1/audit?seller_id=S%00", nil, nil, "query.seller_id"},
		{"invalid UTF-8 in an Idempotency-Key", "POST", e.acct("/groups"), map[string]any{"tenant_id": tenant, "display_name": "Ops", "roles": []string{"marketer"}}, []string{"Idempotency-Key", "key\xff"}, "header.Idempotency-Key"},
		{"invalid UTF-8 in a body", "POST", e.acct("/groups"), `{"tenant_id":"` + tenant + `","display_name":"Ops` + "\xff" + `","roles":["marketer"]}`, nil, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.count("audit_log") + e.count("directory_groups") + e.count("tenants") + len(e.fin.payout) + len(e.fin.tax)
			token := e.token
			if strings.HasPrefix(tc.path, "/v1/token") || strings.HasPrefix(tc.path, "/v1/password-reset") || strings.HasPrefix(tc.path, "/v1/invitations") {
				token = ""
			}
			r := e.do(tc.method, tc.path, token, tc.body, tc.headers...)
			requireProblem(t, r, http.StatusBadRequest, tc.location)
			require.Contains(t, r.str("detail"), tc.location)
			after := e.count("audit_log") + e.count("directory_groups") + e.count("tenants") + len(e.fin.payout) + len(e.fin.tax)
			require.Equal(t, before, after, "a refused request changed something")
		})
	}
}

// TestDuplicateJSONKeysAre400: {"on":true,"on":false} was accepted, the
// last key winning (and encoding/json matches fields without regard to
// case, so "ON" repeats "on" too). Every body refuses a repeated key.
func TestDuplicateJSONKeysAre400(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	require.Equal(t, http.StatusNoContent, e.do("PUT", e.acct("/owner-identity"), e.token, map[string]any{"email": "owner@example.com", "password": "owner's password"}).status)
	for _, tc := range []struct{ name, method, path, body, location string }{
		{"payment hold", "PUT", e.acct("/payment-hold"), `{"on":true,"on":false}`, "body.on"},
		{"payment hold, keys differing in case", "PUT", e.acct("/payment-hold"), `{"on":true,"ON":false}`, "body.ON"},
		{"nested", "PUT", e.acct("/payout-account"), `{"method":"bank","holder_name":"Ada","currency":"USD","billing_address":{"line1":"a","city":"b","country":"US","city":"c"}}`, "body.billing_address.city"},
		{"in a nested object", "PUT", e.acct(""), `{"display_name":"C","seller_contact":{"name":"a","email":"a@b.example","name":"b"}}`, "body.seller_contact.name"},
		{"a tax form (a free-form object)", "POST", e.acct("/tax-forms"), `{"form":"W-9","form":"W-8BEN"}`, "body.form"},
		{"the token endpoint", "POST", "/v1/token", `{"grant_type":"password","username":"a","username":"b","password":"x"}`, "body.username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := e.token
			if tc.path == "/v1/token" {
				token = ""
			}
			r := e.do(tc.method, tc.path, token, tc.body, "If-Match", `"0"`)
			requireProblem(t, r, http.StatusBadRequest, tc.location)
		})
	}
	require.Empty(t, e.fin.hold, "no hold was switched")
	require.Empty(t, e.fin.tax)
	// The same key in sibling objects is not a repeated key.
	r := e.do("PUT", e.acct(""), e.token, `{"display_name":"C","seller_contact":{"name":"a","email":"a@b.example"},"company_approver":{"name":"a","email":"a@b.example"}}`,
		"If-Match", `"0"`)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
}

// TestWeakETagNeverSatisfiesIfMatch: If-Match uses the strong comparison
// (RFC 9110 §13.1.1), in which a weak tag never matches, even with the
// current version in it.
func TestWeakETagNeverSatisfiesIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tag := e.do("GET", e.acct(""), e.token, nil).header.Get("ETag")
	require.Equal(t, `"0"`, tag)
	update := map[string]any{"display_name": "Contoso Games"}
	requireProblem(t, e.do("PUT", e.acct(""), e.token, update, "If-Match", "W/"+tag), http.StatusPreconditionFailed, "header.If-Match")
	require.Equal(t, "Contoso", e.do("GET", e.acct(""), e.token, nil).str("display_name"), "nothing was written")
	r := e.do("PUT", e.acct(""), e.token, update, "If-Match", tag)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
}

// TestBodiesNestedTooDeeplyAre400 and lengths count characters.
func TestBodyDepthAndCharacterLengths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	requireProblem(t, e.do("POST", e.acct("/tax-forms"), e.token, deep), http.StatusBadRequest, "body"+strings.Repeat(".a", 32))
	deepArray := `{"on":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	requireProblem(t, e.do("PUT", e.acct("/payment-hold"), e.token, deepArray), http.StatusBadRequest, "")

	// 200 characters of two bytes each is 200 characters.
	name := strings.Repeat("é", 200)
	r := e.do("PUT", e.acct(""), e.token, map[string]any{"display_name": name}, "If-Match", `"0"`)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, name, r.str("display_name"))
	requireProblem(t, e.do("PUT", e.acct(""), e.token, map[string]any{"display_name": name + "é"}, "If-Match", `"1"`), http.StatusBadRequest, "body.display_name")
}
