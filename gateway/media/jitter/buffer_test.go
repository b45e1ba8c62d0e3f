package jitter

import (
	"errors"
	"math/rand"
	"sort"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const frame = 20 * time.Millisecond

type pkt struct {
	seq uint16
	ts  uint32
	at  time.Duration // arrival after t0
}

// stream makes n packets from seq0/ts0, sent every 20 ms, each arriving
// after a network delay of 30 ms + delay(i).
func stream(seq0 uint16, ts0 uint32, n int, delay func(i int) time.Duration) []pkt {
	ps := make([]pkt, n)
	for i := range ps {
		d := 30 * time.Millisecond
		if delay != nil {
			d += delay(i)
		}
		ps[i] = pkt{seq: seq0 + uint16(i), ts: ts0 + uint32(i)*160, at: time.Duration(i)*frame + d}
	}
	return ps
}

type popped struct {
	Frame
	payload byte
}

// simulate delivers the packets in arrival order and pops every 20 ms
// (ticks at 5 ms past each 20 ms boundary) until ticks pops are done.
func simulate(t *testing.T, b *Buffer, ps []pkt, ticks int) []popped {
	t.Helper()
	return simulateFrom(t, b, ps, 0, ticks)
}

func simulateFrom(t *testing.T, b *Buffer, ps []pkt, from, ticks int) []popped {
	t.Helper()
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].at < ps[j].at })
	var out []popped
	dst := make([]byte, 1500)
	k := 0
	for tick := from; tick < from+ticks; tick++ {
		now := time.Duration(tick)*frame + 5*time.Millisecond
		for ; k < len(ps) && ps[k].at <= now; k++ {
			p := ps[k]
			if err := b.Push(p.seq, p.ts, []byte{byte(p.seq), byte(p.seq >> 8)}, t0.Add(p.at)); err != nil {
				t.Fatal(err)
			}
		}
		f := b.Pop(dst)
		out = append(out, popped{Frame: f, payload: dst[0]})
		if f.Status == StatusFrame && (f.N != 2 || dst[0] != byte(f.Seq)) {
			t.Fatalf("tick %d: frame %d carries payload %v", tick, f.Seq, dst[:f.N])
		}
	}
	return out
}

