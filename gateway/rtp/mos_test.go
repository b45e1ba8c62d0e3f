package rtp

import (
	"math"
	"testing"
	"time"

	"github.com/roombridge/roombridge/gateway/media/codec"
)

func TestEModel(t *testing.T) {
	for _, c := range []struct {
		name     string
		q        Quality
		min, max float64
	}{
		{"g711 clean", Quality{Codec: codec.PCMU, Delay: 50 * time.Millisecond}, 4.3, 4.45},
		{"g711 1%", Quality{Codec: codec.PCMU, Loss: 0.01, Delay: 50 * time.Millisecond}, 4.1, 4.3},
		{"g711 10%", Quality{Codec: codec.PCMU, Loss: 0.10, Delay: 50 * time.Millisecond}, 3.0, 3.6},
		{"g711 clean, 400 ms", Quality{Codec: codec.PCMU, Delay: 400 * time.Millisecond}, 2.5, 3.6},
		{"g711 all lost", Quality{Codec: codec.PCMU, Loss: 1}, 1, 1.8},
		{"g722 clean", Quality{Codec: codec.G722, Delay: 50 * time.Millisecond}, 4.2, 4.45},
		{"g722 10%", Quality{Codec: codec.G722, Loss: 0.10, Delay: 50 * time.Millisecond}, 2.5, 3.6},
		{"unknown is g711", Quality{Delay: 50 * time.Millisecond}, 4.3, 4.45},
		{"negative loss", Quality{Loss: -1}, 4.3, 4.5},
	} {
		m := EstimateMOS(c.q)
		if m < c.min || m > c.max || math.IsNaN(m) {
			t.Errorf("%s: MOS %.2f (R %.1f), want %.2f–%.2f", c.name, m, RFactor(c.q), c.min, c.max)
		}
	}
	if MOSFromR(-5) != 1 || MOSFromR(120) != 4.5 {
		t.Error("MOS clamps")
	}
	// G.107 Annex B: R = 93.2 gives 4.41.
	if m := MOSFromR(93.2); math.Abs(m-4.41) > 0.01 {
		t.Errorf("MOS(93.2) = %.3f", m)
	}
	prev := 5.0
	for loss := 0.0; loss <= 0.3; loss += 0.01 {
		m := EstimateMOS(Quality{Codec: codec.PCMU, Loss: loss})
		if m > prev {
			t.Fatalf("MOS rises with loss at %.2f", loss)
		}
		prev = m
	}
}

func TestCodecForPayloadType(t *testing.T) {
	if codecForPayloadType(0) != codec.PCMU || codecForPayloadType(8) != codec.PCMA ||
		codecForPayloadType(9) != codec.G722 || codecForPayloadType(96) != codec.Unknown {
		t.Error("payload type mapping")
	}
}
