package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/gateway/sip/uac/uastest"
)

// gatedBackend holds every visible participant's Join until its gate
// opens (the room hub's hidden participant goes through), then joins the
// real backend or fails with fail. It counts the joins it holds.
type gatedBackend struct {
	room.Backend
	gate chan struct{}
	fail error

	mu       sync.Mutex
	in, peak int
}

func (b *gatedBackend) Join(ctx context.Context, roomName string, info room.ParticipantInfo) (room.Participant, error) {
	if info.Hidden {
		return b.Backend.Join(ctx, roomName, info)
	}
	b.mu.Lock()
	b.in++
	b.peak = max(b.peak, b.in)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.in--
		b.mu.Unlock()
	}()
	select {
	case <-b.gate:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	if b.fail != nil {
		return nil, b.fail
	}
	return b.Backend.Join(ctx, roomName, info)
}

func (b *gatedBackend) holding() (in, peak int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.in, b.peak
}

// dialDemo calls room demo directly and returns the answered call, hung up
// when the test ends.
func dialDemo(t *testing.T, f *fixture) *uac.Call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call, err := uac.Dial(ctx, uac.Config{Target: f.uri("demo"), Offer: uastest.Offer(t)})
	if err != nil {
		t.Fatalf("dial demo: %v", err)
	}
	t.Cleanup(func() { _ = call.Hangup(context.Background()) })
	return call
}

// TestJoinsWaitTheirTurn: five phones dial a room whose backend holds
// every join. Each is answered all the same; two joins run (MaxJoins),
// three wait in roombridge_room_joins_queued; once the backend lets joins
// through, all five are in the room, and never more than two joins ran at
// once.
func TestJoinsWaitTheirTurn(t *testing.T) {
	gb := &gatedBackend{gate: make(chan struct{})}
	f := newFixture(t, func(c *Config) {
		gb.Backend = c.Backend
		c.Backend = gb
		c.MaxJoins = 2
	})
	calls := make([]*uac.Call, 5)
	for i := range calls {
		calls[i] = dialDemo(t, f) // answered while every join is held
	}
	waitUntil(t, 5*time.Second, "two joins held, three queued", func() bool {
		in, _ := gb.holding()
		return in == 2 && f.metric("roombridge_room_joins_queued", "") == 3
	})
	if n := len(f.sipParticipants("demo")); n != 0 {
		t.Errorf("%d phones in the room before any join ended", n)
	}
	close(gb.gate)
	waitUntil(t, 10*time.Second, "five phones in the room", func() bool { return len(f.sipParticipants("demo")) == 5 })
	if _, peak := gb.holding(); peak > 2 {
		t.Errorf("%d joins ran at once, MaxJoins is 2", peak)
	}
	if q := f.metric("roombridge_room_joins_queued", ""); q != 0 {
		t.Errorf("roombridge_room_joins_queued = %v once every join ended", q)
	}
	for _, c := range calls {
		if err := c.Hangup(context.Background()); err != nil {
			t.Errorf("hangup: %v", err)
		}
	}
	f.waitIdle()
}

// TestFailedJoinHangsUp: a phone is answered while its join runs; when the
// join fails, the gateway hangs up (BYE) and releases the leg, and counts
// the failure.
func TestFailedJoinHangsUp(t *testing.T) {
	gb := &gatedBackend{gate: make(chan struct{}), fail: errors.New("livekit join: i/o timeout")}
	f := newFixture(t, func(c *Config) {
		gb.Backend = c.Backend
		c.Backend = gb
	})
	call := dialDemo(t, f)
	close(gb.gate)
	select {
	case <-call.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not hang up after the join failed")
	}
	if cause := context.Cause(call.Context()); !errors.Is(cause, uac.ErrRemoteHangup) {
		t.Errorf("the call ended with %v, want the gateway's BYE", cause)
	}
	f.waitIdle()
	if n := f.metric("roombridge_room_join_failures_total", ""); n != 1 {
		t.Errorf("roombridge_room_join_failures_total = %v, want 1", n)
	}
	if n := f.metric("roombridge_calls_total", resultAnswered); n != 1 {
		t.Errorf(`roombridge_calls_total{result="answered"} = %v, want 1`, n)
	}
}

// hubGateBackend holds the room hub's join (the hidden participant) until
// gate opens; the phones' own joins go through.
type hubGateBackend struct {
	room.Backend
	gate chan struct{}
}

func (b *hubGateBackend) Join(ctx context.Context, roomName string, info room.ParticipantInfo) (room.Participant, error) {
	if info.Hidden {
		select {
		case <-b.gate:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	return b.Backend.Join(ctx, roomName, info)
}

// TestHubJoinsBesideTheLegs: the room hub joins beside its legs, not
// after the first of them, and no leg holds a join slot while it waits
// for the hub: with two slots and the hub's join held, three phones all
// make their own participants. The first caller hangs up before the hub
// is in; that does not fail the hub's join for the others, who hear each
// other once it is.
func TestHubJoinsBesideTheLegs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	hb := &hubGateBackend{gate: make(chan struct{})}
	f := newFixture(t, func(c *Config) {
		hb.Backend = c.Backend
		c.Backend = hb
		c.MaxJoins = 2
	})
	ag := newAgent(t)
	var phones []*phone
	for _, freq := range []float64{440, 1000, 1500} {
		p, code := ag.dial(f.uri("demo"), phoneOpts{freq: freq})
		if code != 200 {
			t.Fatalf("dial: %d", code)
		}
		phones = append(phones, p)
	}
	waitUntil(t, 5*time.Second, "three phones' own participants in the room while the hub waits", func() bool {
		return len(f.sipParticipants("demo")) == 3
	})
	if n := f.metric("roombridge_room_joins_queued", ""); n != 0 {
		t.Errorf("roombridge_room_joins_queued = %v while only the hub's join is held", n)
	}
	phones[0].hangup()
	waitUntil(t, 5*time.Second, "the first caller out of the room", func() bool { return len(f.sipParticipants("demo")) == 2 })
	close(hb.gate)
	phones[1].waitHears(1500, 440, 1000)
	phones[2].waitHears(1000, 440, 1500)
	if n := f.metric("roombridge_room_join_failures_total", ""); n != 0 {
		t.Errorf("roombridge_room_join_failures_total = %v, want 0", n)
	}
	phones[1].hangup()
	phones[2].hangup()
	f.waitIdle()
}

// TestHubStartGivesUpWithItsLastLeg: the only caller of a room hangs up
// while the room hub is still joining; the hub's join is abandoned and
// nothing of the room stays behind.
func TestHubStartGivesUpWithItsLastLeg(t *testing.T) {
	hb := &hubGateBackend{gate: make(chan struct{})}
	f := newFixture(t, func(c *Config) {
		hb.Backend = c.Backend
		c.Backend = hb
	})
	call := dialDemo(t, f)
	waitUntil(t, 5*time.Second, "the caller's participant in the room", func() bool { return len(f.sipParticipants("demo")) == 1 })
	if err := call.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.waitIdle()
	f.gw.mu.Lock()
	hubs := len(f.gw.hubs)
	f.gw.mu.Unlock()
	if hubs != 0 {
		t.Errorf("%d room hubs left after the last caller hung up", hubs)
	}
	if n := f.metric("roombridge_room_joins_in_progress", ""); n != 0 {
		t.Errorf("roombridge_room_joins_in_progress = %v, want 0", n)
	}
}
