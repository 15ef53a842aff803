package accounts

import (
	"slices"
	"sort"
)

// Permission is a named right. Every admin endpoint declares exactly one.
type Permission string

// Special permissions that no role grants: they describe who may call an
// endpoint without reference to roles.
const (
	// PermPublic: no token needed (the token endpoint, accepting an
	// invitation, self-service password reset).
	PermPublic Permission = "public"
	// PermSelf: any principal with a valid, unrestricted token.
	PermSelf Permission = "self"
	// PermPasswordChange: any principal with a valid token, including one
	// restricted to changing a temporary password.
	PermPasswordChange Permission = "password.change"
)

// Account permissions (SPEC §7.8).
const (
	PermAccountRead         Permission = "account.read"
	PermAccountWrite        Permission = "account.write"
	PermOwnerIdentityWrite  Permission = "owner_identity.write"
	PermUsersRead           Permission = "users.read"
	PermUsersWrite          Permission = "users.write"
	PermGroupsRead          Permission = "groups.read"
	PermGroupsWrite         Permission = "groups.write"
	PermAppsRead            Permission = "apps.read"
	PermAppsWrite           Permission = "apps.write"
	PermRolesRead           Permission = "roles.read"
	PermRolesWrite          Permission = "roles.write"
	PermTenantsRead         Permission = "tenants.read"
	PermTenantsWrite        Permission = "tenants.write"
	PermAgreementsRead      Permission = "agreements.read"
	PermAgreementsAccept    Permission = "agreements.accept"
	PermPayoutAccountRead   Permission = "payout_account.read"
	PermPayoutAccountWrite  Permission = "payout_account.write"
	PermTaxProfileRead      Permission = "tax_profile.read"
	PermTaxProfileWrite     Permission = "tax_profile.write"
	PermPaymentHoldRead     Permission = "payment_hold.read"
	PermPaymentHoldWrite    Permission = "payment_hold.write"
	PermStatementsRead      Permission = "statements.read"
	PermPayoutsRead         Permission = "payouts.read" // the publisher's payouts (issue 20)
	PermEarningsReportsRead Permission = "reports.earnings.read"
	PermReportsRead         Permission = "reports.read"
	PermOffersWrite         Permission = "offers.write"
	PermAuditRead           Permission = "audit.read"
)

// Operator-only permissions (platform staff, SPEC §7.11).
const (
	PermVerificationWrite Permission = "verification.write"
	PermAgreementsPublish Permission = "agreements.publish"
	PermCyclesRead        Permission = "cycles.read"
	PermCyclesApprove     Permission = "cycles.approve"
	// PermCyclesRelease writes a cycle's payment files. It belongs with
	// approval, not with operations: when maker-checker is off, releasing is
	// the only human decision between a close and the money leaving.
	PermCyclesRelease           Permission = "cycles.release"
	PermImportsWrite            Permission = "imports.write"
	PermPayoutVerificationWrite Permission = "payout_verification.write"
)

// Role names.
const (
	RoleOwner                Role = "owner"
	RoleManager              Role = "manager"
	RoleDeveloper            Role = "developer"
	RoleBusinessContributor  Role = "business_contributor"
	RoleFinancialContributor Role = "financial_contributor"
	RoleMarketer             Role = "marketer"

	RoleFinanceViewer   Role = "finance_viewer"
	RoleFinanceApprover Role = "finance_approver"
	RoleOps             Role = "ops"
)

// Role is a named permission set.
type Role string

