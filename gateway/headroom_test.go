package gateway

import (
	"errors"
	"testing"
	"time"
)

// At limits.max_legs the next INVITE gets 503 with Retry-After, counted by
// reason, and Ready says why; once a leg ends, calls are taken again.
func TestMaxLegsRefusesAndRecovers(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Limits.MaxLegs = 2 })
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("first call: %d", code)
	}
	b, code := ag.dial(f.uri("demo"), phoneOpts{freq: 1000})
	if code != 200 {
		t.Fatalf("second call: %d", code)
	}
	if err := f.gw.Ready(); !errors.Is(err, ErrNoHeadroom) {
		t.Errorf("Ready at the ceiling: %v", err)
	}
	c, code := ag.dial(f.uri("demo"), phoneOpts{})
	if code != 503 {
		t.Fatalf("third call at max_legs 2: %d, want 503", code)
	}
	if ra := c.refusal.GetHeader("Retry-After"); ra == nil || ra.Value() == "" {
		t.Errorf("503 without Retry-After: %v", c.refusal)
	}
	if got := f.metric("roombridge_admission_refusals_total", "max_legs"); got != 1 {
		t.Errorf("refusals{max_legs} = %v", got)
	}
	if got := f.metric("roombridge_calls_total", resultOverloaded); got != 1 {
		t.Errorf("calls_total{overloaded} = %v", got)
	}
	// The two calls up are not disturbed: they still hear each other.
	a.waitHears(1000, 440)
	b.hangup()
	waitUntil(t, 5*time.Second, "the second call to end", func() bool { return f.gw.activeCalls() == 1 })
	if err := f.gw.Ready(); err != nil {
		t.Errorf("Ready below the ceiling: %v", err)
	}
	d, code := ag.dial(f.uri("demo"), phoneOpts{})
	if code != 200 {
		t.Fatalf("a call after one ended: %d", code)
	}
	a.hangup()
	d.hangup()
	f.waitIdle()
}

// With a CPU ceiling the gateway is already past, the sampler refuses new
// calls for cpu, with 503, and the headroom gauge reads 0.
func TestCPUCeilingRefuses(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Limits = Limits{MaxCPU: 1e-9, MaxMachineCPU: 1, MaxLate: 1, Interval: 10 * time.Millisecond, Window: 100 * time.Millisecond}
	})
	waitUntil(t, 5*time.Second, "the CPU ceiling to be reached", func() bool { return f.gw.Ready() != nil })
	if _, code := newAgent(t).dial(f.uri("demo"), phoneOpts{}); code != 503 {
		t.Fatalf("call past the CPU ceiling: %d, want 503", code)
	}
	if got := f.metric("roombridge_admission_refusals_total", "cpu"); got != 1 {
		t.Errorf("refusals{cpu} = %v", got)
	}
	if got := f.metric("roombridge_headroom", ""); got != 0 {
		t.Errorf("headroom gauge %v, want 0", got)
	}
	f.waitIdle()
}
