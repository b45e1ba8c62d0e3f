package tone

import "testing"

func TestPowerFindsTheTone(t *testing.T) {
	for _, tc := range []struct {
		rate int
		freq float64
	}{{8000, 440}, {8000, 1000}, {16000, 1000}, {48000, 440}} {
		pcm := make([]int16, tc.rate/10)
		NewGenerator(tc.freq, tc.rate, 16000).Fill(pcm)
		on := Power(pcm, tc.rate, tc.freq)
		off := Power(pcm, tc.rate, tc.freq*1.7)
		if on < 100*off {
			t.Errorf("rate %d freq %v: on %g off %g", tc.rate, tc.freq, on, off)
		}
		if f, _ := Dominant(pcm, tc.rate, []float64{300, 440, 1000, 2000}); f != tc.freq {
			t.Errorf("dominant %v want %v", f, tc.freq)
		}
		if p := Peaks(pcm, tc.rate, 1); len(p) != 1 || p[0] < tc.freq-50 || p[0] > tc.freq+50 {
			t.Errorf("peaks %v want ~%v", p, tc.freq)
		}
	}
	if RMS(make([]int16, 100)) != 0 {
		t.Error("silence has energy")
	}
}
