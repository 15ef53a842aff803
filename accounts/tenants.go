package accounts

import (
	"context"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Tenants lists the directory tenants associated with the account.
func (s *Service) Tenants(ctx context.Context, accountID int64) ([]Tenant, error) {
	out := []Tenant{}
	err := s.DB.SelectContext(ctx, &out, `
		SELECT t.id, t.tenant_id, t.domain, t.organization, t.contact_email, t.on_premises_sync, t.created_at
		FROM account_tenants a JOIN tenants t ON t.id = a.tenant_id WHERE a.account_id = $1 ORDER BY t.domain`, accountID)
	return out, err
}

// CreateTenantRequest is what creating a tenant needs (SPEC §7.9).
type CreateTenantRequest struct {
	// DomainName becomes DomainName.onmicrosoft.com.
	DomainName     string
	Organization   string
	ContactEmail   string
	AdminFirstName string
	AdminLastName  string
	AdminUserName  string
	AdminPassword  string
}

// CreateTenant creates a directory tenant with its global administrator and
// associates it with the account. When the account has no users yet (an
// operator onboarding it), the administrator is added with the owner role and
// must change the password at first sign-in. Errors: ErrInvalid, ErrConflict
// (domain taken).
func (s *Service) CreateTenant(ctx context.Context, actor Principal, accountID int64, r CreateTenantRequest) (Tenant, error) {
	if r.DomainName == "" {
		return Tenant{}, invalid("domain_name", "required")
	}
	if r.Organization == "" {
		r.Organization = r.DomainName
	}
	if err := validateName("organization", r.Organization, true); err != nil {
		return Tenant{}, err
	}
	if err := validateEmail("contact_email", r.ContactEmail); err != nil {
		return Tenant{}, err
	}
	if err := validateName("admin_first_name", r.AdminFirstName, true); err != nil {
		return Tenant{}, err
	}
	if err := validateName("admin_last_name", r.AdminLastName, true); err != nil {
		return Tenant{}, err
	}
	if err := validateUserName("admin_user_name", r.AdminUserName); err != nil {
		return Tenant{}, err
	}
	if err := validatePassword("admin_password", r.AdminPassword); err != nil {
		return Tenant{}, err
	}
	hash, err := s.hash(ctx, r.AdminPassword)
	if err != nil {
		return Tenant{}, err
	}
	var tenant Tenant
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		var members int
		if err := tx.GetContext(ctx, &members, `SELECT count(*) FROM account_members WHERE account_id = $1`, accountID); err != nil {
			return err
		}
		bootstrap := members == 0
		now := s.now()
		var err error
		tenant, err = s.Directory.CreateTenant(ctx, tx, NewTenant{
			Name: r.DomainName, Organization: r.Organization, ContactEmail: r.ContactEmail,
			Admin: NewDirectoryUser{UserName: r.AdminUserName, FirstName: r.AdminFirstName, LastName: r.AdminLastName,
				RecoveryEmail: r.ContactEmail, PasswordHash: hash, MustChangePassword: actor.Kind == KindOperator},
		}, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO account_tenants (tenant_id, account_id, associated_at, associated_by) VALUES ($1, $2, $3, $4)`,
			tenant.ID, accountID, now, actor.Actor()); err != nil {
			return err
		}
		if bootstrap {
			admin, err := s.Directory.UserByName(ctx, tx, tenant, r.AdminUserName)
			if err != nil {
				return err
			}
			if err := insertMember(ctx, tx, accountID, "user_id", admin.ID, []string{string(RoleOwner)}, actor, now); err != nil {
				return err
			}
		}
		return audit(ctx, tx, accountID, actor, now, "tenant.create", "tenant:"+tenant.Domain, nil,
			map[string]any{"tenant": tenant, "admin_user_name": r.AdminUserName, "admin_password": r.AdminPassword, "admin_added_as_owner": bootstrap})
	})
	return tenant, err
}

// AssociateTenantRequest names an existing tenant, the credentials of one of
// its global administrators, and the organisation and domain the caller
// confirms (SPEC §7.9).
type AssociateTenantRequest struct {
	Domain              string
	UserName            string
	Password            string
	ConfirmOrganization string
	ConfirmDomain       string
}

// AssociateTenant associates an existing directory tenant with the account.
// Errors: ErrInvalid, ErrNotFound (domain), ErrRule (wrong credentials, not
// a global administrator, confirmation mismatch), ErrLockedOut,
// ErrConflict (already associated).
func (s *Service) AssociateTenant(ctx context.Context, actor Principal, accountID int64, r AssociateTenantRequest) (Tenant, error) {
	domain := strings.ToLower(strings.TrimSpace(r.Domain))
	if !strings.HasSuffix(domain, DomainSuffix) {
		return Tenant{}, invalid("domain", "%q is not a <name>%s domain", r.Domain, DomainSuffix)
	}
	tenant, err := s.Directory.TenantByDomain(ctx, s.DB, domain)
	if err != nil {
		return Tenant{}, err
	}
	signIn := r.UserName + "@" + domain
	err = s.checkPassword(ctx, signIn, func() ([]string, error) {
		u, err := s.Directory.UserByName(ctx, s.DB, tenant, r.UserName)
		if isNotFound(err) || (err == nil && u.PasswordHash == nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []string{*u.PasswordHash}, nil
	}, r.Password)
	if err != nil {
		if isUnauthenticated(err) {
			return Tenant{}, rule("password", "the credentials are not those of a user of %s", domain)
		}
		return Tenant{}, err
	}
	admin, err := s.Directory.UserByName(ctx, s.DB, tenant, r.UserName)
	if err != nil {
		return Tenant{}, err
	}
	if !admin.GlobalAdmin {
		return Tenant{}, rule("user_name", "%s is not a global administrator of the tenant", signIn)
	}
	if !strings.EqualFold(strings.TrimSpace(r.ConfirmOrganization), tenant.Organization) {
		return Tenant{}, rule("confirm_organization", "does not match the tenant's organisation")
	}
	if !strings.EqualFold(strings.TrimSpace(r.ConfirmDomain), tenant.Domain) {
		return Tenant{}, rule("confirm_domain", "does not match the tenant's domain")
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		now := s.now()
		_, err := tx.ExecContext(ctx, `INSERT INTO account_tenants (tenant_id, account_id, associated_at, associated_by) VALUES ($1, $2, $3, $4)`,
			tenant.ID, accountID, now, actor.Actor())
		if _, dup := uniqueViolation(err); dup {
			return conflict("domain", "%s is already associated with a publisher account", domain)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "tenant.associate", "tenant:"+tenant.Domain, nil, tenant)
	})
	return tenant, err
}

// RemoveTenant ends the association of a tenant with the account: its users,
// groups and apps lose access and their tokens stop working at once. It is
// refused while the caller is signed in through that tenant, and the last
// tenant can be removed only by the owner's personal identity.
// Errors: ErrNotFound, ErrRule.
func (s *Service) RemoveTenant(ctx context.Context, actor Principal, accountID int64, tenantID string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		tenant, err := s.associatedTenant(ctx, tx, accountID, tenantID, "tenant_id")
		if err != nil {
			return err
		}
		if actor.TenantID == tenant.ID {
			return rule("tenant_id", "you are signed in through %s: sign in through another tenant (or as the owner) to remove it", tenant.Domain)
		}
		var count int
		if err := tx.GetContext(ctx, &count, `SELECT count(*) FROM account_tenants WHERE account_id = $1`, accountID); err != nil {
			return err
		}
		if count == 1 && actor.Kind != KindOwner {
			return rule("tenant_id", "%s is the last tenant: only the owner's personal sign-in identity can remove it", tenant.Domain)
		}
		now := s.now()
		for _, stmt := range []string{
			`DELETE FROM account_members m USING directory_users u WHERE m.account_id = $1 AND m.user_id = u.id AND u.tenant_id = $2`,
			`DELETE FROM account_members m USING directory_groups g WHERE m.account_id = $1 AND m.group_id = g.id AND g.tenant_id = $2`,
			`DELETE FROM account_members m USING directory_apps a WHERE m.account_id = $1 AND m.app_id = a.id AND a.tenant_id = $2`,
			`UPDATE invitations i SET status = 'expired' FROM directory_users u WHERE i.account_id = $1 AND i.user_id = u.id AND u.tenant_id = $2 AND i.status = 'pending'`,
			`DELETE FROM account_tenants WHERE account_id = $1 AND tenant_id = $2`,
		} {
			if _, err := tx.ExecContext(ctx, stmt, accountID, tenant.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $3 WHERE account_id = $1 AND tenant_id = $2 AND revoked_at IS NULL`,
			accountID, tenant.ID, now); err != nil {
			return err
		}
		return audit(ctx, tx, accountID, actor, now, "tenant.remove", "tenant:"+tenant.Domain, tenant, nil)
	})
}
