package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)} }
func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

type fixture struct {
	svc     *Service
	clock   *clock
	account ledger.Account
	tenant  Tenant
	admin   Principal // global administrator with the owner role, signed in through tenant
}

func newFixture(t *testing.T, accountType ledger.AccountType) fixture {
	t.Helper()
	database := dbtest.New(t)
	c := newClock()
	svc := New(database, c.now, t.TempDir())
	ctx := context.Background()
	account, err := ledger.CreateAccount(ctx, database, ledger.NewAccount{Type: accountType, RegistrationCountry: "US", DisplayName: "Contoso"}, c.now())
	require.NoError(t, err)
	ops := Principal{Kind: KindOperator, ID: 1, Name: "ops"}
	tenant, err := svc.CreateTenant(ctx, ops, account.ID, CreateTenantRequest{
		DomainName: "contoso", Organization: "Contoso Ltd", ContactEmail: "it@contoso.example",
		AdminFirstName: "Ada", AdminLastName: "Admin", AdminUserName: "ada", AdminPassword: "correct horse battery",
	})
	require.NoError(t, err)
	admin, err := svc.Directory.UserByName(ctx, database, tenant, "ada")
	require.NoError(t, err)
	return fixture{svc: svc, clock: c, account: account, tenant: tenant,
		admin: Principal{Kind: KindUser, ID: admin.ID, Name: "ada@contoso.onmicrosoft.com", AccountID: account.ID, TenantID: tenant.ID, GlobalAdmin: true,
			Permissions: RolePermissions(RoleOwner)}}
}

func TestAgreementsHold(t *testing.T) {
	t.Parallel()
	cutoff := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	v := func(version int, published time.Time, required bool, grace int) AgreementVersion {
		return AgreementVersion{Name: "publisher", Version: version, PublishedAt: published, RequiredForPayout: required, GraceDays: grace}
	}
	acc := func(version int, at time.Time) Acceptance {
		return Acceptance{Name: "publisher", Version: version, AcceptedAt: at, AcceptedBy: "user:x"}
	}
	march1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		versions []AgreementVersion
		accepted []Acceptance
		want     bool
	}{
		{"nothing published", nil, nil, false},
		{"not required for payout", []AgreementVersion{v(1, march1, false, 0)}, nil, false},
		{"required, unaccepted, grace over", []AgreementVersion{v(1, march1, true, 10)}, nil, true},
		{"grace ends one day before the cutoff", []AgreementVersion{v(1, march1, true, 30)}, nil, true},
		{"grace ends exactly at the cutoff: still running as of the cutoff", []AgreementVersion{v(1, march1, true, 31)}, nil, false},
		{"grace ends one day after the cutoff", []AgreementVersion{v(1, march1, true, 32)}, nil, false},
		{"accepted before the cutoff", []AgreementVersion{v(1, march1, true, 0)}, []Acceptance{acc(1, march1.Add(time.Hour))}, false},
		{"accepted exactly at the cutoff is too late", []AgreementVersion{v(1, march1, true, 0)}, []Acceptance{acc(1, cutoff)}, true},
		{"accepted after the cutoff", []AgreementVersion{v(1, march1, true, 0)}, []Acceptance{acc(1, cutoff.Add(time.Second))}, true},
		{"a later version accepted covers an earlier one", []AgreementVersion{v(1, march1, true, 0), v(2, march1.Add(time.Hour), false, 0)}, []Acceptance{acc(2, march1.Add(2*time.Hour))}, false},
		{"an earlier version accepted does not cover a later one", []AgreementVersion{v(1, march1, true, 0), v(2, march1.AddDate(0, 0, 5), true, 3)}, []Acceptance{acc(1, march1.Add(time.Hour))}, true},
		{"other agreement's acceptance does not count", []AgreementVersion{v(1, march1, true, 0)}, []Acceptance{{Name: "privacy", Version: 5, AcceptedAt: march1}}, true},
		{"published after the cutoff", []AgreementVersion{v(1, cutoff.Add(time.Hour), true, 0)}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, AgreementsHold(tt.versions, tt.accepted, cutoff))
		})
	}
}

