package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Invitation is a guest's invitation to an account (SPEC §7.5). The token
// that accepts it exists only in the e-mail.
type Invitation struct {
	ID         int64      `db:"id" json:"id"`
	UserID     int64      `db:"user_id" json:"user_id"`
	Email      string     `db:"email" json:"email"`
	RoleList   stringList `db:"roles" json:"-"`
	Roles      []Role     `db:"-" json:"roles"`
	Status     string     `db:"status" json:"status"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at" json:"expires_at"`
	SentCount  int        `db:"sent_count" json:"sent_count"`
	LastSentAt time.Time  `db:"last_sent_at" json:"last_sent_at"`
	AcceptedAt *time.Time `db:"accepted_at" json:"accepted_at,omitempty"`
	InvitedBy  string     `db:"invited_by" json:"invited_by"`
}

const invitationColumns = `id, user_id, email, to_json(roles) AS roles, status, created_at, expires_at, sent_count, last_sent_at, accepted_at, invited_by`

func (inv *Invitation) finish(now time.Time) {
	inv.Roles = rolesOf(inv.RoleList)
	if inv.Status == "pending" && !now.Before(inv.ExpiresAt) {
		inv.Status = "expired"
	}
}

// Invitations lists the account's invitations with id > afterID.
func (s *Service) Invitations(ctx context.Context, accountID, afterID int64, limit int) ([]Invitation, error) {
	out := []Invitation{}
	if err := s.DB.SelectContext(ctx, &out, `SELECT `+invitationColumns+` FROM invitations WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		accountID, afterID, limit); err != nil {
		return nil, err
	}
	now := s.now()
	for i := range out {
		out[i].finish(now)
	}
	return out, nil
}

func invitationMail(email, domain, token string, expires time.Time) mail {
	body := "You are invited to a publisher account on payrun through %s.\n\n" +
		"Accept by POST /v1/invitations/accept with this token and a new password:\n\n    %s\n\n" +
		"The invitation expires at %s.\n"
	return mail{
		kind: "invitation", to: email, subject: "Your invitation to a payrun publisher account",
		body:       fmt.Sprintf(body, domain, token, expires.Format(time.RFC3339)),
		storedBody: fmt.Sprintf(body, domain, "[redacted]", expires.Format(time.RFC3339)),
	}
}

// Invite creates guest users in the tenant's directory for 1 to 10
// addresses (commas or semicolons between them) and sends each an
// invitation; access comes with acceptance. Errors: ErrInvalid, ErrNotFound
// (tenant), ErrForbidden (not a global administrator of the tenant), ErrRule
// (synchronised tenant), ErrConflict (already a user, or a pending
// invitation exists: resend it instead).
func (s *Service) Invite(ctx context.Context, actor Principal, accountID int64, tenantID, emails string, roles []Role) ([]Invitation, error) {
	addresses, err := ParseEmailList("emails", emails)
	if err != nil {
		return nil, err
	}
	var created []Invitation
	var mails []mail
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		tenant, err := s.associatedTenant(ctx, tx, accountID, tenantID, "tenant_id")
		if err != nil {
			return err
		}
		if err := requireGlobalAdmin(actor, tenant); err != nil {
			return err
		}
		roleList, err := grantableRoles(ctx, tx, actor, accountID, "roles", roles)
		if err != nil {
			return err
		}
		now := s.now()
		expires := now.Add(s.invitationTTL())
		for _, address := range addresses {
			guest, err := s.Directory.CreateGuest(ctx, tx, tenant, address, now)
			if err != nil {
				return err
			}
			var member bool
			if err := tx.GetContext(ctx, &member, `SELECT EXISTS (SELECT 1 FROM account_members WHERE account_id = $1 AND user_id = $2)`, accountID, guest.ID); err != nil {
				return err
			}
			if member {
				return conflict("emails", "%s already has access to this account", address)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE invitations SET status = 'expired' WHERE account_id = $1 AND user_id = $2 AND status = 'pending' AND expires_at <= $3`,
				accountID, guest.ID, now); err != nil {
				return err
			}
			token := randomToken(32)
			var inv Invitation
			err = tx.GetContext(ctx, &inv, `
				INSERT INTO invitations (account_id, user_id, email, roles, token_hash, status, created_at, expires_at, last_sent_at, invited_by)
				VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $6, $8) RETURNING `+invitationColumns,
				accountID, guest.ID, address, roleList, tokenHash(token), now, expires, actor.Actor())
			if _, dup := uniqueViolation(err); dup {
				return conflict("emails", "%s already has a pending invitation: resend it instead", address)
			}
			if err != nil {
				return err
			}
			inv.finish(now)
			m := invitationMail(address, tenant.Domain, token, expires)
			if err := queueMail(ctx, tx, now, &m); err != nil {
				return err
			}
			mails = append(mails, m)
			created = append(created, inv)
			if err := audit(ctx, tx, accountID, actor, now, "invitation.create", "invitation:"+address, nil, inv); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return created, s.deliver(ctx, mails)
}

