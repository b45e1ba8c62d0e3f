package bridge

import (
	"testing"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/g711"
	"github.com/roombridge/roombridge/gateway/media/g722"
	"github.com/roombridge/roombridge/gateway/media/tone"
)

// talker is a leg in a test hub, fed a tone by its peer, with what it
// sends recorded.
type talker struct {
	l    *Leg
	p    *peer
	out  *recordSender
	gen  *tone.Generator
	pcm  []int16
	wire []byte
	enc  func(dst []byte, pcm []int16) int
}

func newTalker(t *testing.T, h *Hub, id string, c codec.ID, freq float64) *talker {
	t.Helper()
	l, err := NewLeg(LegConfig{ID: id, Codec: c, RecvPT: 9, SendPT: 9})
	if err != nil {
		t.Fatal(err)
	}
	tk := &talker{
		l: l, p: &peer{l: l, pt: 9, step: 160}, out: &recordSender{}, gen: tone.NewGenerator(freq, c.SampleRate(), 8000),
		pcm: make([]int16, samples(c.SampleRate())), wire: make([]byte, 160),
	}
	switch c {
	case codec.PCMU:
		tk.enc = g711.EncodeUlaw
	case codec.G722:
		tk.enc = g722.NewEncoder().Encode
	}
	l.Attach(tk.out)
	l.Publish(nullWriter{})
	if err := h.Add(l); err != nil {
		t.Fatal(err)
	}
	return tk
}

func (tk *talker) talk() {
	tk.gen.Fill(tk.pcm)
	tk.p.send(tk.wire[:tk.enc(tk.wire, tk.pcm)])
}

// hears decodes the last half second tk was sent and returns the dominant
// of freqs and its power.
func (tk *talker) hears(t *testing.T, freqs ...float64) (float64, float64) {
	t.Helper()
	pkts := tk.out.sent[max(len(tk.out.sent)-25, 0):]
	var pcm []int16
	buf := make([]int16, samples(tk.l.Rate()))
	var dec func(dst []int16, src []byte) int
	if tk.l.Codec() == codec.G722 {
		dec = g722.NewDecoder().Decode
	} else {
		dec = g711.DecodeUlaw
	}
	for _, p := range pkts {
		pcm = append(pcm, buf[:dec(buf, p.payload)]...)
	}
	return tone.Dominant(pcm[len(pcm)/2:], tk.l.Rate(), freqs)
}

// The mix runs at 8 kHz while the room holds only G.711 phones, switches
// to 16 kHz when a G.722 phone joins and back when it leaves, and everyone
// hears everyone else throughout.
func TestMixRateFollowsLegs(t *testing.T) {
	h := NewHub(HubConfig{Room: "r", MaxSpeakers: 4})
	a := newTalker(t, h, "a", codec.PCMU, 440)
	b := newTalker(t, h, "b", codec.PCMU, 1000)
	run := func(tks ...*talker) {
		for range 40 {
			for _, tk := range tks {
				tk.talk()
			}
			h.tick()
		}
	}
	expect := func(stage string, tk *talker, want float64, freqs ...float64) {
		t.Helper()
		if f, p := tk.hears(t, freqs...); f != want || p < 0.001 {
			t.Errorf("%s: %s hears %v Hz (power %.4f), want %v", stage, tk.l.ID(), f, p, want)
		}
	}
	run(a, b)
	if r := h.MixRate(); r != narrowRate {
		t.Fatalf("phones only: mix at %d Hz", r)
	}
	expect("phones only", a, 1000, 440, 1000)
	expect("phones only", b, 440, 440, 1000)

	w := newTalker(t, h, "w", codec.G722, 3000)
	run(a, b, w)
	if r := h.MixRate(); r != wideRate {
		t.Fatalf("with a G.722 phone: mix at %d Hz", r)
	}
	expect("with G.722", w, 440, 440, 3000) // a and b, not itself
	expect("with G.722", w, 1000, 1000, 3000)
	expect("with G.722", a, 1000, 440, 1000)

	h.Remove("w", w.l)
	run(a, b)
	if r := h.MixRate(); r != narrowRate {
		t.Fatalf("after the G.722 phone left: mix at %d Hz", r)
	}
	expect("after", a, 1000, 440, 1000)
	expect("after", b, 440, 440, 1000)
}
