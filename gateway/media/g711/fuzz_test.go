package g711

import "testing"

// The decoders take bytes straight from RTP payloads. Every byte is a valid
// code, so the properties are: no panic, one sample per byte, and decoding is
// a fixed point of encode∘decode.
func FuzzDecodeUlaw(f *testing.F) {
	f.Add([]byte{0xFF, 0x7F, 0x80, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, src []byte) {
		pcm := make([]int16, len(src))
		if n := DecodeUlaw(pcm, src); n != len(src) {
			t.Fatalf("decoded %d of %d", n, len(src))
		}
		re := make([]byte, len(pcm))
		EncodeUlaw(re, pcm)
		again := make([]int16, len(re))
		DecodeUlaw(again, re)
		for i := range pcm {
			if again[i] != pcm[i] {
				t.Fatalf("byte %d (%#x): %d then %d", i, src[i], pcm[i], again[i])
			}
		}
	})
}

func FuzzDecodeAlaw(f *testing.F) {
	f.Add([]byte{0xD5, 0x55, 0xAA, 0x2A})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, src []byte) {
		pcm := make([]int16, len(src))
		if n := DecodeAlaw(pcm, src); n != len(src) {
			t.Fatalf("decoded %d of %d", n, len(src))
		}
		re := make([]byte, len(pcm))
		EncodeAlaw(re, pcm)
		again := make([]int16, len(re))
		DecodeAlaw(again, re)
		for i := range pcm {
			if again[i] != pcm[i] {
				t.Fatalf("byte %d (%#x): %d then %d", i, src[i], pcm[i], again[i])
			}
		}
	})
}
