package admin

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/ledger"
)

// maxTokenLength: tokens payrun issues are far shorter; anything longer is
// refused before it reaches the database.
const maxTokenLength = 128

// authenticateQuery resolves a bearer token to its principal, the role
// lists that apply to it (its own and its groups'), the account's custom
// permission sets, and the account a path's seller_id names — in one round
// trip, the hot path of every request. It reads exactly what
// accounts.Service.Authenticate reads (TestOneQueryAuthenticationAgrees
// proves they agree for every kind of principal), and nothing is cached:
// a token revoked, a member removed or a tenant dissociated stops
// counting with the next request.
//
// Tokens are random 256-bit values, so they are looked up by their
// SHA-256 (an index probe), never by a slow password hash.
const authenticateQuery = `
WITH t AS (
	SELECT id, principal_kind, principal_id, account_id, tenant_id, restricted FROM tokens
	WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 AND audience = $4
)
SELECT t.id, t.principal_kind, t.principal_id, t.account_id, t.tenant_id, t.restricted,
	CASE t.principal_kind
		WHEN 'operator' THEN (SELECT o.user_name FROM operators o WHERE o.id = t.principal_id)
		WHEN 'owner' THEN (SELECT i.email FROM owner_identities i WHERE i.id = t.principal_id AND i.account_id = t.account_id)
		WHEN 'user' THEN (SELECT u.user_name || '@' || d.domain FROM directory_users u JOIN tenants d ON d.id = u.tenant_id WHERE u.id = t.principal_id)
		WHEN 'app' THEN (SELECT d.client_id::text FROM account_members m
			JOIN directory_apps d ON d.id = m.app_id
			JOIN account_tenants a ON a.account_id = m.account_id AND a.tenant_id = d.tenant_id
			WHERE m.account_id = t.account_id AND m.app_id = t.principal_id LIMIT 1)
	END AS name,
	t.principal_kind = 'user' AND coalesce((SELECT u.global_admin FROM directory_users u WHERE u.id = t.principal_id), false) AS global_admin,
	CASE t.principal_kind
		WHEN 'operator' THEN (SELECT to_json(o.roles) FROM operators o WHERE o.id = t.principal_id)
		WHEN 'owner' THEN '["owner"]'::json
		WHEN 'user' THEN (SELECT json_agg(m.roles) FROM account_members m
			JOIN account_tenants a ON a.account_id = m.account_id AND a.tenant_id = t.tenant_id
			WHERE m.account_id = t.account_id
			  AND (m.user_id = t.principal_id OR m.group_id IN (SELECT g.group_id FROM directory_group_members g WHERE g.user_id = t.principal_id)))
		WHEN 'app' THEN (SELECT json_agg(m.roles) FROM account_members m
			JOIN directory_apps d ON d.id = m.app_id
			JOIN account_tenants a ON a.account_id = m.account_id AND a.tenant_id = d.tenant_id
			WHERE m.account_id = t.account_id AND m.app_id = t.principal_id)
	END AS roles,
	CASE WHEN t.principal_kind IN ('user', 'app') THEN
		(SELECT json_object_agg(p.name, p.permissions) FROM permission_sets p WHERE p.account_id = t.account_id)
	END AS custom,
	acct.id AS acct_id, acct.seller_id, acct.publisher_id, acct.account_type, acct.registration_country, acct.display_name, acct.created_at
FROM t LEFT JOIN accounts acct ON acct.seller_id = $3 AND $3 <> ''`

type authenticateRow struct {
	TokenID     int64                  `db:"id"`
	Kind        accounts.PrincipalKind `db:"principal_kind"`
	PrincipalID int64                  `db:"principal_id"`
	AccountID   sql.NullInt64          `db:"account_id"`
	TenantID    sql.NullInt64          `db:"tenant_id"`
	Restricted  bool                   `db:"restricted"`
	Name        sql.NullString         `db:"name"`
	GlobalAdmin bool                   `db:"global_admin"`
	Roles       []byte                 `db:"roles"`
	Custom      []byte                 `db:"custom"`

	AcctID              sql.NullInt64  `db:"acct_id"`
	SellerID            sql.NullString `db:"seller_id"`
	PublisherID         sql.NullString `db:"publisher_id"`
	AccountType         sql.NullString `db:"account_type"`
	RegistrationCountry sql.NullString `db:"registration_country"`
	DisplayName         sql.NullString `db:"display_name"`
	CreatedAt           sql.NullTime   `db:"created_at"`
}

var errInvalidToken = &accounts.Error{Kind: accounts.KindUnauthenticated, Reason: "the token is unknown, expired or revoked"}

// authenticate resolves a bearer token and, when sellerID is not empty,
// the account it names (nil when there is none). Errors: KindUnauthenticated.
func (s *Server) authenticate(ctx context.Context, token, sellerID string) (accounts.Principal, *ledger.Account, error) {
	return s.authenticateFor(ctx, accounts.AudienceAPI, token, sellerID)
}

