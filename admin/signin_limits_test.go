package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
)

// race sends every request at the same moment (after all goroutines are
// ready) and returns the answers in the order of reqs.
func (e *env) race(reqs []map[string]any, path string) []response {
	e.t.Helper()
	out := make([]response, len(reqs))
	errs := make([]error, len(reqs))
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i, body := range reqs {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i], errs[i] = post(http.DefaultClient, e.http.URL+path, body)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	for _, err := range errs {
		require.NoError(e.t, err)
	}
	return out
}

// post sends a JSON body without a token (safe off the test's goroutine:
// it returns errors instead of failing the test).
func post(client *http.Client, url string, body any) (response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return response{}, err
	}
	res, err := client.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header}
	if r.raw, err = io.ReadAll(res.Body); err != nil {
		return response{}, err
	}
	if len(r.raw) > 0 && r.raw[0] == '{' {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			return response{}, err
		}
	}
	return r, nil
}

func passwordGrant(name, password string) map[string]any {
	return map[string]any{"grant_type": "password", "username": name, "password": password}
}

// requireRetryLater checks a 429 problem with a Retry-After of whole seconds.
func requireRetryLater(t *testing.T, r response) int {
	t.Helper()
	requireProblem(t, r, http.StatusTooManyRequests, "")
	seconds, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", r.header.Get("Retry-After"))
	require.Positive(t, seconds)
	return seconds
}

// TestSignInLockoutHoldsUnderConcurrentRequests: 60 sign-ins racing on one
// name cannot get more than MaxFailedSignIns passwords checked inside the
// lockout window (the count and the record of an attempt are one step), and
// once the name is locked no request of a race gets a token, not even the
// right password sent last. Before the fix every racing request read the
// count before any had recorded its failure, and the right password, sent
// last, got 200.
func TestSignInLockoutHoldsUnderConcurrentRequests(t *testing.T) {
	t.Parallel()
	const racers = 60
	e := newEnv(t, func(s *admin.Server) {
		// The per-name rate limit would refuse most of the race before it
		// reached the lockout: this test is about the lockout.
		s.DisableRateLimitsForTest()
		// Hashing stays bounded (no 60 × 19 MiB), but nobody gives up
		// waiting: every request that gets past the lockout is checked.
		s.Service().Hashing = accounts.NewHashing(runtime.NumCPU(), time.Minute)
	})
	const ada = "ada@contoso.onmicrosoft.com"

	wrong := make([]map[string]any, racers)
	for i := range wrong {
		wrong[i] = passwordGrant(ada, fmt.Sprintf("wrong password %d", i))
	}
	checked := 0
	for _, r := range e.race(wrong, "/v1/token") {
		switch r.status {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			requireRetryLater(t, r)
		default:
			t.Fatalf("unexpected answer %d: %s", r.status, r.raw)
		}
	}
	require.Equal(t, accounts.MaxFailedSignIns, checked, "passwords checked inside the window")
	var recorded int
	require.NoError(t, e.db.Get(&recorded, `SELECT count(*) FROM sign_in_attempts WHERE subject = $1 AND NOT succeeded`, ada))
	require.Equal(t, accounts.MaxFailedSignIns, recorded)

	// The name is locked: a race with the right password last gets no token.
	reqs := append(wrong[:racers-1:racers-1], passwordGrant(ada, adminPassword))
	for i, r := range e.race(reqs, "/v1/token") {
		require.NotEqual(t, http.StatusOK, r.status, "request %d got a token from a locked name", i)
		require.Equal(t, "900", r.header.Get("Retry-After"), string(r.raw))
		requireRetryLater(t, r)
	}
	requireRetryLater(t, e.do("POST", "/v1/token", "", passwordGrant(ada, adminPassword)))

	// The lock ends with the window.
	e.clock.advance(accounts.LockoutWindow)
	e.signIn(ada, adminPassword)
}