// RoleDefinition is one row of the role table.
type RoleDefinition struct {
	Name        Role         `json:"name"`
	Operator    bool         `json:"operator"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
}

// accountPermissions is every permission a publisher-account role can hold.
var accountPermissions = []Permission{
	PermAccountRead, PermAccountWrite, PermOwnerIdentityWrite,
	PermUsersRead, PermUsersWrite, PermGroupsRead, PermGroupsWrite, PermAppsRead, PermAppsWrite,
	PermRolesRead, PermRolesWrite, PermTenantsRead, PermTenantsWrite,
	PermAgreementsRead, PermAgreementsAccept,
	PermPayoutAccountRead, PermPayoutAccountWrite, PermTaxProfileRead, PermTaxProfileWrite,
	PermPaymentHoldRead, PermPaymentHoldWrite, PermStatementsRead, PermPayoutsRead,
	PermEarningsReportsRead, PermReportsRead, PermOffersWrite, PermAuditRead,
}

// financialPermissions are "tax and payout settings" (SPEC §7.4, §7.8) and
// the payouts themselves, plus linking the owner identity, which only the
// owner does.
var financialPermissions = []Permission{
	PermPayoutAccountRead, PermPayoutAccountWrite, PermTaxProfileRead, PermTaxProfileWrite,
	PermPaymentHoldRead, PermPaymentHoldWrite, PermStatementsRead, PermPayoutsRead, PermOwnerIdentityWrite,
}

func except(all []Permission, excluded ...Permission) []Permission {
	var kept []Permission
	for _, p := range all {
		if !slices.Contains(excluded, p) {
			kept = append(kept, p)
		}
	}
	return kept
}

var financeViewerPermissions = []Permission{
	PermAccountRead, PermUsersRead, PermGroupsRead, PermAppsRead, PermTenantsRead, PermAgreementsRead,
	PermPayoutAccountRead, PermTaxProfileRead, PermPaymentHoldRead, PermStatementsRead, PermPayoutsRead,
	PermEarningsReportsRead, PermReportsRead, PermAuditRead, PermCyclesRead,
}

// RoleTable is the single source of truth for roles: the server checks it
// and the authorisation matrix test derives its expectations from it.
var RoleTable = []RoleDefinition{
	{RoleOwner, false, "everything, including tax profile, payout account, payment hold, payout statements and payouts", accountPermissions},
	{RoleManager, false, "everything except tax and payout settings: users, groups, apps, roles, tenants, agreements, audit", except(accountPermissions, financialPermissions...)},
	{RoleDeveloper, false, "manage and publish offers, read account details, earnings reports (not payouts)", []Permission{
		PermAccountRead, PermAgreementsRead, PermOffersWrite, PermEarningsReportsRead, PermReportsRead}},
	{RoleBusinessContributor, false, "view financial information and reports; change nothing financial", []Permission{
		PermAccountRead, PermAgreementsRead, PermPayoutAccountRead, PermTaxProfileRead, PermPaymentHoldRead,
		PermStatementsRead, PermEarningsReportsRead, PermReportsRead}},
	{RoleFinancialContributor, false, "view payout statements and payouts; manage payout account, tax profile and payment hold", []Permission{
		PermAccountRead, PermStatementsRead, PermPayoutsRead, PermPayoutAccountRead, PermPayoutAccountWrite,
		PermTaxProfileRead, PermTaxProfileWrite, PermPaymentHoldRead, PermPaymentHoldWrite}},
	{RoleMarketer, false, "non-financial reports only", []Permission{PermReportsRead}},

	{RoleFinanceViewer, true, "platform finance: read every account's financial details and payouts, cycles and the audit log", financeViewerPermissions},
	{RoleFinanceApprover, true, "finance_viewer, and approve (not their own close) and release cycles", append(slices.Clone(financeViewerPermissions), PermCyclesApprove, PermCyclesRelease)},
	{RoleOps, true, "platform operations: onboarding (tenants), verification results, imports (earnings, returns, FX rates), agreements catalog", []Permission{
		PermAccountRead, PermUsersRead, PermGroupsRead, PermAppsRead, PermTenantsRead, PermTenantsWrite,
		PermAgreementsRead, PermAgreementsPublish, PermVerificationWrite, PermAuditRead, PermCyclesRead,
		PermImportsWrite, PermPayoutVerificationWrite}},
}

// LookupRole returns a role's definition.
func LookupRole(name Role) (RoleDefinition, bool) {
	for _, r := range RoleTable {
		if r.Name == name {
			return r, true
		}
	}
	return RoleDefinition{}, false
}

// AccountPermissions lists the permissions an account role or a custom
// permission set may hold.
func AccountPermissions() []Permission { return slices.Clone(accountPermissions) }

// PermissionSet is a set of permissions.
type PermissionSet map[Permission]bool

// Has reports whether p is in the set. The special permissions are handled
// by the caller (package admin), not here.
func (s PermissionSet) Has(p Permission) bool { return s[p] }

// Sorted lists the set in order.
func (s PermissionSet) Sorted() []Permission {
	out := make([]Permission, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (s PermissionSet) addRole(name Role) bool {
	def, ok := LookupRole(name)
	if !ok {
		return false
	}
	for _, p := range def.Permissions {
		s[p] = true
	}
	return true
}

// RolePermissions is the union of the permissions of the named built-in
// roles; unknown names add nothing.
func RolePermissions(roles ...Role) PermissionSet {
	set := PermissionSet{}
	for _, r := range roles {
		set.addRole(r)
	}
	return set
}
