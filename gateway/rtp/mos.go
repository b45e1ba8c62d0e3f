package rtp

import (
	"time"

	"github.com/roombridge/roombridge/gateway/media/codec"
)

// codecForPayloadType maps the static payload types of RFC 3551 §6.
func codecForPayloadType(pt uint8) codec.ID {
	switch pt {
	case 0:
		return codec.PCMU
	case 8:
		return codec.PCMA
	case 9:
		return codec.G722
	}
	return codec.Unknown
}

// Quality is the input of the E-model estimate.
type Quality struct {
	// Codec selects the E-model's equipment impairment: G.722 on the
	// wideband scale, every other codec rated like G.711 with PLC.
	Codec codec.ID
	// Loss is the packet loss, 0..1, taken as random (BurstR = 1).
	Loss float64
	// Delay is the one-way mouth-to-ear delay: network, jitter buffer and
	// packetisation.
	Delay time.Duration
}

// E-model parameters.
const (
	// r0 is Ro − Is with every G.107 default (the "93.2").
	r0 = 93.2
	// r0WB is Ro,wb of the wideband E-model (G.107.1), and wbScale the
	// ratio of the wideband to the narrowband R scale.
	r0WB    = 129
	wbScale = 1.29

	// G.711 with packet loss concealment: Ie = 0, Bpl = 25.1 (G.113
	// Appendix I). The media path conceals lost frames.
	g711Ie, g711Bpl = 0, 25.1
	// G.722 at 64 kbit/s: Ie,wb = 13 on the wideband scale (G.113
	// Appendix IV). G.113 gives no Bpl for every G.722 concealment
	// variant; 20 is our approximation, a little less robust than G.711
	// with PLC.
	g722IeWB, g722Bpl = 13, 20
)

// RFactor estimates the transmission rating R of ITU-T G.107 from codec,
// loss and delay, every other parameter at its default, on the narrowband
// scale (0..100). It is a planning estimate, not a measurement.
//
//	R = 93.2 − Id − Ie,eff
//	Id ≈ 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)   (d in ms)
//	Ie,eff = Ie + (95 − Ie)·Ppl/(Ppl + Bpl)        (G.107 §7.4, BurstR = 1)
//
// The delay term is the usual fit of G.107's Idte+Idle+Idd at default
// echo (Cole and Rosenbluth, 2001). G.722 is rated on the wideband scale
// of G.107.1 and divided by 1.29 to land on this one.
func RFactor(q Quality) float64 {
	d := float64(q.Delay) / float64(time.Millisecond)
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	ppl := min(max(q.Loss, 0), 1) * 100

	switch q.Codec {
	case codec.G722:
		// G.107.1: Ie,eff,wb = Ie,wb + (Ro,wb − Ie,wb)·Ppl/(Ppl + Bpl).
		ie := g722IeWB + (r0WB-g722IeWB)*ppl/(ppl+g722Bpl)
		return (r0WB - id*wbScale - ie) / wbScale
	default:
		ie := g711Ie + (95-g711Ie)*ppl/(ppl+g711Bpl)
		return r0 - id - ie
	}
}

// MOSFromR converts an R rating to an estimated MOS (ITU-T G.107 Annex B,
// equation B-4), from 1 to 4.5.
func MOSFromR(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}

// EstimateMOS is MOSFromR(RFactor(q)).
func EstimateMOS(q Quality) float64 { return MOSFromR(RFactor(q)) }

// packetization is the frame length assumed for the delay budget.
const packetization = 20 * time.Millisecond

// MOS estimates the listening quality of what this leg receives, the voice
// the room hears from the phone, with the E-model: our measured loss, a
// one-way delay of RTT/2 plus the jitter buffer and one frame. Stats holds
// the peer's view of the other direction; EstimateMOS rates that too.
func (s *Session) MOS() float64 {
	st := s.Stats()
	return EstimateMOS(Quality{
		Codec: s.cfg.Codec,
		Loss:  st.LossFraction,
		Delay: st.RTT/2 + s.cfg.JitterBufferDelay + packetization,
	})
}
