package opus

import (
	"testing"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

func TestRoundTripKeepsTone(t *testing.T) {
	enc, err := NewEncoder(8000, 1, EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	gen := tone.NewGenerator(440, 8000, 12000)
	in := make([]int16, 160)
	out := make([]int16, 960)
	pkt := make([]byte, MaxFrameBytes)
	var all []int16
	for range 50 {
		gen.Fill(in)
		n, err := enc.Encode(in, pkt)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dec.Decode(pkt[:n], out)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out[:m]...)
	}
	tail := all[len(all)/2:]
	if f, _ := tone.Dominant(tail, 48000, []float64{300, 440, 1000}); f != 440 {
		t.Fatalf("dominant %v, want 440", f)
	}
	if err := dec.DecodeLost(nil, out); err != nil {
		t.Fatal(err)
	}
	if _, err := NewEncoder(44100, 1, EncoderConfig{}); err == nil {
		t.Fatal("44.1 kHz accepted")
	}
}

func BenchmarkEncode8k(b *testing.B) {
	enc, _ := NewEncoder(8000, 1, EncoderConfig{})
	in := make([]int16, 160)
	tone.NewGenerator(440, 8000, 12000).Fill(in)
	pkt := make([]byte, MaxFrameBytes)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.Encode(in, pkt); err != nil {
			b.Fatal(err)
		}
	}
}
