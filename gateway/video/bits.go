package video

// bitReader reads the RBSP of one NAL unit bit by bit (H.264 §7.2),
// dropping emulation prevention bytes (0x000003, §7.4.1) on the fly so
// that parsing needs no copy. Reading past the end sets err and returns
// zeros.
type bitReader struct {
	b     []byte
	pos   int  // next byte of b to load
	cur   byte // bits not yet read, left-aligned
	left  uint // bits left in cur
	zeros int  // zero bytes just loaded, for emulation prevention
	err   bool
}

func newBitReader(nal []byte) bitReader { return bitReader{b: nal} }

func (r *bitReader) bit() uint32 {
	if r.left == 0 {
		if r.pos < len(r.b) && r.zeros >= 2 && r.b[r.pos] == 3 {
			r.pos++
			r.zeros = 0
		}
		if r.pos >= len(r.b) {
			r.err = true
			return 0
		}
		r.cur = r.b[r.pos]
		r.pos++
		if r.cur == 0 {
			r.zeros++
		} else {
			r.zeros = 0
		}
		r.left = 8
	}
	r.left--
	return uint32(r.cur>>r.left) & 1
}

// bits reads n ≤ 32 bits, most significant first (u(n), §7.2).
func (r *bitReader) bits(n int) uint32 {
	var v uint32
	for range n {
		v = v<<1 | r.bit()
	}
	return v
}

func (r *bitReader) flag() bool { return r.bit() == 1 }

// ue reads an unsigned Exp-Golomb code (ue(v), §9.1). Codes longer than
// 32 bits are malformed for every syntax element this package reads.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.bit() == 0 {
		if r.err || zeros == 31 {
			r.err = true
			return 0
		}
		zeros++
	}
	return (1<<zeros - 1) + r.bits(zeros)
}

// se reads a signed Exp-Golomb code (se(v), §9.1.1).
func (r *bitReader) se() int32 {
	k := r.ue()
	if k&1 == 1 {
		return int32((k + 1) / 2)
	}
	return -int32(k / 2)
}

// bitWriter builds an RBSP (the slate's parameter sets and slices).
// Emulation prevention is added when the NAL unit is finished
// (appendEBSP).
type bitWriter struct {
	b    []byte
	cur  byte
	used uint // bits used in cur
}

func (w *bitWriter) bit(v uint32) {
	w.cur = w.cur<<1 | byte(v&1)
	w.used++
	if w.used == 8 {
		w.b = append(w.b, w.cur)
		w.cur, w.used = 0, 0
	}
}

func (w *bitWriter) bits(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bit(v >> uint(i))
	}
}

func (w *bitWriter) flag(v bool) {
	if v {
		w.bit(1)
	} else {
		w.bit(0)
	}
}

// ue writes an unsigned Exp-Golomb code (§9.1).
func (w *bitWriter) ue(v uint32) {
	x := uint64(v) + 1
	n := 0
	for t := x; t > 1; t >>= 1 {
		n++
	}
	w.bits(0, n)
	for i := n; i >= 0; i-- {
		w.bit(uint32(x >> uint(i)))
	}
}

// se writes a signed Exp-Golomb code (§9.1.1).
func (w *bitWriter) se(v int32) {
	if v > 0 {
		w.ue(uint32(2*v - 1))
	} else {
		w.ue(uint32(-2 * v))
	}
}

// alignZero pads with zero bits to the next byte (pcm_alignment_zero_bit).
func (w *bitWriter) alignZero() {
	for w.used != 0 {
		w.bit(0)
	}
}

// trailing writes rbsp_trailing_bits (§7.3.2.11): a one, then zeros to the
// byte boundary.
func (w *bitWriter) trailing() {
	w.bit(1)
	w.alignZero()
}

// appendEBSP appends rbsp to dst with emulation prevention bytes inserted
// where three bytes would otherwise read 0x00000x, x ≤ 3 (§7.4.1).
func appendEBSP(dst, rbsp []byte) []byte {
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}
