package migrations_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/migrations"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// Several replicas migrating one empty database at the same moment: one
// applies every migration, the others wait on the lock and apply nothing.
func TestConcurrentUpAppliesOnce(t *testing.T) {
	t.Parallel()
	url := dbtest.EmptyURL(t)
	const replicas = 4
	applied := make([]int, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := 0; i < replicas; i++ {
		database := dbtest.Open(t, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = migrations.Up(context.Background(), database.DB)
		}()
	}
	wg.Wait()
	total := 0
	for i := range errs {
		require.NoError(t, errs[i])
		total += applied[i]
	}
	database := dbtest.Open(t, url)
	var files int
	require.NoError(t, database.Get(&files, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`))
	require.Equal(t, files, total, "each migration applied exactly once across replicas")
	pending, err := migrations.Pending(context.Background(), database.DB)
	require.NoError(t, err)
	require.False(t, pending)
	again, err := migrations.Up(context.Background(), database.DB)
	require.NoError(t, err)
	require.Zero(t, again)
}
