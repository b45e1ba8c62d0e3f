package plc

import (
	"errors"
	"math"
	"testing"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

// voiced makes a vowel-like signal: f0 with decaying harmonics.
func voiced(rate int, f0 float64, n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		var v float64
		for k := 1; k <= 5; k++ {
			v += math.Sin(2*math.Pi*f0*float64(k)*float64(i)/float64(rate)) / float64(k)
		}
		pcm[i] = int16(6000 * v)
	}
	return pcm
}

func mustNew(t testing.TB, rate int) *Concealer {
	t.Helper()
	c, err := New(rate)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// play runs a signal through the concealer in 20 ms frames, losing the
// frames for which lost returns true, and returns what a listener hears.
func play(c *Concealer, rate int, sig []int16, lost func(int) bool) []int16 {
	frame := rate / 50
	out := make([]int16, len(sig))
	for f := 0; (f+1)*frame <= len(sig); f++ {
		o := out[f*frame : (f+1)*frame]
		if lost(f) {
			c.Conceal(o)
		} else {
			copy(o, sig[f*frame:(f+1)*frame])
			c.Good(o)
		}
	}
	return out
}

func rms(pcm []int16) float64 { return tone.RMS(pcm) }

func maxStep(pcm []int16) float64 {
	var m float64
	for i := 1; i < len(pcm); i++ {
		m = max(m, math.Abs(float64(pcm[i])-float64(pcm[i-1])))
	}
	return m
}

func TestConcealsOneFrame(t *testing.T) {
	for _, tc := range []struct {
		rate int
		f0   float64
	}{
		{8000, 120}, {8000, 200}, {16000, 150}, {16000, 440},
	} {
		frame := tc.rate / 50
		sig := voiced(tc.rate, tc.f0, 20*frame)
		c := mustNew(t, tc.rate)
		out := play(c, tc.rate, sig, func(f int) bool { return f == 10 })
		lostFrame := out[10*frame : 11*frame]
		truth := sig[10*frame : 11*frame]
		// The substitute has the voice's pitch and about its level.
		if f, _ := tone.Dominant(lostFrame, tc.rate, []float64{tc.f0 * 0.5, tc.f0, tc.f0 * 1.5, tc.f0 * 2}); f != tc.f0 {
			t.Errorf("%d Hz f0 %v: concealed frame dominant %v", tc.rate, tc.f0, f)
		}
		if r := 20 * math.Log10(rms(lostFrame)/rms(truth)); r < -4 || r > 1 {
			t.Errorf("%d Hz f0 %v: concealed level %.1f dB", tc.rate, tc.f0, r)
		}
		// No clicks: at the loss, in the loop, where it widens and at the
		// return, the waveform moves no faster than the voice itself does.
		for k := 1; k <= 4; k++ {
			c := mustNew(t, tc.rate)
			out := play(c, tc.rate, sig, func(f int) bool { return f >= 10 && f < 10+k })
			seg := out[9*frame : (11+k)*frame]
			if m, ref := maxStep(seg), maxStep(sig); m > 1.3*ref {
				t.Errorf("%d Hz f0 %v, %d lost: max step %.0f, clean %.0f", tc.rate, tc.f0, k, m, ref)
			}
		}
		// And the frames after the return are the real signal again.
		for i := 11*frame + frame/2; i < 20*frame; i++ {
			if out[i] != sig[i] {
				t.Fatalf("sample %d altered after recovery", i)
			}
		}
	}
}

func TestFadesToSilence(t *testing.T) {
	const rate = 8000
	frame := rate / 50
	sig := voiced(rate, 150, 30*frame)
	c := mustNew(t, rate)
	out := play(c, rate, sig, func(f int) bool { return f >= 10 && f < 20 })
	prev := math.Inf(1)
	for f := 10; f < 14; f++ {
		r := rms(out[f*frame : (f+1)*frame])
		if r > prev {
			t.Errorf("frame %d louder than the one before (%.4f > %.4f)", f, r, prev)
		}
		prev = r
	}
	// 60 ms in, the output is silent.
	for i := 10*frame + rate*60/1000; i < 20*frame; i++ {
		if out[i] != 0 {
			t.Fatalf("sample %d = %d after 60 ms of loss", i, out[i])
		}
	}
	// The return fades in rather than jumping to full level.
	back := out[20*frame : 20*frame+rate/100]
	if math.Abs(float64(back[0])) > 0.2*float64(maxAbs(sig)) {
		t.Errorf("return starts at %d, not faded in", back[0])
	}
	if c.Concealing() {
		t.Error("Concealing after good frames")
	}
}

func TestCleanPassThrough(t *testing.T) {
	sig := voiced(16000, 180, 16000)
	c := mustNew(t, 16000)
	out := play(c, 16000, sig, func(int) bool { return false })
	for i := range sig[:len(out)] {
		if out[i] != sig[i] {
			t.Fatalf("sample %d changed without loss", i)
		}
	}
}

func TestSilenceAndReset(t *testing.T) {
	c := mustNew(t, 8000)
	dst := make([]int16, 160)
	c.Conceal(dst)
	for _, v := range dst {
		if v != 0 {
			t.Fatal("concealed silence is not silent")
		}
	}
	if !c.Concealing() {
		t.Error("not concealing after Conceal")
	}
	c.Good(voiced(8000, 150, 160))
	c.Reset()
	c.Conceal(dst)
	for _, v := range dst {
		if v != 0 {
			t.Fatal("Reset kept history")
		}
	}
	if _, err := New(4000); !errors.Is(err, ErrBadRate) {
		t.Errorf("4000 Hz: %v", err)
	}
}

func maxAbs(pcm []int16) int {
	m := 0
	for _, v := range pcm {
		m = max(m, int(math.Abs(float64(v))))
	}
	return m
}

func BenchmarkGood(b *testing.B) {
	c := mustNew(b, 16000)
	frame := voiced(16000, 150, 320)
	b.ReportAllocs()
	for b.Loop() {
		c.Good(frame)
	}
}

// BenchmarkLossBurst is one lost frame and the recovery that follows (the
// pitch search runs once per loss).
func BenchmarkLossBurst(b *testing.B) {
	c := mustNew(b, 16000)
	frame := voiced(16000, 150, 320)
	dst := make([]int16, 320)
	c.Good(frame)
	b.ReportAllocs()
	for b.Loop() {
		c.Conceal(dst)
		c.Good(frame)
	}
}