// ResendInvitation sends a pending or expired invitation again with a new
// token and a new expiry; the old token stops working. Errors: ErrNotFound,
// ErrForbidden, ErrRule (already accepted).
func (s *Service) ResendInvitation(ctx context.Context, actor Principal, accountID, invitationID int64) (Invitation, error) {
	var inv Invitation
	var mails []mail
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := accountByID(ctx, tx, accountID, true); err != nil {
			return err
		}
		var before Invitation
		err := tx.GetContext(ctx, &before, `SELECT `+invitationColumns+` FROM invitations WHERE account_id = $1 AND id = $2 FOR UPDATE`, accountID, invitationID)
		if isNoRows(err) {
			return notFound("invitation_id", "no invitation %d", invitationID)
		}
		if err != nil {
			return err
		}
		if before.Status == "accepted" {
			return rule("invitation_id", "the invitation was already accepted")
		}
		guest, err := s.Directory.User(ctx, tx, before.UserID)
		if err != nil {
			return err
		}
		var tenant Tenant
		if err := tx.GetContext(ctx, &tenant, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, guest.TenantID); err != nil {
			return err
		}
		if _, err := s.associatedTenant(ctx, tx, accountID, tenant.TenantID, "invitation_id"); err != nil {
			return err
		}
		if err := requireGlobalAdmin(actor, tenant); err != nil {
			return err
		}
		// A resent invitation grants its roles again.
		if err := requireRoleGrant(ctx, tx, actor, accountID, "invitation_id", before.RoleList); err != nil {
			return err
		}
		now := s.now()
		expires := now.Add(s.invitationTTL())
		token := randomToken(32)
		if err := tx.GetContext(ctx, &inv, `
			UPDATE invitations SET token_hash = $3, status = 'pending', expires_at = $4, sent_count = sent_count + 1, last_sent_at = $5
			WHERE account_id = $1 AND id = $2 RETURNING `+invitationColumns,
			accountID, invitationID, tokenHash(token), expires, now); err != nil {
			return err
		}
		inv.finish(now)
		m := invitationMail(inv.Email, tenant.Domain, token, expires)
		if err := queueMail(ctx, tx, now, &m); err != nil {
			return err
		}
		mails = append(mails, m)
		return audit(ctx, tx, accountID, actor, now, "invitation.resend", "invitation:"+inv.Email, before, inv)
	})
	if err != nil {
		return Invitation{}, err
	}
	return inv, s.deliver(ctx, mails)
}

