// Package g711 encodes and decodes ITU-T G.711 µ-law (PCMU, RTP payload
// type 0) and A-law (PCMA, payload type 8) audio, as used by every SIP
// trunk. It is table-driven: decoding is one lookup per byte and encoding
// one lookup per sample, in caller-owned buffers, without allocation.
//
// The tables are built at start-up from the segment rules of G.711 §2–§3
// (the same arithmetic as the classic Sun reference code), so the output is
// bit-exact with other G.711 implementations.
package g711

// Silence bytes: what a linear 0 encodes to.
const (
	UlawSilence byte = 0xFF
	AlawSilence byte = 0xD5
)

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	// linearToUlaw is indexed by the top 14 bits of the sample and
	// linearToAlaw by the top 13 bits: G.711 µ-law resolves 14 bits and
	// A-law 13, so the dropped low bits never change the code.
	linearToUlaw [1 << 14]byte
	linearToAlaw [1 << 13]byte
)

func init() {
	for i := range 256 {
		ulawToLinear[i] = ulawDecode(byte(i))
		alawToLinear[i] = alawDecode(byte(i))
	}
	for i := range linearToUlaw {
		linearToUlaw[i] = ulawEncode(int16(uint16(i) << 2))
	}
	for i := range linearToAlaw {
		linearToAlaw[i] = alawEncode(int16(uint16(i) << 3))
	}
}

// EncodeUlaw encodes pcm into dst as µ-law, one byte per sample, and returns
// the number of samples encoded: min(len(dst), len(pcm)).
func EncodeUlaw(dst []byte, pcm []int16) int {
	n := min(len(dst), len(pcm))
	dst, pcm = dst[:n], pcm[:n]
	for i, s := range pcm {
		dst[i] = linearToUlaw[uint16(s)>>2]
	}
	return n
}

// DecodeUlaw decodes µ-law src into dst and returns the number of samples
// written: min(len(dst), len(src)). Every byte value is valid.
func DecodeUlaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = ulawToLinear[b]
	}
	return n
}

// EncodeAlaw encodes pcm into dst as A-law, one byte per sample, and returns
// the number of samples encoded: min(len(dst), len(pcm)).
func EncodeAlaw(dst []byte, pcm []int16) int {
	n := min(len(dst), len(pcm))
	dst, pcm = dst[:n], pcm[:n]
	for i, s := range pcm {
		dst[i] = linearToAlaw[uint16(s)>>3]
	}
	return n
}

// DecodeAlaw decodes A-law src into dst and returns the number of samples
// written: min(len(dst), len(src)). Every byte value is valid.
func DecodeAlaw(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = alawToLinear[b]
	}
	return n
}

// UlawToLinear decodes one µ-law byte.
func UlawToLinear(b byte) int16 { return ulawToLinear[b] }

// LinearToUlaw encodes one sample as µ-law.
func LinearToUlaw(s int16) byte { return linearToUlaw[uint16(s)>>2] }

// AlawToLinear decodes one A-law byte.
func AlawToLinear(b byte) int16 { return alawToLinear[b] }

// LinearToAlaw encodes one sample as A-law.
func LinearToAlaw(s int16) byte { return linearToAlaw[uint16(s)>>3] }

// UlawToAlaw transcodes one µ-law byte to A-law through the linear domain.
func UlawToAlaw(b byte) byte { return LinearToAlaw(ulawToLinear[b]) }

// AlawToUlaw transcodes one A-law byte to µ-law through the linear domain.
func AlawToUlaw(b byte) byte { return LinearToUlaw(alawToLinear[b]) }
