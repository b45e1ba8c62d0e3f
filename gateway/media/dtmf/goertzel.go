package dtmf

import "math"

// goertzel is the coefficient 2cos(2πf/rate) of a Goertzel filter for f
// (the recurrence of G. Goertzel, 1958: one multiply per sample per
// frequency, cheaper than an FFT for eight frequencies).
func goertzel(f float64, rate int) float64 { return 2 * math.Cos(2*math.Pi*f/float64(rate)) }

// power runs the filter with coefficient c over x and returns the mean
// square of the sinusoid it finds: a tone of peak A gives A²/2 whatever
// len(x), so powers compare directly with the block's mean square.
func power(c float64, x []float64) float64 {
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	n := float64(len(x))
	return 2 * (s1*s1 + s2*s2 - c*s1*s2) / (n * n)
}
