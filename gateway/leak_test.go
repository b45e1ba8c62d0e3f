package gateway

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/roombridge/roombridge/gateway/internal/leakcheck"
)

// Call set-up and tear-down, over and over, leaves no goroutine, RTP port
// or file descriptor behind.
func TestNoLeaks(t *testing.T) {
	cycles := 200
	if testing.Short() {
		cycles = 20
	}
	f := newFixture(t, nil)
	ag := newAgent(t)
	// A first call warms up sipgo's connection pool and the SFU room.
	p, _ := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	p.hangup()
	f.waitIdle()
	fds := openFDs(t)
	ignore := goleak.IgnoreCurrent()

	start := time.Now()
	for i := range cycles {
		p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
		if code != 200 {
			t.Fatalf("cycle %d: %d", i, code)
		}
		if i%20 == 0 {
			// Now and then, let media flow both ways before hanging up.
			waitUntil(t, 5*time.Second, "RTP from the gateway", func() bool { return p.recv.Load() > 5 })
		}
		p.hangup()
		// The call ends on the gateway once the BYE is in.
		waitUntil(t, 5*time.Second, "call ended", func() bool { return f.gw.activeCalls() == 0 })
	}
	f.waitIdle()
	t.Logf("%d calls set up and torn down in %v", cycles, time.Since(start).Round(time.Millisecond))
	leakcheck.Verify(t, 10*time.Second, ignore)
	if n := f.pool.InUse(); n != 0 {
		t.Errorf("%d RTP port pairs in use", n)
	}
	// The phones' sockets close with the test's cleanups; allow a little
	// slack for sipgo's pooled connection.
	if now := openFDs(t); now > fds+2 {
		t.Errorf("open fds: %d before, %d after", fds, now)
	}
	if got := f.metric("roombridge_calls_total", resultAnswered); got != float64(cycles+1) {
		t.Errorf("answered calls = %v; failed %v, canceled %v", got, f.metric("roombridge_calls_total", resultFailed), f.metric("roombridge_calls_total", resultCanceled))
	}
}
