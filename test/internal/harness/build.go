package harness

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// EnvBinary names a prebuilt roombridge binary to use instead of building
// one (for CI jobs that test the artefact they ship).
const EnvBinary = "ROOMBRIDGE_BIN"

var build struct {
	once sync.Once
	dir  string
	bin  string
	out  []byte
	err  error
}

// Binary returns the path of a roombridge binary built from this checkout,
// building it on first use. With ROOMBRIDGE_TEST_RACE=1 it is built with
// -race, so data races in the gateway fail the end-to-end tests too.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(EnvBinary); bin != "" {
		return bin
	}
	build.once.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			build.err = err
			return
		}
		// Not t.TempDir: the binary outlives the first test that asks.
		// Cleanup removes it from TestMain.
		build.dir, build.err = os.MkdirTemp("", "roombridge-e2e-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "roombridge")
		args := []string{"build", "-o", build.bin}
		if os.Getenv("ROOMBRIDGE_TEST_RACE") == "1" {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/roombridge")...)
		cmd.Dir = root
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("harness: go build ./cmd/roombridge: %v\n%s", build.err, build.out)
	}
	return build.bin
}

// Cleanup removes the binary built by Binary. Call it from TestMain after
// m.Run; without it the binary stays in the system temp directory.
func Cleanup() {
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
}

// RepoRoot returns the directory holding go.mod, searching upward from the
// working directory (go test runs in the package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("harness: no go.mod above the working directory")
		}
		dir = parent
	}
}
