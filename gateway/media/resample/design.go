package resample

import "math"

// filterSpec is a windowed-sinc low-pass: length taps, cutoff (−6 dB) at
// cutoff × the high sample rate, Kaiser window of shape beta.
type filterSpec struct {
	length int
	cutoff float64
	beta   float64
}

var (
	// Half-band: cutoff exactly at a quarter of the high rate, so every
	// second tap away from the centre is zero. 79 taps (4·19+3), β = 5.65
	// (≈ 60 dB), transition 3.6–4.4 kHz at 16 kHz.
	halfBand = filterSpec{length: 79, cutoff: 0.25, beta: 5.65}
	// Third-band: cutoff 7.4 kHz at 48 kHz, transition 6.8–8.0 kHz,
	// 147 taps (49 per phase), β = 5.65.
	thirdBand = filterSpec{length: 147, cutoff: 7400.0 / 48000, beta: 5.65}
)

// design returns the taps of spec with unit DC gain. Taps that the sinc
// puts on a zero crossing are exactly zero, so that the polyphase code can
// skip them.
func design(spec filterSpec) []float64 {
	h := make([]float64, spec.length)
	mid := float64(spec.length-1) / 2
	var sum float64
	for n := range h {
		x := float64(n) - mid
		arg := 2 * spec.cutoff * x
		var s float64
		switch {
		case x == 0:
			s = 1
		case arg == math.Trunc(arg):
			s = 0
		default:
			s = math.Sin(math.Pi*arg) / (math.Pi * arg)
		}
		r := x / mid
		h[n] = 2 * spec.cutoff * s * bessel0(spec.beta*math.Sqrt(max(0, 1-r*r))) / bessel0(spec.beta)
		sum += h[n]
	}
	for n := range h {
		h[n] /= sum
	}
	return h
}

// bessel0 is the modified Bessel function of the first kind, order zero,
// by its power series (converges fast for the β used here).
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-17 {
			break
		}
	}
	return sum
}
