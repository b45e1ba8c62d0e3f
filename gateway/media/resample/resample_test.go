package resample

import (
	"errors"
	"math"
	"math/cmplx"
	"testing"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

func mustNew(t testing.TB, in, out int) *Resampler {
	t.Helper()
	r, err := New(in, out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run converts pcm in 20 ms frames of the input rate.
func run(t testing.TB, r *Resampler, pcm []int16) []int16 {
	t.Helper()
	frame := r.InRate() / 50
	out := make([]int16, 0, r.MaxOut(len(pcm)))
	buf := make([]int16, r.MaxOut(frame))
	for off := 0; off < len(pcm); off += frame {
		n, err := r.Process(buf, pcm[off:min(off+frame, len(pcm))])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
	return out
}

func db(x float64) float64 { return 10 * math.Log10(x) }

func response(h []float64, f float64) float64 {
	var z complex128
	for n, c := range h {
		z += complex(c, 0) * cmplx.Exp(complex(0, -2*math.Pi*f*float64(n)))
	}
	return cmplx.Abs(z)
}

func TestFilterDesign(t *testing.T) {
	for _, tc := range []struct {
		name           string
		spec           filterSpec
		rate           float64
		passEnd, stopF float64
	}{
		{"half-band", halfBand, 16000, 3600, 4400},
		{"third-band", thirdBand, 48000, 6800, 8000},
	} {
		h := design(tc.spec)
		worstPass, worstStop := 0.0, math.Inf(-1)
		for f := 0.0; f <= tc.rate/2; f += 10 {
			g := 20 * math.Log10(response(h, f/tc.rate)+1e-12)
			if f <= tc.passEnd {
				worstPass = max(worstPass, math.Abs(g))
			}
			if f >= tc.stopF {
				worstStop = max(worstStop, g)
			}
		}
		t.Logf("%s: pass ripple ±%.3f dB to %v Hz, stop ≤ %.1f dB from %v Hz", tc.name, worstPass, tc.passEnd, worstStop, tc.stopF)
		if worstPass > 0.1 || worstStop > -55 {
			t.Errorf("%s: ripple %.3f dB, stop band %.1f dB", tc.name, worstPass, worstStop)
		}
	}
	h := design(halfBand)
	mid := len(h) / 2
	for n := range h {
		if d := n - mid; d != 0 && d%2 == 0 && h[n] != 0 {
			t.Errorf("half-band tap %d = %g, want 0", n, h[n])
		}
	}
}

func TestTonePreserved(t *testing.T) {
	for _, tc := range []struct {
		in, out int
		freqs   []float64
	}{
		{16000, 8000, []float64{300, 1000, 3000}},
		{8000, 16000, []float64{300, 1000, 3000}},
		{48000, 16000, []float64{300, 1000, 6000}},
		{16000, 48000, []float64{300, 1000, 6000}},
	} {
		for _, f := range tc.freqs {
			pcm := make([]int16, tc.in/2)
			tone.NewGenerator(f, tc.in, 16000).Fill(pcm)
			out := run(t, mustNew(t, tc.in, tc.out), pcm)
			if len(out) != tc.out/2 {
				t.Fatalf("%d→%d: %d samples out", tc.in, tc.out, len(out))
			}
			tail := out[len(out)/4:]
			if p := tone.Peaks(tail[:tc.out/20], tc.out, 1); len(p) != 1 || math.Abs(p[0]-f) > 30 {
				t.Errorf("%d→%d %v Hz: peak %v", tc.in, tc.out, f, p)
			}
			gain := 20 * math.Log10(tone.RMS(tail)/tone.RMS(pcm))
			if math.Abs(gain) > 0.2 {
				t.Errorf("%d→%d %v Hz: gain %.2f dB", tc.in, tc.out, f, gain)
			}
		}
	}
}

// TestAliasRejection feeds tones above the output Nyquist frequency (plus
// the transition band) to the decimators: what comes out is alias, and it
// must be at least 40 dB below the input.
func TestAliasRejection(t *testing.T) {
	for _, tc := range []struct {
		in, out int
		freqs   []float64
	}{
		{16000, 8000, []float64{4400, 4600, 5000, 6000, 7000, 7900}},
		{48000, 16000, []float64{8000, 8500, 10000, 15000, 20000, 23900}},
	} {
		for _, f := range tc.freqs {
			pcm := make([]int16, tc.in/2)
			tone.NewGenerator(f, tc.in, 16000).Fill(pcm)
			out := run(t, mustNew(t, tc.in, tc.out), pcm)
			rej := -20 * math.Log10(tone.RMS(out[len(out)/4:])/tone.RMS(pcm))
			if rej < 40 {
				t.Errorf("%d→%d: %v Hz rejected by only %.1f dB", tc.in, tc.out, f, rej)
			}
		}
	}
}

// TestImageRejection checks the interpolators: the spectral images of a
// tone (at k·inRate ± f) must be at least 40 dB below the tone.
func TestImageRejection(t *testing.T) {
	for _, tc := range []struct {
		in, out int
		f       float64
	}{
		{8000, 16000, 1000},
		{8000, 16000, 3500},
		{16000, 48000, 1000},
		{16000, 48000, 7000},
	} {
		pcm := make([]int16, tc.in/2)
		tone.NewGenerator(tc.f, tc.in, 16000).Fill(pcm)
		out := run(t, mustNew(t, tc.in, tc.out), pcm)[tc.out/10:]
		sig := tone.Power(out, tc.out, tc.f)
		for k := tc.in; k < tc.out; k += tc.in {
			for _, img := range []float64{float64(k) - tc.f, float64(k) + tc.f} {
				if img >= float64(tc.out)/2 {
					continue
				}
				if r := db(sig / tone.Power(out, tc.out, img)); r < 40 {
					t.Errorf("%d→%d: image of %v Hz at %v Hz only %.1f dB down", tc.in, tc.out, tc.f, img, r)
				}
			}
		}
	}
}

// TestStreamContinuity: converting in frames, in odd chunks or in one go
// gives the same samples, so frame edges cannot click.
func TestStreamContinuity(t *testing.T) {
	for _, pair := range [][2]int{{16000, 8000}, {8000, 16000}, {48000, 16000}, {16000, 48000}} {
		pcm := make([]int16, pair[0]/5)
		tone.NewGenerator(777, pair[0], 20000).Fill(pcm)
		whole := make([]int16, 2*len(pcm)*6)
		n, err := mustNew(t, pair[0], pair[1]).Process(whole, pcm)
		if err != nil {
			t.Fatal(err)
		}
		whole = whole[:n]
		for _, chunk := range []int{1, 7, 160, pair[0] / 50, 2000} {
			r := mustNew(t, pair[0], pair[1])
			var got []int16
			buf := make([]int16, r.MaxOut(chunk))
			for off := 0; off < len(pcm); off += chunk {
				n, err := r.Process(buf, pcm[off:min(off+chunk, len(pcm))])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, buf[:n]...)
			}
			if len(got) != len(whole) {
				t.Fatalf("%v chunk %d: %d samples, want %d", pair, chunk, len(got), len(whole))
			}
			for i := range got {
				if got[i] != whole[i] {
					t.Fatalf("%v chunk %d: sample %d is %d, want %d", pair, chunk, i, got[i], whole[i])
				}
			}
		}
	}
}

func TestDelay(t *testing.T) {
	for _, pair := range [][2]int{{16000, 8000}, {8000, 16000}, {48000, 16000}, {16000, 48000}} {
		r := mustNew(t, pair[0], pair[1])
		factor := max(pair[0], pair[1]) / min(pair[0], pair[1])
		in := make([]int16, 600)
		at := 60*factor - 1
		if r.up != nil {
			at = 60
		}
		in[at] = 30000
		out := make([]int16, r.MaxOut(len(in)))
		n, _ := r.Process(out, in)
		peak := 0
		for i := range out[:n] {
			if out[i] > out[peak] {
				peak = i
			}
		}
		want := float64(at)/float64(factor) + r.Delay()
		if r.up != nil {
			want = float64(at*factor) + r.Delay()
		}
		if math.Abs(float64(peak)-want) > 0.5 {
			t.Errorf("%v: impulse peak at %d, Delay says %.2f", pair, peak, want)
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := New(44100, 16000); !errors.Is(err, ErrUnsupported) {
		t.Errorf("44100→16000: %v", err)
	}
	if _, err := New(0, 0); !errors.Is(err, ErrUnsupported) {
		t.Errorf("0→0: %v", err)
	}
	r := mustNew(t, 8000, 16000)
	if _, err := r.Process(make([]int16, 319), make([]int16, 160)); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
	same := mustNew(t, 16000, 16000)
	src := []int16{1, 2, 3}
	dst := make([]int16, 3)
	if n, err := same.Process(dst, src); n != 3 || err != nil || dst[2] != 3 {
		t.Errorf("pass-through: %d %v %v", n, err, dst)
	}
	if mustNew(t, 16000, 8000).MaxOut(320) != 160 || mustNew(t, 16000, 48000).MaxOut(320) != 960 {
		t.Error("MaxOut for a frame")
	}
}

func TestResetAndSaturation(t *testing.T) {
	r := mustNew(t, 8000, 16000)
	loud := make([]int16, 160)
	for i := range loud {
		loud[i] = 32767
		if (i/3)%2 == 1 {
			loud[i] = -32768
		}
	}
	out := make([]int16, 320)
	r.Process(out, loud) // overshoot must saturate, not wrap
	r.Reset()
	silence := make([]int16, 160)
	r.Process(out, silence)
	for i, s := range out {
		if s != 0 {
			t.Fatalf("after Reset, silence gave %d at %d", s, i)
		}
	}
	if toInt16(40000) != 32767 || toInt16(-40000) != -32768 || toInt16(-1.6) != -2 {
		t.Error("toInt16 does not saturate or round")
	}
}

func BenchmarkResample(b *testing.B) {
	for _, pair := range [][2]int{{16000, 8000}, {8000, 16000}, {48000, 16000}, {16000, 48000}} {
		b.Run(itoa(pair[0]/1000)+"k-"+itoa(pair[1]/1000)+"k", func(b *testing.B) {
			r := mustNew(b, pair[0], pair[1])
			in := make([]int16, pair[0]/50)
			tone.NewGenerator(440, pair[0], 10000).Fill(in)
			out := make([]int16, r.MaxOut(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Process(out, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
