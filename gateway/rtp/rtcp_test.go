package rtp

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// lossyProxy relays datagrams between two peers with a delay each way and
// drops every dropEvery-th RTP packet from a to b.
type lossyProxy struct {
	conn      *net.UDPConn
	a, b      netip.AddrPort
	delay     time.Duration
	dropEvery int
	wg        sync.WaitGroup
}

func newLossyProxy(t *testing.T, delay time.Duration, dropEvery int) *lossyProxy {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{conn: c, delay: delay, dropEvery: dropEvery}
	t.Cleanup(func() {
		_ = c.Close()
		p.wg.Wait()
	})
	return p
}

func (p *lossyProxy) addr() netip.AddrPort { return addrOf(p.conn) }

func (p *lossyProxy) run() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 2048)
		rtpFromA := 0
		for {
			n, src, err := p.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			dst := p.a
			if src == p.a {
				dst = p.b
				if !isRTCP(buf[:n]) {
					rtpFromA++
					if rtpFromA%p.dropEvery == 0 {
						continue
					}
				}
			}
			b := append([]byte(nil), buf[:n]...)
			p.wg.Add(1)
			time.AfterFunc(p.delay, func() {
				defer p.wg.Done()
				_, _ = p.conn.WriteToUDPAddrPort(b, dst)
			})
		}
	}()
}

func TestRTCPStats(t *testing.T) {
	checkGoroutines(t)
	pool := testPool(t, 4)
	proxy := newLossyProxy(t, 10*time.Millisecond, 10)
	var mu sync.Mutex
	var seen []rtcp.Packet
	ra, rb := newRecorder(), newRecorder()
	// The sender of the lossy direction, and the receiver that measures.
	snd := newTestSession(t, pool, func(c *SessionConfig) { c.RTCPMux = true; c.Handler = rb })
	rcv := newTestSession(t, pool, func(c *SessionConfig) { c.RTCPMux = true; c.Handler = ra })
	snd.OnRTCP(func(p rtcp.Packet) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	})
	proxy.a, proxy.b = snd.LocalAddr(), rcv.LocalAddr()
	proxy.run()
	snd.SetRemote(proxy.addr(), netip.AddrPort{})
	rcv.SetRemote(proxy.addr(), netip.AddrPort{})

	const n = 300
	tick := time.NewTicker(4 * time.Millisecond)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		ts := uint32(i * 32) // 4 ms at 8 kHz
		if err := snd.WriteRTP(payloadFor(i), 0, ts, false); err != nil {
			t.Fatal(err)
		}
		if err := rcv.WriteRTP(payloadFor(i), 0, ts, false); err != nil {
			t.Fatal(err)
		}
	}
	sendingDone := len(seenSnapshot(&mu, &seen))
	// Let the last reports cross.
	waitFor(t, 3*time.Second, "reports with RTT", func() bool {
		return snd.Stats().RTT > 0 && rcv.Stats().RTT > 0 && snd.Stats().ReportsReceived > 3
	})
	time.Sleep(300 * time.Millisecond)

	r, s := rcv.Stats(), snd.Stats()
	t.Logf("receiver: lost %d (%.3f) jitter %v rtt %v mos %.2f", r.PacketsLost, r.LossFraction, r.Jitter, r.RTT, rcv.MOS())
	t.Logf("sender: peer says lost %d (%.3f) jitter %v; rtt %v; reverse lost %d mos %.2f",
		s.RemotePacketsLost, s.RemoteLossFraction, s.RemoteJitter, s.RTT, s.PacketsLost, snd.MOS())

	// The 300th packet is dropped too, but nothing after it shows the gap.
	if r.PacketsReceived != n-n/10 || r.PacketsLost != n/10-1 {
		t.Errorf("receiver got %d lost %d, want %d and %d", r.PacketsReceived, r.PacketsLost, n-n/10, n/10-1)
	}
	if r.LossFraction < 0.09 || r.LossFraction > 0.11 {
		t.Errorf("loss fraction %.3f, want ~0.10", r.LossFraction)
	}
	if s.RemotePacketsLost != n/10-1 {
		t.Errorf("peer-reported cumulative loss %d, want %d", s.RemotePacketsLost, n/10-1)
	}
	// The fraction lost of each report covers its interval only; averaged
	// over the reports sent while media flowed it is the 10 %.
	mu.Lock()
	var sum float64
	var blocks int
	for _, p := range seen[:sendingDone] {
		if sr, ok := p.(*rtcp.SenderReport); ok {
			for _, rr := range sr.Reports {
				if rr.SSRC == snd.SSRC() {
					sum += float64(rr.FractionLost) / 256
					blocks++
				}
			}
		}
	}
	mu.Unlock()
	if avg := sum / float64(max(blocks, 1)); blocks < 5 || avg < 0.07 || avg > 0.13 {
		t.Errorf("peer-reported loss fraction %.3f over %d reports, want ~0.10", avg, blocks)
	}
	if s.PacketsLost != 0 || s.LossFraction != 0 {
		t.Errorf("loss in the clean direction: %d", s.PacketsLost)
	}
	for _, st := range []Stats{r, s} {
		// Two 10 ms legs through the proxy.
		if st.RTT < 18*time.Millisecond || st.RTT > 200*time.Millisecond {
			t.Errorf("rtt %v, want ~20ms", st.RTT)
		}
		if st.Jitter <= 0 || st.Jitter > 20*time.Millisecond {
			t.Errorf("jitter %v", st.Jitter)
		}
	}
	if s.RemoteJitter <= 0 || s.RemoteJitter > 20*time.Millisecond {
		t.Errorf("peer-reported jitter %v", s.RemoteJitter)
	}
	if m := rcv.MOS(); m < 2.5 || m > 3.9 {
		t.Errorf("MOS with 10%% loss %.2f", m)
	}
	if m := snd.MOS(); m < 4.2 {
		t.Errorf("MOS without loss %.2f", m)
	}
	mu.Lock()
	var srs int
	for _, p := range seen {
		if _, ok := p.(*rtcp.SenderReport); ok {
			srs++
		}
	}
	mu.Unlock()
	if srs == 0 {
		t.Error("OnRTCP saw no sender report")
	}
}

