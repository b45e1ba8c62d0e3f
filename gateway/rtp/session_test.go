package rtp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
)

var profiles = []srtp.ProtectionProfile{
	srtp.ProtectionProfileAes128CmHmacSha1_80,
	srtp.ProtectionProfileAes128CmHmacSha1_32,
	srtp.ProtectionProfileAeadAes128Gcm,
	srtp.ProtectionProfileAeadAes256Gcm,
}

func TestExchange(t *testing.T) {
	checkGoroutines(t)
	type tc struct {
		name    string
		profile srtp.ProtectionProfile // 0: plain RTP
		mux     bool
	}
	cases := []tc{{name: "plain"}, {name: "plain-mux", mux: true}}
	for _, p := range profiles {
		cases = append(cases, tc{name: p.String(), profile: p})
	}
	cases = append(cases, tc{name: "gcm-mux", profile: srtp.ProtectionProfileAeadAes128Gcm, mux: true})

	pool := testPool(t, 32)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ka, kb *SRTPKeys
			if c.profile != 0 {
				ka, kb = keyPair(t, c.profile)
			}
			ra, rb := newRecorder(), newRecorder()
			a := newTestSession(t, pool, func(cfg *SessionConfig) { cfg.SRTP, cfg.Handler, cfg.RTCPMux = ka, ra, c.mux })
			b := newTestSession(t, pool, func(cfg *SessionConfig) { cfg.SRTP, cfg.Handler, cfg.RTCPMux = kb, rb, c.mux })
			connect(a, b)

			const n = 50
			for i := range n {
				if err := a.WriteRTP(payloadFor(i), 0, uint32(i*160), i == 0); err != nil {
					t.Fatal(err)
				}
				if err := b.WriteRTP(payloadFor(1000+i), 0, uint32(i*160), i == 0); err != nil {
					t.Fatal(err)
				}
			}
			ra.waitCount(t, n, 2*time.Second)
			rb.waitCount(t, n, 2*time.Second)
			for i, p := range rb.snapshot() {
				if !bytes.Equal(p, payloadFor(i)) {
					t.Fatalf("b got packet %d wrong", i)
				}
			}
			for i, p := range ra.snapshot() {
				if !bytes.Equal(p, payloadFor(1000+i)) {
					t.Fatalf("a got packet %d wrong", i)
				}
			}
			rb.mu.Lock()
			if rb.ssrcs[0] != a.SSRC() || rb.seqs[1] != rb.seqs[0]+1 {
				t.Errorf("ssrc %x seq %d,%d; want ssrc %x and consecutive", rb.ssrcs[0], rb.seqs[0], rb.seqs[1], a.SSRC())
			}
			rb.mu.Unlock()
			st := b.Stats()
			if st.PacketsReceived != n || st.BytesReceived != n*160 || st.PacketsSent != n || st.DecryptErrors != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestSRTPWrongKey(t *testing.T) {
	checkGoroutines(t)
	pool := testPool(t, 8)
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			ka, kb := keyPair(t, p)
			kb.RemoteKey = bytes.Clone(kb.RemoteKey)
			kb.RemoteKey[0] ^= 1
			rb := newRecorder()
			a := newTestSession(t, pool, func(cfg *SessionConfig) { cfg.SRTP = ka })
			b := newTestSession(t, pool, func(cfg *SessionConfig) { cfg.SRTP, cfg.Handler = kb, rb })
			sink := listenUDP(t)
			a.SetRemote(b.LocalAddr(), b.ports.RTCPAddr())
			b.SetRemote(addrOf(sink), netip.AddrPort{})
			for i := range 20 {
				if err := a.WriteRTP(payloadFor(i), 0, uint32(i*160), false); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 2*time.Second, "decrypt errors", func() bool { return b.Stats().DecryptErrors >= 20 })
			st := b.Stats()
			if rb.count() != 0 || st.PacketsReceived != 0 {
				t.Errorf("delivered %d packets with a wrong key", rb.count())
			}
			if st.RemoteAddr != addrOf(sink) || st.Latched {
				t.Errorf("unauthenticated packets latched: %+v", st)
			}
		})
	}
}

