package admin_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// redocly is the OpenAPI linter `make deps` installs (npm, @redocly/cli)
// under the repository's .tools directory.
var redocly = filepath.Join("..", ".tools", "node_modules", ".bin", "redocly")

// lint runs Redocly CLI on an OpenAPI document with admin/redocly.yaml
// (recommended-strict: warnings are errors).
func lint(t *testing.T, document string) (string, error) {
	t.Helper()
	if _, err := os.Stat(redocly); err != nil {
		t.Fatal("OpenAPI linter not found: run `make deps` (installs @redocly/cli into .tools/)")
	}
	cmd := exec.Command(redocly, "lint", "--config", "redocly.yaml", "--format", "stylish", document)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestOpenAPILint validates the checked-in document (which
// TestOpenAPIIsCurrent keeps equal to what the server serves) with a real
// validator, and proves the validator catches a broken document.
func TestOpenAPILint(t *testing.T) {
	t.Parallel()
	out, err := lint(t, "openapi.json")
	require.NoError(t, err, "redocly lint admin/openapi.json:\n%s", out)

	var doc map[string]any
	raw, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	paths := doc["paths"].(map[string]any)
	cycle := paths["/v1/cycles/{month}"].(map[string]any)
	cycle["get"].(map[string]any)["operationId"] = "list-cycles" // a duplicate
	broken, err := json.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "broken.json")
	require.NoError(t, os.WriteFile(path, broken, 0o600))
	out, err = lint(t, path)
	require.Error(t, err, "the linter accepted a duplicate operationId:\n%s", out)
	require.Contains(t, out, "operation-operationId-unique")
}