func TestByeOnClose(t *testing.T) {
	pool := testPool(t, 4)
	a := newTestSession(t, pool, nil)
	b := newTestSession(t, pool, nil)
	connect(a, b)
	byes := make(chan uint32, 4)
	b.OnRTCP(func(p rtcp.Packet) {
		if bye, ok := p.(*rtcp.Goodbye); ok {
			byes <- bye.Sources[0]
		}
	})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case ssrc := <-byes:
		if ssrc != a.SSRC() {
			t.Errorf("bye for %x", ssrc)
		}
	case <-time.After(time.Second):
		t.Fatal("no BYE")
	}
}

func TestWriteRTCP(t *testing.T) {
	pool := testPool(t, 4)
	ka, kb := keyPair(t, profiles[0])
	a := newTestSession(t, pool, func(c *SessionConfig) { c.SRTP = ka })
	b := newTestSession(t, pool, func(c *SessionConfig) { c.SRTP = kb })
	connect(a, b)
	plis := make(chan uint32, 4)
	b.OnRTCP(func(p rtcp.Packet) {
		if pli, ok := p.(*rtcp.PictureLossIndication); ok {
			plis <- pli.MediaSSRC
		}
	})
	if err := a.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: a.SSRC(), MediaSSRC: 42}}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-plis:
		if m != 42 {
			t.Errorf("media ssrc %d", m)
		}
	case <-time.After(time.Second):
		t.Fatal("no PLI")
	}
}

func TestReceptionUnit(t *testing.T) {
	var r reception
	r.init(1, 65530)
	for s := uint16(65530); s != 10; s++ {
		if s == 65535 || s == 3 { // two lost, across the wrap
			continue
		}
		r.update(s)
	}
	if got := r.extendedMax(); got != 1<<16+9 {
		t.Errorf("extended max %d", got)
	}
	if r.lost() != 2 || r.expected() != 16 {
		t.Errorf("lost %d of %d", r.lost(), r.expected())
	}
	rep := r.report(0, 0)
	if rep.FractionLost != 2*256/16 || rep.TotalLost != 2 {
		t.Errorf("report %+v", rep)
	}
	// A restart: the first far jump is ignored, the second resyncs.
	if r.update(30000) || !r.update(30001) {
		t.Error("resync")
	}
	if r.expected() != 1 || r.received != 1 {
		t.Errorf("after resync: expected %d received %d", r.expected(), r.received)
	}
	if got := signed24(clampLost(-5)); got != -5 {
		t.Errorf("signed24 %d", got)
	}
	if got := clampLost(1 << 30); got != 0x7fffff {
		t.Errorf("clamp %x", got)
	}
}

func TestJitterUnit(t *testing.T) {
	var r reception
	r.init(1, 0)
	// Packets 160 units apart arriving alternately 0 and 80 units late.
	for i := range 2000 {
		late := uint32(0)
		if i%2 == 1 {
			late = 80
		}
		r.updateJitter(uint32(i*160)+late, uint32(i*160))
	}
	if r.jitter < 75 || r.jitter > 80 {
		t.Errorf("jitter %.1f, want ~80", r.jitter)
	}
}

func TestNTP(t *testing.T) {
	tm := time.Date(2024, 1, 2, 3, 4, 5, 500_000_000, time.UTC)
	n := ntpTime(tm)
	if n>>32 != uint64(tm.Unix()+ntpEpochOffset) || uint32(n) != 1<<31 {
		t.Errorf("ntp %x", n)
	}
	if compactNTP(tm) != uint32(n>>16) {
		t.Error("compact")
	}
}

func seenSnapshot(mu *sync.Mutex, seen *[]rtcp.Packet) []rtcp.Packet {
	mu.Lock()
	defer mu.Unlock()
	return append([]rtcp.Packet(nil), *seen...)
}
