package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/testsupport/dbtest"
)

// TestREADMEWalkthroughRuns runs docs/walkthrough.sh, the README's admin API
// walk-through, against the built binary on a fresh database: every call
// answers the status the script expects, so the README cannot drift.
func TestREADMEWalkthroughRuns(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the walk-through needs %s: run `make deps`", tool)
	}
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	require.True(t, strings.Contains(string(readme), "docs/walkthrough.sh"), "the README points at the script it shows")

	script, err := filepath.Abs("../../docs/walkthrough.sh")
	require.NoError(t, err)
	cmd := exec.Command("bash", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PAYRUN="+binary, "PAYRUN_DEV=1", "PAYRUN_DATA_KEY=", "DATABASE_URL="+dbtest.NewURL(t),
		"PAYRUN_ADDR="+freePort(t), "PAYRUN_OUT="+filepath.Join(cmd.Dir, "out"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), out.String())
	text := out.String()
	for _, want := range []string{
		"POST /me/password -> 204",
		"POST /accounts/S000000001/tenants -> 201",
		"PUT /accounts/S000000001/owner-identity -> 204",
		"POST /accounts/S000000001/users -> 201",
		"PUT /accounts/S000000001/payout-account -> 428",
		"PUT /accounts/S000000001/payout-account -> 400",
		"PUT /accounts/S000000001/payout-account -> 200",
		"POST /accounts/S000000001/tax-forms -> 201",
		"PUT /accounts/S000000001/payment-hold -> 200",
		"walkthrough: done",
	} {
		require.Contains(t, text, want)
	}
	require.NotContains(t, text, "\x1b[", "no colour codes when the output is not a terminal")
}
