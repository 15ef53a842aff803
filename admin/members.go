package admin

import (
	"context"

	"github.com/payrun/payrun/accounts"
)

// ---- users ----

type listInput struct {
	SellerPath
	PageParams
}

func (s *Server) listUsers(ctx context.Context, in *listInput) (*bodyOutput[Page[accounts.UserMember]], error) {
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	users, err := s.svc.Users(ctx, account(ctx).ID, after, in.limit()+1)
	if err != nil {
		return nil, err
	}
	items, next := page(users, in.limit(), func(u accounts.UserMember) int64 { return u.ID })
	return respond(Page[accounts.UserMember]{Items: items, NextCursor: next}, nil)
}

type rolesField struct {
	Roles []accounts.Role `json:"roles" minItems:"1" maxItems:"20" doc:"built-in account roles or custom permission set names"`
}

type createUserInput struct {
	SellerPath
	Body struct {
		TenantID      string          `json:"tenant_id" maxLength:"36"`
		FirstName     string          `json:"first_name" maxLength:"200"`
		LastName      string          `json:"last_name" maxLength:"200"`
		UserName      string          `json:"user_name" maxLength:"64"`
		GlobalAdmin   bool            `json:"global_admin,omitempty"`
		RecoveryEmail string          `json:"recovery_email,omitempty" maxLength:"254" doc:"required for a global administrator"`
		GroupIDs      []int64         `json:"group_ids,omitempty" maxItems:"100"`
		Roles         []accounts.Role `json:"roles" minItems:"1" maxItems:"20"`
	}
}

// CreatedUser is a new user with its temporary password, shown only here.
type CreatedUser struct {
	User              accounts.UserMember `json:"user"`
	TemporaryPassword string              `json:"temporary_password" doc:"shown once; must be changed at first sign-in"`
}

type createdUserOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         CreatedUser
}

func (s *Server) createUser(ctx context.Context, in *createUserInput) (*createdUserOutput, error) {
	b := in.Body
	user, temporary, err := s.svc.CreateUser(ctx, principal(ctx), account(ctx).ID, accounts.NewUser{
		TenantID: b.TenantID, FirstName: b.FirstName, LastName: b.LastName, UserName: b.UserName, GlobalAdmin: b.GlobalAdmin,
		RecoveryEmail: b.RecoveryEmail, GroupIDs: b.GroupIDs, Roles: b.Roles})
	if err != nil {
		return nil, err
	}
	return &createdUserOutput{CacheControl: "no-store", Body: CreatedUser{User: user, TemporaryPassword: temporary}}, nil
}

type addUsersInput struct {
	SellerPath
	Body struct {
		UserNames []string        `json:"user_names" minItems:"1" maxItems:"100" doc:"sign-in names: user@tenant.onmicrosoft.com"`
		Roles     []accounts.Role `json:"roles" minItems:"1" maxItems:"20"`
	}
}

func (s *Server) addUsers(ctx context.Context, in *addUsersInput) (*bodyOutput[[]accounts.UserMember], error) {
	return respond(s.svc.AddExistingUsers(ctx, principal(ctx), account(ctx).ID, in.Body.UserNames, in.Body.Roles))
}

type removeUsersInput struct {
	SellerPath
	Body struct {
		IDs []int64 `json:"ids" minItems:"1" maxItems:"100" doc:"exactly the users to remove; nothing is removed unless all match"`
	}
}

func (s *Server) removeUsers(ctx context.Context, in *removeUsersInput) (*emptyOutput, error) {
	return none(s.svc.RemoveUsers(ctx, principal(ctx), account(ctx).ID, in.Body.IDs))
}

type UserPath struct {
	SellerPath
	UserID int64 `path:"user_id"`
}

type userOutput struct {
	ETag string `header:"ETag"`
	Body accounts.UserMember
}

func userResponse(u accounts.UserMember, err error) (*userOutput, error) {
	if err != nil {
		return nil, err
	}
	return &userOutput{ETag: etag(u.Version), Body: u}, nil
}

func (s *Server) getUser(ctx context.Context, in *UserPath) (*userOutput, error) {
	return userResponse(s.svc.User(ctx, account(ctx).ID, in.UserID))
}

