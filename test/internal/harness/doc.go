// Package harness runs the real roombridge binary for end-to-end tests: it
// builds ./cmd/roombridge once per test process, writes a YAML config with
// free loopback ports into the test's temporary directory, starts
// `roombridge serve`, waits for /readyz and stops the gateway with SIGTERM
// when the test ends. The gateway's logs go into the test log when the test
// fails (or always, with ROOMBRIDGE_TEST_LOGS=1).
//
// Tests that need peer programs (sipp, baresip, chromium, livekit-server)
// call RequireTool first: a missing tool skips the test on a developer's
// machine and fails it in CI, where every peer must be installed.
package harness
