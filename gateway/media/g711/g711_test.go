package g711

import (
	"math"
	"testing"

	"github.com/roombridge/roombridge/gateway/media/tone"
)

func TestReferenceValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"ulaw enc 0", LinearToUlaw(0), byte(0xFF)},
		{"ulaw enc -1", LinearToUlaw(-1), byte(0x7E)},
		{"ulaw enc max", LinearToUlaw(32767), byte(0x80)},
		{"ulaw enc min", LinearToUlaw(-32768), byte(0x00)},
		{"ulaw dec 0xFF", UlawToLinear(0xFF), int16(0)},
		{"ulaw dec 0x7F", UlawToLinear(0x7F), int16(0)},
		{"ulaw dec 0x80", UlawToLinear(0x80), int16(32124)},
		{"ulaw dec 0x00", UlawToLinear(0x00), int16(-32124)},
		{"ulaw dec 0xFE", UlawToLinear(0xFE), int16(8)},
		{"ulaw dec 0xEF", UlawToLinear(0xEF), int16(132)},
		{"alaw enc 0", LinearToAlaw(0), byte(0xD5)},
		{"alaw enc -1", LinearToAlaw(-1), byte(0x55)},
		{"alaw enc max", LinearToAlaw(32767), byte(0xAA)},
		{"alaw enc min", LinearToAlaw(-32768), byte(0x2A)},
		{"alaw dec 0xD5", AlawToLinear(0xD5), int16(8)},
		{"alaw dec 0x55", AlawToLinear(0x55), int16(-8)},
		{"alaw dec 0xAA", AlawToLinear(0xAA), int16(32256)},
		{"alaw dec 0x2A", AlawToLinear(0x2A), int16(-32256)},
		{"silence consts", [2]byte{UlawSilence, AlawSilence}, [2]byte{LinearToUlaw(0), LinearToAlaw(0)}},
		{"ulaw→alaw 0", UlawToAlaw(0xFF), byte(0xD5)},
		{"alaw→ulaw max", AlawToUlaw(0xAA), byte(0x80)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %#v want %#v", tc.name, tc.got, tc.want)
		}
	}
}

// TestTablesMatchArithmetic checks every 16-bit sample against the segment
// rules, so the table indexing (top 14 or 13 bits) loses nothing.
func TestTablesMatchArithmetic(t *testing.T) {
	for x := math.MinInt16; x <= math.MaxInt16; x++ {
		s := int16(x)
		if g, w := LinearToUlaw(s), ulawEncode(s); g != w {
			t.Fatalf("ulaw %d: table %#x arithmetic %#x", s, g, w)
		}
		if g, w := LinearToAlaw(s), alawEncode(s); g != w {
			t.Fatalf("alaw %d: table %#x arithmetic %#x", s, g, w)
		}
	}
}

func TestRoundTripErrorBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		rt   func(int16) int16
	}{
		{"ulaw", func(s int16) int16 { return UlawToLinear(LinearToUlaw(s)) }},
		{"alaw", func(s int16) int16 { return AlawToLinear(LinearToAlaw(s)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for x := -32000; x <= 32000; x++ {
				err := abs(int(tc.rt(int16(x))) - x)
				// Logarithmic companding: the step is 1/16 of the
				// segment, so the error is at most 1/8 of the value
				// above the first segments, and a few LSBs below.
				if err > max(8, abs(x)/8) {
					t.Fatalf("%d → %d: error %d", x, tc.rt(int16(x)), err)
				}
			}
		})
	}
}

func TestDecodeIsStable(t *testing.T) {
	// Every code decodes to a value that encodes back to an equivalent code.
	for b := range 256 {
		if got := UlawToLinear(LinearToUlaw(UlawToLinear(byte(b)))); got != UlawToLinear(byte(b)) {
			t.Errorf("ulaw %#x unstable: %d", b, got)
		}
		if got := AlawToLinear(LinearToAlaw(AlawToLinear(byte(b)))); got != AlawToLinear(byte(b)) {
			t.Errorf("alaw %#x unstable: %d", b, got)
		}
	}
}

func TestToneSNR(t *testing.T) {
	pcm := make([]int16, 8000)
	tone.NewGenerator(1000, 8000, 16000).Fill(pcm)
	enc := make([]byte, len(pcm))
	dec := make([]int16, len(pcm))
	for _, tc := range []struct {
		name     string
		enc      func([]byte, []int16) int
		dec      func([]int16, []byte) int
		minSNRdB float64
	}{
		{"ulaw", EncodeUlaw, DecodeUlaw, 35},
		{"alaw", EncodeAlaw, DecodeAlaw, 35},
	} {
		if n := tc.enc(enc, pcm); n != len(pcm) {
			t.Fatalf("%s: encoded %d", tc.name, n)
		}
		if n := tc.dec(dec, enc); n != len(pcm) {
			t.Fatalf("%s: decoded %d", tc.name, n)
		}
		var sig, noise float64
		for i := range pcm {
			d := float64(dec[i]) - float64(pcm[i])
			sig += float64(pcm[i]) * float64(pcm[i])
			noise += d * d
		}
		if snr := 10 * math.Log10(sig/noise); snr < tc.minSNRdB {
			t.Errorf("%s: SNR %.1f dB < %v", tc.name, snr, tc.minSNRdB)
		}
	}
}

func TestShortBuffers(t *testing.T) {
	pcm := []int16{0, 100, -100}
	dst := make([]byte, 2)
	if n := EncodeUlaw(dst, pcm); n != 2 {
		t.Errorf("EncodeUlaw n=%d", n)
	}
	if n := EncodeAlaw(dst, pcm); n != 2 {
		t.Errorf("EncodeAlaw n=%d", n)
	}
	out := make([]int16, 1)
	if n := DecodeUlaw(out, dst); n != 1 {
		t.Errorf("DecodeUlaw n=%d", n)
	}
	if n := DecodeAlaw(out, nil); n != 0 {
		t.Errorf("DecodeAlaw n=%d", n)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func BenchmarkEncodeUlaw(b *testing.B) { benchEnc(b, EncodeUlaw) }
func BenchmarkEncodeAlaw(b *testing.B) { benchEnc(b, EncodeAlaw) }
func BenchmarkDecodeUlaw(b *testing.B) { benchDec(b, DecodeUlaw) }
func BenchmarkDecodeAlaw(b *testing.B) { benchDec(b, DecodeAlaw) }

// 20 ms at 8 kHz: one RTP packet.
func benchEnc(b *testing.B, enc func([]byte, []int16) int) {
	pcm := make([]int16, 160)
	tone.NewGenerator(440, 8000, 12000).Fill(pcm)
	dst := make([]byte, 160)
	b.ReportAllocs()
	b.SetBytes(160)
	for b.Loop() {
		enc(dst, pcm)
	}
}

func benchDec(b *testing.B, dec func([]int16, []byte) int) {
	src := make([]byte, 160)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]int16, 160)
	b.ReportAllocs()
	b.SetBytes(160)
	for b.Loop() {
		dec(dst, src)
	}
}
