package bridge

import (
	"bytes"
	"sync"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/g711"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/tone"
)

// sentPacket is one packet a leg sent to its peer.
type sentPacket struct {
	payload []byte
	pt      uint8
	ts      uint32
	marker  bool
}

// recordSender is a leg's transport that keeps what the leg sends.
type recordSender struct {
	mu   sync.Mutex
	sent []sentPacket
}

func (s *recordSender) WriteRTP(payload []byte, pt uint8, ts uint32, marker bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, sentPacket{payload: bytes.Clone(payload), pt: pt, ts: ts, marker: marker})
	return nil
}

// recordWriter is a room track that keeps every frame written to it, nil
// for skipped ones.
type recordWriter struct {
	mu     sync.Mutex
	frames [][]byte
}

func (w *recordWriter) WriteAudio(frame []byte, _ time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.frames = append(w.frames, bytes.Clone(frame))
	return nil
}

func (w *recordWriter) Close() error { return nil }

// peer feeds a leg the packets a phone or an Opus trunk would send.
type peer struct {
	l    *Leg
	pt   uint8
	seq  uint16
	ts   uint32
	step uint32
}

func (p *peer) send(payload []byte) {
	pkt := &pionrtp.Packet{Header: pionrtp.Header{Version: 2, PayloadType: p.pt, SequenceNumber: p.seq, Timestamp: p.ts}, Payload: payload}
	p.l.HandleRTP(pkt)
	p.seq++
	p.ts += p.step
}

// An Opus leg's frames reach its room track exactly as they arrived (no
// decode and re-encode; a lost one only advances the track's clock), the
// phone in the room hears them decoded once into the mix, and the Opus leg
// hears the phone (and not itself) as Opus in 20 ms packets on the 48 kHz
// clock.
func TestOpusLegPassthrough(t *testing.T) {
	h := NewHub(HubConfig{Room: "r"})
	opusLeg, err := NewLeg(LegConfig{ID: "trunk", Codec: codec.Opus, RecvPT: 111, SendPT: 96})
	if err != nil {
		t.Fatal(err)
	}
	phone, err := NewLeg(LegConfig{ID: "phone", Codec: codec.PCMU})
	if err != nil {
		t.Fatal(err)
	}
	opusOut, phoneOut := &recordSender{}, &recordSender{}
	room := &recordWriter{}
	opusLeg.Attach(opusOut)
	phone.Attach(phoneOut)
	opusLeg.Publish(room)
	phone.Publish(&recordWriter{})
	for _, l := range []*Leg{opusLeg, phone} {
		if err := h.Add(l); err != nil {
			t.Fatal(err)
		}
	}

	trunk := &peer{l: opusLeg, pt: 111, step: 960}
	caller := &peer{l: phone, step: 160}
	frames := opusTone(t, 1000, 100)
	ulaw := make([]byte, 160)
	pcm := make([]int16, 160)
	gen := tone.NewGenerator(440, 8000, 8000)
	var sent [][]byte
	for i, f := range frames {
		if i == 50 {
			trunk.seq++ // lost on the way
			trunk.ts += trunk.step
		} else {
			trunk.send(f)
			sent = append(sent, f)
		}
		gen.Fill(pcm)
		g711.EncodeUlaw(ulaw, pcm)
		caller.send(ulaw)
		if i >= 2 { // past the jitter buffers' playout delay
			h.tick()
		}
	}

	if r := h.MixRate(); r != wideRate {
		t.Fatalf("a room with an Opus leg mixes at %d Hz", r)
	}
	// Byte-identical passthrough, in order, none lost or added; the lost
	// frame's slot is skipped (and maybe another, where the jitter buffer
	// holds a frame back to grow its delay: the packets here arrive in
	// bursts).
	var got [][]byte
	skipped := 0
	for _, f := range room.frames {
		if f != nil {
			got = append(got, f)
		} else if len(got) > 0 {
			skipped++
		}
	}
	if len(got) < 90 || skipped < 1 {
		t.Fatalf("%d of 99 frames reached the room, %d slots skipped after the first", len(got), skipped)
	}
	first := -1
	for i, f := range sent {
		if bytes.Equal(f, got[0]) {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatal("the first frame in the room is not one the trunk sent: re-encoded")
	}
	for k, f := range got {
		if !bytes.Equal(f, sent[first+k]) {
			t.Fatalf("room frame %d differs from trunk frame %d", k, first+k)
		}
	}

	// The phone hears the trunk's tone, decoded into the mix.
	heard := decodeSent(t, codec.PCMU, phoneOut.sent[len(phoneOut.sent)-25:])
	if f, p := tone.Dominant(heard, 8000, []float64{440, 1000}); f != 1000 || p < 0.005 {
		t.Errorf("the phone hears %v Hz (power %.4f), want the trunk's 1000 Hz", f, p)
	}
	// The trunk hears the phone as Opus, 20 ms per packet.
	tail := opusOut.sent[len(opusOut.sent)-25:]
	for i, p := range tail {
		if p.pt != 96 || i > 0 && p.ts-tail[i-1].ts != 960 {
			t.Fatalf("trunk packet %d: pt %d, ts step %d", i, p.pt, p.ts-tail[max(i-1, 0)].ts)
		}
	}
	heard = decodeSent(t, codec.Opus, tail)
	if f, p := tone.Dominant(heard, wideRate, []float64{440, 1000}); f != 440 || p < 0.005 {
		t.Errorf("the trunk hears %v Hz (power %.4f), want the phone's 440 Hz and not itself", f, p)
	}
}

// decodeSent decodes packets a leg sent, as its peer would.
func decodeSent(t *testing.T, c codec.ID, pkts []sentPacket) []int16 {
	t.Helper()
	var out []int16
	switch c {
	case codec.PCMU:
		pcm := make([]int16, 160)
		for _, p := range pkts {
			out = append(out, pcm[:g711.DecodeUlaw(pcm, p.payload)]...)
		}
	case codec.Opus:
		dec, err := opus.NewDecoder(wideRate, 1)
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, samples(wideRate))
		for _, p := range pkts {
			n, err := dec.Decode(p.payload, pcm)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pcm[:n]...)
		}
	}
	return out
}
