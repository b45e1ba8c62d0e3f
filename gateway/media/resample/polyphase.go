package resample

// histRoom is how many outputs (decimator) or inputs (interpolator) fit in
// a history buffer before it is compacted back to its front.
const histRoom = 512

// branch is one polyphase sub-filter, stored dense and reversed (oldest
// sample first) with its zero taps trimmed off both ends, so that it is one
// contiguous dot product. A half-band filter's second branch is a single
// tap.
type branch struct {
	taps   []float32
	j0, j1 int // first and last non-zero coefficient index
}

// newBranch takes the coefficients c[j] that multiply x[m−j].
func newBranch(c []float64, gain float64) branch {
	j0, j1 := 0, len(c)-1
	for j0 < j1 && c[j0] == 0 {
		j0++
	}
	for j1 > j0 && c[j1] == 0 {
		j1--
	}
	b := branch{j0: j0, j1: j1, taps: make([]float32, j1-j0+1)}
	for k := range b.taps {
		b.taps[k] = float32(c[j1-k] * gain)
	}
	return b
}

// apply filters the sequence s at position m: Σ c[j]·s[m−j].
func (b *branch) apply(s []float32, m int) float32 {
	return dot(b.taps, s[m-b.j1:m-b.j0+1])
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// decimator low-pass filters and keeps every r-th sample. The input is
// split into r interleaved sub-sequences, s_p[m] = x[r·m + r−1−p], each
// filtered by branch p; y[m] = Σ_p branch_p(s_p)[m]. Only kept outputs are
// computed.
type decimator struct {
	r        int
	branches []branch
	seqs     [][]float32 // s_p with history
	hist     int         // history kept on compaction
	fill     int         // slot of the group being filled
	phase    int         // samples of the current group received
	delay    float64     // group delay in output samples
}

func newDecimator(r int, spec filterSpec) *decimator {
	h := design(spec)
	d := &decimator{r: r}
	for p := range r {
		var c []float64
		for j := 0; p+r*j < len(h); j++ {
			c = append(c, h[p+r*j])
		}
		b := newBranch(c, 1)
		d.branches = append(d.branches, b)
		d.hist = max(d.hist, b.j1)
	}
	for range r {
		d.seqs = append(d.seqs, make([]float32, d.hist+histRoom))
	}
	// y[m] = Σ h[n]·x[r·m + r−1 − n]: centred on input r·m + r−1 − (L−1)/2.
	d.delay = (float64(len(h)-1)/2 - float64(r-1)) / float64(r)
	d.reset()
	return d
}

func (d *decimator) reset() {
	for _, s := range d.seqs {
		clear(s)
	}
	d.fill, d.phase = d.hist, 0
}

func (d *decimator) process(dst, src []int16) int {
	n := 0
	for _, x := range src {
		d.seqs[d.r-1-d.phase][d.fill] = float32(x)
		if d.phase++; d.phase < d.r {
			continue
		}
		d.phase = 0
		var acc float32
		for p := range d.branches {
			acc += d.branches[p].apply(d.seqs[p], d.fill)
		}
		dst[n] = toInt16(acc)
		n++
		if d.fill++; d.fill == len(d.seqs[0]) {
			for _, s := range d.seqs {
				copy(s, s[d.fill-d.hist:d.fill])
			}
			d.fill = d.hist
		}
	}
	return n
}

// interpolator raises the rate by r: each input sample yields r outputs,
// out[r·m+p] = r·Σ_j h[p+r·j]·x[m−j], one branch per output phase.
type interpolator struct {
	branches []branch
	seq      []float32 // input with history
	hist     int
	fill     int
	delay    float64 // group delay in output samples
}

func newInterpolator(r int, spec filterSpec) *interpolator {
	h := design(spec)
	ip := &interpolator{delay: float64(len(h)-1) / 2}
	for p := range r {
		var c []float64
		var sum float64
		for j := 0; p+r*j < len(h); j++ {
			c = append(c, h[p+r*j])
			sum += h[p+r*j]
		}
		// Each branch gets unit DC gain on its own, so a constant input
		// leaves no image at the low rate.
		b := newBranch(c, 1/sum)
		ip.branches = append(ip.branches, b)
		ip.hist = max(ip.hist, b.j1)
	}
	ip.seq = make([]float32, ip.hist+histRoom)
	ip.reset()
	return ip
}

func (ip *interpolator) factor() int { return len(ip.branches) }

func (ip *interpolator) reset() {
	clear(ip.seq)
	ip.fill = ip.hist
}

func (ip *interpolator) process(dst, src []int16) int {
	n := 0
	for _, x := range src {
		ip.seq[ip.fill] = float32(x)
		for p := range ip.branches {
			dst[n] = toInt16(ip.branches[p].apply(ip.seq, ip.fill))
			n++
		}
		if ip.fill++; ip.fill == len(ip.seq) {
			copy(ip.seq, ip.seq[ip.fill-ip.hist:ip.fill])
			ip.fill = ip.hist
		}
	}
	return n
}
