package admin

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/payrun/payrun/accounts"
)

// Permissions, shortened for the route table.
const (
	pPublic  = accounts.PermPublic
	pSelf    = accounts.PermSelf
	pPwd     = accounts.PermPasswordChange
	pAcctR   = accounts.PermAccountRead
	pAcctW   = accounts.PermAccountWrite
	pOwnerW  = accounts.PermOwnerIdentityWrite
	pVerifyW = accounts.PermVerificationWrite
	pUsersR  = accounts.PermUsersRead
	pUsersW  = accounts.PermUsersWrite
	pGroupsR = accounts.PermGroupsRead
	pGroupsW = accounts.PermGroupsWrite
	pAppsR   = accounts.PermAppsRead
	pAppsW   = accounts.PermAppsWrite
	pRolesR  = accounts.PermRolesRead
	pRolesW  = accounts.PermRolesWrite
	pTenR    = accounts.PermTenantsRead
	pTenW    = accounts.PermTenantsWrite
	pAgrR    = accounts.PermAgreementsRead
	pAgrA    = accounts.PermAgreementsAccept
	pAgrP    = accounts.PermAgreementsPublish
	pAudit   = accounts.PermAuditRead
)

const acct = "/v1/accounts/{seller_id}"

// routes registers every endpoint. The permission in each line is the only
// authorisation rule of that endpoint.
func (s *Server) routes() {
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	ok, created, noContent, accepted := http.StatusOK, http.StatusCreated, http.StatusNoContent, http.StatusAccepted

	// Sign-in and the caller's own identity.
	add(s, Endpoint{"token", post, "/v1/token", pPublic, "Get a bearer token (password or client_credentials grant)", false}, ok, s.token, withErrors(http.StatusUnauthorized, http.StatusTooManyRequests))
	add(s, Endpoint{"revoke-token", post, "/v1/token/revoke", pSelf, "Revoke the bearer token of this request", false}, noContent, s.revokeToken)
	add(s, Endpoint{"get-me", get, "/v1/me", pSelf, "Who am I: principal, account and effective permissions", false}, ok, s.me)
	add(s, Endpoint{"change-password", post, "/v1/me/password", pPwd, "Change my password (also a temporary one)", false}, noContent, s.changePassword, withErrors(http.StatusTooManyRequests))
	add(s, Endpoint{"accept-invitation", post, "/v1/invitations/accept", pPublic, "Accept an invitation with its token and a new password", false}, ok, s.acceptInvitation, withErrors(http.StatusTooManyRequests))
	add(s, Endpoint{"request-password-reset", post, "/v1/password-reset", pPublic, "Send a reset code to my recovery e-mail", false}, accepted, s.requestPasswordReset, withErrors(http.StatusTooManyRequests))
	add(s, Endpoint{"complete-password-reset", post, "/v1/password-reset/complete", pPublic, "Set a new password with a reset code", false}, noContent, s.completePasswordReset, withErrors(http.StatusTooManyRequests))

	add(s, Endpoint{"list-roles", get, "/v1/roles", pRolesR, "The role table: roles and their permissions", false}, ok, s.listRoles)
	add(s, Endpoint{"list-agreement-catalog", get, "/v1/agreements", pAgrR, "Published agreement versions", false}, ok, s.agreementCatalog)
	add(s, Endpoint{"publish-agreement", post, "/v1/agreements", pAgrP, "Publish an agreement version (operators)", true}, created, s.publishAgreement)
	add(s, Endpoint{"list-audit", get, "/v1/audit", pAudit, "The audit log (operators: every account; others: their own)", false}, ok, s.listAudit)

	// Account details (SPEC §7.1–7.3).
	add(s, Endpoint{"get-account", get, acct, pAcctR, "Account details, status, verification steps, contact information", false}, ok, s.getAccount)
	add(s, Endpoint{"update-account", put, acct, pAcctW, "Replace display name and contact information (If-Match)", false}, ok, s.updateAccount, withErrors(http.StatusConflict, http.StatusPreconditionFailed, http.StatusPreconditionRequired))
	add(s, Endpoint{"set-verification-step", put, acct + "/verification-steps/{step}", pVerifyW, "Record a verification step's state (operators)", false}, ok, s.setVerificationStep)
	add(s, Endpoint{"link-owner-identity", put, acct + "/owner-identity", pOwnerW, "Link the owner's personal sign-in identity", false}, noContent, s.linkOwnerIdentity, withErrors(http.StatusTooManyRequests))

	// Users and invitations (SPEC §7.5).
	add(s, Endpoint{"list-users", get, acct + "/users", pUsersR, "Users with access to the account", false}, ok, s.listUsers)
	add(s, Endpoint{"create-user", post, acct + "/users", pUsersW, "Create a user in the directory and give it access (global administrator)", true}, created, s.createUser, withErrors(http.StatusTooManyRequests))
	add(s, Endpoint{"add-users", post, acct + "/users/add", pUsersW, "Give existing directory users access, all with the same roles", true}, created, s.addUsers)
	add(s, Endpoint{"remove-users", post, acct + "/users/remove", pUsersW, "Remove exactly the listed users (all or nothing)", false}, noContent, s.removeUsers)
	add(s, Endpoint{"get-user", get, acct + "/users/{user_id}", pUsersR, "One user", false}, ok, s.getUser)
	add(s, Endpoint{"update-user", put, acct + "/users/{user_id}", pUsersW, "Rename a user (in the directory too) and set its roles (If-Match)", false}, ok, s.updateUser, withErrors(http.StatusConflict, http.StatusPreconditionFailed, http.StatusPreconditionRequired))
	add(s, Endpoint{"reset-user-password", post, acct + "/users/{user_id}/reset-password", pUsersW, "Reset a user's password: the temporary password is shown once (global administrator)", false}, ok, s.resetUserPassword, withErrors(http.StatusTooManyRequests))
	add(s, Endpoint{"list-invitations", get, acct + "/invitations", pUsersR, "Invitations", false}, ok, s.listInvitations)
	add(s, Endpoint{"invite-users", post, acct + "/invitations", pUsersW, "Invite 1-10 e-mail addresses as guests (global administrator)", true}, created, s.inviteUsers)
	add(s, Endpoint{"resend-invitation", post, acct + "/invitations/{invitation_id}/resend", pUsersW, "Send an invitation again with a new token and expiry", false}, ok, s.resendInvitation)

	// Groups (SPEC §7.6).
	add(s, Endpoint{"list-groups", get, acct + "/groups", pGroupsR, "Groups with access to the account", false}, ok, s.listGroups)
	add(s, Endpoint{"create-group", post, acct + "/groups", pGroupsW, "Create a group in the directory and give it access", true}, created, s.createGroup)
	add(s, Endpoint{"add-group", post, acct + "/groups/add", pGroupsW, "Give an existing directory group access", true}, created, s.addGroup)
	add(s, Endpoint{"delete-group", del, acct + "/groups/{group_id}", pGroupsW, "Remove a group's access", false}, noContent, s.deleteGroup)

	// Apps and keys (SPEC §7.7).
	add(s, Endpoint{"list-apps", get, acct + "/apps", pAppsR, "Apps with access to the account", false}, ok, s.listApps)
	add(s, Endpoint{"create-app", post, acct + "/apps", pAppsW, "Register an app in the directory and give it access", true}, created, s.createApp)
	add(s, Endpoint{"add-app", post, acct + "/apps/add", pAppsW, "Give an existing directory app access", true}, created, s.addApp)
	add(s, Endpoint{"get-app", get, acct + "/apps/{client_id}", pAppsR, "An app: tenant id, client id, reply URL, app-ID URI, active keys", false}, ok, s.getApp)
	add(s, Endpoint{"remove-app", del, acct + "/apps/{client_id}", pAppsW, "Remove an app's access", false}, noContent, s.removeApp)
	add(s, Endpoint{"add-app-key", post, acct + "/apps/{client_id}/keys", pAppsW, "Add a key: the secret is shown once", true}, created, s.addAppKey, withErrors(http.StatusTooManyRequests))
	add(s, Endpoint{"remove-app-key", del, acct + "/apps/{client_id}/keys/{key_id}", pAppsW, "Remove a key", false}, noContent, s.removeAppKey)

	// Custom permission sets (SPEC §7.8).
	add(s, Endpoint{"list-permission-sets", get, acct + "/permission-sets", pRolesR, "Custom permission sets", false}, ok, s.listPermissionSets)
	add(s, Endpoint{"create-permission-set", post, acct + "/permission-sets", pRolesW, "Define a custom permission set", true}, created, s.createPermissionSet)
	add(s, Endpoint{"delete-permission-set", del, acct + "/permission-sets/{name}", pRolesW, "Delete an unassigned custom permission set", false}, noContent, s.deletePermissionSet)

	// Tenants (SPEC §7.9).
	add(s, Endpoint{"list-tenants", get, acct + "/tenants", pTenR, "Tenants associated with the account", false}, ok, s.listTenants)
	add(s, Endpoint{"create-tenant", post, acct + "/tenants", pTenW, "Create a tenant <name>.onmicrosoft.com with its global administrator", true}, created, s.createTenant, withErrors(http.StatusTooManyRequests))
	add(s, Endpoint{"associate-tenant", post, acct + "/tenants/associate", pTenW, "Associate an existing tenant (its administrator's credentials)", true}, created, s.associateTenant, withErrors(http.StatusTooManyRequests))
	add(s, Endpoint{"remove-tenant", del, acct + "/tenants/{tenant_id}", pTenW, "Remove a tenant: its users lose access at once", false}, noContent, s.removeTenant)

	// Agreements (SPEC §7.10).
	add(s, Endpoint{"get-account-agreements", get, acct + "/agreements", pAgrR, "Accepted agreements and those needing action", false}, ok, s.accountAgreements)
	add(s, Endpoint{"accept-agreement", post, acct + "/agreements/{name}/accept", pAgrA, "Accept the newest version of an agreement", true}, created, s.acceptAgreement)

	// Financial details (SPEC §7.4), served by Financials.
	add(s, Endpoint{"get-payout-account", get, acct + "/payout-account", accounts.PermPayoutAccountRead, "The payout account, numbers masked", false}, ok, s.getPayoutAccount)
	add(s, Endpoint{"set-payout-account", put, acct + "/payout-account", accounts.PermPayoutAccountWrite, "Set the payout account (pending verification; If-Match)", false}, ok, s.setPayoutAccount, withErrors(http.StatusPreconditionFailed, http.StatusPreconditionRequired))
	add(s, Endpoint{"get-tax-profile", get, acct + "/tax-profile", accounts.PermTaxProfileRead, "The tax profile", false}, ok, s.getTaxProfile)
	add(s, Endpoint{"submit-tax-form", post, acct + "/tax-forms", accounts.PermTaxProfileWrite, "Submit a W-9, W-8BEN or W-8BEN-E", true}, created, s.submitTaxForm)
	add(s, Endpoint{"get-payment-hold", get, acct + "/payment-hold", accounts.PermPaymentHoldRead, "The payment hold switch", false}, ok, s.getPaymentHold)
	add(s, Endpoint{"set-payment-hold", put, acct + "/payment-hold", accounts.PermPaymentHoldWrite, "Switch the payment hold on or off (If-Match)", false}, ok, s.setPaymentHold, withErrors(http.StatusPreconditionFailed, http.StatusPreconditionRequired))
	add(s, Endpoint{"list-statements", get, acct + "/statements", accounts.PermStatementsRead, "Payout statements, newest first", false}, ok, s.listStatements)

	// A publisher's payouts (issue 20), served by Payouts.
	s.payoutRoutes()

	// Operators: cycles, imports, verification results (SPEC §7.11).
	s.operationRoutes()
}

