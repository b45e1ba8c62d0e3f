// Package test holds Roombridge's end-to-end tests: the real gateway binary
// (started by test/internal/harness) against real peers such as headless
// Chromium (driven by test/internal/chrome). They are slow and are skipped
// under -short. Run them with:
//
//	go test ./test/ -run Browser -v
//
// A missing peer program skips its test, except with CI=true.
package test