type updateUserInput struct {
	UserPath
	IfMatch string `header:"If-Match" doc:"the ETag of GET; required"`
	Body    struct {
		FirstName string          `json:"first_name" maxLength:"200"`
		LastName  string          `json:"last_name" maxLength:"200"`
		Roles     []accounts.Role `json:"roles" minItems:"1" maxItems:"20"`
	}
}

func (s *Server) updateUser(ctx context.Context, in *updateUserInput) (*userOutput, error) {
	version, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return userResponse(s.svc.UpdateUser(ctx, principal(ctx), account(ctx).ID, in.UserID, version,
		accounts.UserUpdate{FirstName: in.Body.FirstName, LastName: in.Body.LastName, Roles: in.Body.Roles}))
}

type temporaryPasswordOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		TemporaryPassword string `json:"temporary_password" doc:"shown once; must be changed at next sign-in"`
	}
}

func (s *Server) resetUserPassword(ctx context.Context, in *UserPath) (*temporaryPasswordOutput, error) {
	temporary, err := s.svc.ResetPassword(ctx, principal(ctx), account(ctx).ID, in.UserID)
	if err != nil {
		return nil, err
	}
	out := &temporaryPasswordOutput{CacheControl: "no-store"}
	out.Body.TemporaryPassword = temporary
	return out, nil
}

func (s *Server) listInvitations(ctx context.Context, in *listInput) (*bodyOutput[Page[accounts.Invitation]], error) {
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.Invitations(ctx, account(ctx).ID, after, in.limit()+1)
	if err != nil {
		return nil, err
	}
	items, next := page(list, in.limit(), func(i accounts.Invitation) int64 { return i.ID })
	return respond(Page[accounts.Invitation]{Items: items, NextCursor: next}, nil)
}

type inviteInput struct {
	SellerPath
	Body struct {
		TenantID string          `json:"tenant_id" maxLength:"36"`
		Emails   string          `json:"emails" maxLength:"2600" doc:"1 to 10 addresses separated by commas or semicolons"`
		Roles    []accounts.Role `json:"roles" minItems:"1" maxItems:"20"`
	}
}

func (s *Server) inviteUsers(ctx context.Context, in *inviteInput) (*bodyOutput[[]accounts.Invitation], error) {
	return respond(s.svc.Invite(ctx, principal(ctx), account(ctx).ID, in.Body.TenantID, in.Body.Emails, in.Body.Roles))
}

type InvitationPath struct {
	SellerPath
	InvitationID int64 `path:"invitation_id"`
}

func (s *Server) resendInvitation(ctx context.Context, in *InvitationPath) (*bodyOutput[accounts.Invitation], error) {
	return respond(s.svc.ResendInvitation(ctx, principal(ctx), account(ctx).ID, in.InvitationID))
}

// ---- groups ----

func (s *Server) listGroups(ctx context.Context, in *listInput) (*bodyOutput[Page[accounts.GroupMember]], error) {
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.Groups(ctx, account(ctx).ID, after, in.limit()+1)
	if err != nil {
		return nil, err
	}
	items, next := page(list, in.limit(), func(g accounts.GroupMember) int64 { return g.ID })
	return respond(Page[accounts.GroupMember]{Items: items, NextCursor: next}, nil)
}

type createGroupInput struct {
	SellerPath
	Body struct {
		TenantID    string          `json:"tenant_id" maxLength:"36"`
		DisplayName string          `json:"display_name" maxLength:"256"`
		MemberIDs   []int64         `json:"member_ids,omitempty" maxItems:"100"`
		Roles       []accounts.Role `json:"roles" minItems:"1" maxItems:"20"`
	}
}

func (s *Server) createGroup(ctx context.Context, in *createGroupInput) (*bodyOutput[accounts.GroupMember], error) {
	return respond(s.svc.CreateGroup(ctx, principal(ctx), account(ctx).ID, in.Body.TenantID, in.Body.DisplayName, in.Body.MemberIDs, in.Body.Roles))
}

type addGroupInput struct {
	SellerPath
	Body struct {
		TenantID    string          `json:"tenant_id" maxLength:"36"`
		DisplayName string          `json:"display_name" maxLength:"256"`
		Roles       []accounts.Role `json:"roles" minItems:"1" maxItems:"20"`
	}
}

func (s *Server) addGroup(ctx context.Context, in *addGroupInput) (*bodyOutput[accounts.GroupMember], error) {
	return respond(s.svc.AddExistingGroup(ctx, principal(ctx), account(ctx).ID, in.Body.TenantID, in.Body.DisplayName, in.Body.Roles))
}