// Common shapes.

// SellerPath names the account.
type SellerPath struct {
	SellerID string `path:"seller_id" maxLength:"64" doc:"the account's seller id"`
}

type emptyOutput struct{}

type bodyOutput[T any] struct {
	Body T
}

// Page is one page of a list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty" doc:"pass as cursor for the next page; absent on the last"`
}

func respond[T any](v T, err error) (*bodyOutput[T], error) {
	if err != nil {
		return nil, err
	}
	return &bodyOutput[T]{Body: v}, nil
}

func none(err error) (*emptyOutput, error) {
	if err != nil {
		return nil, err
	}
	return &emptyOutput{}, nil
}

// ---- sign-in and self ----

type tokenInput struct {
	Body struct {
		GrantType    string `json:"grant_type" enum:"password,client_credentials"`
		Username     string `json:"username,omitempty" maxLength:"320"`
		Password     string `json:"password,omitempty" maxLength:"512"`
		ClientID     string `json:"client_id,omitempty" maxLength:"64"`
		ClientSecret string `json:"client_secret,omitempty" maxLength:"256"`
	}
}

type tokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         accounts.Grant
}

func (s *Server) token(ctx context.Context, in *tokenInput) (*tokenOutput, error) {
	var grant accounts.Grant
	var err error
	if in.Body.GrantType == "client_credentials" {
		if err = s.limitName("token", "app:"+in.Body.ClientID); err == nil {
			grant, err = s.svc.ClientCredentials(ctx, in.Body.ClientID, in.Body.ClientSecret)
		}
	} else {
		if err = s.limitName("token", in.Body.Username); err == nil {
			grant, err = s.svc.SignIn(ctx, in.Body.Username, in.Body.Password)
		}
	}
	if err != nil {
		return nil, statusError(err, nil, s.loggerFor(ctx))
	}
	return &tokenOutput{CacheControl: "no-store", Body: grant}, nil
}

