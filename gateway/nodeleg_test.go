package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/internal/leakcheck"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/store"
	"github.com/roombridge/roombridge/ivr"
)

var testNodeSecret = []byte("a cluster secret of 32 bytes....")

// newNodeFixture is one node of a cluster: its own SFU and a store with
// room lima (PIN 2468, host PIN 8642), an untrusted loopback trunk, the
// shared secret, and roomNode as its placement lookup.
func newNodeFixture(t *testing.T, id string, roomNode func(context.Context, string) (string, bool)) *fixture {
	t.Helper()
	f := newFixtureTrunk(t, sip.Trunk{Name: "local", Allow: loopback}, func(c *Config) {
		c.IVR.Session = ivr.Config{FirstDigitTimeout: 2 * time.Second, InterDigitTimeout: 2 * time.Second, MaxAttempts: 3}
		c.NodeID, c.NodeSecret, c.RoomNode = id, testNodeSecret, roomNode
	})
	f.setRoom(store.Room{Name: "lima", PIN: "2468", HostPIN: "8642"})
	return f
}

// muted reports whether participant id of roomName is muted.
func (f *fixture) muted(roomName, id string) bool {
	for _, p := range f.sipParticipants(roomName) {
		if p.ID == id {
			return p.AudioMuted
		}
	}
	return false
}

// roomOn is a placement lookup that puts room lima at addr.
func roomOn(addr string) func(context.Context, string) (string, bool) {
	return func(_ context.Context, r string) (string, bool) { return addr, r == "lima" }
}

// A PIN caller of node A whose room lives on node B is bridged to B: B
// lists it with its name, the host role and A's id, A none; the phone in
// the room on B and the caller hear each other through A's relay (A runs
// no room hub). A kick on B hangs the caller up on A; a guest keying
// its PIN as SIP INFO is bridged too, and its hang-up on A ends its
// participant on B. Nothing is left running on either node.
func TestNodeBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	leakcheck.Check(t)
	b := newNodeFixture(t, "b", nil)
	a := newNodeFixture(t, "a", roomOn(b.addr))
	ag := newAgent(t)

	phone, code := ag.dial(b.uri(dialIn), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("phone on B: %d", code)
	}
	phone.keys("2468#", viaRFC4733)
	waitUntil(t, 10*time.Second, "the phone in lima on B", func() bool { return len(b.sipParticipants("lima")) == 1 })

	host, code := ag.dial(a.uri(dialIn), phoneOpts{freq: 880, from: "Ada Lovelace"})
	if code != 200 {
		t.Fatalf("caller on A: %d", code)
	}
	host.keys("8642#", viaRFC4733)
	waitUntil(t, 10*time.Second, "the caller of A in lima on B", func() bool { return len(b.sipParticipants("lima")) == 2 })
	var bridged room.ParticipantState
	for _, p := range b.sipParticipants("lima") {
		if p.Name == "Ada Lovelace" {
			bridged = p
		}
	}
	if bridged.Attributes[AttrRole] != roleHost || bridged.Attributes[AttrViaNode] != "a" || bridged.Attributes[room.AttrNode] != "b" {
		t.Errorf("the bridged caller on B: %+v", bridged)
	}
	if n := a.gw.activeHubs(); n != 0 {
		t.Errorf("A runs %d room hubs for a room living on B", n)
	}
	phone.waitHears(880)
	host.waitHears(440)
	// *6 as RFC 4733 events crosses A's relay to B's in-call keys.
	host.keys("*6", viaRFC4733)
	waitUntil(t, 5*time.Second, "B mutes the bridged caller on its *6", func() bool { return b.muted("lima", bridged.ID) })

	if err := b.sfu.RemoveParticipant(context.Background(), "lima", bridged.ID, "kicked"); err != nil {
		t.Fatal(err)
	}
	host.waitBye(5 * time.Second)
	waitUntil(t, 5*time.Second, "A ends the kicked caller's call", func() bool { return a.gw.activeCalls() == 0 })

	guest, code := ag.dial(a.uri(dialIn), phoneOpts{freq: 660, user: "+15557770111"})
	if code != 200 {
		t.Fatalf("guest on A: %d", code)
	}
	guest.keys("2468#", viaINFO)
	waitUntil(t, 10*time.Second, "the guest of A in lima on B", func() bool { return len(b.sipParticipants("lima")) == 2 })
	for _, p := range b.sipParticipants("lima") {
		if p.Attributes[AttrViaNode] == "a" && p.Attributes[AttrRole] != "" {
			t.Errorf("the guest has role %q", p.Attributes[AttrRole])
		}
	}
	phone.waitHears(660)
	// *6 as SIP INFO goes on from A to B as INFO.
	guest.keys("*6", viaINFO)
	waitUntil(t, 5*time.Second, "B mutes the bridged guest on its INFO *6", func() bool {
		for _, p := range b.sipParticipants("lima") {
			if p.Attributes[AttrViaNode] == "a" {
				return p.AudioMuted
			}
		}
		return false
	})
	guest.hangup()
	waitUntil(t, 5*time.Second, "the guest's hang-up on A ends it on B", func() bool { return len(b.sipParticipants("lima")) == 1 })
	phone.hangup()
	a.waitIdle()
	b.waitIdle()
	if got := a.metric("roombridge_node_bridges_total", bridgeOut); got != 2 {
		t.Errorf("bridges out of A = %v, want 2", got)
	}
	if got := b.metric("roombridge_node_bridges_total", bridgeIn); got != 2 {
		t.Errorf("bridges into B = %v, want 2", got)
	}
}