// AcceptInvitation accepts with the e-mailed token, setting the guest's
// password; the guest gets the invitation's roles. It returns the guest's
// sign-in name. The token is checked (a sha256 probe) before the password is
// hashed, so a guessed token costs no argon2id work. Errors: ErrInvalid
// (password), ErrRule (token unknown, expired or used: the same answer for
// each), ErrRateLimited (no hashing slot).
func (s *Service) AcceptInvitation(ctx context.Context, token, password string) (string, error) {
	if err := validatePassword("password", password); err != nil {
		return "", err
	}
	var pending bool
	if err := s.DB.GetContext(ctx, &pending, `SELECT EXISTS (SELECT 1 FROM invitations WHERE token_hash = $1 AND status = 'pending' AND expires_at > $2)`,
		tokenHash(token), s.now()); err != nil {
		return "", err
	}
	if !pending {
		return "", rule("token", "the invitation is unknown, expired or already accepted")
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return "", err
	}
	var signIn string
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.now()
		var inv struct {
			Invitation
			AccountID int64 `db:"account_id"`
		}
		err := tx.GetContext(ctx, &inv, `SELECT account_id, `+invitationColumns+` FROM invitations WHERE token_hash = $1 FOR UPDATE`, tokenHash(token))
		if isNoRows(err) || (err == nil && (inv.Status != "pending" || !now.Before(inv.ExpiresAt))) {
			return rule("token", "the invitation is unknown, expired or already accepted")
		}
		if err != nil {
			return err
		}
		if _, err := accountByID(ctx, tx, inv.AccountID, true); err != nil {
			return err
		}
		guest, err := s.Directory.User(ctx, tx, inv.UserID)
		if err != nil {
			return err
		}
		var tenant Tenant
		if err := tx.GetContext(ctx, &tenant, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, guest.TenantID); err != nil {
			return err
		}
		if _, err := s.associatedTenant(ctx, tx, inv.AccountID, tenant.TenantID, "token"); err != nil {
			return rule("token", "the invitation is unknown, expired or already accepted")
		}
		if err := s.Directory.SetPassword(ctx, tx, guest.ID, hash, false); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET status = 'accepted', accepted_at = $2 WHERE id = $1`, inv.ID, now); err != nil {
			return err
		}
		if err := insertMember(ctx, tx, inv.AccountID, "user_id", guest.ID, inv.RoleList, Principal{Kind: KindSystem, Name: "invitation"}, now); err != nil {
			if _, dup := uniqueViolation(err); !dup {
				return err
			}
		}
		signIn = guest.UserName + "@" + tenant.Domain
		actor := Principal{Kind: KindUser, ID: guest.ID, Name: signIn}
		return audit(ctx, tx, inv.AccountID, actor, now, "invitation.accept", "invitation:"+inv.Email, nil, map[string]any{"sign_in_name": signIn, "roles": inv.RoleList})
	})
	return signIn, err
}

// ExpireInvitations marks pending invitations past their expiry expired
// (the daily expire-invitations job); it returns how many.
func ExpireInvitations(ctx context.Context, database sqlx.ExecerContext, now time.Time) (int64, error) {
	result, err := database.ExecContext(ctx, `UPDATE invitations SET status = 'expired' WHERE status = 'pending' AND expires_at <= $1`, now)
	if err != nil {
		return 0, err
	}
	return result.RowsAffected()
}

// Self-service password reset limits.
const (
	// PasswordResetTTL is how long a self-service reset code stays valid.
	PasswordResetTTL = time.Hour
	// MaxPasswordResetsPerHour is how many reset codes one user is sent in
	// an hour; further requests send nothing (and answer the same). Three
	// covers a lost or slow mail twice; more only lets someone else flood
	// the user's mailbox and keep replacing the code the user is about to
	// use.
	MaxPasswordResetsPerHour = 3
)

// passwordResetLockClass is the first key of the two-key transaction
// advisory lock that serialises one user's reset requests ("prst" in
// ASCII); the second is hashtext of the user id.
const passwordResetLockClass int32 = 0x70727374

// RequestPasswordReset sends a single-use reset code to the recovery e-mail
// of the user signing in as signInName. A user has one live code: a new one
// revokes the earlier ones. After MaxPasswordResetsPerHour codes in the last
// hour it sends nothing. It says nothing about whether the user exists, has a
// recovery e-mail or was sent anything (no account enumeration), so it only
// fails on database errors.
func (s *Service) RequestPasswordReset(ctx context.Context, signInName string) error {
	userName, domain, err := splitSignInName("user_name", signInName)
	if err != nil {
		return nil
	}
	var mails []mail
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		tenant, err := s.Directory.TenantByDomain(ctx, tx, domain)
		if err != nil {
			return nil
		}
		user, err := s.Directory.UserByName(ctx, tx, tenant, userName)
		if err != nil || user.RecoveryEmail == nil || *user.RecoveryEmail == "" {
			return nil
		}
		now := s.now()
		// The count and the replacement are one step per user, so racing
		// requests can neither pass the limit nor leave two live codes.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, passwordResetLockClass, fmt.Sprint(user.ID)); err != nil {
			return err
		}
		var recent int
		if err := tx.GetContext(ctx, &recent, `SELECT count(*) FROM password_resets WHERE user_id = $1 AND created_at > $2`,
			user.ID, now.Add(-time.Hour)); err != nil {
			return err
		}
		if recent >= MaxPasswordResetsPerHour {
			return nil // the code already sent stays the live one
		}
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET revoked_at = $2 WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL`,
			user.ID, now); err != nil {
			return err
		}
		token := randomToken(32)
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			tokenHash(token), user.ID, now, now.Add(PasswordResetTTL)); err != nil {
			return err
		}
		body := "A password reset was requested for %s.\n\nComplete it by POST /v1/password-reset/complete with this code and a new password:\n\n    %s\n\nThe code works once, for one hour. If you did not ask for this, ignore this message.\n"
		m := mail{kind: "password-reset", to: *user.RecoveryEmail, subject: "Reset your payrun password",
			body: fmt.Sprintf(body, signInName, token), storedBody: fmt.Sprintf(body, signInName, "[redacted]")}
		if err := queueMail(ctx, tx, now, &m); err != nil {
			return err
		}
		mails = append(mails, m)
		return audit(ctx, tx, 0, Principal{Kind: KindUser, ID: user.ID, Name: signInName}, now, "user.request_password_reset", "user:"+signInName, nil, nil)
	})
	if err != nil {
		return err
	}
	return s.deliver(ctx, mails)
}