func (s *Server) revokeToken(ctx context.Context, _ *struct{}) (*emptyOutput, error) {
	return none(s.svc.RevokeToken(ctx, principal(ctx)))
}

// Me is the caller as the API sees it.
type Me struct {
	Kind        accounts.PrincipalKind `json:"kind"`
	Name        string                 `json:"name"`
	SellerID    string                 `json:"seller_id,omitempty"`
	GlobalAdmin bool                   `json:"global_admin"`
	Permissions []accounts.Permission  `json:"permissions"`
}

func (s *Server) me(ctx context.Context, _ *struct{}) (*bodyOutput[Me], error) {
	p := principal(ctx)
	me := Me{Kind: p.Kind, Name: p.Name, GlobalAdmin: p.GlobalAdmin, Permissions: p.Permissions.Sorted()}
	if p.AccountID != 0 {
		a, err := s.svc.AccountByID(ctx, p.AccountID)
		if err != nil {
			return nil, err
		}
		me.SellerID = a.SellerID
	}
	return respond(me, nil)
}

type changePasswordInput struct {
	Body struct {
		CurrentPassword string `json:"current_password" minLength:"1" maxLength:"512"`
		NewPassword     string `json:"new_password" minLength:"1" maxLength:"512"`
	}
}

func (s *Server) changePassword(ctx context.Context, in *changePasswordInput) (*emptyOutput, error) {
	err := s.svc.ChangePassword(ctx, principal(ctx), in.Body.CurrentPassword, in.Body.NewPassword)
	if err != nil {
		return nil, statusError(err, nil, s.loggerFor(ctx))
	}
	return &emptyOutput{}, nil
}

