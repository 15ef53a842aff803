package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/admin/operations"
	"github.com/payrun/payrun/payout/release"
)

// approvalPolicy writes a policy file with maker-checker on.
func approvalPolicy(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "policy.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"approval": true}`), 0o600))
	return path
}

// createOperator runs `payrun operators create` and returns the one-time
// password.
func createOperator(t *testing.T, env []string, name, role string) string {
	t.Helper()
	r := payrunEnv(t, env, "operators", "create", "--user", name, "--role", role, "--json")
	require.Zero(t, r.code, r.stderr)
	var created struct {
		Password string `json:"one_time_password"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &created), r.stdout)
	return created.Password
}

// cycleShown is `payrun cycle show --json`, the parts about who did what.
type cycleShown struct {
	State                string     `json:"state"`
	ClosedBy             string     `json:"closed_by"`
	ClosedByOperatorID   int64      `json:"closed_by_operator_id"`
	ApprovedAt           *time.Time `json:"approved_at"`
	ApprovedBy           string     `json:"approved_by"`
	ApprovedByOperatorID int64      `json:"approved_by_operator_id"`
}

func showCycle(t *testing.T, env []string, month string) cycleShown {
	t.Helper()
	r := payrunEnv(t, env, "cycle", "show", "--month", month, "--json")
	require.Zero(t, r.code, r.stderr)
	var c cycleShown
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &c), r.stdout)
	return c
}

// The maker-checker bypass: close `--by alice`, approve `--by
// operator:alice` was accepted, and operator finny could approve over the
// API a cycle closed at the command line `--by finny`. Principals are now
// operators by id, whatever the spelling.
func TestApproveRefusedForSameOperatorWhateverTheSpelling(t *testing.T) {
	t.Parallel()
	policy := approvalPolicy(t)

	t.Run("command line", func(t *testing.T) {
		t.Parallel()
		url, w := marketplace(t)
		env := devEnv(url)
		createOperator(t, env, "alice", "finance_approver")
		createOperator(t, env, "bob", "finance_approver")
		r := payrunEnv(t, env, "cycle", "close", "--month", "2026-11", "--policy", policy, "--by", "alice")
		require.Zero(t, r.code, r.stderr)
		require.Contains(t, r.stdout, "state awaiting_approval")
		var alice, bob int64
		require.NoError(t, w.DB.Get(&alice, `SELECT id FROM operators WHERE user_name = 'alice'`))
		require.NoError(t, w.DB.Get(&bob, `SELECT id FROM operators WHERE user_name = 'bob'`))
		shown := showCycle(t, env, "2026-11")
		require.Equal(t, "operator:alice", shown.ClosedBy)
		require.Equal(t, alice, shown.ClosedByOperatorID)

		for _, spelling := range []string{"alice", "operator:alice", "Alice", " alice", "OPERATOR:ALICE", "operator: alice "} {
			r := payrunEnv(t, env, "cycle", "approve", "--month", "2026-11", "--by", spelling)
			require.Equal(t, 1, r.code, "%q: %s", spelling, r.stdout)
			require.Contains(t, r.stderr, "must not be the operator who closed", spelling)
			require.Contains(t, r.stderr, "operator:alice closed 2026-11", spelling)
		}
		require.Nil(t, showCycle(t, env, "2026-11").ApprovedAt, "no refusal approved anything")

		// A different operator may.
		r = payrunEnv(t, env, "cycle", "approve", "--month", "2026-11", "--by", "Bob")
		require.Zero(t, r.code, r.stderr)
		require.Contains(t, r.stdout, "cycle 2026-11 approved by operator:bob")
		shown = showCycle(t, env, "2026-11")
		require.Equal(t, "operator:bob", shown.ApprovedBy)
		require.Equal(t, bob, shown.ApprovedByOperatorID)
	})

	t.Run("API after a command-line close", func(t *testing.T) {
		t.Parallel()
		url, w := marketplace(t)
		env := devEnv(url)
		finnyPassword := createOperator(t, env, "finny", "finance_approver")
		bobPassword := createOperator(t, env, "bob", "finance_approver")
		r := payrunEnv(t, env, "cycle", "close", "--month", "2026-11", "--policy", policy, "--by", "finny")
		require.Zero(t, r.code, r.stderr)

		out := t.TempDir()
		clock := func() time.Time { return time.Now().UTC() }
		service := &operations.Service{DB: w.DB, Store: w.Store, OutDir: out, Clock: clock,
			Releaser: func() (*release.Releaser, error) { return nil, os.ErrNotExist }}
		server := httptest.NewServer(admin.New(admin.Config{DB: w.DB, Clock: clock, OutDir: out, Operations: service}).Handler())
		t.Cleanup(server.Close)
		call := func(path, token string, body any) (int, map[string]any) {
			t.Helper()
			raw, err := json.Marshal(body)
			require.NoError(t, err)
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, server.URL+path, bytes.NewReader(raw))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			answer, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			var decoded map[string]any
			_ = json.Unmarshal(answer, &decoded)
			return res.StatusCode, decoded
		}
		signIn := func(name, temporary string) string {
			t.Helper()
			status, body := call("/v1/token", "", map[string]string{"grant_type": "password", "username": name, "password": temporary})
			require.Equal(t, http.StatusOK, status, body)
			status, body = call("/v1/me/password", body["access_token"].(string), map[string]string{"current_password": temporary, "new_password": "a long operator password"})
			require.Equal(t, http.StatusNoContent, status, body)
			status, body = call("/v1/token", "", map[string]string{"grant_type": "password", "username": name, "password": "a long operator password"})
			require.Equal(t, http.StatusOK, status, body)
			return body["access_token"].(string)
		}

		status, body := call("/v1/cycles/2026-11/approve", signIn("finny", finnyPassword), nil)
		require.Equal(t, http.StatusUnprocessableEntity, status, "finny closed it at the command line: %v", body)
		require.Contains(t, body["detail"], "must not be the operator who closed", body)
		require.Nil(t, showCycle(t, env, "2026-11").ApprovedAt)

		status, body = call("/v1/cycles/2026-11/approve", signIn("bob", bobPassword), nil)
		require.Equal(t, http.StatusOK, status, body)
		require.Equal(t, "operator:bob", body["approved_by"])
		require.Equal(t, "operator:finny", body["closed_by"])
		require.NotEqual(t, body["closed_by_operator_id"], body["approved_by_operator_id"])
	})
}

// --by on the cycle commands names an existing operator, looked up in the
// operators table; anything else is refused, naming --by and why, and
// changes nothing.
func TestCLIByMustNameAnExistingOperator(t *testing.T) {
	t.Parallel()
	url, w := marketplace(t)
	env := devEnv(url)
	policy := approvalPolicy(t)
	createOperator(t, env, "alice", "finance_approver")
	createOperator(t, env, "opal", "ops")

	for _, args := range [][]string{
		{"cycle", "close", "--month", "2026-11", "--policy", policy, "--by", "mallory"},
		{"cycle", "close", "--month", "2026-11", "--policy", policy, "--by", "cli:alice"},
		{"cycle", "close", "--month", "2026-11", "--policy", policy, "--by", ""},
	} {
		r := payrunEnv(t, env, args...)
		require.Equal(t, 1, r.code, "%v: %s", args, r.stdout)
		require.Contains(t, r.stderr, "--by: no such operator", args)
	}
	var cycles int
	require.NoError(t, w.DB.Get(&cycles, `SELECT count(*) FROM cycles`))
	require.Zero(t, cycles, "a refused --by closes nothing")

	// Without --by the close is payrun's own: the system principal.
	r := payrunEnv(t, env, "cycle", "close", "--month", "2026-11", "--policy", policy)
	require.Zero(t, r.code, r.stderr)
	shown := showCycle(t, env, "2026-11")
	require.Equal(t, "system:cli", shown.ClosedBy)
	require.Zero(t, shown.ClosedByOperatorID)

	r = payrunEnv(t, env, "cycle", "approve", "--month", "2026-11")
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "--by is required")
	r = payrunEnv(t, env, "cycle", "approve", "--month", "2026-11", "--by", "mallory")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `--by: no such operator: "mallory" is not an operator's user name`)
	r = payrunEnv(t, env, "cycle", "approve", "--month", "2026-11", "--by", "opal")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "operator:opal does not hold the finance_approver role")
	require.Nil(t, showCycle(t, env, "2026-11").ApprovedAt)

	r = payrunEnv(t, env, "cycle", "release", "--month", "2026-11", "--by", "mallory")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "--by: no such operator")

	r = payrunEnv(t, env, "cycle", "approve", "--month", "2026-11", "--by", "alice")
	require.Zero(t, r.code, r.stderr)
	require.Equal(t, "operator:alice", showCycle(t, env, "2026-11").ApprovedBy)
}
