package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
)

// A caller who dials a room with a PIN directly over a trunk that is not
// trusted is asked for the PIN: it is not in the room until it keys it,
// another room's PIN does not open it, and its own PIN does. A room
// without a PIN is open to the same trunk at once.
func TestDirectDialUntrustedTrunkAsksPIN(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	untrusted := newFixtureTrunk(t, sip.Trunk{Name: "internet", Allow: loopback}, nil)
	untrusted.setRoom(store.Room{Name: "demo", PIN: "1234", HostPIN: "9999"})
	untrusted.setRoom(store.Room{Name: "other", PIN: "5678"})
	untrusted.setRoom(store.Room{Name: "open"})
	ag := newAgent(t)
	p, code := ag.dial(untrusted.uri("demo"), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("direct dial: %d", code)
	}
	mark := p.heard.total()
	if lvl := rms(p.waitHeard(mark, time.Second)); lvl < 0.01 {
		t.Errorf("the direct caller hears silence (RMS %.4f), not the PIN prompt", lvl)
	}
	if untrusted.inRoom(p, "demo") {
		t.Fatal("a direct caller from an untrusted trunk joined without the PIN")
	}
	p.keys("5678#", viaRFC4733)
	waitUntil(t, 5*time.Second, "the other room's PIN refused", func() bool {
		return untrusted.metric("roombridge_ivr_pin_checks_total", pinRejected) == 1
	})
	if untrusted.inRoom(p, "demo") || untrusted.inRoom(p, "other") {
		t.Fatal("another room's PIN let the caller in")
	}
	p.keys("1234#", viaRFC4733)
	waitUntil(t, 10*time.Second, "the caller in demo", func() bool { return untrusted.inRoom(p, "demo") })

	q, code := ag.dial(untrusted.uri("open"), phoneOpts{freq: 1000})
	if code != 200 {
		t.Fatalf("direct dial of a room without a PIN: %d", code)
	}
	waitUntil(t, 10*time.Second, "the caller in the open room", func() bool { return untrusted.inRoom(q, "open") })
	p.hangup()
	q.hangup()
	untrusted.waitIdle()
}

// A room hosted by another node (Config.RoomNode) sends its direct callers
// there with 302 before answering, the Contact naming that node and
// StayParam; a Request-URI with StayParam stays, as do rooms hosted
// nowhere else and dial-in numbers, whose room is known only after the PIN.
func TestRoomOnAnotherNodeRedirects(t *testing.T) {
	asked := make(chan string, 8)
	f := newFixture(t, func(c *Config) {
		c.RoomNode = func(_ context.Context, room string) (string, bool) {
			asked <- room
			return "192.0.2.7:5070", room == "demo"
		}
	})
	f.setRoom(store.Room{Name: "open"})
	ag := newAgent(t)
	for _, tc := range []struct {
		target string
		want   int
	}{
		{f.uri("demo"), 302},
		{f.uri("4711"), 302}, // demo's alias
		{f.uri("demo") + ";" + StayParam, 200},
		{f.uri("open"), 200},
		{f.uri("+15550100"), 200},
	} {
		p, code := ag.dial(tc.target, phoneOpts{})
		if code != tc.want {
			t.Errorf("dial %s: %d, want %d", tc.target, code, tc.want)
		}
		if code == 200 {
			p.hangup()
		}
	}
	f.waitIdle()
	if got := f.metric("roombridge_calls_total", resultMoved); got != 2 {
		t.Errorf(`calls_total{result="moved"} = %v, want 2`, got)
	}
	if len(asked) != 3 {
		t.Errorf("RoomNode asked %d times, want 3 (demo twice, open; not with %s, not for a dial-in number)", len(asked), StayParam)
	}
}