type acceptInvitationInput struct {
	Body struct {
		Token    string `json:"token" minLength:"1" maxLength:"128"`
		Password string `json:"password" minLength:"1" maxLength:"512"`
	}
}

func (s *Server) acceptInvitation(ctx context.Context, in *acceptInvitationInput) (*bodyOutput[map[string]string], error) {
	if err := s.limitName("accept-invitation", in.Body.Token); err != nil {
		return nil, err
	}
	name, err := s.svc.AcceptInvitation(ctx, in.Body.Token, in.Body.Password)
	return respond(map[string]string{"sign_in_name": name}, err)
}

type passwordResetInput struct {
	Body struct {
		Username string `json:"username" minLength:"1" maxLength:"320"`
	}
}

func (s *Server) requestPasswordReset(ctx context.Context, in *passwordResetInput) (*emptyOutput, error) {
	if err := s.limitName("request-password-reset", in.Body.Username); err != nil {
		return nil, err
	}
	return none(s.svc.RequestPasswordReset(ctx, in.Body.Username))
}

type completeResetInput struct {
	Body struct {
		Code     string `json:"code" minLength:"1" maxLength:"128"`
		Password string `json:"password" minLength:"1" maxLength:"512"`
	}
}

func (s *Server) completePasswordReset(ctx context.Context, in *completeResetInput) (*emptyOutput, error) {
	if err := s.limitName("complete-password-reset", in.Body.Code); err != nil {
		return nil, err
	}
	return none(s.svc.CompletePasswordReset(ctx, in.Body.Code, in.Body.Password))
}