func mustNew(t testing.TB, cfg Config) *Buffer {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// played lists the sequence numbers of the frames played, and the number
// of lost verdicts.
func played(out []popped) (seqs []uint16, lost int) {
	for _, p := range out {
		switch p.Status {
		case StatusFrame:
			seqs = append(seqs, p.Seq)
		case StatusLost:
			lost++
		}
	}
	return seqs, lost
}

func inOrder(t *testing.T, seqs []uint16, first uint16, n int) {
	t.Helper()
	if len(seqs) != n {
		t.Fatalf("played %d frames, want %d: %v", len(seqs), n, seqs)
	}
	for i, s := range seqs {
		if s != first+uint16(i) {
			t.Fatalf("frame %d is seq %d, want %d", i, s, first+uint16(i))
		}
	}
}

func TestScenarios(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ps     func() []pkt
		first  uint16
		frames int    // expected played, in order from first
		lost   uint64 // expected frames lost (Stats.Lost)
		check  func(t *testing.T, st Stats)
	}{
		{
			name: "steady", first: 1000, frames: 50,
			ps: func() []pkt { return stream(1000, 0, 50, nil) },
			check: func(t *testing.T, st Stats) {
				if st.Lost+st.Late+st.Duplicates+st.Reordered+st.Dropped != 0 {
					t.Errorf("clean stream has incidents: %+v", st)
				}
			},
		},
		{
			name: "reordered", first: 0, frames: 50,
			ps: func() []pkt {
				ps := stream(0, 0, 50, nil)
				ps[11].at = ps[10].at
				ps[10].at += 2 * time.Millisecond
				return ps
			},
			check: func(t *testing.T, st Stats) {
				if st.Reordered != 1 || st.Lost != 0 {
					t.Errorf("stats %+v", st)
				}
			},
		},
		{
			name: "duplicates", first: 0, frames: 50,
			ps: func() []pkt {
				ps := stream(0, 0, 50, nil)
				dup := ps[20]
				dup.at += 3 * time.Millisecond
				late := ps[5]
				late.at += 200 * time.Millisecond // after it was played
				return append(ps, dup, late)
			},
			check: func(t *testing.T, st Stats) {
				if st.Duplicates != 2 || st.Late != 0 {
					t.Errorf("stats %+v", st)
				}
			},
		},
		{
			name: "sequence wrap", first: 65520, frames: 40,
			ps: func() []pkt { return stream(65520, 4294967000, 40, nil) },
		},
		{
			name: "loss and late", first: 0, frames: 48, lost: 2,
			ps: func() []pkt {
				ps := stream(0, 0, 50, nil)
				ps[30].at += 500 * time.Millisecond // arrives after its turn
				return append(ps[:10], ps[11:]...)  // 10 never arrives
			},
			check: func(t *testing.T, st Stats) {
				if st.Lost != 2 || st.Late != 1 {
					t.Errorf("stats %+v", st)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustNew(t, Config{})
			out := simulate(t, b, tc.ps(), 70)
			seqs, _ := played(out)
			lost := b.Stats().Lost
			if tc.lost == 0 {
				inOrder(t, seqs, tc.first, tc.frames)
			} else if len(seqs) != tc.frames {
				t.Errorf("played %d, want %d", len(seqs), tc.frames)
			}
			for i := 1; i < len(seqs); i++ {
				if int16(seqs[i]-seqs[i-1]) <= 0 {
					t.Fatalf("out of order: %v", seqs)
				}
			}
			if lost != tc.lost {
				t.Errorf("lost %d, want %d", lost, tc.lost)
			}
			if tc.check != nil {
				tc.check(t, b.Stats())
			}
		})
	}
}

func TestLostVerdictCarriesSequence(t *testing.T) {
	b := mustNew(t, Config{})
	ps := stream(100, 0, 20, nil)
	out := simulate(t, b, append(ps[:5], ps[6:]...), 25)
	for _, p := range out {
		if p.Status == StatusLost {
			if p.Seq != 105 {
				t.Errorf("lost seq %d, want 105", p.Seq)
			}
			return
		}
	}
	t.Error("no lost verdict")
}

func TestTargetAdaptsToJitter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spread   time.Duration // uniform extra delay 0..spread
		min, max time.Duration
	}{
		{"none", 0, 20 * time.Millisecond, 20 * time.Millisecond},
		{"moderate", 40 * time.Millisecond, 40 * time.Millisecond, 100 * time.Millisecond},
		{"wild", 400 * time.Millisecond, 120 * time.Millisecond, 120 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(3))
			b := mustNew(t, Config{})
			ps := stream(0, 0, 500, func(int) time.Duration {
				if tc.spread == 0 {
					return 0
				}
				return time.Duration(r.Int63n(int64(tc.spread)))
			})
			out := simulate(t, b, ps, 540)
			st := b.Stats()
			t.Logf("jitter %v target %v played %d lost %d late %d underruns %d stretched %d dropped %d",
				st.Jitter, st.TargetDelay, st.Played, st.Lost, st.Late, st.Underruns, st.Stretched, st.Dropped)
			if st.TargetDelay < tc.min || st.TargetDelay > tc.max {
				t.Errorf("target %v not in [%v, %v]", st.TargetDelay, tc.min, tc.max)
			}
			if tc.spread > 0 && tc.spread <= 60*time.Millisecond {
				// With the delay adapted, late packets are rare.
				if st.Late > 25 {
					t.Errorf("%d late packets of 500", st.Late)
				}
			}
			seqs, _ := played(out)
			for i := 1; i < len(seqs); i++ {
				if seqs[i] <= seqs[i-1] {
					t.Fatalf("out of order at %d", i)
				}
			}
		})
	}
}

