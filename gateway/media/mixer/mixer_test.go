package mixer

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

const rate = 16000

func mustNew(t testing.TB, cfg Config) *Hub {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type talker struct {
	src       *Source
	gen       *tone.Generator
	freq, amp float64
	buf       []int16
}

func newTalker(h *Hub, id string, freq, amp float64) *talker {
	return &talker{src: h.AddSource(id), gen: tone.NewGenerator(freq, rate, amp), freq: freq, amp: amp, buf: make([]int16, h.Config().FrameSamples)}
}

func (tk *talker) say(t testing.TB) {
	tk.gen.Fill(tk.buf)
	if err := tk.src.Write(tk.buf); err != nil {
		t.Fatal(err)
	}
}

// hears reports which of the talkers' tones are present in pcm, a
// recording of 10 ticks (200 ms, so 5 Hz bins: the test tones sit on bins
// and do not leak into each other). Present means at least a tenth of the
// power the talker's tone has on its own.
func hears(pcm []int16, talkers []*talker) map[float64]bool {
	out := map[float64]bool{}
	for _, tk := range talkers {
		alone := 0.25 * (tk.amp / 32768) * (tk.amp / 32768)
		out[tk.freq] = tone.Power(pcm, rate, tk.freq) > alone/10
	}
	return out
}

// record runs ticks ticks (every talker speaking) and returns what each
// listener heard, end to end.
func record(t testing.TB, h *Hub, talkers []*talker, ls []*Listener, ticks int) [][]int16 {
	frame := h.Config().FrameSamples
	out := make([][]int16, len(ls))
	for i := range out {
		out[i] = make([]int16, ticks*frame)
	}
	for k := range ticks {
		for _, tk := range talkers {
			tk.say(t)
		}
		h.Tick()
		for i, l := range ls {
			if n := l.Read(out[i][k*frame : (k+1)*frame]); n != frame {
				t.Fatalf("read %d", n)
			}
		}
	}
	return out
}

func TestNMinusOne(t *testing.T) {
	h := mustNew(t, Config{})
	a := newTalker(h, "a", 440, 8000)
	b := newTalker(h, "b", 1000, 8000)
	c := newTalker(h, "c", 1800, 8000)
	all := []*talker{a, b, c}
	la, lb, lc := h.AddListener(a.src), h.AddListener(b.src), h.AddListener(c.src)
	lx := h.AddListener(nil) // listen-only
	rec := record(t, h, all, []*Listener{la, lb, lc, lx}, 10)
	for i, tc := range []struct {
		name string
		want map[float64]bool
	}{
		{"A", map[float64]bool{440: false, 1000: true, 1800: true}},
		{"B", map[float64]bool{440: true, 1000: false, 1800: true}},
		{"C", map[float64]bool{440: true, 1000: true, 1800: false}},
		{"listen-only", map[float64]bool{440: true, 1000: true, 1800: true}},
	} {
		if got := hears(rec[i], all); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s hears %v, want %v", tc.name, got, tc.want)
		}
	}
	// The own tone is removed exactly, not just attenuated.
	pcm := make([]int16, 320)
	la.Read(pcm)
	want := make([]int16, 320)
	for i := range want {
		want[i] = b.buf[i] + c.buf[i]
	}
	for i := range pcm {
		if pcm[i] != want[i] {
			t.Fatalf("sample %d: %d, want %d", i, pcm[i], want[i])
		}
	}
}

func TestLoudestK(t *testing.T) {
	h := mustNew(t, Config{MaxSpeakers: 4})
	var ts []*talker
	for i := range 7 {
		// Quietest first, 6 dB apart; the loudest four sum below clipping.
		ts = append(ts, newTalker(h, fmt.Sprint("s", i), 300+float64(i)*250, 250*math.Pow(2, float64(i))))
	}
	quiet, loud := h.AddListener(ts[0].src), h.AddListener(ts[6].src)
	silentSrc := h.AddSource("silent") // writes nothing
	lSilent := h.AddListener(silentSrc)
	rec := record(t, h, ts, []*Listener{quiet, loud, lSilent}, 10)
	var ids []string
	for _, s := range h.Speakers() {
		ids = append(ids, s.ID())
	}
	if fmt.Sprint(ids) != "[s6 s5 s4 s3]" {
		t.Errorf("speakers %v", ids)
	}
	// s6 is a 16000-peak sine: −9.2 dBov RMS; s0 is 36 dB quieter.
	if l6, l0 := ts[6].src.Level(), ts[0].src.Level(); math.Abs(l6+9.24) > 0.1 || math.Abs(l6-l0-36.1) > 0.2 {
		t.Errorf("levels s6 %.2f s0 %.2f dBov", l6, l0)
	}
	if silentSrc.Level() != -127 {
		t.Errorf("silent source level %v", silentSrc.Level())
	}
	check := func(name string, pcm []int16, heard ...int) {
		got := hears(pcm, ts)
		for i, tk := range ts {
			if want := slicesContains(heard, i); got[tk.freq] != want {
				t.Errorf("%s: hears s%d = %v, want %v", name, i, got[tk.freq], want)
			}
		}
	}
	check("quiet (not a speaker)", rec[0], 3, 4, 5, 6)
	check("loud (a speaker)", rec[1], 3, 4, 5)
	check("silent source", rec[2], 3, 4, 5, 6)
}

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestMissingFrameIsSilent(t *testing.T) {
	h := mustNew(t, Config{})
	a := newTalker(h, "a", 440, 8000)
	l := h.AddListener(nil)
	pcm := make([]int16, 320)
	a.say(t)
	h.Tick()
	l.Read(pcm)
	if tone.RMS(pcm) == 0 {
		t.Fatal("frame not mixed")
	}
	h.Tick() // a wrote nothing this time
	l.Read(pcm)
	if tone.RMS(pcm) != 0 || len(h.Speakers()) != 0 {
		t.Errorf("a stale frame was replayed")
	}
	// A second write in one tick replaces the first.
	a.say(t)
	a.say(t)
	if a.src.Overwrites() != 1 {
		t.Errorf("overwrites %d", a.src.Overwrites())
	}
}