// SPEC §3.2, §7.10: a change at exactly the cutoff or later counts from the
// next cycle. Publication and the end of the grace period, each at the
// cutoff −1 s, at the cutoff and +1 s; an unaccepted required version holds
// only when its grace ended strictly before the cutoff. The close decides
// with this same function (payout/store TestAgreementBoundariesThroughTheClose).
func TestAgreementsHoldAtTheCutoff(t *testing.T) {
	t.Parallel()
	cutoff := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const grace = 14
	graceDays := grace * 24 * time.Hour
	tests := []struct {
		name      string
		published time.Time
		grace     int
		want      bool
	}{
		{"published 1 s before the cutoff, no grace", cutoff.Add(-time.Second), 0, true},
		{"published at the cutoff, no grace", cutoff, 0, false},
		{"published 1 s after the cutoff, no grace", cutoff.Add(time.Second), 0, false},
		{"grace ends 1 s before the cutoff", cutoff.Add(-graceDays - time.Second), grace, true},
		{"grace ends at the cutoff", cutoff.Add(-graceDays), grace, false},
		{"grace ends 1 s after the cutoff", cutoff.Add(-graceDays + time.Second), grace, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version := AgreementVersion{Name: "publisher", Version: 2, PublishedAt: tt.published, RequiredForPayout: true, GraceDays: tt.grace}
			require.Equal(t, tt.want, AgreementsHold([]AgreementVersion{version}, nil, cutoff), "unaccepted")
			// The same instant in another location is the same fact.
			local := version
			local.PublishedAt = tt.published.In(time.FixedZone("UTC-5", -5*3600))
			require.Equal(t, tt.want, AgreementsHold([]AgreementVersion{local}, nil, cutoff), "published_at in another location")
			// Accepted 1 s before the cutoff never holds; at the cutoff it
			// is too late for this cycle.
			accepted := func(at time.Time) []Acceptance {
				return []Acceptance{{Name: "publisher", Version: 2, AcceptedAt: at, AcceptedBy: "user:x"}}
			}
			require.False(t, AgreementsHold([]AgreementVersion{version}, accepted(cutoff.Add(-time.Second)), cutoff), "accepted before the cutoff")
			require.Equal(t, tt.want, AgreementsHold([]AgreementVersion{version}, accepted(cutoff), cutoff), "accepted at the cutoff")
			// The next cycle: every one of them holds if still unaccepted,
			// and an acceptance made at this cutoff counts there.
			next := cutoff.AddDate(0, 1, 0)
			require.True(t, AgreementsHold([]AgreementVersion{version}, nil, next), "next cycle, never accepted")
			require.False(t, AgreementsHold([]AgreementVersion{version}, accepted(cutoff), next), "next cycle, accepted at this cutoff")
		})
	}
}

func TestParseEmailList(t *testing.T) {
	t.Parallel()
	got, err := ParseEmailList("emails", "a@x.example; b@x.example, A@x.example")
	require.NoError(t, err)
	require.Equal(t, []string{"a@x.example", "b@x.example"}, got)
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, strings.Repeat("u", i+1)+"@x.example")
	}
	_, err = ParseEmailList("emails", strings.Join(eleven, ","))
	require.Equal(t, KindInvalid, kindOf(err))
	_, err = ParseEmailList("emails", "not-an-address")
	require.Equal(t, KindInvalid, kindOf(err))
	_, err = ParseEmailList("emails", " ; , ")
	require.Equal(t, KindInvalid, kindOf(err))
}

func TestSecretHashing(t *testing.T) {
	t.Parallel()
	hash := hashSecret("s3cret-password")
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"))
	require.True(t, verifySecret(hash, "s3cret-password"))
	require.False(t, verifySecret(hash, "s3cret-passwore"))
	require.False(t, verifySecret("$argon2id$garbage", "x"))
	require.NotEqual(t, hash, hashSecret("s3cret-password"), "salted")
	require.Len(t, newTemporaryPassword(), 20)
}

func TestRedact(t *testing.T) {
	t.Parallel()
	got := Redact(map[string]any{"password": "p", "admin_password": "p", "nested": []any{map[string]any{"secret": "s", "key_id": "k"}},
		"tin_last4": "1234", "name": "n", "access_token": "t"})
	require.Equal(t, map[string]any{"password": "[redacted]", "admin_password": "[redacted]", "nested": []any{map[string]any{"secret": "[redacted]", "key_id": "k"}},
		"tin_last4": "1234", "name": "n", "access_token": "[redacted]"}, got)
}

func TestVerificationStepsDeriveStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		accountType ledger.AccountType
		steps       []Step
	}{
		{ledger.Company, []Step{StepEmail, StepEmployment, StepBusiness}},
		{ledger.Individual, []Step{StepEmail, StepEmployment}},
	} {
		t.Run(string(tt.accountType), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.accountType)
			details, err := f.svc.AccountDetails(ctx, f.account.ID)
			require.NoError(t, err)
			require.Equal(t, StatusPending, details.Status)
			require.Len(t, details.Steps, len(tt.steps))
			ops := Principal{Kind: KindOperator, Name: "ops"}
			for i, step := range tt.steps {
				f.clock.advance(time.Minute)
				details, err = f.svc.SetVerificationStep(ctx, ops, f.account.ID, step, StatePassed)
				require.NoError(t, err)
				if i < len(tt.steps)-1 {
					require.Equal(t, StatusPending, details.Status)
				}
			}
			require.Equal(t, StatusVerified, details.Status)
			var events int
			require.NoError(t, f.svc.DB.Get(&events, `SELECT count(*) FROM account_status_events WHERE account_id = $1`, f.account.ID))
			require.Equal(t, 1, events, "one event when the status changed, none before")
			// A failed step takes the status back to pending.
			f.clock.advance(time.Minute)
			details, err = f.svc.SetVerificationStep(ctx, ops, f.account.ID, StepEmail, StateFailed)
			require.NoError(t, err)
			require.Equal(t, StatusPending, details.Status)
			if tt.accountType == ledger.Individual {
				_, err = f.svc.SetVerificationStep(ctx, ops, f.account.ID, StepBusiness, StatePassed)
				require.Equal(t, KindRule, kindOf(err))
			}
		})
	}
}

func TestUpdateAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, ledger.Company)
	update := AccountUpdate{DisplayName: "Contoso Games", SellerContact: &Contact{Name: "Sam", Email: "sam@contoso.example", Phone: "+14255550100",
		Address: &Address{Line1: "1 Main St", City: "Redmond", Country: "US"}}, CompanyApprover: &Approver{Name: "Pat", Email: "pat@contoso.example"}}
	details, err := f.svc.UpdateAccount(ctx, f.admin, f.account.ID, "0", update)
	require.NoError(t, err)
	require.Equal(t, "1", details.Version)
	require.Equal(t, "Contoso Games", details.DisplayName)

	_, err = f.svc.UpdateAccount(ctx, f.admin, f.account.ID, "0", update)
	require.Equal(t, KindStale, kindOf(err), "a stale version never overwrites")

	changed := update
	changed.SellerID = "S999"
	_, err = f.svc.UpdateAccount(ctx, f.admin, f.account.ID, "1", changed)
	require.Equal(t, KindImmutable, kindOf(err))
	require.Equal(t, "seller_id", err.(*Error).Field)

	bad := update
	bad.SellerContact = &Contact{Name: "Sam", Email: "sam@contoso.example", Phone: "425-555-0100"}
	_, err = f.svc.UpdateAccount(ctx, f.admin, f.account.ID, "1", bad)
	require.Equal(t, KindInvalid, kindOf(err))
	require.Equal(t, "seller_contact.phone", err.(*Error).Field)

	// The database refuses id changes too, whoever tries.
	_, err = f.svc.DB.Exec(`UPDATE accounts SET seller_id = 'X1' WHERE id = $1`, f.account.ID)
	require.Error(t, err)

	// The one-query read (the API's hot path) says exactly what the
	// step-by-step read inside updates says.
	_, err = f.svc.DB.Exec(`INSERT INTO verification_step_events (account_id, step, state, at, actor) VALUES
		($1, 'email', 'pending', $2, 'x'), ($1, 'email', 'passed', $3, 'x'), ($1, 'business', 'failed', $3, 'x')`,
		f.account.ID, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 9, 30, 0, 123000, time.UTC))
	require.NoError(t, err)
	require.NoError(t, f.svc.LinkOwnerIdentity(ctx, f.admin, f.account.ID, "owner@contoso.example", "owner personal passphrase"))
	fast, err := f.svc.AccountDetails(ctx, f.account.ID)
	require.NoError(t, err)
	slow, err := accountDetails(ctx, f.svc.DB, f.account.ID, false)
	require.NoError(t, err)
	fastJSON, err := json.Marshal(fast)
	require.NoError(t, err)
	slowJSON, err := json.Marshal(slow)
	require.NoError(t, err)
	require.JSONEq(t, string(slowJSON), string(fastJSON))
	require.Equal(t, slow.Version, fast.Version)
	require.True(t, fast.OwnerIdentityLinked)
	require.NotEmpty(t, fast.Tenants)
	_, err = f.svc.AccountDetails(ctx, 987654)
	require.Equal(t, KindNotFound, kindOf(err))
}

func TestOwnerIdentityIsNotShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, ledger.Company)
	require.NoError(t, f.svc.LinkOwnerIdentity(ctx, f.admin, f.account.ID, "Owner@Example.com", "owner password 1"))
	other, err := ledger.CreateAccount(ctx, f.svc.DB, ledger.NewAccount{Type: ledger.Individual, RegistrationCountry: "DE"}, f.clock.now())
	require.NoError(t, err)
	err = f.svc.LinkOwnerIdentity(ctx, f.admin, other.ID, "owner@example.com", "owner password 1")
	require.Equal(t, KindConflict, kindOf(err))
	linked, err := f.svc.OwnerIdentityLinked(ctx, other.ID)
	require.NoError(t, err)
	require.False(t, linked)
	grant, err := f.svc.SignIn(ctx, "owner@example.com", "owner password 1")
	require.NoError(t, err)
	p, err := f.svc.Authenticate(ctx, grant.AccessToken)
	require.NoError(t, err)
	require.Equal(t, KindOwner, p.Kind)
	require.True(t, p.Permissions.Has(PermPayoutAccountWrite))
}

func TestSignInLockoutAndTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, ledger.Company)
	name := "ada@contoso.onmicrosoft.com"
	grant, err := f.svc.SignIn(ctx, name, "correct horse battery")
	require.NoError(t, err)
	p, err := f.svc.Authenticate(ctx, grant.AccessToken)
	require.NoError(t, err)
	require.True(t, p.Permissions.Has(PermUsersWrite), "the bootstrap administrator is the owner")
	require.True(t, p.Restricted, "an operator-created administrator must change the password")

	for range MaxFailedSignIns {
		_, err = f.svc.SignIn(ctx, name, "wrong password!!")
		require.Equal(t, KindUnauthenticated, kindOf(err))
	}
	_, err = f.svc.SignIn(ctx, name, "correct horse battery")
	require.Equal(t, KindLockedOut, kindOf(err), "locked even with the right password")
	require.Equal(t, LockoutWindow, err.(*Error).RetryAfter)
	f.clock.advance(LockoutWindow)
	_, err = f.svc.SignIn(ctx, name, "correct horse battery")
	require.NoError(t, err)

	f.clock.advance(TokenTTL)
	_, err = f.svc.Authenticate(ctx, grant.AccessToken)
	require.Equal(t, KindUnauthenticated, kindOf(err), "tokens expire after 60 minutes")

	_, err = f.svc.SignIn(ctx, "nobody@contoso.onmicrosoft.com", "whatever password")
	require.Equal(t, KindUnauthenticated, kindOf(err))
}

func TestCreateOperator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, ledger.Company)
	op, password, err := CreateOperator(ctx, f.svc.DB, NewOperator{UserName: "fin", Roles: []Role{RoleFinanceViewer}}, f.clock.now())
	require.NoError(t, err)
	require.Equal(t, "fin", op.UserName)
	_, _, err = CreateOperator(ctx, f.svc.DB, NewOperator{UserName: "fin", Roles: []Role{RoleOps}}, f.clock.now())
	require.Equal(t, KindConflict, kindOf(err))
	_, _, err = CreateOperator(ctx, f.svc.DB, NewOperator{UserName: "bad", Roles: []Role{RoleOwner}}, f.clock.now())
	require.Equal(t, KindInvalid, kindOf(err))
	grant, err := f.svc.SignIn(ctx, "fin", password)
	require.NoError(t, err)
	require.True(t, grant.Restricted)
	p, err := f.svc.Authenticate(ctx, grant.AccessToken)
	require.NoError(t, err)
	require.NoError(t, f.svc.ChangePassword(ctx, p, password, "a brand new password"))
	_, err = f.svc.Authenticate(ctx, grant.AccessToken)
	require.Error(t, err, "changing the password revokes tokens")
	grant, err = f.svc.SignIn(ctx, "fin", "a brand new password")
	require.NoError(t, err)
	require.False(t, grant.Restricted)
}

func TestRoleTable(t *testing.T) {
	t.Parallel()
	manager := RolePermissions(RoleManager)
	owner := RolePermissions(RoleOwner)
	for _, p := range financialPermissions {
		require.False(t, manager.Has(p), "manager must not have %s", p)
		require.True(t, owner.Has(p))
	}
	require.True(t, manager.Has(PermUsersWrite) && manager.Has(PermTenantsWrite) && manager.Has(PermAuditRead))
	require.False(t, RolePermissions(RoleBusinessContributor).Has(PermPayoutAccountWrite))
	require.True(t, RolePermissions(RoleFinancialContributor).Has(PermPayoutAccountWrite))
	require.Equal(t, []Permission{PermReportsRead}, RolePermissions(RoleMarketer).Sorted())
	for _, r := range RoleTable {
		for _, p := range r.Permissions {
			if !r.Operator {
				require.Contains(t, accountPermissions, p, "%s grants a non-account permission", r.Name)
			}
		}
	}
}