// TestPasswordHashingIsBoundedAndAnswers429: every argon2id hash or check on
// a request path takes a slot of the service's Hashing; with every slot
// busy a request waits briefly, then gets 429 with Retry-After, instead of
// adding its 19 MiB to the pile (100 concurrent bad sign-ins once added
// 1.4 GB). A refused sign-in does not count towards the lockout, and a
// guessed reset code or invitation token costs no hashing at all.
func TestPasswordHashingIsBoundedAndAnswers429(t *testing.T) {
	t.Parallel()
	const wait = 200 * time.Millisecond
	hashing := accounts.NewHashing(1, wait)
	e := newEnv(t, func(s *admin.Server) {
		s.DisableRateLimitsForTest()
		s.Service().Hashing = hashing
	})
	const ada = "ada@contoso.onmicrosoft.com"
	// An app key (for client credentials), a reset code and an invitation.
	r := e.do("POST", e.acct("/apps"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "display_name": "Sync", "reply_url": "https://contoso.example/cb",
		"app_id_uri": "api://sync", "roles": []string{"developer"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	clientID := r.str("client_id")
	r = e.do("POST", e.acct("/apps/"+clientID+"/keys"), e.token, map[string]any{"valid_days": 30})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	secret := r.str("secret")
	require.Equal(t, http.StatusAccepted, e.do("POST", "/v1/password-reset", "", map[string]any{"username": ada}).status)
	code := e.outboxToken("it@contoso.example")
	r = e.do("POST", e.acct("/invitations"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "emails": "gina@example.com", "roles": []string{"marketer"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	invitation := e.outboxToken("gina@example.com")

	// Take the only slot: nothing can hash until it is back.
	release, err := hashing.Acquire(context.Background())
	require.NoError(t, err)
	busy := []struct {
		name, path, token string
		body              map[string]any
	}{
		{"password grant", "/v1/token", "", passwordGrant(ada, adminPassword)},
		{"client credentials", "/v1/token", "", map[string]any{"grant_type": "client_credentials", "client_id": clientID, "client_secret": secret}},
		{"change password", "/v1/me/password", e.token, map[string]any{"current_password": adminPassword, "new_password": "ada's new password"}},
		{"complete reset", "/v1/password-reset/complete", "", map[string]any{"code": code, "password": "ada's fresh password"}},
		{"accept invitation", "/v1/invitations/accept", "", map[string]any{"token": invitation, "password": "gina's password"}},
		{"create user", e.acct("/users"), e.token, map[string]any{"tenant_id": e.tenant.TenantID, "first_name": "Bob", "last_name": "B", "user_name": "bob", "roles": []string{"marketer"}}},
	}
	for _, b := range busy {
		started := time.Now()
		r := e.do("POST", b.path, b.token, b.body)
		took := time.Since(started)
		require.Equal(t, http.StatusTooManyRequests, r.status, "%s: %s", b.name, r.raw)
		require.Equal(t, "1", r.header.Get("Retry-After"), b.name)
		requireRetryLater(t, r)
		require.GreaterOrEqual(t, took, wait, "%s: answered before waiting for a slot", b.name)
		require.Less(t, took, 10*wait, "%s: waited far longer than the hashing wait", b.name)
	}
	// More refused sign-ins than the lockout allows: none of them counts,
	// nothing was checked.
	for range accounts.MaxFailedSignIns + 1 {
		requireRetryLater(t, e.do("POST", "/v1/token", "", passwordGrant(ada, "wrong password")))
	}
	// A guessed code or token is refused before any hashing: 422, not 429.
	requireProblem(t, e.do("POST", "/v1/password-reset/complete", "", map[string]any{"code": strings.Repeat("x", 43), "password": "a fresh password"}),
		http.StatusUnprocessableEntity, "body.code")
	requireProblem(t, e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": strings.Repeat("x", 43), "password": "a fresh password"}),
		http.StatusUnprocessableEntity, "body.token")

	// The slot back, every one of them works.
	release()
	e.signIn(ada, adminPassword)
	r = e.do("POST", "/v1/token", "", map[string]any{"grant_type": "client_credentials", "client_id": clientID, "client_secret": secret})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, http.StatusOK, e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": invitation, "password": "gina's password"}).status)
	require.Equal(t, http.StatusNoContent, e.do("POST", "/v1/password-reset/complete", "", map[string]any{"code": code, "password": "ada's fresh password"}).status)
	e.signIn(ada, "ada's fresh password")

	// Racing sign-ins (distinct unknown names: no lockout) never hash more
	// than the slots allow: with one slot and a short wait, some give up.
	var names []map[string]any
	for i := range 20 {
		names = append(names, passwordGrant(fmt.Sprintf("nobody%d@contoso.onmicrosoft.com", i), "wrong password"))
	}
	refused := 0
	for _, r := range e.race(names, "/v1/token") {
		switch r.status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			requireRetryLater(t, r)
			refused++
		default:
			t.Fatalf("unexpected answer %d: %s", r.status, r.raw)
		}
	}
	require.Positive(t, refused, "20 racing argon2id checks on one slot within %s", wait)
}

// TestTokenEndpointRateLimitedPerIPAndPerUser: POST /v1/token has a token
// bucket per sign-in name (or client id) and one per client address; an
// empty bucket is 429 with Retry-After before the database or argon2id is
// touched. X-Forwarded-For does not make a new address.
func TestTokenEndpointRateLimitedPerIPAndPerUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // its sign-in took a token of ada's bucket and one of the address's
	const ada = "ada@contoso.onmicrosoft.com"

	// Per address: names that fail before any database work or hashing
	// (not a client id) use up the rest of the burst.
	notAClient := func(i int) map[string]any {
		return map[string]any{"grant_type": "client_credentials", "client_id": fmt.Sprintf("not-a-client-%d", i), "client_secret": "x"}
	}
	for i := range admin.TokenPerAddressBurst - 1 {
		requireProblem(t, e.do("POST", "/v1/token", "", notAClient(i)), http.StatusUnauthorized, "")
	}
	r := e.do("POST", "/v1/token", "", notAClient(-1))
	require.Equal(t, strconv.Itoa(int(admin.TokenPerAddressEvery.Seconds())), r.header.Get("Retry-After"))
	requireRetryLater(t, r)
	require.Contains(t, r.str("detail"), "from this address")
	// A fresh name does not help: the address is out, even with the right
	// password. Nor can a client pick its address with a header.
	requireRetryLater(t, e.do("POST", "/v1/token", "", passwordGrant(ada, adminPassword)))
	requireRetryLater(t, e.do("POST", "/v1/token", "", notAClient(-2), "X-Forwarded-For", "203.0.113.7", "X-Real-IP", "203.0.113.7"))
	// One request's worth later, one request passes.
	e.clock.advance(admin.TokenPerAddressEvery)
	requireProblem(t, e.do("POST", "/v1/token", "", notAClient(-3)), http.StatusUnauthorized, "")
	requireRetryLater(t, e.do("POST", "/v1/token", "", notAClient(-4)))

	// Per name, with the address's bucket full again.
	e.clock.advance(admin.TokenPerAddressBurst * admin.TokenPerAddressEvery)
	for range admin.TokenPerNameBurst {
		e.signIn(ada, adminPassword)
	}
	// The same name, however it is spelled, even with the right password.
	r = e.do("POST", "/v1/token", "", passwordGrant("  ADA@Contoso.onmicrosoft.com ", adminPassword))
	require.Equal(t, strconv.Itoa(int(admin.TokenPerNameEvery.Seconds())), r.header.Get("Retry-After"))
	requireRetryLater(t, r)
	require.Contains(t, r.str("detail"), "for this name")
	var attempts int
	require.NoError(t, e.db.Get(&attempts, `SELECT count(*) FROM sign_in_attempts WHERE subject = $1`, ada))
	require.Equal(t, 1+admin.TokenPerNameBurst, attempts, "the refused request never reached the lockout's table")
	// Another name still signs in from the same address.
	_, temporary, err := accounts.CreateOperator(context.Background(), e.db, accounts.NewOperator{UserName: "op.limits", Roles: []accounts.Role{accounts.RoleOps}}, e.clock.now())
	require.NoError(t, err)
	e.signIn("op.limits", temporary)
	// Client ids have buckets of their own (the lockout answers the
	// guesses past its 5 first).
	const app = "00000000-0000-4000-8000-000000000000"
	credentials := map[string]any{"grant_type": "client_credentials", "client_id": app, "client_secret": "x"}
	for range admin.TokenPerNameBurst {
		r := e.do("POST", "/v1/token", "", credentials)
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, r.status, string(r.raw))
		require.NotContains(t, r.str("detail"), "for this name")
	}
	r = e.do("POST", "/v1/token", "", credentials)
	requireRetryLater(t, r)
	require.Contains(t, r.str("detail"), "for this name")
	// The bucket refills.
	e.clock.advance(admin.TokenPerNameEvery)
	e.signIn(ada, adminPassword)
}

// mailTokens lists the tokens mailed to address, oldest first.
func (e *env) mailTokens(address string) []string {
	e.t.Helper()
	files, err := filepath.Glob(filepath.Join(e.outDir, "outbox", "*.eml"))
	require.NoError(e.t, err)
	token := regexp.MustCompile(`(?m)^    ([A-Za-z0-9_-]{43})$`)
	var out []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(e.t, err)
		if strings.Contains(string(raw), "To: "+address+"\r\n") {
			m := token.FindStringSubmatch(string(raw))
			require.NotNil(e.t, m, string(raw))
			out = append(out, m[1])
		}
	}
	return out
}

// TestPasswordResetOneLiveCodeSingleUse: a user has one live reset code (a
// new request replaces the previous one), a code works once, and a user is
// sent at most MaxPasswordResetsPerHour codes an hour, however the requests
// race — while the answer never says whether the name exists or whether
// mail was sent. Before the fix 30 requests left 30 live codes.
func TestPasswordResetOneLiveCodeSingleUse(t *testing.T) {
	t.Parallel()
	// The database's limits, without the in-memory ones in front.
	e := newEnv(t, func(s *admin.Server) { s.DisableRateLimitsForTest() })
	const ada, mailbox = "ada@contoso.onmicrosoft.com", "it@contoso.example"
	request := func(name string) response {
		r := e.do("POST", "/v1/password-reset", "", map[string]any{"username": name})
		require.Equal(t, http.StatusAccepted, r.status, string(r.raw))
		return r
	}
	complete := func(code, password string) response {
		return e.do("POST", "/v1/password-reset/complete", "", map[string]any{"code": code, "password": password})
	}
	live := func() int {
		var n int
		require.NoError(t, e.db.Get(&n, `SELECT count(*) FROM password_resets WHERE used_at IS NULL AND revoked_at IS NULL`))
		return n
	}

	for range accounts.MaxPasswordResetsPerHour {
		request(ada)
		require.Equal(t, 1, live())
	}
	codes := e.mailTokens(mailbox)
	require.Len(t, codes, accounts.MaxPasswordResetsPerHour)
	// Past the limit: the same answer as for a name that does not exist,
	// and no mail.
	unknown := request("nobody@contoso.onmicrosoft.com")
	for range 30 {
		r := request(ada)
		require.Equal(t, unknown.raw, r.raw)
	}
	require.Len(t, e.mailTokens(mailbox), accounts.MaxPasswordResetsPerHour)
	require.Equal(t, 1, live())

	// Only the newest code works, once.
	for _, old := range codes[:len(codes)-1] {
		requireProblem(t, complete(old, "ada's fresh password"), http.StatusUnprocessableEntity, "body.code")
	}
	newest := codes[len(codes)-1]
	require.Equal(t, http.StatusNoContent, complete(newest, "ada's fresh password").status)
	requireProblem(t, complete(newest, "ada's other password"), http.StatusUnprocessableEntity, "body.code")
	require.Equal(t, 0, live())
	e.signIn(ada, "ada's fresh password")

	// An hour later: racing requests still leave one live code and send at
	// most the hour's allowance.
	e.clock.advance(time.Hour)
	var reqs []map[string]any
	for range 20 {
		reqs = append(reqs, map[string]any{"username": ada})
	}
	for _, r := range e.race(reqs, "/v1/password-reset") {
		require.Equal(t, http.StatusAccepted, r.status, string(r.raw))
	}
	require.Equal(t, 1, live())
	codes = e.mailTokens(mailbox)[accounts.MaxPasswordResetsPerHour:]
	require.NotEmpty(t, codes)
	require.LessOrEqual(t, len(codes), accounts.MaxPasswordResetsPerHour)
	working := 0
	for _, code := range codes {
		if complete(code, "ada's third password").status == http.StatusNoContent {
			working++
		}
	}
	require.Equal(t, 1, working, "exactly one of the racing requests' codes works")
	require.Equal(t, 0, live())
}

// TestPasswordResetRateLimitedPerIPAndPerUser: the reset endpoints have
// token buckets per name (or code) and per client address, the same for
// names that exist and names that do not.
func TestPasswordResetRateLimitedPerIPAndPerUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	request := func(name string) response {
		return e.do("POST", "/v1/password-reset", "", map[string]any{"username": name})
	}
	for range admin.ResetPerNameBurst {
		require.Equal(t, http.StatusAccepted, request("ada@contoso.onmicrosoft.com").status)
	}
	r := request("ada@contoso.onmicrosoft.com")
	require.Equal(t, strconv.Itoa(int(admin.ResetPerNameEvery.Seconds())), r.header.Get("Retry-After"))
	requireRetryLater(t, r)
	require.Contains(t, r.str("detail"), "for this name")
	// Another name, until the address's bucket is empty.
	used := admin.ResetPerNameBurst + 1
	for range admin.ResetPerAddressBurst - used {
		require.Equal(t, http.StatusAccepted, request("nobody@contoso.onmicrosoft.com").status)
	}
	r = request("nobody@contoso.onmicrosoft.com")
	require.Equal(t, strconv.Itoa(int(admin.ResetPerAddressEvery.Seconds())), r.header.Get("Retry-After"))
	require.Contains(t, r.str("detail"), "from this address")
	e.clock.advance(admin.ResetPerAddressEvery)
	require.Equal(t, http.StatusAccepted, request("nobody@contoso.onmicrosoft.com").status)

	// Redeeming codes and invitation tokens, per address.
	for i := range admin.RedeemPerAddressBurst {
		requireProblem(t, e.do("POST", "/v1/password-reset/complete", "", map[string]any{"code": fmt.Sprintf("guess-%d", i), "password": "a fresh password"}),
			http.StatusUnprocessableEntity, "body.code")
	}
	requireRetryLater(t, e.do("POST", "/v1/password-reset/complete", "", map[string]any{"code": "guess-last", "password": "a fresh password"}))
	for i := range admin.RedeemPerAddressBurst {
		requireProblem(t, e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": fmt.Sprintf("guess-%d", i), "password": "a fresh password"}),
			http.StatusUnprocessableEntity, "body.token")
	}
	requireRetryLater(t, e.do("POST", "/v1/invitations/accept", "", map[string]any{"token": "guess-last", "password": "a fresh password"}))
}
