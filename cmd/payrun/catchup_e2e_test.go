package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/testsupport/dbtest"
)

// Item 6: `payrun serve` on a database `payrun migrate` has just created
// catches up nothing scheduled before the installation — last month's close,
// January's year-end reports, today's early daily jobs — says so at start-up,
// and writes no files into the folder it runs in.
func TestServeOnAFreshDatabaseCatchesUpNothing(t *testing.T) {
	t.Parallel()
	url := dbtest.EmptyURL(t)
	r := payrunEnv(t, devEnv(url), "migrate")
	require.Zero(t, r.code, r.stderr)
	database := dbtest.Open(t, url)
	var installed time.Time
	require.NoError(t, database.Get(&installed, `SELECT installed_at FROM installation`))
	require.WithinDuration(t, time.Now(), installed, time.Minute, "installed when migrate created the schema")

	dir := t.TempDir()
	addr := freePort(t)
	serve := exec.Command(binary, "serve")
	serve.Dir = dir // PAYRUN_OUT unset: ./out, in this folder
	serve.Env = append(os.Environ(), "PAYRUN_OUT=", "PAYRUN_NOW=", "PAYRUN_JOBS=", "DATABASE_URL="+url, "PAYRUN_DEV=1", "PAYRUN_ADDR="+addr)
	var logs lockedBuffer
	serve.Stdout, serve.Stderr = &logs, &logs
	require.NoError(t, serve.Start())
	t.Cleanup(func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
		if t.Failed() {
			t.Logf("serve's log:\n%s", logs.String())
		}
	})

	// The start-up log says what catch-up does.
	want := "nothing to catch up: installed at " + installed.UTC().Format(time.RFC3339)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), want) {
		require.True(t, time.Now().Before(deadline), "no %q in serve's log", want)
		time.Sleep(100 * time.Millisecond)
	}
	var plan map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, want) {
			require.NoError(t, json.Unmarshal([]byte(line), &plan), line)
		}
	}
	before := fmt.Sprint(plan["before_installation"])
	for _, job := range []string{"close-cycle", "year-end-tax-reports"} {
		require.Contains(t, before, job+" ", "%s's last occurrence predates the installation", job)
	}

	// Give the elected leader's start-up enqueue time to happen: nothing
	// from before the installation is enqueued, run, or written.
	for {
		var leaders int
		require.NoError(t, database.Get(&leaders, `SELECT count(*) FROM river_leader`))
		if leaders > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no leader elected")
		time.Sleep(100 * time.Millisecond)
	}
	for {
		response, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "payrun serve did not get ready")
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	var early []string
	require.NoError(t, database.Select(&early, `
		SELECT job || ' ' || occurrence_key FROM job_runs WHERE scheduled_at <= $1
		UNION ALL SELECT args->>'job' || ' ' || (args->>'key') FROM river_job WHERE (args->>'scheduled_at')::timestamptz <= $1`, installed))
	require.Empty(t, early, "occurrences from before the installation")
	var cycles int
	require.NoError(t, database.Get(&cycles, `SELECT count(*) FROM cycles`))
	require.Zero(t, cycles, "no cycle closed")
	for _, path := range []string{"out/cycles", "out/tax"} {
		require.NoDirExists(t, filepath.Join(dir, path))
	}
}