func (s *Server) listRoles(_ context.Context, _ *struct{}) (*bodyOutput[[]accounts.RoleDefinition], error) {
	return respond(accounts.RoleTable, nil)
}

// ---- agreements catalogue, audit ----

func (s *Server) agreementCatalog(ctx context.Context, _ *struct{}) (*bodyOutput[[]accounts.AgreementVersion], error) {
	return respond(s.svc.Agreements(ctx))
}

type publishAgreementInput struct {
	Body struct {
		Name              string `json:"name" pattern:"^[a-z0-9_-]{1,64}$"`
		Version           int    `json:"version" minimum:"1"`
		RequiredForPayout bool   `json:"required_for_payout"`
		GraceDays         int    `json:"grace_days" minimum:"0" maximum:"365"`
	}
}

func (s *Server) publishAgreement(ctx context.Context, in *publishAgreementInput) (*bodyOutput[accounts.AgreementVersion], error) {
	return respond(s.svc.PublishAgreement(ctx, principal(ctx), accounts.AgreementVersion{
		Name: in.Body.Name, Version: in.Body.Version, RequiredForPayout: in.Body.RequiredForPayout, GraceDays: in.Body.GraceDays}))
}

type auditInput struct {
	PageParams
	SellerID string `query:"seller_id" maxLength:"64" doc:"only this account's entries (operators); others always see their own"`
}

func (s *Server) listAudit(ctx context.Context, in *auditInput) (*bodyOutput[Page[accounts.AuditEntry]], error) {
	p := principal(ctx)
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	accountID := p.AccountID
	if in.SellerID != "" {
		a, err := s.svc.AccountBySellerID(ctx, in.SellerID)
		if err != nil {
			return nil, err
		}
		if p.Kind != accounts.KindOperator && a.ID != p.AccountID {
			return nil, &accounts.Error{Kind: accounts.KindNotFound, Field: "seller_id", Reason: "no such account"}
		}
		accountID = a.ID
	}
	if p.Kind != accounts.KindOperator && accountID == 0 {
		return nil, &accounts.Error{Kind: accounts.KindForbidden, Reason: "no account"}
	}
	entries, err := s.svc.AuditLog(ctx, accountID, after, in.limit()+1)
	if err != nil {
		return nil, err
	}
	items, next := page(entries, in.limit(), func(e accounts.AuditEntry) int64 { return e.ID })
	return respond(Page[accounts.AuditEntry]{Items: items, NextCursor: next}, nil)
}

// ---- account details ----

type accountOutput struct {
	ETag string `header:"ETag"`
	Body accounts.AccountDetails
}

func accountResponse(d accounts.AccountDetails, err error) (*accountOutput, error) {
	if err != nil {
		return nil, err
	}
	return &accountOutput{ETag: etag(d.Version), Body: d}, nil
}

func (s *Server) getAccount(ctx context.Context, _ *SellerPath) (*accountOutput, error) {
	return accountResponse(s.svc.AccountDetails(ctx, account(ctx).ID))
}

