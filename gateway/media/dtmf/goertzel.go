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

// power4 is power for four filters in one pass over x: the four
// recurrences are independent, so the CPU overlaps them instead of waiting
// on each one's multiply-add chain.
func power4(c *[4]float64, x []float64, out []float64) {
	var a1, a2, b1, b2, c1, c2, d1, d2 float64
	ca, cb, cc, cd := c[0], c[1], c[2], c[3]
	for _, v := range x {
		a1, a2 = v+ca*a1-a2, a1
		b1, b2 = v+cb*b1-b2, b1
		c1, c2 = v+cc*c1-c2, c1
		d1, d2 = v+cd*d1-d2, d1
	}
	n := float64(len(x))
	k := 2 / (n * n)
	out[0] = k * (a1*a1 + a2*a2 - ca*a1*a2)
	out[1] = k * (b1*b1 + b2*b2 - cb*b1*b2)
	out[2] = k * (c1*c1 + c2*c2 - cc*c1*c2)
	out[3] = k * (d1*d1 + d2*d2 - cd*d1*d2)
}
