package harness

import (
	"os"
	"os/exec"
	"testing"
)

// RequireTool returns the path of the named peer program. When it is not
// installed the test is skipped, except with CI=true, where a missing peer
// means a broken CI image and the test fails instead of passing silently.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("harness: %s is required in CI: %v", name, err)
	}
	t.Skipf("harness: %s not installed: %v", name, err)
	return ""
}
