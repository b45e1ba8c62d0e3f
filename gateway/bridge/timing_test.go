package bridge

import (
	"testing"
	"time"
)

// TestTickDue: the hub's tick is due when its ticker fires, even when the
// schedule started a moment after the ticker (the ticker's time is then a
// few microseconds before the tick's); a fire half a frame early is not
// the tick's, and one or more frames late is (the catch-up runs it).
func TestTickDue(t *testing.T) {
	next := time.Unix(1000, 0)
	for _, tc := range []struct {
		name string
		now  time.Time
		want bool
	}{
		{"ticker a few µs before the schedule", next.Add(-3 * time.Microsecond), true},
		{"on time", next, true},
		{"a little late", next.Add(2 * time.Millisecond), true},
		{"a frame late", next.Add(FrameDuration), true},
		{"the previous tick's fire", next.Add(-FrameDuration), false},
		{"more than half a frame early", next.Add(-FrameDuration/2 - time.Microsecond), false},
	} {
		if got := tickDue(tc.now, next); got != tc.want {
			t.Errorf("%s: tickDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestHubTicksOnItsTicker: a real ticker and the hub's schedule, started
// the way Hub.run starts them. With an exact comparison the ticker's first
// fire was not due (the schedule trailed the ticker) and every later tick
// ran on the fire after its own, a frame late; with tickDue every fire
// runs the tick of its time (more than one only after a stall).
func TestHubTicksOnItsTicker(t *testing.T) {
	tk := time.NewTicker(FrameDuration)
	defer tk.Stop()
	next := time.Now().Add(FrameDuration)
	const fires = 10
	for i := range fires {
		now := <-tk.C
		ran := 0
		for tickDue(now, next) {
			ran++
			next = next.Add(FrameDuration)
		}
		if ran == 0 {
			t.Fatalf("fire %d of the ticker (%v) ran no tick: the schedule is at %v", i, now, next)
		}
	}
}