func TestNewSessionConfigErrors(t *testing.T) {
	pool := testPool(t, 2)
	pp, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	ka, _ := keyPair(t, srtp.ProtectionProfileAes128CmHmacSha1_80)
	short := *ka
	short.LocalKey = short.LocalKey[:8]
	null := *ka
	null.Profile = srtp.ProtectionProfileNullHmacSha1_80
	for _, c := range []struct {
		name string
		cfg  SessionConfig
		want error
	}{
		{"no ports", SessionConfig{ClockRate: 8000}, ErrInvalidConfig},
		{"no clock", SessionConfig{Ports: pp}, ErrInvalidConfig},
		{"no rtcp socket", SessionConfig{Ports: NewPortPair(pp.RTP, nil), ClockRate: 8000}, ErrInvalidConfig},
		{"bad pt", SessionConfig{Ports: pp, ClockRate: 8000, PayloadType: 200}, ErrInvalidConfig},
		{"short key", SessionConfig{Ports: pp, ClockRate: 8000, SRTP: &short}, ErrInvalidKey},
		{"null profile", SessionConfig{Ports: pp, ClockRate: 8000, SRTP: &null}, ErrUnsupportedProfile},
	} {
		if _, err := NewSession(c.cfg); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
}

func TestWriteBeforeRemoteKnown(t *testing.T) {
	pool := testPool(t, 2)
	s := newTestSession(t, pool, nil)
	if err := s.WriteRTP([]byte{1}, 0, 0, false); !errors.Is(err, ErrNoRemote) {
		t.Fatalf("err %v, want ErrNoRemote", err)
	}
	if st := s.Stats(); st.PacketsSent != 0 {
		t.Errorf("counted %d packets sent", st.PacketsSent)
	}
}

func TestCloseIdempotent(t *testing.T) {
	checkGoroutines(t)
	pool := testPool(t, 2)
	s := newTestSession(t, pool, func(c *SessionConfig) { c.Remote = netip.MustParseAddrPort("127.0.0.1:9") })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(s.Cause(), ErrClosed) {
		t.Errorf("cause %v", s.Cause())
	}
	if err := s.WriteRTP([]byte{1}, 0, 0, false); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if pool.InUse() != 0 {
		t.Errorf("pool in use %d after close", pool.InUse())
	}
}

func TestSSRCChange(t *testing.T) {
	pool := testPool(t, 4)
	rb := newRecorder()
	b := newTestSession(t, pool, func(c *SessionConfig) { c.Handler = rb })
	var changes [][2]uint32
	done := make(chan struct{}, 1)
	b.OnSSRCChange(func(o, n uint32) {
		changes = append(changes, [2]uint32{o, n})
		done <- struct{}{}
	})
	a1 := newTestSession(t, pool, func(c *SessionConfig) { c.SSRC = 0x1111; c.Remote = b.LocalAddr() })
	for i := range 5 {
		_ = a1.WriteRTP(payloadFor(i), 0, uint32(i*160), false)
	}
	rb.waitCount(t, 5, time.Second)
	a2 := newTestSession(t, pool, func(c *SessionConfig) { c.SSRC = 0x2222; c.Remote = b.LocalAddr() })
	for i := range 5 {
		_ = a2.WriteRTP(payloadFor(i), 0, uint32(i*160), false)
	}
	rb.waitCount(t, 10, time.Second)
	<-done
	if len(changes) != 1 || changes[0] != [2]uint32{0x1111, 0x2222} {
		t.Errorf("changes %x", changes)
	}
	st := b.Stats()
	if st.RemoteSSRC != 0x2222 || st.SSRCChanges != 1 || st.PacketsReceived != 10 || st.PacketsLost != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestNilHooks(t *testing.T) {
	pool := testPool(t, 4)
	a := newTestSession(t, pool, nil)
	b := newTestSession(t, pool, func(c *SessionConfig) { c.Timeout = 50 * time.Millisecond })
	b.OnRTCP(nil)
	b.OnTimeout(nil)
	b.OnSSRCChange(nil)
	connect(a, b)
	_ = b.WriteRTP([]byte{1}, 0, 0, false)
	waitFor(t, 2*time.Second, "a report", func() bool { return b.Stats().ReportsReceived > 0 })
	_ = a.Close()
	waitFor(t, 2*time.Second, "the timeout", func() bool { return b.Stats().TimedOut })
}
