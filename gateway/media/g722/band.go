package g722

// band is the ADPCM state of one sub-band: the adaptive predictor (two
// poles, six zeros) and the quantizer scale factor.
type band struct {
	s  int // predicted signal (PREDIC)
	sp int // pole part of the prediction
	sz int // zero part of the prediction

	r [3]int // reconstructed signal; r[1] is one sample ago
	p [3]int // partially reconstructed signal (zeros + difference)
	a [3]int // pole coefficients a[1], a[2]
	d [7]int // quantized differences; d[1] is one sample ago
	b [7]int // zero coefficients b[1..6]

	nb  int // log scale factor (nabla)
	det int // linear scale factor (delta)
}

func (b *band) reset(det int) { *b = band{det: det} }

func sat16(v int) int {
	return min(max(v, -32768), 32767)
}

func sign(v int) bool { return v < 0 }

// adaptLow updates the lower band scale factor from the 4-bit code
// (LOGSCL and SCALEL).
func (b *band) adaptLow(code4 int) {
	b.nb = min(max((b.nb*127)>>7+wl[rl42[code4]], 0), 18432)
	b.det = scale(b.nb, 8)
}

// adaptHigh updates the higher band scale factor from the 2-bit code
// (LOGSCH and SCALEH).
func (b *band) adaptHigh(code2 int) {
	b.nb = min(max((b.nb*127)>>7+wh[rh2[code2]], 0), 22528)
	b.det = scale(b.nb, 10)
}

// scale converts a log scale factor to linear (SCALEL/SCALEH); shift is 8
// for the lower band and 10 for the higher.
func scale(nb, shift int) int {
	m := ilb[(nb>>6)&31]
	if e := shift - nb>>11; e >= 0 {
		m >>= e
	} else {
		m <<= -e
	}
	return m << 2
}

// update runs block 4 of the Recommendation with the new quantized
// difference d: reconstruction, pole and zero coefficient adaptation, and
// the next prediction. The histories r, p and d hold the previous values at
// index 1 (one sample ago) and up; index 0 is unused.
func (b *band) update(d int) {
	// RECONS and PARREC.
	r0 := sat16(b.s + d)
	p0 := sat16(b.sz + d)

	// UPPOL2: second pole, with its stability limit.
	s0, s1, s2 := sign(p0), sign(b.p[1]), sign(b.p[2])
	w := sat16(b.a[1] << 2)
	if s0 == s1 {
		w = -w
	}
	w = min(w, 32767)
	a2 := w >> 7
	if s0 == s2 {
		a2 += 128
	} else {
		a2 -= 128
	}
	a2 += (b.a[2] * 32512) >> 15
	a2 = min(max(a2, -12288), 12288)

	// UPPOL1: first pole, limited by the new second pole.
	a1 := (b.a[1] * 32640) >> 15
	if s0 == s1 {
		a1 += 192
	} else {
		a1 -= 192
	}
	a1 = sat16(a1)
	lim := sat16(15360 - a2)
	a1 = min(max(a1, -lim), lim)

	// UPZERO: sign-sign update of the six zeros.
	step := 128
	if d == 0 {
		step = 0
	}
	sd := sign(d)
	for i := 1; i <= 6; i++ {
		w := (b.b[i] * 32640) >> 15
		if sign(b.d[i]) == sd {
			w += step
		} else {
			w -= step
		}
		b.b[i] = sat16(w)
	}

	// DELAYA: shift the histories.
	b.d[0] = d
	copy(b.d[1:], b.d[:6])
	b.r[2], b.r[1] = b.r[1], r0
	b.p[2], b.p[1] = b.p[1], p0
	b.a[1], b.a[2] = a1, a2

	// FILTEP: pole prediction from the last two reconstructions.
	sp := (b.a[1] * sat16(b.r[1]+b.r[1])) >> 15
	sp += (b.a[2] * sat16(b.r[2]+b.r[2])) >> 15
	b.sp = sat16(sp)

	// FILTEZ: zero prediction from the last six differences.
	sz := 0
	for i := 1; i <= 6; i++ {
		sz += (b.b[i] * sat16(b.d[i]+b.d[i])) >> 15
	}
	b.sz = sat16(sz)

	// PREDIC.
	b.s = sat16(b.sp + b.sz)
}
