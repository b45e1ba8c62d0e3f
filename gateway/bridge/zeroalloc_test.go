package bridge

import (
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/room/framequeue"
)

// nullSender drops a leg's packets.
type nullSender struct{}

func (nullSender) WriteRTP([]byte, uint8, uint32, bool) error { return nil }

// The media path does not allocate in steady state: a leg's tick on its
// own clock (the IVR), and a hub's tick with talking phones heard by a
// browser (Opus encoded) at 8 kHz and at 16 kHz (a G.722 phone: resampling
// and G.722), an Opus leg (passthrough, decode, Opus encode of its mix)
// and a polled remote track with losses. `make test` runs this without the
// race detector; an allocation added to any of these paths fails it.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (make test runs this test again without it)")
	}
	bn := newBenchNet(t, 44000)
	now := time.Now()
	allocs := func(what string, f func()) {
		t.Helper()
		for range 10 { // past the jitter buffers' playout delay
			f()
		}
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %.2f allocations per tick", what, n)
		}
	}

	ivr := bn.newBenchLeg(t, LegConfig{ID: "ivr", InbandDTMF: true})
	ivr.l.Play(1, true, make([]int16, 4000))
	allocs("IVR tick (RTP session, in-band DTMF, prompt)", func() {
		ivr.feed(now)
		now = now.Add(FrameDuration)
		ivr.l.soloTick()
	})

	h, legs, _ := benchHub(t, 5, true)
	tick := func() {
		for _, bl := range legs {
			bl.feed(now)
		}
		now = now.Add(FrameDuration)
		h.tick()
	}
	allocs("hub tick, 5 PCMU phones heard by a browser, 8 kHz mix", tick)
	if h.MixRate() != narrowRate {
		t.Fatalf("phones only: mix at %d Hz", h.MixRate())
	}

	w := newTalker(t, h, "g722", codec.G722, 3000)
	w.l.Attach(nullSender{})
	q := queueTrack{framequeue.New(50)}
	frames := opusTone(t, 1000, 100)
	rt, err := newRemoteTrack(q, h.mix.AddSource("web"), wideRate)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.tracks = append(h.tracks, rt)
	h.mu.Unlock()
	i := 0
	allocs("hub tick at 16 kHz with a G.722 phone and a remote Opus track with losses", func() {
		w.talk()
		if i%17 != 5 {
			q.Push(frames[i%len(frames)], room.FrameInfo{Gap: i%17 == 6})
		}
		i++
		tick()
	})
	if h.MixRate() != wideRate || rt.recovered == 0 {
		t.Fatalf("mix at %d Hz, %d frames recovered from FEC", h.MixRate(), rt.recovered)
	}

	ol, err := NewLeg(LegConfig{ID: "trunk", Codec: codec.Opus, RecvPT: 111, SendPT: 111})
	if err != nil {
		t.Fatal(err)
	}
	ol.Attach(nullSender{})
	ol.Publish(nullWriter{listened: true})
	if err := h.Add(ol); err != nil {
		t.Fatal(err)
	}
	trunk := &peer{l: ol, pt: 111, step: 960}
	allocs("hub tick with an Opus leg (passthrough and its mix encoded)", func() {
		trunk.send(frames[i%len(frames)])
		i++
		tick()
	})
}
