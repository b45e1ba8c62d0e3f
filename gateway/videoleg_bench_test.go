package gateway

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/video"
)

// nullVideoWriter is a room track that takes pictures and drops them.
type nullVideoWriter struct{ frames int }

func (w *nullVideoWriter) WriteVideo([]byte, time.Duration) error { w.frames++; return nil }
func (*nullVideoWriter) Close() error                             { return nil }

// benchVideo is a video leg's two halves without a call: in, fed with the
// RTP packets of the x264 stream (packetization-mode 1), publishing into
// a writer that drops; out, whose session sends to a socket nobody reads.
type benchVideo struct {
	in   *videoLeg
	pkts []*pionrtp.Packet
	out  *videoLeg
	aus  [][]byte
}

func newBenchVideo(tb testing.TB) *benchVideo {
	tb.Helper()
	b := &benchVideo{aus: readStream(tb, "x264-320x180-15fps.h264")}
	neg := &videoNeg{recvPT: 96, sendPT: 96, mode: 1, send: true, recv: true, limits: sdp.H264Limits{FS: 3600}}

	// In: packets as a room system sends them.
	b.in = &videoLeg{log: slog.New(slog.DiscardHandler)}
	b.in.neg.Store(neg)
	b.in.depack = video.NewDepacketizer(b.in.onAccessUnit, 0)
	b.in.writer.Store(&videoTrack{w: &nullVideoWriter{}})
	seq, ts := uint16(1), uint32(0)
	buf := make([]byte, outPayload)
	for _, au := range b.aus {
		err := video.Payloads(au, 1, buf, func(payload []byte, marker bool) error {
			b.pkts = append(b.pkts, &pionrtp.Packet{
				Header:  pionrtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 7, Marker: marker},
				Payload: append([]byte(nil), payload...),
			})
			seq++
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		ts += video.ClockRate / streamFPS
	}

	// Out: a session on loopback towards a socket that drains nothing.
	pool, err := rtp.NewPortPool(netip.MustParseAddr("127.0.0.1"), 45000, 45099)
	if err != nil {
		tb.Fatal(err)
	}
	ports, err := pool.Allocate()
	if err != nil {
		tb.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sink.Close() })
	b.out = &videoLeg{log: slog.New(slog.DiscardHandler)}
	b.out.neg.Store(neg)
	b.out.out.init(b.out)
	b.out.sess, err = rtp.NewSession(rtp.SessionConfig{
		Ports: ports, PayloadType: 96, ClockRate: video.ClockRate, Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort(),
		RTCPMux: true, Timeout: rtp.NoTimeout, RTCPInterval: time.Hour,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = b.out.sess.Close() })
	b.out.out.sw.Select("src", time.Now())
	return b
}

// feedIn pushes one pass of the stream's packets, as from a room system
// whose sequence and timestamps run on.
func (b *benchVideo) feedIn(pass int) {
	n := uint16(len(b.pkts))
	step := uint32(len(b.aus)) * video.ClockRate / streamFPS
	for _, p := range b.pkts {
		p.SequenceNumber += n * uint16(min(pass, 1))
		p.Timestamp += step * uint32(min(pass, 1))
		b.in.HandleRTP(p)
	}
}

// sendOut forwards one pass of the stream towards the room system.
func (b *benchVideo) sendOut(pass int, now time.Time) {
	for i, au := range b.aus {
		b.out.out.forward("src", au, uint32((pass*len(b.aus)+i)*video.ClockRate/streamFPS), now)
	}
}

// BenchmarkVideoLegIn is the room system → room path per RTP packet:
// depacketizing, SPS/PPS before IDRs, the picture handed to the room
// track (a writer that drops it).
func BenchmarkVideoLegIn(b *testing.B) {
	bv := newBenchVideo(b)
	bv.feedIn(0)
	b.ReportAllocs()
	b.ResetTimer()
	pass := 1
	for i := 0; i < b.N; i += len(bv.pkts) {
		bv.feedIn(pass)
		pass++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pass*len(bv.pkts)), "ns/packet")
}

// BenchmarkVideoLegOut is the room → room system path per RTP packet:
// the Switcher, packetizing, writing to the leg's RTP socket.
func BenchmarkVideoLegOut(b *testing.B) {
	bv := newBenchVideo(b)
	now := time.Now()
	bv.sendOut(0, now)
	packets := bv.out.sess.Stats().PacketsSent
	b.ReportAllocs()
	b.ResetTimer()
	pass := 1
	for i := 0; i < b.N; i += int(packets) {
		now = now.Add(2 * time.Second)
		bv.sendOut(pass, now)
		pass++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(bv.out.sess.Stats().PacketsSent), "ns/packet")
}

// TestVideoZeroAllocs: both halves of a video leg handle packets without
// allocating, once warmed up.
func TestVideoZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	bv := newBenchVideo(t)
	now := time.Now()
	pass := 0
	bv.feedIn(pass)
	bv.sendOut(pass, now)
	if n := testing.AllocsPerRun(20, func() {
		pass++
		now = now.Add(2 * time.Second)
		bv.feedIn(pass)
		bv.sendOut(pass, now)
	}); n != 0 {
		t.Errorf("%.2f allocations per pass of %d packets in and out", n, len(bv.pkts))
	}
	if st := bv.in.depack.Stats(); st.Lost != 0 || st.Frames == 0 {
		t.Errorf("in: %+v", st)
	}
}