// CompletePasswordReset sets a new password with a reset code and revokes
// the user's tokens. The code works once; using it revokes every other code
// of the user still outstanding. It is checked (a sha256 probe) before the
// password is hashed, so a guessed code costs no argon2id work.
// Errors: ErrInvalid (password), ErrRule (code unknown, expired, used or
// replaced: the same answer for each), ErrRateLimited (no hashing slot).
func (s *Service) CompletePasswordReset(ctx context.Context, code, password string) error {
	if err := validatePassword("password", password); err != nil {
		return err
	}
	const live = `token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2`
	unknown := rule("code", "the reset code is unknown, expired or already used")
	var found bool
	if err := s.DB.GetContext(ctx, &found, `SELECT EXISTS (SELECT 1 FROM password_resets WHERE `+live+`)`, tokenHash(code), s.now()); err != nil {
		return err
	}
	if !found {
		return unknown
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.now()
		var userID int64
		err := tx.GetContext(ctx, &userID, `UPDATE password_resets SET used_at = $2 WHERE `+live+` RETURNING user_id`, tokenHash(code), now)
		if isNoRows(err) {
			return unknown
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET revoked_at = $2 WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL`,
			userID, now); err != nil {
			return err
		}
		if err := s.Directory.SetPassword(ctx, tx, userID, hash, false); err != nil {
			return err
		}
		if err := revokePrincipalTokens(ctx, tx, KindUser, userID, now); err != nil {
			return err
		}
		return audit(ctx, tx, 0, Principal{Kind: KindUser, ID: userID, Name: fmt.Sprint(userID)}, now, "user.password_reset", fmt.Sprintf("user:%d", userID), nil, nil)
	})
}
