package rtp

import (
	"net/netip"
	"testing"

	"github.com/pion/srtp/v3"
)

// benchSession is a session that sends into a sink socket nobody reads.
func benchSession(tb testing.TB, keys *SRTPKeys) *Session {
	tb.Helper()
	pool := testPool(tb, 2)
	sink := listenUDP(tb)
	return newTestSession(tb, pool, func(c *SessionConfig) {
		c.SRTP = keys
		c.Remote = addrOf(sink)
		c.Timeout = NoTimeout
	})
}

// packetSource makes the datagrams a peer would send: consecutive
// sequence numbers, encrypted with the peer's key when keys are set.
type packetSource struct {
	ctx  *srtp.Context
	seq  uint16
	ts   uint32
	wire [][]byte
}

func newPacketSource(tb testing.TB, peerKeys *SRTPKeys) *packetSource {
	ps := &packetSource{}
	if peerKeys != nil {
		c, err := srtp.CreateContext(peerKeys.LocalKey, peerKeys.LocalSalt, peerKeys.Profile)
		if err != nil {
			tb.Fatal(err)
		}
		ps.ctx = c
	}
	return ps
}

// fill makes n datagrams.
func (ps *packetSource) fill(tb testing.TB, n int) {
	ps.wire = ps.wire[:0]
	payload := payloadFor(0)
	for range n {
		pkt := Packet{Payload: payload}
		pkt.Version, pkt.PayloadType, pkt.SSRC = 2, 0, 0x5eed
		pkt.SequenceNumber, pkt.Timestamp = ps.seq, ps.ts
		ps.seq++
		ps.ts += 160
		b, err := pkt.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		if ps.ctx != nil {
			if b, err = ps.ctx.EncryptRTP(nil, b, nil); err != nil {
				tb.Fatal(err)
			}
		}
		ps.wire = append(ps.wire, b)
	}
}

var benchCases = []struct {
	name    string
	profile srtp.ProtectionProfile
}{
	{"plain", 0},
	{"aes-cm-80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	{"aes-gcm-128", srtp.ProtectionProfileAeadAes128Gcm},
}

func BenchmarkWriteRTP(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			var keys *SRTPKeys
			if c.profile != 0 {
				keys, _ = keyPair(b, c.profile)
			}
			s := benchSession(b, keys)
			payload := payloadFor(0)
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			var ts uint32
			for b.Loop() {
				if err := s.WriteRTP(payload, 0, ts, false); err != nil {
					b.Fatal(err)
				}
				ts += 160
			}
		})
	}
}

// BenchmarkReceive measures the receive path after the socket read:
// demultiplex, SRTP authenticate and decrypt in place, parse, statistics,
// latching, delivery.
func BenchmarkReceive(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			var ours, peer *SRTPKeys
			if c.profile != 0 {
				ours, peer = keyPair(b, c.profile)
			}
			s := benchSession(b, ours)
			src := netip.MustParseAddrPort("127.0.0.1:4000")
			ps := newPacketSource(b, peer)
			const chunk = 4096
			buf := make([]byte, receiveMTU)
			var pkt Packet
			b.ReportAllocs()
			b.SetBytes(160)
			i := chunk
			for b.Loop() {
				if i == chunk {
					b.StopTimer()
					ps.fill(b, chunk)
					i = 0
					b.StartTimer()
				}
				n := copy(buf, ps.wire[i]) // what the socket read does
				i++
				s.receiveRTPPort(buf[:n], src, &pkt)
			}
			b.StopTimer()
			if st := s.Stats(); st.DecryptErrors != 0 || st.PacketsReceived == 0 {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}

// The media path must not allocate; this catches a regression in a plain
// `go test` run, where benchmarks do not run.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	for _, c := range benchCases {
		t.Run(c.name, func(t *testing.T) {
			var ours, peer *SRTPKeys
			if c.profile != 0 {
				ours, peer = keyPair(t, c.profile)
			}
			s := benchSession(t, ours)
			payload := payloadFor(0)
			var ts uint32
			if a := testing.AllocsPerRun(200, func() {
				_ = s.WriteRTP(payload, 0, ts, false)
				ts += 160
			}); a != 0 {
				t.Errorf("WriteRTP: %.1f allocs", a)
			}
			fwd := Packet{Payload: payload}
			fwd.Version, fwd.SSRC, fwd.CSRC = 2, 99, []uint32{1, 2}
			if a := testing.AllocsPerRun(200, func() {
				fwd.SequenceNumber++
				_ = s.WriteRTPPacket(&fwd)
			}); a != 0 {
				t.Errorf("WriteRTPPacket: %.1f allocs", a)
			}

			ps := newPacketSource(t, peer)
			ps.fill(t, 202)
			src := netip.MustParseAddrPort("127.0.0.1:4000")
			buf := make([]byte, receiveMTU)
			var pkt Packet
			i := 0
			recv := func() {
				n := copy(buf, ps.wire[i])
				i++
				s.receiveRTPPort(buf[:n], src, &pkt)
			}
			recv() // the first packet latches and logs
			if a := testing.AllocsPerRun(200, recv); a != 0 {
				t.Errorf("receive: %.1f allocs", a)
			}
			if st := s.Stats(); st.PacketsReceived != 202 { // AllocsPerRun warms up with one extra call
				t.Errorf("received %d", st.PacketsReceived)
			}
		})
	}
}

// BenchmarkSeal is WriteRTP without the socket write: header, copy, SRTP.
func BenchmarkSeal(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			var keys *SRTPKeys
			if c.profile != 0 {
				keys, _ = keyPair(b, c.profile)
			}
			s := benchSession(b, keys)
			payload := payloadFor(0)
			buf := make([]byte, sendBufferSize)
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				s.txMu.Lock()
				s.txHdr.Version, s.txHdr.SSRC, s.txHdr.SequenceNumber = 2, s.ssrc, s.seq
				s.txHdr.Timestamp += 160
				if _, err := s.sealLocked(buf, &s.txHdr, payload, 0); err != nil {
					b.Fatal(err)
				}
				s.txMu.Unlock()
			}
		})
	}
}
