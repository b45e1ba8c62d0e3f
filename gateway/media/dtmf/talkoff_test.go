package dtmf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// readSpeech loads the espeak-ng fixtures made by testdata/gen.sh: 16-bit
// little-endian mono PCM at 8000 Hz.
func readSpeech(t *testing.T) map[string][]int16 {
	t.Helper()
	files, err := filepath.Glob("testdata/speech*.raw")
	if err != nil || len(files) == 0 {
		t.Fatalf("no speech fixtures (%v): run testdata/gen.sh", err)
	}
	out := make(map[string][]int16)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		out[filepath.Base(f)] = pcm
	}
	return out
}

// scale multiplies pcm by g.
func scale(pcm []int16, g float64) []int16 {
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		out[i] = int16(max(-32768, min(32767, math.Round(float64(v)*g))))
	}
	return out
}

// upsample2 doubles the rate of pcm with linear interpolation: enough to
// run 8 kHz speech through the 16 kHz detector.
func upsample2(pcm []int16) []int16 {
	out := make([]int16, 2*len(pcm))
	for i, v := range pcm {
		next := v
		if i+1 < len(pcm) {
			next = pcm[i+1]
		}
		out[2*i] = v
		out[2*i+1] = int16((int32(v) + int32(next)) / 2)
	}
	return out
}

// blockHits counts the blocks of pcm that pass every per-block check: the
// margin left to the duration rule.
func blockHits(t *testing.T, rate int, pcm []int16) int {
	d, err := NewDetector(DetectorConfig{Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for len(pcm) >= d.n {
		for i, s := range pcm[:d.n] {
			d.buf[i] = float64(s)
		}
		x := d.buf[:d.n]
		power4(&d.rowCoef, x, d.pow[:4])
		power4(&d.colCoef, x, d.pow[4:])
		if d.classify(x) >= 0 {
			hits++
		}
		pcm = pcm[d.n:]
	}
	return hits
}

// TestTalkOff plays speech at several levels and both rates: not one digit
// may come out (Bellcore's talk-off tests allow a few per hours of speech;
// a PIN prompt has no room for any).
func TestTalkOff(t *testing.T) {
	for name, pcm := range readSpeech(t) {
		for _, g := range []float64{1, 0.5, 0.25, 0.1} {
			s := scale(pcm, g)
			for _, rate := range []int{8000, 16000} {
				in := s
				if rate == 16000 {
					in = upsample2(s)
				}
				if got := detect(t, rate, rate/50, in); got != "" {
					t.Errorf("%s × %v at %d Hz: talk-off %q", name, g, rate, got)
				}
				if g == 1 {
					t.Logf("%s at %d Hz: %d of %d blocks pass the per-block checks", name, rate,
						blockHits(t, rate, in), len(in)/(rate*blockSamples8k/8000))
				}
			}
		}
	}
}

// chord renders notes (Hz) with decaying harmonics, like a piano or an
// organ, for ms at peak amplitude amp.
func chord(rate int, ms float64, amp float64, notes ...float64) []int16 {
	n := int(ms * float64(rate) / 1000)
	out := make([]int16, n)
	var norm float64
	for range notes {
		for h := 1; h <= 4; h++ {
			norm += 1 / float64(h)
		}
	}
	for i := range out {
		var v float64
		for _, f := range notes {
			for h := 1; h <= 4; h++ {
				if float64(h)*f < float64(rate)/2 {
					v += math.Sin(2*math.Pi*float64(h)*f*float64(i)/float64(rate)) / float64(h)
				}
			}
		}
		out[i] = int16(amp * v / norm)
	}
	return out
}

// TestMusicTalkOff plays chords and intervals, some with a note right on a
// DTMF row frequency (F5 is 698.5 Hz): harmonics and the third note keep
// them from being keys.
func TestMusicTalkOff(t *testing.T) {
	note := func(semitones float64) float64 { return 440 * math.Pow(2, semitones/12) }
	chords := [][]float64{
		{note(-9), note(-5), note(-2)},               // C major
		{note(-9), note(-5), note(-2), note(3)},      // C major with C5
		{note(8), note(12), note(15)},                // F5 A5 C6
		{note(8), note(14)},                          // F5 B5: a tritone near 697+1209
		{note(8), note(15)},                          // F5 C6
		{note(10), note(22)},                         // G5 G6
		{note(9), note(16), note(21)},                // F#5 C#6 F#6
		{note(-12), note(-5), note(0), note(4)},      // A3 E4 A4 C#5
		{note(11), note(18), note(23), note(27)},     // G#5 ...
		{rowFreq[0] * 1.01, colFreq[0] * 0.99, 2000}, // near DTMF, plus a third tone
	}
	for _, rate := range []int{8000, 16000} {
		for i, c := range chords {
			for _, amp := range []float64{30000, 8000, 2000} {
				pcm := chord(rate, 500, amp, c...)
				if got := detect(t, rate, rate/50, pcm); got != "" {
					t.Errorf("chord %d %v at %d Hz, peak %v: got %q", i, c, rate, amp, got)
				}
			}
		}
	}
}

// TestNoiseTalkOff plays white noise from loud to faint: no keys.
func TestNoiseTalkOff(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		for seed := range uint64(3) {
			for _, rms := range []float64{8000, 800, 80} {
				r := rand.New(rand.NewPCG(seed, 2))
				noise := make([]int16, 2*rate)
				for i := range noise {
					noise[i] = int16(max(-32768, min(32767, r.NormFloat64()*rms)))
				}
				if got := detect(t, rate, rate/50, noise); got != "" {
					t.Errorf("%d Hz noise of RMS %v, seed %d: got %q", rate, rms, seed, got)
				}
			}
		}
	}
}
