package rtp

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestTimeout(t *testing.T) {
	checkGoroutines(t)
	pool := testPool(t, 4)
	rb := newRecorder()
	b := newTestSession(t, pool, func(c *SessionConfig) { c.Timeout = 300 * time.Millisecond; c.Handler = rb })
	a := newTestSession(t, pool, func(c *SessionConfig) { c.Timeout = NoTimeout })
	connect(a, b)
	var fired atomic.Int32
	b.OnTimeout(func() {
		fired.Add(1)
		_ = b.Close() // what the gateway does after its BYE; must not deadlock
	})
	// Media for longer than the timeout keeps it quiet.
	for i := range 40 {
		_ = a.WriteRTP(payloadFor(i), 0, uint32(i*160), false)
		time.Sleep(20 * time.Millisecond)
	}
	if fired.Load() != 0 {
		t.Fatal("timed out while media flowed")
	}
	// The peer goes quiet (its RTCP too).
	start := time.Now()
	_ = a.Close()
	waitFor(t, 2*time.Second, "timeout", func() bool { return fired.Load() > 0 })
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Errorf("fired after %v", el)
	}
	time.Sleep(400 * time.Millisecond)
	if n := fired.Load(); n != 1 {
		t.Errorf("fired %d times", n)
	}
	if !b.Stats().TimedOut {
		t.Error("Stats.TimedOut not set")
	}
}

func TestTimeoutSuspended(t *testing.T) {
	pool := testPool(t, 2)
	s := newTestSession(t, pool, func(c *SessionConfig) { c.Timeout = 200 * time.Millisecond })
	var fired atomic.Int32
	s.OnTimeout(func() { fired.Add(1) })
	s.SetTimeoutEnabled(false) // on hold: the peer may stop sending
	time.Sleep(600 * time.Millisecond)
	if fired.Load() != 0 {
		t.Fatal("fired while disabled")
	}
	s.SetTimeoutEnabled(true)
	time.Sleep(100 * time.Millisecond)
	if fired.Load() != 0 {
		t.Fatal("fired at once on resume")
	}
	waitFor(t, time.Second, "timeout after resume", func() bool { return fired.Load() == 1 })
}

func TestNoTimeout(t *testing.T) {
	pool := testPool(t, 2)
	s := newTestSession(t, pool, func(c *SessionConfig) { c.Timeout = NoTimeout; c.RTCPInterval = 20 * time.Millisecond })
	var fired atomic.Int32
	s.OnTimeout(func() { fired.Add(1) })
	s.SetTimeoutEnabled(true) // no effect when configured off
	time.Sleep(300 * time.Millisecond)
	if fired.Load() != 0 {
		t.Fatal("fired with the timeout off")
	}
}
