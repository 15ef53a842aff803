package admin_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
)

var update = flag.Bool("update", false, "rewrite admin/openapi.json from the server")

// TestOpenAPIIsCurrent fails when the checked-in openapi.json differs from
// what the server serves. Refresh it: go generate ./admin (or go test
// ./admin -run TestOpenAPIIsCurrent -update).
func TestOpenAPIIsCurrent(t *testing.T) {
	t.Parallel()
	got, err := admin.New(admin.Config{}).OpenAPI()
	require.NoError(t, err)
	got = append(got, '\n')
	if *update {
		require.NoError(t, os.WriteFile("openapi.json", got, 0o644))
	}
	want, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "admin/openapi.json is stale: run `go generate ./admin`")

	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	require.NoError(t, json.Unmarshal(got, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
}

func TestOpenAPIIsServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, r.status)
	want, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(r.raw))
}

// Every endpoint names exactly one permission, and it is one the role table
// knows (or one of the special ones).
func TestEveryEndpointNamesAKnownPermission(t *testing.T) {
	t.Parallel()
	known := map[accounts.Permission]bool{accounts.PermPublic: true, accounts.PermSelf: true, accounts.PermPasswordChange: true}
	for _, r := range accounts.RoleTable {
		for _, p := range r.Permissions {
			known[p] = true
		}
	}
	seen := map[string]bool{}
	for _, e := range admin.New(admin.Config{}).Endpoints() {
		require.True(t, known[e.Permission], "%s: unknown permission %q", e.ID, e.Permission)
		require.False(t, seen[e.Method+" "+e.Path], "%s %s registered twice", e.Method, e.Path)
		seen[e.Method+" "+e.Path] = true
		if e.Idempotent {
			require.True(t, slices.Contains([]string{http.MethodPost}, e.Method), "%s: only creates take Idempotency-Key", e.ID)
		}
	}
}
