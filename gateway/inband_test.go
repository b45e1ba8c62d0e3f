package gateway

import (
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/tone"
	"github.com/roombridge/roombridge/gateway/sdp"
)

// dtmfPairs are the row and column frequencies of the keys the tests press.
var dtmfPairs = map[byte][2]float64{'*': {941, 1209}, '6': {770, 1477}, '1': {697, 1209}}

// keyRuns cuts pcm (at rate) into 10 ms windows and returns the lengths, in
// windows, of the runs in which both tones of one of keys are heard.
func keyRuns(pcm []int16, rate int, keys string) []int {
	const floor = 1e-4 // a -6 dBm0 tone measures about 0.03
	win := rate / 100
	var runs []int
	run := 0
	for i := 0; i+win <= len(pcm); i += win {
		w := pcm[i : i+win]
		on := false
		for j := range len(keys) {
			f := dtmfPairs[keys[j]]
			if tone.Power(w, rate, f[0]) > floor && tone.Power(w, rate, f[1]) > floor {
				on = true
			}
		}
		if on {
			run++
		} else if run > 0 {
			runs = append(runs, run)
			run = 0
		}
	}
	if run > 0 {
		runs = append(runs, run)
	}
	return runs
}

// A phone without telephone-event keys *6 and *6 again as tones: the keys
// work (muted, then unmuted), but the other phone hears at most the first
// few tens of milliseconds of each tone, not the beeps.
func TestInbandKeysKeptFromRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	for _, codec := range []string{"PCMU", "G722"} {
		t.Run(codec, func(t *testing.T) {
			f := newFixture(t, nil)
			ag := newAgent(t)
			a, code := ag.dial(f.uri("demo"), phoneOpts{freq: 1000})
			if code != 200 {
				t.Fatalf("A: %d", code)
			}
			o := phoneOpts{freq: 300, noTE: true}
			if codec == "G722" {
				o.codec = sdp.G722
			}
			b, code := ag.dial(f.uri("demo"), o)
			if code != 200 {
				t.Fatalf("B: %d", code)
			}
			a.waitHears(300, 1000)
			mark := a.heard.total()
			b.keys("*6", viaInband)
			waitUntil(t, 5*time.Second, "B muted", func() bool { return legMuted(f, b) })
			b.keys("*6", viaInband)
			waitUntil(t, 5*time.Second, "B unmuted", func() bool { return !legMuted(f, b) })
			heard := a.waitHeard(mark, 1200*time.Millisecond)
			a.waitHears(300, 1000)
			runs := keyRuns(heard, a.rate, "*6")
			t.Logf("DTMF heard by A in 10 ms windows: runs %v", runs)
			for _, r := range runs {
				// Two 20 ms frames of tone before the detector is sure,
				// smeared into a fifth window by the codec and by A's
				// windows not being aligned with the gateway's frames.
				// Unsuppressed, a 100 ms key is 10 or 11 windows.
				if r > 5 {
					t.Errorf("A heard %d ms of B's DTMF in one go; runs %v", r*10, runs)
				}
			}
			if got := f.metric("roombridge_dtmf_digits_total", "inband"); got != 4 {
				t.Errorf("dtmf_digits_total{inband} = %v, want 4", got)
			}
			a.hangup()
			b.hangup()
			f.waitIdle()
		})
	}
}

// legMuted reports whether the room has p's audio muted.
func legMuted(f *fixture, p *phone) bool {
	id := legIdentity(p.sess.InviteRequest.CallID().Value())
	for _, x := range f.sipParticipants("demo") {
		if x.ID == id {
			return x.AudioMuted
		}
	}
	return false
}
