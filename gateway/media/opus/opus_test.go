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

// A frame cut from a longer buffer is decoded, recovered from FEC and
// concealed as one frame: the binding takes frame sizes from the slice's
// capacity, which the package clips.
func TestSubslices(t *testing.T) {
	enc, err := NewEncoder(16000, 1, EncoderConfig{Complexity: 5, LossPercent: 20})
	if err != nil {
		t.Fatal(err)
	}
	gen := tone.NewGenerator(1000, 16000, 10000)
	in := make([]int16, 320)
	var frames [][]byte
	for range 20 {
		gen.Fill(in)
		b := make([]byte, MaxFrameBytes)
		n, err := enc.Encode(in, b)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, b[:n])
	}
	recover := func(buf []int16) float64 {
		dec, err := NewDecoder(16000, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames[:15] {
			if _, err := dec.Decode(f, buf); err != nil {
				t.Fatal(err)
			}
		}
		if err := dec.DecodeLost(frames[16], buf); err != nil {
			t.Fatal(err)
		}
		return tone.Power(buf, 16000, 1000)
	}
	exact := recover(make([]int16, 320))
	big := make([]int16, 4000)
	for i := range big {
		big[i] = 7
	}
	cut := recover(big[:320])
	if exact < 0.015 || cut != exact {
		t.Errorf("FEC into a frame of its own: %.4f, cut from a longer buffer: %.4f", exact, cut)
	}
	if big[320] != 7 || big[3999] != 7 {
		t.Error("decoding wrote past the frame")
	}
}

// TestMaxPlaybackRate: a receiver that plays at 8 kHz (maxplaybackrate
// 8000) gets narrowband Opus: a 6 kHz tone in 16 kHz input does not come
// out, while 500 Hz does; without the limit the 6 kHz tone does.
func TestMaxPlaybackRate(t *testing.T) {
	const rate = 16000
	in := make([]int16, rate) // one second
	tone.NewGenerator(500, rate, 8000).Fill(in)
	high := make([]int16, rate)
	tone.NewGenerator(6000, rate, 8000).Fill(high)
	for i := range in {
		in[i] += high[i]
	}
	power := func(cfg EncoderConfig) (low, hi float64) {
		enc, err := NewEncoder(rate, 1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewDecoder(rate, 1)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int16, 0, rate)
		pkt := make([]byte, MaxFrameBytes)
		frame := make([]int16, rate/50)
		for i := 0; i+rate/50 <= len(in); i += rate / 50 {
			n, err := enc.Encode(in[i:i+rate/50], pkt)
			if err != nil {
				t.Fatal(err)
			}
			m, err := dec.Decode(pkt[:n], frame)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, frame[:m]...)
		}
		tail := out[len(out)/2:]
		return tone.Power(tail, rate, 500), tone.Power(tail, rate, 6000)
	}
	low8, hi8 := power(EncoderConfig{Bitrate: 32000, MaxPlaybackRate: 8000})
	lowAll, hiAll := power(EncoderConfig{Bitrate: 32000})
	t.Logf("maxplaybackrate 8000: 500 Hz %.3g, 6 kHz %.3g; no limit: 500 Hz %.3g, 6 kHz %.3g", low8, hi8, lowAll, hiAll)
	if hi8 > low8/1000 {
		t.Errorf("maxplaybackrate 8000 still carries 6 kHz: %.3g against 500 Hz %.3g", hi8, low8)
	}
	if hiAll < lowAll/10 {
		t.Errorf("without a limit 6 kHz is lost: %.3g against 500 Hz %.3g", hiAll, lowAll)
	}
}

// CheckEncoder refuses what NewEncoder refuses, without making an encoder.
func TestCheckEncoder(t *testing.T) {
	for _, c := range []struct {
		rate, ch int
		cfg      EncoderConfig
		ok       bool
	}{
		{8000, 1, EncoderConfig{Complexity: 0, Bitrate: 24000}, true},
		{48000, 2, EncoderConfig{Complexity: 10, LossPercent: 10, MaxPlaybackRate: 16000}, true},
		{44100, 1, EncoderConfig{}, false},
		{16000, 3, EncoderConfig{}, false},
		{16000, 1, EncoderConfig{Complexity: 11}, false},
		{16000, 1, EncoderConfig{Bitrate: 100}, false},
		{16000, 1, EncoderConfig{LossPercent: 101}, false},
	} {
		err := CheckEncoder(c.rate, c.ch, c.cfg)
		if (err == nil) != c.ok {
			t.Errorf("%d Hz ×%d %+v: %v", c.rate, c.ch, c.cfg, err)
		}
		if c.ok {
			if _, err := NewEncoder(c.rate, c.ch, c.cfg); err != nil {
				t.Errorf("CheckEncoder took what NewEncoder refuses: %v", err)
			}
		}
	}
}