func TestSaturation(t *testing.T) {
	h := mustNew(t, Config{})
	full := make([]int16, 320)
	neg := make([]int16, 320)
	for i := range full {
		full[i], neg[i] = 30000, -30000
	}
	srcs := []*Source{h.AddSource("1"), h.AddSource("2"), h.AddSource("3")}
	l1, lx := h.AddListener(srcs[0]), h.AddListener(nil)
	pcm := make([]int16, 320)
	for _, frame := range [][]int16{full, neg} {
		for _, s := range srcs {
			s.Write(frame)
		}
		h.Tick()
		want := int16(math.MaxInt16)
		if frame[0] < 0 {
			want = math.MinInt16
		}
		for _, l := range []*Listener{l1, lx} {
			l.Read(pcm)
			for i, v := range pcm {
				if v != want {
					t.Fatalf("sample %d = %d, want %d (clipped, not wrapped)", i, v, want)
				}
			}
		}
	}
}

func TestStickySelection(t *testing.T) {
	h := mustNew(t, Config{MaxSpeakers: 1})
	a := h.AddSource("a")
	b := h.AddSource("b")
	frame := func(amp int16) []int16 {
		f := make([]int16, 320)
		for i := range f {
			f[i] = amp
			if i%2 == 1 {
				f[i] = -amp
			}
		}
		return f
	}
	// a starts, then both talk with a and b alternating ±1 dB.
	a.Write(frame(1000))
	h.Tick()
	for i := range 20 {
		la, lb := int16(1000), int16(1122) // +1 dB
		if i%2 == 1 {
			la, lb = lb, la
		}
		a.Write(frame(la))
		b.Write(frame(lb))
		h.Tick()
		if sp := h.Speakers(); len(sp) != 1 || sp[0] != a {
			t.Fatalf("tick %d: speaker flapped to %v", i, sp[0].ID())
		}
	}
	// Clearly louder wins.
	a.Write(frame(1000))
	b.Write(frame(4000))
	h.Tick()
	if h.Speakers()[0] != b {
		t.Error("louder source not selected")
	}
}

func TestMembership(t *testing.T) {
	h := mustNew(t, Config{})
	a := newTalker(h, "a", 440, 8000)
	b := newTalker(h, "b", 1000, 8000)
	la := h.AddListener(a.src)
	lb := h.AddListener(b.src)
	record(t, h, []*talker{a, b}, []*Listener{la}, 1)
	h.RemoveSource(a.src) // a hangs up between ticks, still writing
	rec := record(t, h, []*talker{a, b}, []*Listener{la, lb}, 10)
	if got := hears(rec[0], []*talker{a, b}); got[440] || !got[1000] {
		t.Errorf("a after removal: %v", got)
	}
	if got := hears(rec[1], []*talker{a, b}); got[440] || got[1000] {
		t.Errorf("b after removal of a: %v", got)
	}
	h.RemoveListener(la)
	h.RemoveListener(la) // idempotent
	h.RemoveSource(a.src)
	if len(h.listeners) != 1 || len(h.sources) != 1 {
		t.Errorf("membership %d listeners %d sources", len(h.listeners), len(h.sources))
	}
	if la.Own() != a.src {
		t.Error("Own")
	}
}

func TestErrors(t *testing.T) {
	if _, err := New(Config{FrameSamples: -1}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("bad config: %v", err)
	}
	h := mustNew(t, Config{Rate: 8000})
	if h.Config().FrameSamples != 160 {
		t.Errorf("8 kHz frame %d", h.Config().FrameSamples)
	}
	if err := h.AddSource("x").Write(make([]int16, 320)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("frame size: %v", err)
	}
	// MaxSpeakers < 0 is rejected; an empty hub ticks to silence.
	if _, err := New(Config{MaxSpeakers: -1}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("speakers: %v", err)
	}
	l := h.AddListener(nil)
	h.Tick()
	pcm := []int16{1, 2, 3}
	l.Read(pcm)
	if pcm[0] != 0 {
		t.Error("empty room not silent")
	}
}