type GroupPath struct {
	SellerPath
	GroupID int64 `path:"group_id"`
}

func (s *Server) deleteGroup(ctx context.Context, in *GroupPath) (*emptyOutput, error) {
	return none(s.svc.DeleteGroup(ctx, principal(ctx), account(ctx).ID, in.GroupID))
}

// ---- apps and keys ----

func (s *Server) listApps(ctx context.Context, in *listInput) (*bodyOutput[Page[accounts.AppMember]], error) {
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.Apps(ctx, account(ctx).ID, after, in.limit()+1)
	if err != nil {
		return nil, err
	}
	items, next := page(list, in.limit(), func(a accounts.AppMember) int64 { return a.AppID })
	return respond(Page[accounts.AppMember]{Items: items, NextCursor: next}, nil)
}

type createAppInput struct {
	SellerPath
	Body struct {
		TenantID    string          `json:"tenant_id" maxLength:"36"`
		DisplayName string          `json:"display_name" maxLength:"256"`
		ReplyURL    string          `json:"reply_url" maxLength:"256"`
		AppIDURI    string          `json:"app_id_uri" maxLength:"256"`
		Roles       []accounts.Role `json:"roles" minItems:"1" maxItems:"20"`
	}
}

func (s *Server) createApp(ctx context.Context, in *createAppInput) (*bodyOutput[accounts.AppMember], error) {
	b := in.Body
	return respond(s.svc.CreateApp(ctx, principal(ctx), account(ctx).ID, accounts.NewAccountApp{
		TenantID: b.TenantID, DisplayName: b.DisplayName, ReplyURL: b.ReplyURL, AppIDURI: b.AppIDURI, Roles: b.Roles}))
}

type addAppInput struct {
	SellerPath
	Body struct {
		ClientID string          `json:"client_id" maxLength:"36"`
		Roles    []accounts.Role `json:"roles" minItems:"1" maxItems:"20"`
	}
}

func (s *Server) addApp(ctx context.Context, in *addAppInput) (*bodyOutput[accounts.AppMember], error) {
	return respond(s.svc.AddExistingApp(ctx, principal(ctx), account(ctx).ID, in.Body.ClientID, in.Body.Roles))
}

type AppPath struct {
	SellerPath
	ClientID string `path:"client_id" maxLength:"36"`
}

func (s *Server) getApp(ctx context.Context, in *AppPath) (*bodyOutput[accounts.AppMember], error) {
	return respond(s.svc.App(ctx, account(ctx).ID, in.ClientID))
}

func (s *Server) removeApp(ctx context.Context, in *AppPath) (*emptyOutput, error) {
	return none(s.svc.RemoveApp(ctx, principal(ctx), account(ctx).ID, in.ClientID))
}

type addKeyInput struct {
	AppPath
	Body struct {
		ValidDays int `json:"valid_days,omitempty" minimum:"1" maximum:"730" doc:"default 365"`
	}
}

// NewKey is a key with its secret, shown only here.
type NewKey struct {
	accounts.AppKey
	Secret string `json:"secret" doc:"shown once; only its argon2id hash is kept"`
}

type newKeyOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         NewKey
}

func (s *Server) addAppKey(ctx context.Context, in *addKeyInput) (*newKeyOutput, error) {
	key, secret, err := s.svc.AddKey(ctx, principal(ctx), account(ctx).ID, in.ClientID, in.Body.ValidDays)
	if err != nil {
		return nil, err
	}
	return &newKeyOutput{CacheControl: "no-store", Body: NewKey{AppKey: key, Secret: secret}}, nil
}

type KeyPath struct {
	AppPath
	KeyID string `path:"key_id" maxLength:"36"`
}

func (s *Server) removeAppKey(ctx context.Context, in *KeyPath) (*emptyOutput, error) {
	return none(s.svc.RemoveKey(ctx, principal(ctx), account(ctx).ID, in.ClientID, in.KeyID))
}

// ---- custom permission sets ----

func (s *Server) listPermissionSets(ctx context.Context, _ *SellerPath) (*bodyOutput[[]accounts.PermissionSetView], error) {
	return respond(s.svc.PermissionSets(ctx, account(ctx).ID))
}