// AuthenticateConsole resolves a finance console session's token (package
// console) to its principal, by the same query and rules as a bearer token
// of the API: a token of the API's audience is unknown here, and the
// reverse. Errors: KindUnauthenticated.
func (s *Server) AuthenticateConsole(ctx context.Context, token string) (accounts.Principal, error) {
	p, _, err := s.authenticateFor(ctx, accounts.AudienceConsole, token, "")
	return p, err
}

func (s *Server) authenticateFor(ctx context.Context, audience accounts.Audience, token, sellerID string) (accounts.Principal, *ledger.Account, error) {
	if s.cfg.Directory != nil {
		// Another directory resolves users: ask the accounts service.
		return s.authenticateSlowly(ctx, audience, token, sellerID)
	}
	if token == "" || len(token) > maxTokenLength {
		return accounts.Principal{}, nil, errInvalidToken
	}
	hash := sha256.Sum256([]byte(token))
	var row authenticateRow
	err := s.cfg.DB.QueryRowxContext(ctx, authenticateQuery, hash[:], s.now(), sellerID, audience).StructScan(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return accounts.Principal{}, nil, errInvalidToken
	}
	if err != nil {
		return accounts.Principal{}, nil, err
	}
	p := accounts.Principal{Kind: row.Kind, ID: row.PrincipalID, Name: row.Name.String, AccountID: row.AccountID.Int64, TenantID: row.TenantID.Int64,
		GlobalAdmin: row.GlobalAdmin, Restricted: row.Restricted, TokenID: row.TokenID}
	if !row.Name.Valid || row.Roles == nil {
		// The principal is gone, or no longer a member through this tenant.
		return accounts.Principal{}, nil, errInvalidToken
	}
	switch p.Kind {
	case accounts.KindOperator, accounts.KindOwner:
		var roles []accounts.Role
		if err := json.Unmarshal(row.Roles, &roles); err != nil {
			return accounts.Principal{}, nil, err
		}
		p.Permissions = accounts.RolePermissions(roles...)
	case accounts.KindUser, accounts.KindApp:
		var lists [][]string
		if err := json.Unmarshal(row.Roles, &lists); err != nil {
			return accounts.Principal{}, nil, err
		}
		custom := map[string][]accounts.Permission{}
		if row.Custom != nil {
			if err := json.Unmarshal(row.Custom, &custom); err != nil {
				return accounts.Principal{}, nil, err
			}
		}
		p.Permissions = memberPermissions(lists, custom)
	default:
		return accounts.Principal{}, nil, errInvalidToken
	}
	var acct *ledger.Account
	if row.AcctID.Valid {
		acct = &ledger.Account{ID: row.AcctID.Int64, SellerID: row.SellerID.String, PublisherID: row.PublisherID.String,
			Type: ledger.AccountType(row.AccountType.String), RegistrationCountry: row.RegistrationCountry.String,
			DisplayName: row.DisplayName.String, CreatedAt: row.CreatedAt.Time}
	}
	return p, acct, nil
}

// accountPermissions is the set an account member can ever hold.
var accountPermissions = func() accounts.PermissionSet {
	set := accounts.PermissionSet{}
	for _, p := range accounts.AccountPermissions() {
		set[p] = true
	}
	return set
}()

// memberPermissions is a member's effective permissions: the union of its
// role lists' built-in roles and custom permission sets, limited to
// account permissions (a stored list never grants an operator's).
func memberPermissions(lists [][]string, custom map[string][]accounts.Permission) accounts.PermissionSet {
	out := accounts.PermissionSet{}
	for _, list := range lists {
		for _, name := range list {
			if def, ok := accounts.LookupRole(accounts.Role(name)); ok {
				for _, p := range def.Permissions {
					if accountPermissions[p] {
						out[p] = true
					}
				}
				continue
			}
			for _, p := range custom[name] {
				if accountPermissions[p] {
					out[p] = true
				}
			}
		}
	}
	return out
}

// authenticateSlowly is authenticate through the accounts service (several
// round trips), for servers with another directory.
func (s *Server) authenticateSlowly(ctx context.Context, audience accounts.Audience, token, sellerID string) (accounts.Principal, *ledger.Account, error) {
	p, err := s.svc.AuthenticateFor(ctx, audience, token)
	if err != nil || sellerID == "" {
		return p, nil, err
	}
	a, err := s.svc.AccountBySellerID(ctx, sellerID)
	var domain *accounts.Error
	if errors.As(err, &domain) && domain.Kind == accounts.KindNotFound {
		return p, nil, nil
	}
	if err != nil {
		return p, nil, err
	}
	return p, &a, nil
}
