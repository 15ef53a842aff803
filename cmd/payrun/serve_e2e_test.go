package main_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/testsupport/dbtest"
)

func freePort(t *testing.T) string {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer listener.Close()
	return listener.Addr().String()
}

// Two worker processes on one database: every job occurrence runs exactly
// once, /healthz and /readyz answer, and SIGTERM stops both cleanly.
func TestTwoServeReplicasRunEachOccurrenceOnce(t *testing.T) {
	t.Parallel()
	url, _ := marketplace(t)
	installedLongAgo(t, url) // the catch-up below reaches back to November's close
	var replicas []*exec.Cmd
	var addrs []string
	for i := 0; i < 2; i++ {
		addr := freePort(t)
		cmd := exec.Command(binary, "serve")
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "PAYRUN_DEV=1", "PAYRUN_ADDR="+addr, "PAYRUN_OUT="+cmd.Dir)
		require.NoError(t, cmd.Start())
		replicas = append(replicas, cmd)
		addrs = append(addrs, addr)
	}
	t.Cleanup(func() {
		for _, cmd := range replicas {
			_ = cmd.Process.Kill()
		}
	})
	database := dbtest.Open(t, url)
	// Wait for the catch-up runs of the eight daily, monthly and yearly jobs
	// and the close's tasks down to its finish.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var done, finished int
		require.NoError(t, database.Get(&done, `SELECT count(DISTINCT job) FROM job_runs WHERE outcome = 'succeeded'`))
		require.NoError(t, database.Get(&finished, `SELECT count(*) FROM job_runs WHERE job = 'close-finish' AND outcome = 'succeeded'`))
		if (done >= 11 && finished > 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var runs []string
	require.NoError(t, database.Select(&runs, `SELECT job || ' ' || occurrence_key || ' ' || outcome || ' ' || coalesce(error, '') FROM job_runs ORDER BY id`))
	t.Logf("job runs:\n%s", strings.Join(runs, "\n"))
	for _, addr := range addrs {
		for _, path := range []string{"/healthz", "/readyz"} {
			response, err := http.Get(fmt.Sprintf("http://%s%s", addr, path))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, response.StatusCode, path)
			response.Body.Close()
		}
	}
	var duplicates int
	require.NoError(t, database.Get(&duplicates, `
		SELECT count(*) FROM (SELECT job, occurrence_key FROM job_runs WHERE outcome = 'succeeded' GROUP BY 1, 2 HAVING count(*) > 1) d`))
	require.Zero(t, duplicates, "an occurrence ran twice")
	var closed int
	require.NoError(t, database.Get(&closed, `SELECT count(*) FROM job_runs WHERE job = 'close-cycle' AND outcome = 'succeeded'`))
	require.Equal(t, 1, closed)
	var cycles int
	require.NoError(t, database.Get(&cycles, `SELECT count(*) FROM cycles WHERE state <> 'closing'`))
	require.GreaterOrEqual(t, cycles, 1, "the catch-up closed the current month")

	for _, cmd := range replicas {
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	}
	for _, cmd := range replicas {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err, "graceful shutdown exits 0")
		case <-time.After(30 * time.Second):
			t.Fatal("a replica did not stop on SIGTERM")
		}
	}
}
