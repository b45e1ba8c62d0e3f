package gateway

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// flakyBackend is a backend that can say it is down, as the LiveKit
// adapter does while livekit-server is unreachable.
type flakyBackend struct {
	room.Backend
	down atomic.Bool
}

func (b *flakyBackend) Ready(context.Context) error {
	if b.down.Load() {
		return errors.New("livekit unreachable")
	}
	return nil
}

func TestBackendDownRefusesAtOnce(t *testing.T) {
	var fb *flakyBackend
	f := newFixture(t, func(c *Config) {
		fb = &flakyBackend{Backend: c.Backend}
		c.Backend = fb
	})
	ag := newAgent(t)
	fb.down.Store(true)
	start := time.Now()
	for _, user := range []string{"demo", "+15550100"} {
		if _, code := ag.dial(f.uri(user), phoneOpts{}); code != 503 {
			t.Errorf("dial %s with the backend down: %d, want 503", user, code)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing took %v", d)
	}
	if got := f.metric("roombridge_calls_total", "unavailable"); got != 2 {
		t.Errorf("calls_total{unavailable} = %v, want 2", got)
	}
	fb.down.Store(false)
	p, code := ag.dial(f.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("dial with the backend back: %d", code)
	}
	p.hangup()
	f.waitIdle()
}

// TestReadyHook: Ready, which answers OPTIONS, says no while the backend
// is down and for good once the gateway drains.
func TestReadyHook(t *testing.T) {
	var fb *flakyBackend
	f := newFixture(t, func(c *Config) {
		fb = &flakyBackend{Backend: c.Backend}
		c.Backend = fb
	})
	if err := f.gw.Ready(); err != nil {
		t.Fatalf("Ready = %v", err)
	}
	fb.down.Store(true)
	if err := f.gw.Ready(); !errors.Is(err, ErrBackend) {
		t.Fatalf("Ready with the backend down = %v, want ErrBackend", err)
	}
	fb.down.Store(false)
	f.gw.Drain()
	if err := f.gw.Ready(); !errors.Is(err, ErrDraining) || !f.gw.Draining() {
		t.Fatalf("Ready while draining = %v (draining %v)", err, f.gw.Draining())
	}
}
