package bridge

import (
	"fmt"
	"testing"

	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/media/tone"
)

// The gate mutes from the key's report until two frames after its tones
// end, ignores a tone of another key and voice-like audio, and allocates
// nothing.
func TestToneGate(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		g := toneGate{rate: float64(rate)}
		frame := make([]int16, rate/50)
		star, err := dtmf.NewTone('*', rate, -20)
		if err != nil {
			t.Fatal(err)
		}
		voice := tone.NewGenerator(300, rate, 8000)
		if g.mute(frame) {
			t.Fatal("muted with no key reported")
		}
		g.key('*')
		var got []bool
		for i := range 8 {
			if i < 3 {
				star.Fill(frame)
			} else {
				voice.Fill(frame)
			}
			got = append(got, g.mute(frame))
		}
		want := []bool{true, true, true, true, true, false, false, false}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%d Hz: muted %v, want %v", rate, got, want)
		}
		// Another key's tones do not hold the mute.
		g.key('*')
		six, _ := dtmf.NewTone('6', rate, -20)
		six.Fill(frame)
		g.mute(frame)
		g.mute(frame)
		if g.mute(frame) {
			t.Errorf("%d Hz: the tones of 6 kept a * muted", rate)
		}
		g.key('*')
		star.Fill(frame)
		if n := testing.AllocsPerRun(100, func() { g.mute(frame) }); n != 0 {
			t.Errorf("%d Hz: %v allocations per frame", rate, n)
		}
	}
}
