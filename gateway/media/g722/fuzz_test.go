package g722

import "testing"

// FuzzDecode feeds arbitrary RTP payloads to the decoder. Every byte is a
// valid code; the decoder must not panic, must write two samples per byte,
// and must be deterministic from the reset state.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0xFF, 0x00, 0x3F, 0xC0, 0x80, 0x7F})
	f.Fuzz(func(t *testing.T, src []byte) {
		a := make([]int16, 2*len(src))
		b := make([]int16, 2*len(src))
		if n := NewDecoder().Decode(a, src); n != len(a) {
			t.Fatalf("decoded %d of %d", n, len(a))
		}
		d := NewDecoder()
		half := len(src) / 2
		d.Decode(b, src[:half])
		d.Decode(b[2*half:], src[half:])
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("sample %d: %d vs %d when split", i, a[i], b[i])
			}
		}
	})
}
