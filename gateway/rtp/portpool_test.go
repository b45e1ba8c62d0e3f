package rtp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestPortPoolRange(t *testing.T) {
	for _, c := range []struct {
		min, max uint16
		pairs    int
		ok       bool
	}{
		{10000, 10001, 1, true},
		{10001, 10004, 1, true}, // odd min rounds up; 10004 has no partner
		{10000, 10009, 5, true},
		{10000, 10000, 0, false},
		{10001, 10002, 0, false},
		{20000, 10000, 0, false},
		{0, 10, 0, false},
	} {
		p, err := NewPortPool(loopback, c.min, c.max)
		if (err == nil) != c.ok {
			t.Errorf("%d-%d: err %v", c.min, c.max, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) {
				t.Errorf("%d-%d: err %v", c.min, c.max, err)
			}
			continue
		}
		if p.Size() != c.pairs {
			t.Errorf("%d-%d: %d pairs, want %d", c.min, c.max, p.Size(), c.pairs)
		}
	}
	if _, err := NewPortPool(netip.Addr{}, 10000, 10010); !errors.Is(err, ErrInvalidRange) {
		t.Errorf("invalid IP: %v", err)
	}
}

func TestPortPoolExhaustionAndReuse(t *testing.T) {
	pool := testPool(t, 3)
	var pairs []*PortPair
	seen := map[uint16]bool{}
	for range 3 {
		pp, err := pool.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		rtp, rtcp := pp.RTPAddr().Port(), pp.RTCPAddr().Port()
		if rtp%2 != 0 || rtcp != rtp+1 || rtp < pool.min || rtcp > pool.max {
			t.Fatalf("pair %d/%d outside %d-%d or not even/odd", rtp, rtcp, pool.min, pool.max)
		}
		if seen[rtp] {
			t.Fatalf("port %d handed out twice", rtp)
		}
		seen[rtp] = true
		pairs = append(pairs, pp)
	}
	if pool.InUse() != 3 {
		t.Errorf("in use %d", pool.InUse())
	}
	if _, err := pool.Allocate(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("err %v, want ErrNoPorts", err)
	}
	// Release the middle pair: it is the only free one, so it comes back.
	mid := pairs[1].RTPAddr().Port()
	if err := pairs[1].Close(); err != nil {
		t.Fatal(err)
	}
	if err := pairs[1].Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if pool.InUse() != 2 {
		t.Errorf("in use %d after close", pool.InUse())
	}
	pp, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if pp.RTPAddr().Port() != mid {
		t.Errorf("got %d, want the released %d", pp.RTPAddr().Port(), mid)
	}
	pairs[1] = pp
	for _, pp := range pairs {
		_ = pp.Close()
	}
	if pool.InUse() != 0 {
		t.Errorf("in use %d after closing all", pool.InUse())
	}
}

func TestPortPoolRoundRobin(t *testing.T) {
	pool := testPool(t, 4)
	a, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	first := a.RTPAddr().Port()
	_ = a.Close()
	b, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.RTPAddr().Port() == first {
		t.Errorf("released port %d reused at once", first)
	}
}

func TestPortPoolSkipsForeignPorts(t *testing.T) {
	pool := testPool(t, 3)
	// Another process holds the RTCP port of the first pair and the RTP
	// port of the second.
	for _, port := range []uint16{pool.min + 1, pool.min + 2} {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, port)))
		if err != nil {
			t.Skipf("cannot bind %d: %v", port, err)
		}
		defer c.Close()
	}
	pp, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	if got := pp.RTPAddr().Port(); got != pool.min+4 {
		t.Errorf("got %d, want %d", got, pool.min+4)
	}
	if _, err := pool.Allocate(); !errors.Is(err, ErrNoPorts) {
		t.Errorf("err %v, want ErrNoPorts", err)
	}
	if pool.InUse() != 1 {
		t.Errorf("in use %d", pool.InUse())
	}
}

func TestPortPoolIPv6(t *testing.T) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	_ = c.Close()
	pool, err := NewPortPool(netip.IPv6Loopback(), 30000, 30999)
	if err != nil {
		t.Fatal(err)
	}
	pa, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	pb, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	rb := newRecorder()
	a, err := NewSession(SessionConfig{Ports: pa, ClockRate: 8000, Remote: pb.RTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewSession(SessionConfig{Ports: pb, ClockRate: 8000, Handler: rb})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !a.LocalAddr().Addr().Is6() {
		t.Fatalf("local %v", a.LocalAddr())
	}
	_ = a.WriteRTP(payloadFor(1), 0, 0, false)
	rb.waitCount(t, 1, time.Second)
	if got := b.Stats().RemoteAddr; got != a.LocalAddr() {
		t.Errorf("latched %v, want %v", got, a.LocalAddr())
	}
}

func TestPortPoolConcurrent(t *testing.T) {
	pool := testPool(t, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	held := map[uint16]bool{}
	for range 8 {
		wg.Go(func() {
			for range 50 {
				pp, err := pool.Allocate()
				if err != nil {
					t.Error(err)
					return
				}
				port := pp.RTPAddr().Port()
				mu.Lock()
				if held[port] {
					t.Errorf("port %d held twice", port)
				}
				held[port] = true
				mu.Unlock()
				mu.Lock()
				delete(held, port)
				mu.Unlock()
				_ = pp.Close()
			}
		})
	}
	wg.Wait()
	if pool.InUse() != 0 {
		t.Errorf("in use %d", pool.InUse())
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(fds)
}

// 200 legs set up and torn down leave no sockets and no goroutines.
func TestSessionCyclesLeakNothing(t *testing.T) {
	checkGoroutines(t)
	pool := testPool(t, 8)
	peer := listenUDP(t)
	runtime.GC()
	fdsBefore := countFDs(t)
	for i := range 200 {
		pp, err := pool.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := keyPair(t, profiles[i%len(profiles)])
		s, err := NewSession(SessionConfig{
			Ports: pp, ClockRate: 8000, Remote: addrOf(peer), SRTP: keys,
			RTCPMux: i%2 == 0, RTCPInterval: time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.WriteRTP(payloadFor(i), 0, 0, false)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if pool.InUse() != 0 {
		t.Errorf("in use %d", pool.InUse())
	}
	if fds := countFDs(t); fds > fdsBefore {
		t.Errorf("file descriptors: %d before, %d after", fdsBefore, fds)
	}
}