// TestConcurrentWriters runs sources on their own goroutines against the
// clock goroutine; run with -race.
func TestConcurrentWriters(t *testing.T) {
	h := mustNew(t, Config{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var srcs []*Source
	for i := range 8 {
		s := h.AddSource(fmt.Sprint(i))
		srcs = append(srcs, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := make([]int16, 320)
			tone.NewGenerator(200+float64(i)*100, rate, 3000).Fill(f)
			for {
				select {
				case <-stop:
					return
				default:
					if err := s.Write(f); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	var ls []*Listener
	for _, s := range srcs {
		ls = append(ls, h.AddListener(s))
	}
	pcm := make([]int16, 320)
	for range 200 {
		h.Tick()
		for _, l := range ls {
			l.Read(pcm)
		}
	}
	// Membership changes from another goroutine while ticking.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			s := h.AddSource("churn")
			l := h.AddListener(s)
			h.RemoveListener(l)
			h.RemoveSource(s)
		}
	}()
	for range 200 {
		h.Tick()
		for _, l := range ls {
			l.Read(pcm)
		}
	}
	close(stop)
	wg.Wait()
}

func TestTickDoesNotAllocate(t *testing.T) {
	h := mustNew(t, Config{})
	var ts []*talker
	var ls []*Listener
	for i := range 20 {
		tk := newTalker(h, fmt.Sprint(i), 200+float64(i)*50, 2000)
		ts = append(ts, tk)
		ls = append(ls, h.AddListener(tk.src))
	}
	pcm := make([]int16, 320)
	allocs := testing.AllocsPerRun(100, func() {
		for _, tk := range ts {
			tk.say(t)
		}
		h.Tick()
		for _, l := range ls {
			l.Read(pcm)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per tick", allocs)
	}
}

// BenchmarkRoom is one 20 ms tick of a room where every participant talks
// and listens: N source writes (done by the legs), the hub's Tick and N
// listener reads. ns/participant must stay flat as N grows.
func BenchmarkRoom(b *testing.B) {
	for _, n := range []int{10, 50, 200} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			h := mustNew(b, Config{})
			var srcs []*Source
			var ls []*Listener
			frames := make([][]int16, n)
			for i := range n {
				s := h.AddSource(fmt.Sprint(i))
				srcs = append(srcs, s)
				ls = append(ls, h.AddListener(s))
				frames[i] = make([]int16, 320)
				tone.NewGenerator(100+float64(i)*30, rate, 1000+float64(i%17)*500).Fill(frames[i])
			}
			pcm := make([]int16, 320)
			b.ReportAllocs()
			for b.Loop() {
				for i, s := range srcs {
					s.Write(frames[i])
				}
				h.Tick()
				for _, l := range ls {
					l.Read(pcm)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/participant")
		})
	}
}

// BenchmarkHub is the hub's own share of a tick (Tick and the reads, the
// writes having been made): ns/listener must stay flat as N grows.
func BenchmarkHub(b *testing.B) {
	for _, n := range []int{10, 50, 200} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			h := mustNew(b, Config{})
			var srcs []*Source
			var ls []*Listener
			frame := make([]int16, 320)
			tone.NewGenerator(440, rate, 3000).Fill(frame)
			for i := range n {
				s := h.AddSource(fmt.Sprint(i))
				srcs = append(srcs, s)
				ls = append(ls, h.AddListener(s))
			}
			pcm := make([]int16, 320)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for _, s := range srcs {
					s.Write(frame)
				}
				b.StartTimer()
				h.Tick()
				for _, l := range ls {
					l.Read(pcm)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/listener")
		})
	}
}

// SetRate switches the hub between 16 and 8 kHz between ticks: frames of
// the old size are refused, the mix of the new size is N−1 as before, and
// switching back and forth allocates nothing once both sizes were seen.
func TestSetRate(t *testing.T) {
	h := mustNew(t, Config{Rate: 16000, MaxSpeakers: 2})
	a, b := h.AddSource("a"), h.AddSource("b")
	la := h.AddListener(a)
	if err := h.SetRate(8000); err != nil {
		t.Fatal(err)
	}
	if c := h.Config(); c.Rate != 8000 || c.FrameSamples != 160 {
		t.Fatalf("config after SetRate: %+v", c)
	}
	if err := a.Write(make([]int16, 320)); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("a 16 kHz frame in an 8 kHz hub: %v", err)
	}
	fa, fb := make([]int16, 160), make([]int16, 160)
	tone.NewGenerator(440, 8000, 8000).Fill(fa)
	tone.NewGenerator(1000, 8000, 8000).Fill(fb)
	if err := a.Write(fa); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(fb); err != nil {
		t.Fatal(err)
	}
	h.Tick()
	out := make([]int16, 320)
	if n := la.Read(out); n != 160 || fmt.Sprint(out[:160]) != fmt.Sprint(fb) {
		t.Fatalf("a hears %d samples, not b alone", n)
	}
	if err := h.SetRate(0); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("rate 0: %v", err)
	}
	if n := testing.AllocsPerRun(20, func() {
		_ = h.SetRate(16000)
		_ = h.SetRate(8000)
	}); n != 0 {
		t.Errorf("switching rates allocates %v times", n)
	}
}
