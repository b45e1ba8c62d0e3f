package dtmf

import (
	"testing"

	"github.com/roombridge/roombridge/gateway/media/g711"
)

// TestDetectorG711 checks tones that crossed a G.711 trunk: μ-law and
// A-law quantisation noise at low levels must not hide the keys.
func TestDetectorG711(t *testing.T) {
	for _, law := range []struct {
		name   string
		encode func([]byte, []int16) int
		decode func([]int16, []byte) int
	}{
		{"ulaw", g711.EncodeUlaw, g711.DecodeUlaw},
		{"alaw", g711.EncodeAlaw, g711.DecodeAlaw},
	} {
		for _, level := range []float64{-3, -10, -20, -25} {
			pcm := keys(t, 8000, allKeys, 50, 50, level)
			wire := make([]byte, len(pcm))
			law.encode(wire, pcm)
			law.decode(pcm, wire)
			if got := detect(t, 8000, 160, pcm); got != allKeys {
				t.Errorf("%s at %v dBm0: got %q", law.name, level, got)
			}
		}
	}
}
