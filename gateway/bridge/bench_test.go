package bridge

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/media/g711"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/resample"
	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/ivr/prompts"
)

// nullWriter is a room track that drops what it is given; listened says
// whether anyone outside the hub (a browser) receives it.
type nullWriter struct{ listened bool }

func (nullWriter) WriteAudio([]byte, time.Duration) error             { return nil }
func (nullWriter) WriteAudioLevel([]byte, time.Duration, uint8) error { return nil }
func (nullWriter) Close() error                                       { return nil }
func (w nullWriter) Listened() bool                                   { return w.listened }

var (
	_ room.AudioLevelWriter = nullWriter{}
	_ room.ListenedWriter   = nullWriter{}
)

// benchLeg is a PCMU leg with a real RTP session sending to a sink socket,
// fed a talking phone's packets: the speech fixture, looped.
type benchLeg struct {
	l      *Leg
	seq    uint16
	ts     uint32
	pay    []byte
	speech []int16
	pos    int
}

// benchNet is a port pool and a sink socket nobody reads.
type benchNet struct {
	pool *rtp.PortPool
	sink netip.AddrPort
}

func newBenchNet(tb testing.TB, portMin uint16) *benchNet {
	tb.Helper()
	pool, err := rtp.NewPortPool(netip.MustParseAddr("127.0.0.1"), portMin, portMin+1999)
	if err != nil {
		tb.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sink.Close() })
	return &benchNet{pool: pool, sink: sink.LocalAddr().(*net.UDPAddr).AddrPort()}
}

// newBenchLeg makes a leg from cfg (PCMU, payload type 0 when zero) with
// a real RTP session.
func (bn *benchNet) newBenchLeg(tb testing.TB, cfg LegConfig) *benchLeg {
	tb.Helper()
	if cfg.Codec == codec.Unknown {
		cfg.Codec = codec.PCMU
	}
	l, err := NewLeg(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ports, err := bn.pool.Allocate()
	if err != nil {
		tb.Fatal(err)
	}
	sess, err := rtp.NewSession(rtp.SessionConfig{Ports: ports, ClockRate: 8000, Remote: bn.sink, Timeout: rtp.NoTimeout})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sess.Close() })
	l.Attach(sess)
	return &benchLeg{l: l, pay: make([]byte, 160), speech: speechFixture(tb)}
}

// feed pushes one packet into the leg's jitter buffer, as the RTP reader
// would. The fixture is speech with short pauses, nearly all of it within
// the voice detector's hangover, so the leg mixes and encodes nearly every
// frame: the busy case.
func (bl *benchLeg) feed(now time.Time) {
	if bl.pos+160 > len(bl.speech) {
		bl.pos = 0
	}
	g711.EncodeUlaw(bl.pay, bl.speech[bl.pos:bl.pos+160])
	bl.pos += 160
	_ = bl.l.jb.Push(bl.seq, bl.ts, bl.pay, now)
	bl.seq++
	bl.ts += 160
}

// cpuMeter reports a benchmark's CPU time per operation and per leg
// (threadCPU): the figure to read on a shared machine.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

// startCPU locks the benchmark to its thread, resets the timer and starts
// counting allocations and CPU time.
func startCPU(b *testing.B) *cpuMeter {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	b.ReportAllocs()
	b.ResetTimer()
	return &cpuMeter{b: b, start: threadCPU()}
}

// stop reports the CPU time per operation divided by legs, as cpu-ns/leg
// (cpu-ns/op for one).
func (m *cpuMeter) stop(legs int) {
	m.b.StopTimer()
	unit := "cpu-ns/op"
	if legs > 1 {
		unit = "cpu-ns/leg"
	}
	m.b.ReportMetric(float64(threadCPU()-m.start)/float64(m.b.N)/float64(legs), unit)
}

