package bridge

import (
	"sync/atomic"
	"testing"
	"time"
)

// flipWriter is a track whose listeners the test turns on.
type flipWriter struct {
	nullWriter
	on *atomic.Bool
}

func (w flipWriter) Listened() bool { return w.on.Load() }

// A phone leg carries no Opus encoder while nobody outside the hub hears
// it (a room of phones only); the first voice frame a listener hears makes
// one, and from then on its frames are encoded.
func TestOpusEncoderMadeWhenHeard(t *testing.T) {
	h := NewHub(HubConfig{Room: "lazy"})
	bn := newBenchNet(t, 47000)
	var on atomic.Bool
	legs := make([]*benchLeg, 3)
	for i := range legs {
		legs[i] = bn.newBenchLeg(t, LegConfig{ID: string(rune('a' + i))})
		legs[i].pos = 160 * (i * 37 % 300)
		legs[i].l.Publish(flipWriter{on: &on})
		if err := h.Add(legs[i].l); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	run := func(n int) {
		for range n {
			for _, bl := range legs {
				bl.feed(now)
			}
			now = now.Add(FrameDuration)
			h.tick()
		}
	}
	run(100)
	for _, bl := range legs {
		p := bl.l.pub.(*encodePublisher)
		if st := bl.l.Stats(); p.enc != nil || st.Unheard == 0 {
			t.Fatalf("leg %s unheard: encoder %v, %d voice frames not encoded", bl.l.ID(), p.enc, st.Unheard)
		}
	}
	on.Store(true)
	before := legs[0].l.Stats().Unheard
	run(100)
	for _, bl := range legs {
		if p := bl.l.pub.(*encodePublisher); p.enc == nil || bl.l.Stats().PublishErrors != 0 {
			t.Errorf("leg %s heard: encoder %v, %d publish errors", bl.l.ID(), p.enc, bl.l.Stats().PublishErrors)
		}
	}
	if got := legs[0].l.Stats().Unheard; got != before {
		t.Errorf("%d voice frames went unencoded while heard", got-before)
	}
}
