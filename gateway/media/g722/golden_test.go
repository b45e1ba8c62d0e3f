package g722

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"
)

// goldenInput is a deterministic 2.2 s signal that exercises both bands,
// the quantizer extremes and the limiters: a 440 Hz + 5.5 kHz mix, white
// noise from a fixed LCG, and a full-scale square wave.
func goldenInput() []int16 {
	pcm := make([]int16, 16000*2+3200)
	seed := uint32(1)
	for i := range pcm {
		var x float64
		switch {
		case i < 16000:
			x = 12000*math.Sin(2*math.Pi*440*float64(i)/16000) + 3000*math.Sin(2*math.Pi*5500*float64(i)/16000)
		case i < 32000:
			seed = seed*1664525 + 1013904223
			x = float64(int16(seed>>16)) / 3
		default:
			x = 32767
			if (i/5)%2 == 0 {
				x = -32768
			}
		}
		pcm[i] = int16(x)
	}
	return pcm
}

// TestGolden pins the bit stream and the decoded PCM. The digests were
// cross-checked bit-exact against the public-domain spandsp G.722 codec
// (Steve Underwood, after CMU), the code behind the G.722 of Asterisk,
// FreeSWITCH and WebRTC; any change to them is an interoperability bug.
func TestGolden(t *testing.T) {
	pcm := goldenInput()
	enc := make([]byte, len(pcm)/2)
	e := NewEncoder()
	for off := 0; off < len(pcm); off += FrameSamples {
		e.Encode(enc[off/2:], pcm[off:off+FrameSamples])
	}
	dec := make([]int16, len(pcm))
	NewDecoder().Decode(dec, enc)
	raw := make([]byte, 2*len(dec))
	for i, s := range dec {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(s))
	}
	encSum := sha256.Sum256(enc)
	decSum := sha256.Sum256(raw)
	if got := hex.EncodeToString(encSum[:]); got != goldenEncoded {
		t.Errorf("encoded stream digest %s", got)
	}
	if got := hex.EncodeToString(decSum[:]); got != goldenDecoded {
		t.Errorf("decoded PCM digest %s", got)
	}
}

const (
	goldenEncoded = "39ffd29509a1e40629e79fb358b83b542898c49192a05157ce5f678fcd81feda"
	goldenDecoded = "0fc319b0232a487ece2d68e0d738a0ea6d0a2fdf8fe09c326a9c6d313b7b3ebb"
)