// ContactBody is the seller contact.
type ContactBody struct {
	Name    string            `json:"name" maxLength:"200"`
	Email   string            `json:"email" maxLength:"254"`
	Phone   string            `json:"phone,omitempty" maxLength:"16" doc:"E.164, like +14255550100"`
	Address *accounts.Address `json:"address,omitempty"`
}

// ApproverBody is the company approver.
type ApproverBody struct {
	Name  string `json:"name" maxLength:"200"`
	Email string `json:"email" maxLength:"254"`
	Phone string `json:"phone,omitempty" maxLength:"16" doc:"E.164, like +14255550100"`
}

type updateAccountInput struct {
	SellerPath
	IfMatch string `header:"If-Match" doc:"the ETag of GET; required"`
	Body    struct {
		SellerID        string        `json:"seller_id,omitempty" maxLength:"64" doc:"read-only: may be sent back unchanged"`
		PublisherID     string        `json:"publisher_id,omitempty" maxLength:"64" doc:"read-only: may be sent back unchanged"`
		AccountType     string        `json:"account_type,omitempty" maxLength:"16" doc:"read-only: may be sent back unchanged"`
		DisplayName     string        `json:"display_name" maxLength:"200"`
		SellerContact   *ContactBody  `json:"seller_contact,omitempty"`
		CompanyApprover *ApproverBody `json:"company_approver,omitempty"`
	}
}

func (s *Server) updateAccount(ctx context.Context, in *updateAccountInput) (*accountOutput, error) {
	version, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	u := accounts.AccountUpdate{SellerID: in.Body.SellerID, PublisherID: in.Body.PublisherID, AccountType: in.Body.AccountType, DisplayName: in.Body.DisplayName}
	if c := in.Body.SellerContact; c != nil {
		u.SellerContact = &accounts.Contact{Name: c.Name, Email: c.Email, Phone: c.Phone, Address: c.Address}
	}
	if a := in.Body.CompanyApprover; a != nil {
		u.CompanyApprover = &accounts.Approver{Name: a.Name, Email: a.Email, Phone: a.Phone}
	}
	return accountResponse(s.svc.UpdateAccount(ctx, principal(ctx), account(ctx).ID, version, u))
}

type verificationStepInput struct {
	SellerPath
	Step string `path:"step" enum:"email,employment,business"`
	Body struct {
		State string `json:"state" enum:"not_started,pending,passed,failed"`
	}
}

func (s *Server) setVerificationStep(ctx context.Context, in *verificationStepInput) (*accountOutput, error) {
	return accountResponse(s.svc.SetVerificationStep(ctx, principal(ctx), account(ctx).ID, accounts.Step(in.Step), accounts.StepState(in.Body.State)))
}

type ownerIdentityInput struct {
	SellerPath
	Body struct {
		Email    string `json:"email" maxLength:"254"`
		Password string `json:"password" maxLength:"512"`
	}
}

func (s *Server) linkOwnerIdentity(ctx context.Context, in *ownerIdentityInput) (*emptyOutput, error) {
	return none(s.svc.LinkOwnerIdentity(ctx, principal(ctx), account(ctx).ID, in.Body.Email, in.Body.Password))
}

// ---- financial details ----

// requireOwnerIdentity: financial details can be set only after the owner
// linked a personal sign-in identity (SPEC §6.1).
func (s *Server) requireOwnerIdentity(ctx context.Context) error {
	linked, err := s.svc.OwnerIdentityLinked(ctx, account(ctx).ID)
	if err != nil {
		return err
	}
	if !linked {
		return &accounts.Error{Kind: accounts.KindRule, Field: "owner_identity", Reason: "the account owner must link a personal sign-in identity before financial details can be set"}
	}
	return nil
}

// versioned is a response with its ETag.
type versioned[T any] struct {
	ETag string `header:"ETag"`
	Body T
}

func payoutAccountResponse(p PayoutAccount, err error) (*versioned[PayoutAccount], error) {
	if err != nil {
		return nil, err
	}
	return &versioned[PayoutAccount]{ETag: etag(p.Version), Body: p}, nil
}

