package test

import (
	"os"
	"testing"

	"github.com/roombridge/roombridge/test/internal/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Cleanup()
	os.Exit(code)
}
