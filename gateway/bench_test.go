package gateway

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/media/g711"
	"github.com/roombridge/roombridge/gateway/media/mixer"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/ivr/prompts"
)

// nullWriter is a room track that drops what it is given.
type nullWriter struct{}

func (nullWriter) WriteAudio([]byte, time.Duration) error             { return nil }
func (nullWriter) WriteAudioLevel([]byte, time.Duration, uint8) error { return nil }
func (nullWriter) Close() error                                       { return nil }

var _ room.AudioLevelWriter = nullWriter{}

// benchLeg is a PCMU leg with a real RTP session sending to a sink socket,
// fed a talking phone's packets.
type benchLeg struct {
	l    *leg
	seq  uint16
	ts   uint32
	pay  []byte
	gen  *tone.Generator
	pcm  []int16
	sink *net.UDPConn
	n    int
}

func newBenchLeg(b *testing.B, mix *mixer.Hub, pool *rtp.PortPool, sink *net.UDPConn, i int) *benchLeg {
	return newBenchLegParams(b, mix, pool, sink, legParams{id: fmt.Sprint("leg", i), codec: codec.PCMU, recvPT: 0, sendPT: 0})
}

func newBenchLegParams(b *testing.B, mix *mixer.Hub, pool *rtp.PortPool, sink *net.UDPConn, p legParams) *benchLeg {
	l, err := newLeg(p)
	if err != nil {
		b.Fatal(err)
	}
	ports, err := pool.Allocate()
	if err != nil {
		b.Fatal(err)
	}
	l.sess, err = rtp.NewSession(rtp.SessionConfig{Ports: ports, ClockRate: 8000, Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort(), Timeout: rtp.NoTimeout})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.sess.Close() })
	l.writer, l.level = nullWriter{}, nullWriter{}
	l.src = mix.AddSource(l.id)
	l.lis = mix.AddListener(l.src)
	return &benchLeg{l: l, pay: make([]byte, 160), gen: tone.NewGenerator(440, 8000, 8000), pcm: make([]int16, 160), sink: sink}
}

// feed pushes one packet into the leg's jitter buffer, as the RTP reader
// would.
// The phone talks in spurts of 800 ms with 100 ms pauses, so that its voice
// detector keeps a low noise floor and the leg encodes every frame (the
// pauses are within the detector's hangover): the busy case.
func (bl *benchLeg) feed(now time.Time) {
	bl.gen.Fill(bl.pcm)
	if bl.n%45 >= 40 {
		clear(bl.pcm)
	}
	bl.n++
	g711.EncodeUlaw(bl.pay, bl.pcm)
	_ = bl.l.jb.Push(bl.seq, bl.ts, bl.pay, now)
	bl.seq++
	bl.ts += 160
}

func benchSetup(b *testing.B, n int) (*mixer.Hub, []*benchLeg) {
	mix, err := mixer.New(mixer.Config{Rate: hubRate, FrameSamples: hubFrame})
	if err != nil {
		b.Fatal(err)
	}
	pool, err := rtp.NewPortPool(netip.MustParseAddr("127.0.0.1"), 46000, 47999)
	if err != nil {
		b.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sink.Close() })
	legs := make([]*benchLeg, n)
	for i := range legs {
		legs[i] = newBenchLeg(b, mix, pool, sink, i)
	}
	// Prime the jitter buffers past their playout delay.
	now := time.Now()
	for range 5 {
		for _, bl := range legs {
			bl.feed(now)
		}
		now = now.Add(frameDur)
	}
	return mix, legs
}

// BenchmarkLegTick is one talking leg's work per 20 ms: jitter buffer,
// G.711 decode, VAD, 8→16 kHz, Opus encode at 8 kHz, mix read, 16→8 kHz,
// G.711 encode, RTP send. It must not allocate.
func BenchmarkLegTick(b *testing.B) {
	mix, legs := benchSetup(b, 1)
	bl := legs[0]
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		bl.feed(now)
		now = now.Add(frameDur)
		bl.l.pull()
		mix.Tick()
		bl.l.push()
	}
	b.StopTimer()
	if !bl.l.wasVoice || bl.l.publishErr.Load() > 0 {
		b.Fatalf("the leg was not encoding: voice %v, errors %d", bl.l.wasVoice, bl.l.publishErr.Load())
	}
}

// BenchmarkHubTick is a room tick with N talking legs (the mixer keeps the
// loudest 4): the cost per leg must not grow with N.
func BenchmarkHubTick(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("legs=%d", n), func(b *testing.B) {
			mix, legs := benchSetup(b, n)
			h := &hub{mix: mix, g: &Gateway{m: &metrics{}}}
			for _, bl := range legs {
				h.legs = append(h.legs, bl.l)
			}
			h.cond = newCond(h)
			now := time.Now()
			h.tick() // sizes the snapshot slices
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for _, bl := range legs {
					bl.feed(now)
				}
				now = now.Add(frameDur)
				h.tick()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/leg")
		})
	}
}

// BenchmarkIVRTick is one leg's work per 20 ms while its caller is in the
// IVR, on the leg's own clock: jitter buffer, G.711 decode, prompt copy,
// G.711 encode, RTP send; with the in-band DTMF detector (a trunk without
// telephone-event) and without. It must not allocate.
func BenchmarkIVRTick(b *testing.B) {
	set, err := prompts.Load("", "en")
	if err != nil {
		b.Fatal(err)
	}
	music, err := set.PCM(prompts.HoldMusic, 8000)
	if err != nil {
		b.Fatal(err)
	}
	for _, inband := range []bool{false, true} {
		b.Run(fmt.Sprintf("inband=%v", inband), func(b *testing.B) {
			mix, _ := benchSetup(b, 0)
			pool, err := rtp.NewPortPool(netip.MustParseAddr("127.0.0.1"), 45000, 45999)
			if err != nil {
				b.Fatal(err)
			}
			sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = sink.Close() })
			bl := newBenchLegParams(b, mix, pool, sink, legParams{id: "ivr", codec: codec.PCMU, inband: inband})
			bl.l.prompt.play(1, true, music)
			now := time.Now()
			for range 5 {
				bl.feed(now)
				now = now.Add(frameDur)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				bl.feed(now)
				now = now.Add(frameDur)
				bl.l.ivrTick()
			}
		})
	}
}

// BenchmarkDetector is the in-band DTMF detector alone on one 20 ms G.711
// frame, the cost it adds to a leg's tick (in the IVR and in the room).
func BenchmarkDetector(b *testing.B) {
	det, err := dtmf.NewDetector(dtmf.DetectorConfig{Rate: 8000})
	if err != nil {
		b.Fatal(err)
	}
	gen := tone.NewGenerator(440, 8000, 8000)
	pcm := make([]int16, 160)
	out := make([]byte, 0, 8)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		gen.Fill(pcm)
		out = det.Process(out[:0], pcm)
	}
}
