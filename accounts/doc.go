// Package accounts owns a publisher account's settings and who may act on
// it (SPEC §7): account details and verification steps, contact information,
// the owner's personal sign-in identity, the directory (tenants, users,
// groups, apps and keys), roles and custom permission sets, invitations,
// agreements, principals (users, owner identities, apps, operators), sign-in
// and bearer tokens, and the audit log. It knows nothing about HTTP: package
// admin serves it.
//
// # Invariants
//
//   - Seller and publisher ids never change: UpdateAccount refuses (ErrImmutable)
//     and a trigger in the schema refuses any UPDATE that tries.
//   - Account status is derived: SetVerificationStep writes a step event and,
//     when "every required step passed" flips, an account_status_events row
//     (verified or back to pending). Individual accounts have no business step.
//     Suspended and closed are operator decisions that steps never override.
//   - Every change runs in one transaction that locks the account's row first
//     (one lock order, so no deadlocks) and writes its audit_log entry in the
//     same transaction: no change without its entry, no entry without its
//     change. Audit values pass through Redact: keys naming passwords,
//     secrets, tokens, hashes, TINs, IBANs or account numbers are replaced by
//     "[redacted]".
//   - Secrets are shown once and stored only as hashes: passwords and app key
//     secrets as argon2id (PHC strings with their parameters), bearer,
//     invitation and reset tokens (256 random bits) as sha256. Outbox rows keep
//     mail with the token replaced; only the delivered file carries it.
//   - A tenant belongs to at most one account at a time (account_tenants has
//     the tenant as primary key). A user's, group's or app's access to an
//     account is a row of account_members; removing a tenant deletes its rows
//     and revokes tokens issued through it in the same transaction, and
//     Authenticate re-checks membership and association on every request, so
//     access ends at once.
//   - Effective permissions = the union of the principal's own roles and
//     those of every group it belongs to, resolved on every request from
//     RoleTable (built-in roles) and permission_sets (custom sets). Custom
//     sets can only hold account permissions, never operator ones.
//   - The grant rule (grants.go, SPEC §7.8): a principal gives out only
//     permissions it holds (user, group and app roles, invitations and their
//     resends, a new user's groups, custom permission sets), acting on a
//     member as a whole (changing or removing its roles, deleting a group,
//     removing an app, managing an app's keys, resetting a user's password)
//     needs every permission the member has, and nobody changes their own
//     roles. Refusals are ErrForbidden with Error.Missing. payrun's own
//     actions (KindSystem) are trusted; the onboarding owner is the only
//     owner no owner granted.
//   - The owner identity is one per account and never linked to two accounts
//     (UNIQUE in the schema); financial details need it first (checked by
//     admin before calling the financial services).
//
// # Roles
//
// RoleTable is the single source of truth; package admin checks it and its
// authorisation-matrix test derives its expectations from it. GET /v1/roles
// serves it. As of writing:
//
//	owner                  every account permission
//	manager                every account permission except payout_account.*,
//	                       tax_profile.*, payment_hold.*, statements.read,
//	                       payouts.read and owner_identity.write ("everything
//	                       except tax and payout settings")
//	developer              account.read, agreements.read, offers.write,
//	                       reports.earnings.read, reports.read
//	business_contributor   account.read, agreements.read, payout_account.read,
//	                       tax_profile.read, payment_hold.read, statements.read,
//	                       reports.earnings.read, reports.read
//	financial_contributor  account.read, statements.read, payouts.read,
//	                       payout_account.*, tax_profile.*, payment_hold.*
//	marketer               reports.read
//	finance_viewer (op)    read: account, users, groups, apps, tenants,
//	                       agreements, payout account, tax profile, hold,
//	                       statements, payouts, reports, audit, cycles
//	finance_approver (op)  finance_viewer + cycles.approve
//	ops (op)               account/users/groups/apps/tenants/agreements/audit/
//	                       cycles read, tenants.write (onboarding),
//	                       agreements.publish, verification.write,
//	                       imports.write, payout_verification.write
//
// Three permissions no role grants describe callers instead: public (no
// token), self (any unrestricted token) and password.change (any token,
// including one restricted to changing a temporary password).
//
// # Principals and sign-in
//
// SignIn takes a name and a password; the name's form says who: a plain name
// is an operator, user@<tenant>.onmicrosoft.com a directory user (of the
// account its tenant is associated with, when the user or one of its groups is
// a member), any other address an owner's personal identity. Apps use
// ClientCredentials (client id + one active key). Tokens are valid for
// TokenTTL (60 minutes) and revocable. A temporary password (new user,
// reset, new operator, tenant administrator created by an operator) gives a
// restricted token.
//
// Sign-in limits (package admin adds per-address and per-name rate limits
// in front of these; see its ratelimit.go):
//
//   - Lockout: MaxFailedSignIns (5) failures of a name within LockoutWindow
//     (15 minutes) since its last success lock it until the oldest leaves
//     the window (ErrLockedOut with RetryAfter). The check and the record of
//     the attempt are one step, under a transaction advisory lock on the
//     name: the attempt is recorded as failed before its password is
//     checked and marked succeeded after, so however many requests race, at
//     most MaxFailedSignIns passwords are checked inside the window, and a
//     locked name is refused without hashing. Unknown names are locked the
//     same way and cost the same argon2id work as wrong passwords. The same
//     lockout guards ClientCredentials (per client id), ChangePassword and
//     AssociateTenant (the administrator's credentials).
//   - Hashing: every argon2id hash or check on a request path (sign-in,
//     client credentials, password change, invitation accept, reset
//     complete, new users' and tenants' passwords, app keys, the owner
//     identity; not the CLI's CreateOperator) takes a slot of a Hashing: one
//     per CPU, process-wide unless Service.Hashing says otherwise. Each
//     holds 19 MiB, so hashing memory stays under NumCPU × 19 MiB however
//     many guesses arrive. A request that waits HashWait (1 s) without a
//     slot gets ErrRateLimited (RetryAfter 1 s); a refused sign-in does not
//     count towards the lockout (nothing was checked).
//   - Password reset: a user has one live code (PasswordResetTTL, an hour).
//     A request revokes the earlier code before inserting its own, a code
//     works once and completing a reset revokes every other code of the
//     user (a partial unique index in the schema allows one live code per
//     user). At most MaxPasswordResetsPerHour (3) codes are sent per user an
//     hour, counted in the database under a per-user advisory lock; further
//     requests send nothing and answer exactly like an unknown name. Reset
//     codes and invitation tokens are checked (a sha256 probe) before the
//     new password is hashed, so guessing them costs no argon2id work.
//
// # Directory
//
// Directory is the identity directory behind a small interface;
// PostgresDirectory is the built-in one, in the same database, joining the
// caller's transaction. A tenant synchronised from an on-premises directory
// refuses new users, groups and apps. Removing a user, group or app from an
// account ends its access; the directory object stays (other systems may use
// it).
//
// # Decisions where SPEC §7 is silent
//
//   - Creating the first tenant of an account with no users (operator
//     onboarding) gives its global administrator the owner role.
//   - Creating users, inviting, resending invitations, resetting passwords and
//     renaming users need a global administrator of the user's tenant signed in
//     through it (ErrForbidden otherwise); groups and apps do not.
//   - A new user gets a temporary password (returned once). An invited guest
//     sets a password when accepting. Self-service reset mails a single-use
//     code valid for an hour to the recovery e-mail and never says whether the
//     name exists.
//   - Agreements: only the newest version can be accepted; accepting it covers
//     older ones (AgreementsHold).
//   - Reply URLs must be https (http only for localhost); reply URLs and
//     app-ID URIs are unique per tenant directory.
//   - Removing an app key does not revoke tokens already issued with it (they
//     expire within 60 minutes); removing the app does.
//
// # Failure modes
//
// Every error callers act on is an *Error with a Kind (errors.Is against
// ErrInvalid, ErrRule, ErrConflict, ErrImmutable, ErrStale, ErrNotFound,
// ErrForbidden, ErrUnauthenticated, ErrLockedOut, ErrPreconditionRequired,
// ErrRateLimited)
// and the JSON name of the field at fault. Mail files are written after the
// transaction commits; if writing fails the change stands, the outbox row has
// no file_name and the invitation can be resent. There is no SMTP sender:
// mail goes to the outbox table and to files under OutDir/outbox.
package accounts
