package gateway

import (
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

// offTone is the mean square of pcm (relative to full scale) left after
// taking out the sine at freq: what is heard besides that tone. It is
// measured per 20 ms packet (pcm ends on a packet's end), so that a jump
// of the tone's phase between packets does not count.
func offTone(pcm []int16, rate int, freq float64) float64 {
	n := rate / 50
	var sum float64
	var k int
	for end := len(pcm); end >= n; end -= n {
		w := pcm[end-n : end]
		r := tone.RMS(w)
		// A sine's mean square is twice its normalised Goertzel power.
		sum += max(r*r-2*tone.Power(w, rate, freq), 0)
		k++
	}
	if k == 0 {
		return 0
	}
	return sum / float64(k)
}

// waitTicks waits for n more ticks of the hub clock.
func (f *fixture) waitTicks(n float64) {
	f.t.Helper()
	ticks := f.metric("roombridge_hub_ticks_total", "")
	waitUntil(f.t, 10*time.Second, "hub ticks", func() bool {
		return f.metric("roombridge_hub_ticks_total", "") >= ticks+n
	})
}

// *1 tells the phone that keys it how many people are in the room, over
// what it hears from the room; the other phone hears nothing of it.
func TestStarOneCount(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	f := newFixture(t, nil)
	ag := newAgent(t)
	a, code := ag.dial(f.uri("demo"), phoneOpts{freq: 1000})
	if code != 200 {
		t.Fatalf("A: %d", code)
	}
	b, code := ag.dial(f.uri("demo"), phoneOpts{})
	if code != 200 {
		t.Fatalf("B: %d", code)
	}
	b.waitHears(1000)
	// Mean square heard off A's tone, over 200 ms: speech prompts measure
	// 0.01 to 0.03, A's tone alone (µ-law, resampled twice) about 5e-4.
	const speech = 5e-3
	if base := offTone(b.power2(), b.rate, 1000); base > speech/4 {
		t.Fatalf("B hears %.2g besides A's tone before *1", base)
	}
	markA, markB := a.heard.total(), b.heard.total()
	b.keys("*1", viaRFC4733)
	waitUntil(t, 10*time.Second, "B hearing the count", func() bool {
		h := b.heard.last(b.rate / 5)
		return len(h) == b.rate/5 && b.heard.total()-markB >= len(h) && offTone(h, b.rate, 1000) > speech
	})

	// B still hears A under the announcement.
	if pw := tone.Power(b.heardSince(markB), b.rate, 1000); pw < 0.002 {
		t.Errorf("B no longer hears A's tone (power %.2g) with the count", pw)
	}
	// A's audio over the same span and the next second, while the count
	// goes on, is still silence.
	f.waitTicks(50)
	heard := a.heardSince(markA)
	if len(heard) < a.rate {
		t.Fatalf("A heard only %d samples since *1", len(heard))
	}
	if r := tone.RMS(heard); r*r > speech/10 {
		t.Errorf("A heard the count meant for B (mean square %.2g)", r*r)
	}
	a.hangup()
	b.hangup()
	f.waitIdle()
}

// power2 is the last 400 ms the phone heard.
func (p *phone) power2() []int16 { return p.heard.last(p.rate * 2 / 5) }

// toneWindows cuts pcm (at rate) into 20 ms packets and returns, for each
// of freqs, the index of the first packet in which it is heard (-1: never).
func toneWindows(pcm []int16, rate int, freqs ...float64) []int {
	const floor = 1e-3 // the tones measure about 0.06
	n := rate / 50
	first := make([]int, len(freqs))
	for i := range first {
		first[i] = -1
	}
	for w := 0; (w+1)*n <= len(pcm); w++ {
		for i, fr := range freqs {
			if first[i] < 0 && tone.Power(pcm[w*n:(w+1)*n], rate, fr) > floor {
				first[i] = w
			}
		}
	}
	return first
}

// With IVR.JoinTones, a phone in the room hears the join tone (660 then
// 880 Hz, ivr/prompts/gen.sh) when another phone joins and the leave tone
// (880 then 660 Hz) when it leaves; without, it hears nothing.
func TestJoinLeaveTones(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end media test")
	}
	const lo, hi = 660, 880
	for _, on := range []bool{true, false} {
		name := "off"
		if on {
			name = "on"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.IVR.JoinTones = on })
			ag := newAgent(t)
			a, code := ag.dial(f.uri("demo"), phoneOpts{})
			if code != 200 {
				t.Fatalf("A: %d", code)
			}
			waitUntil(t, 10*time.Second, "A in demo", func() bool { return f.inRoom(a, "demo") })
			f.waitTicks(10)
			// hears waits for the two notes in order after mark, or, with the
			// tones off, sees 50 ticks (1 s) go by without either.
			hears := func(what string, mark int, first, second float64) {
				t.Helper()
				if !on {
					f.waitTicks(50)
					heard := a.heardSince(mark)
					if w := toneWindows(heard, a.rate, first, second); w[0] >= 0 || w[1] >= 0 {
						t.Errorf("tones off, but A heard a %s tone: packets %v of %d", what, w, len(heard)/(a.rate/50))
					}
					return
				}
				var w []int
				waitUntil(t, 10*time.Second, "A hearing the "+what+" tone", func() bool {
					w = toneWindows(a.heardSince(mark), a.rate, first, second)
					return w[0] >= 0 && w[1] >= 0
				})
				if w[0] >= w[1] {
					t.Errorf("%s tone: %v Hz from packet %d, %v Hz from %d; want %v Hz first", what, first, w[0], second, w[1], first)
				}
			}
			mark := a.heard.total()
			b, code := ag.dial(f.uri("demo"), phoneOpts{})
			if code != 200 {
				t.Fatalf("B: %d", code)
			}
			waitUntil(t, 10*time.Second, "B in demo", func() bool { return f.inRoom(b, "demo") })
			hears("join", mark, lo, hi)
			f.waitTicks(25) // the join tone (350 ms) is over
			mark = a.heard.total()
			b.hangup()
			waitUntil(t, 10*time.Second, "B gone", func() bool { return !f.inRoom(b, "demo") })
			hears("leave", mark, hi, lo)
			a.hangup()
			f.waitIdle()
		})
	}
}
