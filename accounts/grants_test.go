package accounts

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
)

// grantWorld is one account with a pool of directory users, groups and apps
// that random principals grant to one another.
type grantWorld struct {
	t      *testing.T
	f      fixture
	rng    *rand.Rand
	users  []DirectoryUser // every directory user of the tenant (ada first)
	groups []int64         // directory groups created so far
	apps   []string        // client ids of apps created so far
	sets   []string        // custom permission sets defined so far
	// granters[key] is the union of the permissions of every principal that
	// gave key something: roles, a group's roles, membership of a group. The
	// root, ada, is the onboarding owner.
	granters map[string]PermissionSet
	// keyed are the apps whose key some principal holds (they can act).
	keyed map[string]bool
	steps []string
}

func (w *grantWorld) addGranter(key string, p PermissionSet) {
	if w.granters[key] == nil {
		w.granters[key] = PermissionSet{}
	}
	for perm := range p {
		w.granters[key][perm] = true
	}
}

// actors are the principals that can act: users with access, and apps whose
// key is held.
func (w *grantWorld) actors() []Principal {
	ctx := context.Background()
	var out []Principal
	for _, u := range w.users {
		perms, err := userPermissions(ctx, w.f.svc.DB, w.f.account.ID, u.ID)
		require.NoError(w.t, err)
		if len(perms) == 0 {
			continue
		}
		out = append(out, Principal{Kind: KindUser, ID: u.ID, Name: u.UserName, AccountID: w.f.account.ID, TenantID: w.f.tenant.ID,
			GlobalAdmin: u.GlobalAdmin, Permissions: perms})
	}
	for _, clientID := range w.apps {
		if !w.keyed[clientID] {
			continue
		}
		app, err := appMember(ctx, w.f.svc.DB, w.f.account.ID, clientID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		require.NoError(w.t, err)
		perms, err := memberPermissions(ctx, w.f.svc.DB, w.f.account.ID, app.RoleList)
		require.NoError(w.t, err)
		out = append(out, Principal{Kind: KindApp, ID: app.AppID, Name: clientID, AccountID: w.f.account.ID, Permissions: perms})
	}
	return out
}

var grantableRoleNames = []Role{RoleOwner, RoleManager, RoleDeveloper, RoleBusinessContributor, RoleFinancialContributor, RoleMarketer}

func (w *grantWorld) roles() []Role {
	pool := append(slicesClone(grantableRoleNames), rolesOfStrings(w.sets)...)
	n := 1 + w.rng.IntN(2)
	out := make([]Role, n)
	for i := range out {
		out[i] = pool[w.rng.IntN(len(pool))]
	}
	return out
}

func slicesClone(r []Role) []Role { return append([]Role(nil), r...) }

func rolesOfStrings(s []string) []Role {
	out := make([]Role, len(s))
	for i, x := range s {
		out[i] = Role(x)
	}
	return out
}

func (w *grantWorld) user() DirectoryUser { return w.users[w.rng.IntN(len(w.users))] }

// step lets a random actor try a random grant. Refusals are fine; every
// success is recorded in the model.
func (w *grantWorld) step(i int) {
	ctx := context.Background()
	svc, accountID := w.f.svc, w.f.account.ID
	actors := w.actors()
	if len(actors) == 0 {
		return
	}
	a := actors[w.rng.IntN(len(actors))]
	roles := w.roles()
	var err error
	var what string
	switch w.rng.IntN(9) {
	case 0: // give an existing directory user access
		u := w.user()
		what = fmt.Sprintf("add user %s %v", u.UserName, roles)
		if _, err = svc.AddExistingUsers(ctx, a, accountID, []string{u.UserName + "@contoso.onmicrosoft.com"}, roles); err == nil {
			w.addGranter(fmt.Sprint("user:", u.ID), a.Permissions)
		}
	case 1: // change a user's roles (possibly its own)
		u := w.user()
		if w.rng.IntN(3) == 0 && a.Kind == KindUser {
			u = DirectoryUser{ID: a.ID, UserName: a.Name}
		}
		what = fmt.Sprintf("set roles of %s to %v", u.UserName, roles)
		m, getErr := svc.User(ctx, accountID, u.ID)
		if getErr != nil {
			return
		}
		if _, err = svc.UpdateUser(ctx, a, accountID, u.ID, m.Version, UserUpdate{FirstName: m.FirstName, LastName: m.LastName, Roles: roles}); err == nil {
			w.addGranter(fmt.Sprint("user:", u.ID), a.Permissions)
		}
	case 2: // create a group with members
		var members []int64
		for range 1 + w.rng.IntN(2) {
			members = append(members, w.user().ID)
		}
		what = fmt.Sprintf("create group with %v %v", members, roles)
		var g GroupMember
		if g, err = svc.CreateGroup(ctx, a, accountID, w.f.tenant.TenantID, fmt.Sprintf("group %d", i), members, roles); err == nil {
			w.groups = append(w.groups, g.ID)
			w.addGranter(fmt.Sprint("group:", g.ID), a.Permissions)
			for _, id := range members {
				w.addGranter(fmt.Sprint("user:", id), a.Permissions)
			}
		}
	case 3: // register an app
		what = fmt.Sprintf("create app %v", roles)
		var app AppMember
		if app, err = svc.CreateApp(ctx, a, accountID, NewAccountApp{TenantID: w.f.tenant.TenantID, DisplayName: fmt.Sprintf("app %d", i),
			ReplyURL: fmt.Sprintf("https://app%d.example.com/cb", i), AppIDURI: fmt.Sprintf("api://app%d", i), Roles: roles}); err == nil {
			w.apps = append(w.apps, app.ClientID)
			w.addGranter("app:"+app.ClientID, a.Permissions)
		}
	case 4: // take an app's key: act as the app from now on
		if len(w.apps) == 0 {
			return
		}
		clientID := w.apps[w.rng.IntN(len(w.apps))]
		what = "add key to " + clientID
		if _, _, err = svc.AddKey(ctx, a, accountID, clientID, 30); err == nil {
			w.keyed[clientID] = true
			app, getErr := appMember(ctx, svc.DB, accountID, clientID)
			require.NoError(w.t, getErr)
			held, getErr := memberPermissions(ctx, svc.DB, accountID, app.RoleList)
			require.NoError(w.t, getErr)
			require.Empty(w.t, missingFrom(a.Permissions, held), "%s took the credentials of app %s, which holds more than it", a.Actor(), clientID)
		}
	case 5: // reset a user's password: the temporary password is that user's credential
		u := w.user()
		what = "reset password of " + u.UserName
		if _, err = svc.ResetPassword(ctx, a, accountID, u.ID); err == nil {
			held, getErr := userPermissions(ctx, svc.DB, accountID, u.ID)
			require.NoError(w.t, getErr)
			require.Empty(w.t, missingFrom(a.Permissions, held), "%s took the credentials of %s, who holds more than it", a.Actor(), u.UserName)
		}
	case 6: // define a custom permission set
		perms := []Permission{accountPermissions[w.rng.IntN(len(accountPermissions))], accountPermissions[w.rng.IntN(len(accountPermissions))]}
		name := fmt.Sprintf("set_%d", i)
		what = fmt.Sprintf("define %s %v", name, perms)
		if _, err = svc.CreatePermissionSet(ctx, a, accountID, name, perms); err == nil {
			w.sets = append(w.sets, name)
			// The set grants nothing until assigned, and whoever assigns
			// it is checked then; but its definer vouched for it.
			for _, p := range perms {
				require.True(w.t, a.Permissions.Has(p), "%s defined %s with %s, which it lacks", a.Actor(), name, p)
			}
		}
	case 7: // give an existing directory group access
		if len(w.groups) == 0 {
			return
		}
		id := w.groups[w.rng.IntN(len(w.groups))]
		g, getErr := svc.Directory.Group(ctx, svc.DB, id)
		require.NoError(w.t, getErr)
		what = fmt.Sprintf("add existing group %s %v", g.DisplayName, roles)
		if _, err = svc.AddExistingGroup(ctx, a, accountID, w.f.tenant.TenantID, g.DisplayName, roles); err == nil {
			w.addGranter(fmt.Sprint("group:", id), a.Permissions)
		}
	case 8: // remove a user
		u := w.user()
		what = "remove " + u.UserName
		err = svc.RemoveUsers(ctx, a, accountID, []int64{u.ID})
	}
	outcome := "ok"
	if err != nil {
		var domain *Error
		require.True(w.t, errors.As(err, &domain), "%s: %s: not a domain error: %v", a.Actor(), what, err)
		outcome = domain.Error()
	}
	w.steps = append(w.steps, fmt.Sprintf("%d. %s (%v): %s -> %s", i, a.Actor(), a.Permissions.Sorted(), what, outcome))
}

// check: no principal's effective permissions exceed the union of what its
// granters held (for a user: its own grants and those of its groups).
func (w *grantWorld) check() {
	ctx := context.Background()
	for _, u := range w.users {
		perms, err := userPermissions(ctx, w.f.svc.DB, w.f.account.ID, u.ID)
		require.NoError(w.t, err)
		allowed := PermissionSet{}
		for p := range w.granters[fmt.Sprint("user:", u.ID)] {
			allowed[p] = true
		}
		var groupIDs []int64
		require.NoError(w.t, w.f.svc.DB.Select(&groupIDs, `SELECT group_id FROM directory_group_members WHERE user_id = $1`, u.ID))
		for _, g := range groupIDs {
			for p := range w.granters[fmt.Sprint("group:", g)] {
				allowed[p] = true
			}
		}
		require.Empty(w.t, missingFrom(allowed, perms), "user %s holds more than its granters held", u.UserName)
	}
	for _, clientID := range w.apps {
		app, err := appMember(ctx, w.f.svc.DB, w.f.account.ID, clientID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		require.NoError(w.t, err)
		perms, err := memberPermissions(ctx, w.f.svc.DB, w.f.account.ID, app.RoleList)
		require.NoError(w.t, err)
		require.Empty(w.t, missingFrom(w.granters["app:"+clientID], perms), "app %s holds more than its granters held", clientID)
	}
}

// TestGrantsNeverExceedTheGranters is the grant rule's property test: after
// any sequence of grants by any principal (users, apps acting with a key
// they were given, through every grant path), no principal's effective
// permissions exceed the union of what its granters held, and nobody takes
// the credentials of a principal holding more than itself. A failure prints
// the seed and the steps.
func TestGrantsNeverExceedTheGranters(t *testing.T) {
	t.Parallel()
	const seeds, steps = 12, 40
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			f := newFixture(t, ledger.Company)
			ctx := context.Background()
			ada, err := f.svc.Directory.UserByName(ctx, f.svc.DB, f.tenant, "ada")
			require.NoError(t, err)
			w := &grantWorld{t: t, f: f, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), users: []DirectoryUser{ada},
				granters: map[string]PermissionSet{fmt.Sprint("user:", ada.ID): RolePermissions(RoleOwner)}, keyed: map[string]bool{}}
			for i, name := range []string{"bo", "cy", "di", "ed"} {
				u, err := f.svc.Directory.CreateUser(ctx, f.svc.DB, f.tenant, NewDirectoryUser{UserName: name, FirstName: "U", LastName: name,
					GlobalAdmin: i%2 == 0, PasswordHash: "$argon2id$unused"}, f.clock.now())
				require.NoError(t, err)
				w.users = append(w.users, u)
			}
			// Ada hands out a few starting roles, so that lesser principals act too.
			for i, role := range []Role{RoleManager, RoleDeveloper, RoleFinancialContributor} {
				_, err := f.svc.AddExistingUsers(ctx, f.admin, f.account.ID, []string{w.users[i+1].UserName + "@contoso.onmicrosoft.com"}, []Role{role})
				require.NoError(t, err)
				w.addGranter(fmt.Sprint("user:", w.users[i+1].ID), f.admin.Permissions)
			}
			defer func() {
				if t.Failed() {
					for _, s := range w.steps {
						t.Log(s)
					}
					t.Logf("seed %d", seed)
				}
			}()
			for i := range steps {
				w.step(i)
				w.check()
			}
		})
	}
}