// benchHub is a hub of n talking PCMU legs publishing to writers whose
// Listened is listened, its jitter buffers primed.
func benchHub(tb testing.TB, n int, listened bool) (*Hub, []*benchLeg, time.Time) {
	tb.Helper()
	h := NewHub(HubConfig{Room: "bench"})
	bn := newBenchNet(tb, 46000)
	legs := make([]*benchLeg, n)
	for i := range legs {
		legs[i] = bn.newBenchLeg(tb, LegConfig{ID: fmt.Sprint("leg", i)})
		legs[i].pos = 160 * (i * 37 % 300) // not all saying the same word
		legs[i].l.Publish(nullWriter{listened: listened})
		if err := h.Add(legs[i].l); err != nil {
			tb.Fatal(err)
		}
	}
	// Prime the jitter buffers past their playout delay.
	now := time.Now()
	for range 5 {
		for _, bl := range legs {
			bl.feed(now)
		}
		now = now.Add(FrameDuration)
	}
	h.tick() // sizes the snapshot slices, settles the mix rate
	return h, legs, now
}

// BenchmarkLegTick is one talking leg's work per 20 ms, alone in its hub
// and heard by a browser: jitter buffer, G.711 decode, VAD, Opus encode at
// 8 kHz, mix, G.711 encode, RTP send. It must not allocate.
func BenchmarkLegTick(b *testing.B) {
	h, legs, now := benchHub(b, 1, true)
	bl := legs[0]
	cpu := startCPU(b)
	for range b.N {
		bl.feed(now)
		now = now.Add(FrameDuration)
		h.tick()
	}
	cpu.stop(1)
	if st := bl.l.Stats(); st.PublishErrors > 0 || st.Unheard > 0 {
		b.Fatalf("the leg was not encoding: %+v", st)
	}
}

// BenchmarkHubTick is a room tick with N talking legs (the mixer keeps the
// loudest 4): the cost per leg must not grow with N. With a WebRTC
// listener every talking leg encodes Opus for the room; without one (a
// room of phones) none does.
func BenchmarkHubTick(b *testing.B) {
	for _, listened := range []bool{true, false} {
		for _, n := range []int{10, 50} {
			b.Run(fmt.Sprintf("webrtc=%v/legs=%d", listened, n), func(b *testing.B) {
				h, legs, now := benchHub(b, n, listened)
				cpu := startCPU(b)
				for range b.N {
					for _, bl := range legs {
						bl.feed(now)
					}
					now = now.Add(FrameDuration)
					h.tick()
				}
				cpu.stop(n)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/leg")
			})
		}
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
			bl := newBenchNet(b, 45000).newBenchLeg(b, LegConfig{ID: "ivr", InbandDTMF: inband})
			bl.l.Play(1, true, music)
			now := time.Now()
			for range 5 {
				bl.feed(now)
				now = now.Add(FrameDuration)
			}
			cpu := startCPU(b)
			for range b.N {
				bl.feed(now)
				now = now.Add(FrameDuration)
				bl.l.soloTick()
			}
			cpu.stop(1)
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

// BenchmarkOpusEncode is one 20 ms frame of the speech fixture encoded
// with the phone's settings (PhoneOpus at 8 kHz), the mix's (MixOpus at
// 16 kHz) and, for comparison, the settings before they were measured
// (complexity 5, automatic bitrate).
func BenchmarkOpusEncode(b *testing.B) {
	speech := speechFixture(b)
	for _, c := range []struct {
		name string
		rate int
		cfg  opus.EncoderConfig
	}{
		{"phone/8kHz", narrowRate, PhoneOpus},
		{"before/8kHz", narrowRate, opus.EncoderConfig{Complexity: 5}},
		{"mix/16kHz", wideRate, MixOpus},
		{"before/16kHz", wideRate, opus.EncoderConfig{Complexity: 5}},
	} {
		b.Run(c.name, func(b *testing.B) {
			pcm := speech
			if c.rate == wideRate {
				up, err := resample.New(narrowRate, wideRate)
				if err != nil {
					b.Fatal(err)
				}
				pcm = make([]int16, 2*len(speech))
				if _, err := up.Process(pcm, speech); err != nil {
					b.Fatal(err)
				}
			}
			enc, err := opus.NewEncoder(c.rate, 1, c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			fs := samples(c.rate)
			pkt := make([]byte, opus.MaxFrameBytes)
			cpu := startCPU(b)
			for i := 0; b.Loop(); i += fs {
				if i+fs > len(pcm) {
					i = 0
				}
				if _, err := enc.Encode(pcm[i:i+fs], pkt); err != nil {
					b.Fatal(err)
				}
			}
			cpu.stop(1)
		})
	}
}
