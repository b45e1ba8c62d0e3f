// Package leakcheck is the goroutine-leak check of the gateway's tests, on
// go.uber.org/goleak, retried for a while: a call that was just torn down
// still has goroutines winding down (SIP transactions on their timers,
// sockets closing) that goleak's own short retries do not wait for. One
// helper instead of a stack scanner per package.
package leakcheck

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// wait bounds how long goroutines may take to wind down after the test's
// other cleanups (a call's BYE transaction, a socket's read loop).
const wait = 10 * time.Second

// find retries goleak.Find until it finds nothing or wait has passed.
func find(wait time.Duration, opts ...goleak.Option) error {
	deadline := time.Now().Add(wait)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Verify fails t when, after waiting up to wait for them to end,
// goroutines still run that opts do not ignore (typically
// goleak.IgnoreCurrent() taken when the test started).
func Verify(t testing.TB, wait time.Duration, opts ...goleak.Option) {
	t.Helper()
	if err := find(wait, opts...); err != nil {
		t.Errorf("leakcheck: %v", err)
	}
}

// Check fails t when a goroutine started during the test is still running
// once the test and its other cleanups are done. Call it first in the
// test: cleanups run last-in first-out, so its check runs after every
// server, peer and socket the test set up has been closed.
//
// Goroutines that ran before Check are ignored, and so is sipgo's UDP
// reader (sip.(*TransportUDP).readUDPConnection): sipgo v1.7.2 may open a
// socket of its own for a message it handles while its UserAgent is
// closing, and closes it only with the next traffic; that socket belongs
// to neither side's code.
func Check(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	opts = append([]goleak.Option{
		goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"),
	}, opts...)
	t.Cleanup(func() {
		t.Helper()
		if err := find(wait, opts...); err != nil {
			t.Errorf("leakcheck: goroutines outlived the test: %v", err)
		}
	})
}