// TestJitterEstimator checks the RFC 3550 A.8 arithmetic: constant transit
// gives zero; transit alternating by 10 ms converges to 10 ms.
func TestJitterEstimator(t *testing.T) {
	b := mustNew(t, Config{})
	for i := range 200 {
		extra := time.Duration(0)
		if i%2 == 1 {
			extra = 10 * time.Millisecond
		}
		b.Push(uint16(i), uint32(i*160), []byte{0}, t0.Add(time.Duration(i)*frame+extra))
		b.Pop(make([]byte, 10))
	}
	if j := b.Stats().Jitter; j < 9*time.Millisecond || j > 10*time.Millisecond {
		t.Errorf("alternating 10 ms: jitter %v", j)
	}
	b = mustNew(t, Config{})
	for i := range 50 {
		b.Push(uint16(i), uint32(i*160), []byte{0}, t0.Add(time.Duration(i)*frame+7*time.Millisecond))
	}
	if j := b.Stats().Jitter; j != 0 {
		t.Errorf("constant transit: jitter %v", j)
	}
}

func TestTalkspurts(t *testing.T) {
	// Silence suppression: the sender stops for 1 s; sequence numbers run
	// on, timestamps jump.
	b := mustNew(t, Config{})
	ps := stream(500, 1000, 30, nil)
	second := stream(530, 1000+30*160+8000, 30, nil)
	for i := range second {
		second[i].at += 30*frame + time.Second
	}
	out := simulate(t, b, append(ps, second...), 120)
	seqs, _ := played(out)
	_, lost := played(out[:80])
	inOrder(t, seqs, 500, 60)
	if st := b.Stats(); st.Lost != 0 || st.Resyncs != 0 {
		t.Errorf("stats %+v", st)
	}
	// Between the spurts the buffer holds the playout point for at most
	// MaxDelay (lost verdicts for the concealer to fade out), then idles.
	if lost > 6 {
		t.Errorf("%d lost verdicts in the pause", lost)
	}
	idle := 0
	for _, p := range out[35:75] {
		if p.Status == StatusIdle {
			idle++
		}
	}
	if idle < 30 {
		t.Errorf("only %d idle ticks in a 1 s pause", idle)
	}
}

func TestResync(t *testing.T) {
	for _, explicit := range []bool{false, true} {
		b := mustNew(t, Config{})
		first := stream(100, 5000, 25, nil)
		// A new SSRC: unrelated sequence numbers and timestamps.
		second := stream(40000, 123456789, 25, nil)
		for i := range second {
			second[i].at += 25 * frame
		}
		out := simulate(t, b, first, 27)
		if explicit {
			b.Reset()
		}
		out = append(out, simulateFrom(t, b, second, 27, 40)...)
		seqs, _ := played(out)
		n := 25 + 24 // the unannounced switch costs the first packet
		if explicit {
			n = 50
		}
		if len(seqs) != n {
			t.Errorf("explicit=%v: played %d, want %d", explicit, len(seqs), n)
		}
		if seqs[len(seqs)-1] != 40024 {
			t.Errorf("explicit=%v: last frame %d", explicit, seqs[len(seqs)-1])
		}
		if st := b.Stats(); st.Resyncs != 1 || st.Late != 0 {
			t.Errorf("explicit=%v: stats %+v", explicit, st)
		}
	}
}

func TestStrayPacketIgnored(t *testing.T) {
	b := mustNew(t, Config{})
	ps := stream(0, 0, 40, nil)
	ps = append(ps, pkt{seq: 30000, ts: 99, at: 10*frame + time.Millisecond})
	out := simulate(t, b, ps, 45)
	seqs, _ := played(out)
	inOrder(t, seqs, 0, 40)
	if st := b.Stats(); st.Resyncs != 0 {
		t.Errorf("stray packet caused a resync: %+v", st)
	}
}

