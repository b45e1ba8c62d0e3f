package dtmf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// segment is a piece of test signal: a key held for ms (0 for silence).
type segment struct {
	key      byte
	ms       float64
	low, hig float64 // dBm0 of the row and column tones
}

// synth renders segs at rate, starting with offset samples of silence.
func synth(t testing.TB, rate, offset int, segs ...segment) []int16 {
	t.Helper()
	pcm := make([]int16, offset)
	for _, s := range segs {
		n := int(math.Round(s.ms * float64(rate) / 1000))
		buf := make([]int16, n)
		if s.key != 0 {
			g, err := NewToneTwist(s.key, rate, s.low, s.hig)
			if err != nil {
				t.Fatal(err)
			}
			g.Fill(buf)
		}
		pcm = append(pcm, buf...)
	}
	// Trailing silence lets the detector see every tone end.
	return append(pcm, make([]int16, rate/10)...)
}

// keys renders each key of s held on ms and then silent for gap ms, at
// level dBm0 per tone.
func keys(t testing.TB, rate int, s string, on, gap, level float64) []int16 {
	var segs []segment
	for i := range len(s) {
		segs = append(segs, segment{s[i], on, level, level}, segment{ms: gap})
	}
	return synth(t, rate, 0, segs...)
}

// detect runs pcm through a new detector in frames of frame samples.
func detect(t testing.TB, rate, frame int, pcm []int16) string {
	t.Helper()
	d, err := NewDetector(DetectorConfig{Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for len(pcm) > 0 {
		n := min(frame, len(pcm))
		out = d.Process(out, pcm[:n])
		pcm = pcm[n:]
	}
	return string(out)
}

// addNoise adds white noise snr dB below the signal's power.
func addNoise(pcm []int16, snr float64, seed uint64) []int16 {
	var p float64
	for _, v := range pcm {
		p += float64(v) * float64(v)
	}
	rms := math.Sqrt(p/float64(len(pcm))) * math.Pow(10, -snr/20)
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		out[i] = int16(max(-32768, min(32767, float64(v)+r.NormFloat64()*rms)))
	}
	return out
}

const allKeys = "123A456B789C*0#D"

func TestDetectorLevels(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for _, level := range []float64{-3, -6, -10, -15, -20, -25, -28} {
			if got := detect(t, rate, rate/50, keys(t, rate, allKeys, 60, 60, level)); got != allKeys {
				t.Errorf("%d Hz, %v dBm0: got %q, want %q", rate, level, got, allKeys)
			}
		}
		for _, level := range []float64{-36, -40, -50} {
			if got := detect(t, rate, rate/50, keys(t, rate, allKeys, 60, 60, level)); got != "" {
				t.Errorf("%d Hz, %v dBm0 is below the floor: got %q", rate, level, got)
			}
		}
	}
}

func TestDetectorTwist(t *testing.T) {
	for _, tc := range []struct {
		low, high float64
		ok        bool
	}{
		{-10, -10, true},
		{-6, -13, true},  // normal twist 7 dB
		{-6, -16, false}, // normal twist 10 dB
		{-4, -14, false},
		{-13, -10, true},  // reverse twist 3 dB
		{-15, -10, false}, // reverse twist 5 dB
		{-16, -10, false},
	} {
		for _, rate := range []int{8000, 16000} {
			var segs []segment
			for i := range len(allKeys) {
				segs = append(segs, segment{allKeys[i], 60, tc.low, tc.high}, segment{ms: 60})
			}
			got := detect(t, rate, rate/50, synth(t, rate, 0, segs...))
			want := ""
			if tc.ok {
				want = allKeys
			}
			if got != want {
				t.Errorf("%d Hz, low %v high %v dBm0: got %q, want %q", rate, tc.low, tc.high, got, want)
			}
		}
	}
}

