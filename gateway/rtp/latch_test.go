package rtp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
)

func TestLatchUnit(t *testing.T) {
	sdp := netip.MustParseAddrPort("192.0.2.1:4000")
	nat := netip.MustParseAddrPort("198.51.100.7:31000")
	other := netip.MustParseAddrPort("198.51.100.7:31002")
	var l latch
	l.set(sdp)
	if _, moved := l.observe(nat); !moved {
		t.Fatal("first packet did not latch")
	}
	if got, _ := l.load(); got != nat {
		t.Fatalf("dst %v", got)
	}
	// A stray packet, then the real source again: no move.
	for range relatchPackets - 1 {
		l.observe(other)
	}
	l.observe(nat)
	if got, _ := l.load(); got != nat {
		t.Fatalf("moved on %d stray packets", relatchPackets-1)
	}
	// A steady new source moves it.
	for i := range relatchPackets {
		_, moved := l.observe(other)
		if moved != (i == relatchPackets-1) {
			t.Fatalf("packet %d: moved %v", i, moved)
		}
	}
	if got, _ := l.load(); got != other {
		t.Fatalf("dst %v, want %v", got, other)
	}
	l.set(netip.AddrPort{})
	if _, ok := l.load(); ok {
		t.Fatal("zero address is known")
	}
}

// The peer's SDP names an address it does not send from (a NAT): our
// replies must go where its packets come from.
func TestLatching(t *testing.T) {
	checkGoroutines(t)
	for _, c := range []struct {
		name    string
		profile srtp.ProtectionProfile
		mux     bool
	}{{name: "plain"}, {name: "srtp", profile: srtp.ProtectionProfileAes128CmHmacSha1_80}, {name: "mux", mux: true}} {
		t.Run(c.name, func(t *testing.T) {
			pool := testPool(t, 4)
			var ka, kb *SRTPKeys
			if c.profile != 0 {
				ka, kb = keyPair(t, c.profile)
			}
			sink := listenUDP(t) // what the SDP claimed
			ra, rb := newRecorder(), newRecorder()
			a := newTestSession(t, pool, func(cfg *SessionConfig) {
				cfg.SRTP, cfg.Handler, cfg.RTCPMux = ka, ra, c.mux
				cfg.Remote = addrOf(sink)
			})
			b := newTestSession(t, pool, func(cfg *SessionConfig) {
				cfg.SRTP, cfg.Handler, cfg.RTCPMux = kb, rb, c.mux
				cfg.Remote = a.LocalAddr()
			})
			if err := b.WriteRTP(payloadFor(0), 0, 0, true); err != nil {
				t.Fatal(err)
			}
			ra.waitCount(t, 1, time.Second)
			st := a.Stats()
			if st.RemoteAddr != b.LocalAddr() || !st.Latched {
				t.Fatalf("a sends to %v (latched %v), want %v", st.RemoteAddr, st.Latched, b.LocalAddr())
			}
			for i := range 5 {
				if err := a.WriteRTP(payloadFor(i), 0, uint32(i*160), false); err != nil {
					t.Fatal(err)
				}
			}
			rb.waitCount(t, 5, time.Second)
			// RTCP follows: the port above the latched RTP port, or the
			// RTP port itself with rtcp-mux.
			wantRTCP := b.ports.RTCPAddr()
			if c.mux {
				wantRTCP = b.LocalAddr()
			}
			if got, _ := a.rtcpLatch.load(); got != wantRTCP {
				t.Errorf("a sends RTCP to %v, want %v", got, wantRTCP)
			}
			waitFor(t, 2*time.Second, "b to get a's RTCP report", func() bool { return b.Stats().ReportsReceived > 0 })
		})
	}
}

func TestRelatchAndDisable(t *testing.T) {
	pool := testPool(t, 6)
	sink := listenUDP(t)
	ra, rb := newRecorder(), newRecorder()
	a := newTestSession(t, pool, func(c *SessionConfig) { c.Handler = ra; c.Remote = addrOf(sink) })
	b1 := newTestSession(t, pool, func(c *SessionConfig) { c.Remote = a.LocalAddr(); c.SSRC = 7 })
	b2 := newTestSession(t, pool, func(c *SessionConfig) { c.Remote = a.LocalAddr(); c.SSRC = 7; c.Handler = rb })
	_ = b1.WriteRTP(payloadFor(0), 0, 0, false)
	ra.waitCount(t, 1, time.Second)
	if got := a.Stats().RemoteAddr; got != b1.LocalAddr() {
		t.Fatalf("latched to %v", got)
	}
	// The peer moves (a NAT rebinding): the same stream from a new port.
	b2.txMu.Lock()
	b2.seq = 1
	b2.txMu.Unlock()
	for i := 1; i <= relatchPackets; i++ {
		_ = b2.WriteRTP(payloadFor(i), 0, uint32(i*160), false)
	}
	ra.waitCount(t, 1+relatchPackets, time.Second)
	if got := a.Stats().RemoteAddr; got != b2.LocalAddr() {
		t.Fatalf("not relatched: %v, want %v", got, b2.LocalAddr())
	}
	_ = a.WriteRTP(payloadFor(9), 0, 0, false)
	rb.waitCount(t, 1, time.Second)

	// With latching off, the SDP address stands.
	c := newTestSession(t, pool, func(c *SessionConfig) { c.Remote = addrOf(sink); c.DisableLatching = true; c.Handler = newRecorder() })
	b1.SetRemote(c.LocalAddr(), netip.AddrPort{})
	_ = b1.WriteRTP(payloadFor(0), 0, 0, false)
	waitFor(t, time.Second, "c to receive", func() bool { return c.Stats().PacketsReceived > 0 })
	if st := c.Stats(); st.RemoteAddr != addrOf(sink) || st.Latched {
		t.Fatalf("latched with latching disabled: %+v", st)
	}
}

func TestSetRemote(t *testing.T) {
	pool := testPool(t, 6)
	sdp := listenUDP(t) // the address in the peer's SDP, which it never sends from
	ra, rb, rc := newRecorder(), newRecorder(), newRecorder()
	a := newTestSession(t, pool, func(c *SessionConfig) { c.Handler = ra; c.Remote = addrOf(sdp) })
	b := newTestSession(t, pool, func(c *SessionConfig) { c.Handler = rb; c.Remote = a.LocalAddr() })
	_ = b.WriteRTP(payloadFor(0), 0, 0, false)
	ra.waitCount(t, 1, time.Second)

	// A re-INVITE repeating the same SDP (hold, refresh) keeps the latch.
	a.SetRemote(addrOf(sdp), netip.AddrPort{})
	if st := a.Stats(); st.RemoteAddr != b.LocalAddr() || !st.Latched {
		t.Fatalf("same SDP undid the latch: %+v", st)
	}
	// A re-INVITE to a new address (a transfer) is followed at once.
	c := newTestSession(t, pool, func(c *SessionConfig) { c.Handler = rc })
	a.SetRemote(c.LocalAddr(), netip.AddrPort{})
	if st := a.Stats(); st.RemoteAddr != c.LocalAddr() || st.Latched {
		t.Fatalf("after SetRemote: %+v", st)
	}
	if got, _ := a.rtcpLatch.load(); got != c.ports.RTCPAddr() {
		t.Errorf("rtcp to %v, want %v", got, c.ports.RTCPAddr())
	}
	_ = a.WriteRTP(payloadFor(1), 0, 160, false)
	rc.waitCount(t, 1, time.Second)
	if rb.count() != 0 {
		t.Error("old peer still gets media")
	}
}