func TestUnderrunHoldsPlayout(t *testing.T) {
	// The network stalls for 100 ms, then delivers the backlog at once:
	// nothing is lost, the delay grows, and later shrinks back.
	b := mustNew(t, Config{})
	ps := stream(0, 0, 200, func(i int) time.Duration {
		if i >= 20 && i < 25 {
			return time.Duration(25-i) * frame
		}
		return 0
	})
	out := simulate(t, b, ps, 220)
	seqs, _ := played(out)
	st := b.Stats()
	t.Logf("%+v", st)
	if st.Underruns == 0 || st.Late != 0 {
		t.Errorf("stall not absorbed: %+v", st)
	}
	if len(seqs) < 195 {
		t.Errorf("played %d of 200", len(seqs))
	}
	if st.CurrentDelay > 60*time.Millisecond {
		t.Errorf("delay did not shrink back: %v", st.CurrentDelay)
	}
}

func TestOverflowDropsOldest(t *testing.T) {
	b := mustNew(t, Config{Slots: 16, MaxDelay: 40 * time.Millisecond})
	dst := make([]byte, 10)
	for i := range 40 {
		b.Push(uint16(i), uint32(i*160), []byte{byte(i)}, t0)
	}
	f := b.Pop(dst)
	if f.Status != StatusFrame || f.Seq < 24 {
		t.Errorf("first frame after overflow %+v", f)
	}
	if st := b.Stats(); st.Dropped != 24 {
		t.Errorf("dropped %d, want 24", st.Dropped)
	}
}

func TestErrors(t *testing.T) {
	for _, cfg := range []Config{
		{MinDelay: 100 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		{Slots: 4},
		{FrameDuration: time.Microsecond},
		{ClockRate: -1},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	b := mustNew(t, Config{MaxPayload: 4})
	if err := b.Push(1, 1, make([]byte, 5), t0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large payload: %v", err)
	}
	if f := b.Pop(nil); f.Status != StatusIdle {
		t.Errorf("empty buffer: %v", f.Status)
	}
	for s, want := range map[Status]string{StatusUnknown: "unknown", StatusIdle: "idle", StatusFrame: "frame", StatusLost: "lost"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}

func BenchmarkPushPop(b *testing.B) {
	buf, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 160)
	dst := make([]byte, 1500)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf.Push(uint16(i), uint32(i*160), payload, t0.Add(time.Duration(i)*frame))
		buf.Pop(dst)
		i++
	}
}

// After a lost frame, Peek finds the packet that follows it (for Opus FEC)
// without playing it out of turn; a packet not buffered, or played, is not
// found.
func TestPeekAfterLoss(t *testing.T) {
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint16{65534, 65535, 1, 2} { // 0 is lost, across the wrap
		if err := b.Push(seq, uint32(seq-65534)*160, []byte{byte(seq), 0xee}, t0); err != nil {
			t.Fatal(err)
		}
	}
	dst := make([]byte, 8)
	var lost Frame
	for range 6 {
		f := b.Pop(dst)
		if f.Status == StatusLost {
			lost = f
			break
		}
	}
	if lost.Status != StatusLost || lost.Seq != 0 {
		t.Fatalf("no loss of packet 0: %+v", lost)
	}
	if n := b.Peek(dst, lost.Seq+1); n != 2 || dst[0] != 1 {
		t.Fatalf("Peek(1) = %d %v", n, dst[:n])
	}
	if f := b.Pop(dst); f.Status != StatusFrame || f.Seq != 1 {
		t.Fatalf("Peek took packet 1 out of turn: %+v", f)
	}
	if n := b.Peek(dst, 1); n != 0 {
		t.Fatal("Peek found a packet already played")
	}
	if n := b.Peek(dst, 7); n != 0 {
		t.Fatal("Peek found a packet never pushed")
	}
	if n := testing.AllocsPerRun(100, func() { b.Peek(dst, 2) }); n != 0 {
		t.Errorf("Peek allocates %v", n)
	}
}