func (s *Server) getPayoutAccount(ctx context.Context, _ *SellerPath) (*versioned[PayoutAccount], error) {
	return payoutAccountResponse(s.financials.PayoutAccount(ctx, account(ctx).ID))
}

type setPayoutAccountInput struct {
	SellerPath
	IfMatch string `header:"If-Match" doc:"the ETag of GET (also when no payout account was ever set); required"`
	Body    PayoutAccountInput
}

func (s *Server) setPayoutAccount(ctx context.Context, in *setPayoutAccountInput) (*versioned[PayoutAccount], error) {
	if err := s.requireOwnerIdentity(ctx); err != nil {
		return nil, err
	}
	version, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	id := account(ctx).ID
	before, err := s.financials.PayoutAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	after, err := s.financials.SetPayoutAccount(ctx, id, version, in.Body, principal(ctx))
	if err != nil {
		return nil, err
	}
	return payoutAccountResponse(after, s.svc.AddAuditEntry(ctx, id, principal(ctx), "payout_account.set", "payout_account:"+account(ctx).SellerID, before, after))
}

func (s *Server) getTaxProfile(ctx context.Context, _ *SellerPath) (*bodyOutput[TaxProfile], error) {
	return respond(s.financials.TaxProfile(ctx, account(ctx).ID))
}

type submitTaxFormInput struct {
	SellerPath
	RawBody []byte
	Body    map[string]any `doc:"a W-9, W-8BEN or W-8BEN-E submission (validated by the tax service)"`
}

func (s *Server) submitTaxForm(ctx context.Context, in *submitTaxFormInput) (*bodyOutput[TaxProfile], error) {
	if err := s.requireOwnerIdentity(ctx); err != nil {
		return nil, err
	}
	id := account(ctx).ID
	before, err := s.financials.TaxProfile(ctx, id)
	if err != nil {
		return nil, err
	}
	after, err := s.financials.SubmitTaxForm(ctx, id, json.RawMessage(in.RawBody), principal(ctx))
	if err != nil {
		return nil, err
	}
	return respond(after, s.svc.AddAuditEntry(ctx, id, principal(ctx), "tax_profile.submit_form", "tax_profile:"+account(ctx).SellerID, before, after))
}

func holdResponse(h PaymentHold, err error) (*versioned[PaymentHold], error) {
	if err != nil {
		return nil, err
	}
	return &versioned[PaymentHold]{ETag: etag(h.Version), Body: h}, nil
}

func (s *Server) getPaymentHold(ctx context.Context, _ *SellerPath) (*versioned[PaymentHold], error) {
	return holdResponse(s.financials.Hold(ctx, account(ctx).ID))
}

type setHoldInput struct {
	SellerPath
	IfMatch string `header:"If-Match" doc:"the ETag of GET (also when the hold was never switched); required"`
	Body    struct {
		On bool `json:"on"`
	}
}

func (s *Server) setPaymentHold(ctx context.Context, in *setHoldInput) (*versioned[PaymentHold], error) {
	if err := s.requireOwnerIdentity(ctx); err != nil {
		return nil, err
	}
	version, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	id := account(ctx).ID
	before, err := s.financials.Hold(ctx, id)
	if err != nil {
		return nil, err
	}
	after, err := s.financials.SetHold(ctx, id, version, in.Body.On, principal(ctx))
	if err != nil {
		return nil, err
	}
	return holdResponse(after, s.svc.AddAuditEntry(ctx, id, principal(ctx), "payment_hold.set", "payment_hold:"+account(ctx).SellerID, before, after))
}

type statementsInput struct {
	SellerPath
	Cursor string `query:"cursor" maxLength:"128"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
}

func (s *Server) listStatements(ctx context.Context, in *statementsInput) (*bodyOutput[Page[Statement]], error) {
	limit := in.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	items, next, err := s.financials.Statements(ctx, account(ctx).ID, in.Cursor, limit)
	if items == nil {
		items = []Statement{}
	}
	return respond(Page[Statement]{Items: items, NextCursor: next}, err)
}
