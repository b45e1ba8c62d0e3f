package rtp

import (
	"bytes"
	crand "crypto/rand"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
	"go.uber.org/goleak"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// testPool returns a pool on loopback in a range picked at random, so
// parallel test binaries on the machine rarely contend (and skip each
// other's ports when they do).
func testPool(t testing.TB, pairs int) *PortPool {
	t.Helper()
	base := uint16(20000 + 2*rand.IntN(15000))
	p, err := NewPortPool(loopback, base, base+uint16(2*pairs-1))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkGoroutines fails the test if it leaves goroutines behind: those
// running when it ends that did not when it started (goleak).
func checkGoroutines(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// recorder is a Handler that keeps copies of what it receives.
type recorder struct {
	mu       sync.Mutex
	payloads [][]byte
	seqs     []uint16
	ssrcs    []uint32
	notify   chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) HandleRTP(p *Packet) {
	r.mu.Lock()
	r.payloads = append(r.payloads, bytes.Clone(p.Payload))
	r.seqs = append(r.seqs, p.SequenceNumber)
	r.ssrcs = append(r.ssrcs, p.SSRC)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.payloads)
}

func (r *recorder) snapshot() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.payloads...)
}

// waitCount waits until the recorder holds n packets.
func (r *recorder) waitCount(t testing.TB, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for r.count() < n {
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("received %d packets, want %d", r.count(), n)
		}
	}
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// keyPair returns SDES keys for two ends of one call.
func keyPair(t testing.TB, profile srtp.ProtectionProfile) (a, b *SRTPKeys) {
	t.Helper()
	kl, err := profile.KeyLen()
	if err != nil {
		t.Fatal(err)
	}
	sl, err := profile.SaltLen()
	if err != nil {
		t.Fatal(err)
	}
	gen := func(n int) []byte {
		b := make([]byte, n)
		_, _ = crand.Read(b)
		return b
	}
	ak, as, bk, bs := gen(kl), gen(sl), gen(kl), gen(sl)
	return &SRTPKeys{Profile: profile, LocalKey: ak, LocalSalt: as, RemoteKey: bk, RemoteSalt: bs},
		&SRTPKeys{Profile: profile, LocalKey: bk, LocalSalt: bs, RemoteKey: ak, RemoteSalt: as}
}

// newTestSession allocates ports from pool and starts a session with the
// defaults tests want; mutate adjusts the config. The session is closed at
// cleanup.
func newTestSession(t testing.TB, pool *PortPool, mutate func(*SessionConfig)) *Session {
	t.Helper()
	pp, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	cfg := SessionConfig{
		Ports:        pp,
		PayloadType:  0,
		ClockRate:    8000,
		RTCPInterval: 100 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := NewSession(cfg)
	if err != nil {
		_ = pp.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// connect points a and b at each other as their SDP would.
func connect(a, b *Session) {
	a.SetRemote(b.LocalAddr(), b.ports.RTCPAddr())
	b.SetRemote(a.LocalAddr(), a.ports.RTCPAddr())
}

// listenUDP binds a loopback socket on any port.
func listenUDP(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// payloadFor is a recognisable 160-byte payload for packet i.
func payloadFor(i int) []byte {
	p := make([]byte, 160)
	for j := range p {
		p[j] = byte(i + j)
	}
	return p
}