// When the room's node does not answer, the PIN caller joins the room on
// the node it reached: it is never dropped for the bridge.
func TestNodeBridgeFallback(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	leakcheck.Check(t)
	a := newNodeFixture(t, "a", roomOn("127.0.0.1:9"))
	ag := newAgent(t)
	p, code := ag.dial(a.uri(dialIn), phoneOpts{freq: 440})
	if code != 200 {
		t.Fatalf("caller on A: %d", code)
	}
	p.keys("2468#", viaRFC4733)
	waitUntil(t, 15*time.Second, "the caller in lima on A", func() bool { return a.gw.activeHubs() == 1 && len(a.sipParticipants("lima")) == 1 })
	if got := a.metric("roombridge_node_bridges_total", bridgeFallback); got != 1 {
		t.Errorf("fallbacks = %v, want 1", got)
	}
	p.hangup()
	a.waitIdle()
}

func TestNodeTokens(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tokens, other := newNodeTokens(testNodeSecret), newNodeTokens([]byte("another cluster's secret........"))
	claim := nodeClaim{room: "lima", host: true, name: "Ada Lovelace", node: "gw1"}
	tok := tokens.mint(claim, now)
	tamper := func(i int, v string) string {
		p := strings.Split(tokens.mint(claim, now), ".")
		p[i] = v
		return strings.Join(p, ".")
	}
	for _, tc := range []struct {
		name string
		tok  string
		room string
		at   time.Time
	}{
		{"another room", tokens.mint(claim, now), "mike", now},
		{"another secret", other.mint(claim, now), "lima", now},
		{"expired", tokens.mint(claim, now), "lima", now.Add(nodeTokenTTL + time.Second)},
		{"far future", tamper(1, "9999999999"), "lima", now},
		{"guest made host", tamper(3, "0"), "lima", now},
		{"renamed", tamper(5, b64.EncodeToString([]byte("Mallory"))), "lima", now},
		{"malformed", "v1.abc", "lima", now},
		{"empty", "", "lima", now},
	} {
		if _, err := tokens.check(tc.tok, tc.room, tc.at); err == nil {
			t.Errorf("%s: token accepted", tc.name)
		}
	}
	got, err := tokens.check(tok, "lima", now.Add(time.Second))
	if err != nil || got != claim {
		t.Fatalf("check = %+v, %v; want %+v", got, err, claim)
	}
	if _, err := tokens.check(tok, "lima", now.Add(2*time.Second)); err == nil {
		t.Error("a token was accepted twice")
	}
}
