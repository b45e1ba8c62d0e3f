package loadgen

import (
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/caller"
	"github.com/roombridge/roombridge/gateway/media/tone"
)

// The probe counts the frames of its window in which the tone is missing
// (silence from a lost or late frame) or far too quiet, and the longest
// run of them; the frames after the window (the hang-up) do not count.
func TestProbeStats(t *testing.T) {
	const frames, fs = 300, 160
	heard := make([]int16, frames*fs)
	tone.NewGenerator(1000, 8000, 8000).Fill(heard)
	quiet := func(k int, scale float64) {
		for i := k * fs; i < (k+1)*fs; i++ {
			heard[i] = int16(float64(heard[i]) * scale)
		}
	}
	quiet(100, 0) // silent
	quiet(101, 0)
	quiet(200, 0.01)   // 40 dB down
	quiet(201, 0.5)    // 6 dB down: fine
	quiet(frames-3, 0) // in the tail: left out
	p := &probe{
		tone:     1000,
		talker:   legResult{rep: &caller.Report{Answered: true}},
		listener: legResult{rep: &caller.Report{Answered: true, Rate: 8000, Heard: heard}},
	}
	s := p.stats(5 * time.Second) // 250 frames
	if !s.Placed || !s.Answered || s.Frames != 250 || s.Bad != 3 || s.LongestBadMS != 40 {
		t.Fatalf("stats %+v, want 3 bad of 250, longest 40 ms", s)
	}
	if s.BadPercent != 1.2 {
		t.Errorf("bad %.2f %%, want 1.2", s.BadPercent)
	}
	p.listener.rep.Answered = false
	if s := p.stats(5 * time.Second); s.Answered || s.Frames != 0 {
		t.Errorf("unanswered probe: %+v", s)
	}
}