// TestDetectorDuration checks the duration rules at every alignment of
// the tones to the analysis blocks.
func TestDetectorDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		segs []segment
		want string
	}{
		{"30ms tone", []segment{{'5', 30, -10, -10}}, ""},
		{"25ms tone", []segment{{'#', 25, -5, -5}}, ""},
		{"40ms tone", []segment{{'5', 40, -10, -10}}, "5"},
		{"50ms tone", []segment{{'1', 50, -20, -20}}, "1"},
		{"2s tone", []segment{{'D', 2000, -10, -10}}, "D"},
		{"30ms gap", []segment{{'8', 60, -10, -10}, {ms: 30}, {'8', 60, -10, -10}}, "8"},
		{"20ms gap", []segment{{'*', 100, -10, -10}, {ms: 20}, {'*', 100, -10, -10}}, "*"},
		{"50ms gap", []segment{{'8', 60, -10, -10}, {ms: 50}, {'8', 60, -10, -10}}, "88"},
		{"40ms gap", []segment{{'0', 60, -10, -10}, {ms: 40}, {'0', 60, -10, -10}}, "00"},
		{"50ms gap low", []segment{{'1', 60, -25, -25}, {ms: 50}, {'1', 60, -25, -25}}, "11"},
		{"no gap", []segment{{'1', 60, -10, -10}, {'2', 60, -10, -10}}, "12"},
		// A key's two tones keep their balance; a pair whose twist jumps
		// by 8 dB is measured anew, and reported once at most.
		{"twist jumps", []segment{{'5', 30, -7, -13}, {'5', 30, -11, -9}}, ""},
		{"twist jumps after the report", []segment{{'5', 60, -7, -13}, {'5', 60, -11, -9}}, "5"},
	} {
		for _, rate := range []int{8000, 16000} {
			step := rate / 8000
			for off := 0; off < blockSamples8k*step; off += 3 * step {
				pcm := synth(t, rate, off, tc.segs...)
				if got := detect(t, rate, rate/50, pcm); got != tc.want {
					t.Errorf("%s at %d Hz, offset %d: got %q, want %q", tc.name, rate, off, got, tc.want)
				}
			}
		}
	}
}

func TestDetectorNoise(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for _, level := range []float64{-6, -15, -25} {
			for seed := range uint64(5) {
				pcm := addNoise(keys(t, rate, allKeys, 60, 60, level), 15, seed)
				if got := detect(t, rate, rate/50, pcm); got != allKeys {
					t.Errorf("%d Hz, %v dBm0, SNR 15 dB, seed %d: got %q", rate, level, seed, got)
				}
			}
		}
	}
}

// TestDetectorFraming checks that frame size does not change the result.
func TestDetectorFraming(t *testing.T) {
	pcm := keys(t, 8000, "159#", 45, 45, -12)
	for _, frame := range []int{1, 37, 80, 102, 160, 240, 1000} {
		if got := detect(t, 8000, frame, pcm); got != "159#" {
			t.Errorf("frames of %d: got %q", frame, got)
		}
	}
}

func TestDetectorConfig(t *testing.T) {
	for _, cfg := range []DetectorConfig{{Rate: 44100}, {MinLevel: 3}, {MinTone: -time.Millisecond}} {
		if _, err := NewDetector(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	d, err := NewDetector(DetectorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	pcm := keys(t, 8000, "7", 100, 0, -10)
	if got := string(d.Process(nil, pcm[:560])); got != "7" {
		t.Fatalf("got %q", got)
	}
	d.Reset()
	if got := string(d.Process(nil, pcm[560:])); got != "" {
		t.Errorf("after Reset, the last 30 ms of the tone are no press: got %q", got)
	}
}

func BenchmarkDetector(b *testing.B) {
	for _, rate := range []int{8000, 16000} {
		b.Run(fmt.Sprintf("%dHz", rate), func(b *testing.B) {
			pcm := keys(b, rate, "1234", 60, 60, -10)
			d, err := NewDetector(DetectorConfig{Rate: rate})
			if err != nil {
				b.Fatal(err)
			}
			frame := rate / 50
			dst := make([]byte, 0, 16)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				off := (i * frame) % (len(pcm) - frame)
				dst = d.Process(dst[:0], pcm[off:off+frame])
			}
		})
	}
}

// TestDetectorFrequency checks ITU-T Q.24's frequency limits: keys whose
// tones are off by 1.5% are accepted, by 3.5% rejected.
func TestDetectorFrequency(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for _, tc := range []struct {
			dev  float64
			want bool
		}{{-0.05, false}, {-0.035, false}, {-0.015, true}, {0.015, true}, {0.035, false}, {0.05, false}} {
			for k := range 16 {
				fr, fc := rowFreq[k/4]*(1+tc.dev), colFreq[k%4]*(1+tc.dev)
				pcm := make([]int16, rate/5)
				a := Amplitude(-10)
				for i := range rate / 20 {
					x := 2 * math.Pi * float64(i) / float64(rate)
					pcm[i] = int16(a*math.Sin(fr*x) + a*math.Sin(fc*x))
				}
				want := ""
				if tc.want {
					want = keypad[k : k+1]
				}
				if got := detect(t, rate, rate/50, pcm); got != want {
					t.Errorf("%d Hz, key %c off by %+.1f%%: got %q, want %q", rate, keypad[k], 100*tc.dev, got, want)
				}
			}
		}
	}
}