type createPermissionSetInput struct {
	SellerPath
	Body struct {
		Name        string                `json:"name" maxLength:"64"`
		Permissions []accounts.Permission `json:"permissions" minItems:"1" maxItems:"64"`
	}
}

func (s *Server) createPermissionSet(ctx context.Context, in *createPermissionSetInput) (*bodyOutput[accounts.PermissionSetView], error) {
	return respond(s.svc.CreatePermissionSet(ctx, principal(ctx), account(ctx).ID, in.Body.Name, in.Body.Permissions))
}

type PermissionSetPath struct {
	SellerPath
	Name string `path:"name" maxLength:"64"`
}

func (s *Server) deletePermissionSet(ctx context.Context, in *PermissionSetPath) (*emptyOutput, error) {
	return none(s.svc.DeletePermissionSet(ctx, principal(ctx), account(ctx).ID, in.Name))
}

// ---- tenants ----

func (s *Server) listTenants(ctx context.Context, _ *SellerPath) (*bodyOutput[[]accounts.Tenant], error) {
	return respond(s.svc.Tenants(ctx, account(ctx).ID))
}

type createTenantInput struct {
	SellerPath
	Body struct {
		DomainName     string `json:"domain_name" maxLength:"63" doc:"becomes <domain_name>.onmicrosoft.com"`
		Organization   string `json:"organization,omitempty" maxLength:"200"`
		ContactEmail   string `json:"contact_email" maxLength:"254"`
		AdminFirstName string `json:"admin_first_name" maxLength:"200"`
		AdminLastName  string `json:"admin_last_name" maxLength:"200"`
		AdminUserName  string `json:"admin_user_name" maxLength:"64"`
		AdminPassword  string `json:"admin_password" maxLength:"512"`
	}
}

func (s *Server) createTenant(ctx context.Context, in *createTenantInput) (*bodyOutput[accounts.Tenant], error) {
	b := in.Body
	return respond(s.svc.CreateTenant(ctx, principal(ctx), account(ctx).ID, accounts.CreateTenantRequest{
		DomainName: b.DomainName, Organization: b.Organization, ContactEmail: b.ContactEmail,
		AdminFirstName: b.AdminFirstName, AdminLastName: b.AdminLastName, AdminUserName: b.AdminUserName, AdminPassword: b.AdminPassword}))
}

type associateTenantInput struct {
	SellerPath
	Body struct {
		Domain              string `json:"domain" maxLength:"80"`
		UserName            string `json:"user_name" maxLength:"64" doc:"a global administrator of the tenant"`
		Password            string `json:"password" maxLength:"512"`
		ConfirmOrganization string `json:"confirm_organization" maxLength:"200"`
		ConfirmDomain       string `json:"confirm_domain" maxLength:"80"`
	}
}

func (s *Server) associateTenant(ctx context.Context, in *associateTenantInput) (*bodyOutput[accounts.Tenant], error) {
	b := in.Body
	tenant, err := s.svc.AssociateTenant(ctx, principal(ctx), account(ctx).ID, accounts.AssociateTenantRequest{
		Domain: b.Domain, UserName: b.UserName, Password: b.Password, ConfirmOrganization: b.ConfirmOrganization, ConfirmDomain: b.ConfirmDomain})
	if err != nil {
		return nil, statusError(err, nil, s.loggerFor(ctx))
	}
	return respond(tenant, nil)
}

type TenantPath struct {
	SellerPath
	TenantID string `path:"tenant_id" maxLength:"36"`
}

func (s *Server) removeTenant(ctx context.Context, in *TenantPath) (*emptyOutput, error) {
	return none(s.svc.RemoveTenant(ctx, principal(ctx), account(ctx).ID, in.TenantID))
}

// ---- agreements ----

func (s *Server) accountAgreements(ctx context.Context, _ *SellerPath) (*bodyOutput[accounts.AccountAgreements], error) {
	return respond(s.svc.AccountAgreements(ctx, account(ctx).ID))
}

type acceptAgreementInput struct {
	SellerPath
	Name string `path:"name" maxLength:"64"`
	Body struct {
		Version int `json:"version" minimum:"1"`
	}
}

func (s *Server) acceptAgreement(ctx context.Context, in *acceptAgreementInput) (*bodyOutput[accounts.Acceptance], error) {
	return respond(s.svc.AcceptAgreement(ctx, principal(ctx), account(ctx).ID, in.Name, in.Body.Version))
}
