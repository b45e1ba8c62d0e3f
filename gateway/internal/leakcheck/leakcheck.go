// Package leakcheck is the goroutine-leak check of the gateway's tests:
// go.uber.org/goleak, retried for a while, because a call that was just
// torn down still has goroutines winding down (SIP transactions on their
// timers, sockets closing) that goleak's own short retries do not wait for.
package leakcheck

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Verify fails t when, after waiting up to wait for them to end,
// goroutines still run that opts do not ignore (typically
// goleak.IgnoreCurrent() taken when the test started).
func Verify(t testing.TB, wait time.Duration, opts ...goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for goleak.Find(opts...) != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	goleak.VerifyNone(t, opts...)
}
