package g722

// Frame sizes for the usual 20 ms packetization.
const (
	SampleRate   = 16000
	FrameSamples = 320 // 20 ms of PCM
	FrameBytes   = 160 // 20 ms of G.722 at 64 kbit/s

	// Delay is the algorithmic delay of an encode and decode, in 16 kHz
	// samples: the two 24-tap QMFs. Output sample i+Delay reproduces
	// input sample i.
	Delay = 22
)

// Initial scale factors (G.722 §3.6 reset state).
const (
	detLowInit  = 32
	detHighInit = 8
)

// Encoder turns 16 kHz 16-bit PCM into 64 kbit/s G.722.
type Encoder struct {
	x    [24]int // transmit QMF delay line, newest last
	low  band
	high band
}

// NewEncoder returns an encoder in the reset state.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.Reset()
	return e
}

// Reset returns the encoder to its initial state, as at the start of a
// stream.
func (e *Encoder) Reset() {
	e.x = [24]int{}
	e.low.reset(detLowInit)
	e.high.reset(detHighInit)
}

// Encode codes pairs of samples from pcm into dst, one byte per pair, and
// returns the number of bytes written: min(len(dst), len(pcm)/2). An odd
// last sample is ignored, so feed whole frames.
func (e *Encoder) Encode(dst []byte, pcm []int16) int {
	n := min(len(dst), len(pcm)/2)
	for i := range n {
		xl, xh := e.analyze(int(pcm[2*i]), int(pcm[2*i+1]))
		dst[i] = byte(e.high.encodeHigh(xh)<<6 | e.low.encodeLow(xl))
	}
	return n
}

// analyze pushes two samples through the transmit QMF and returns one
// lower and one higher sub-band sample (each at 8 kHz, 15-bit range).
func (e *Encoder) analyze(s0, s1 int) (xl, xh int) {
	copy(e.x[:22], e.x[2:])
	e.x[22], e.x[23] = s0, s1
	var even, odd int
	for i, c := range qmfCoeffs {
		odd += e.x[2*i] * c
		even += e.x[2*i+1] * qmfCoeffs[11-i]
	}
	// The filters have a DC gain of 4096 and their two halves are summed;
	// one more bit maps 16-bit PCM to the codec's 15-bit input.
	return (even + odd) >> 14, (even - odd) >> 14
}

// encodeLow quantizes one lower band sample to 6 bits (SUBTRA, QUANTL) and
// adapts the band with the 4-bit truncated code (INVQAL, LOGSCL, SCALEL,
// block 4).
func (b *band) encodeLow(xl int) int {
	el := sat16(xl - b.s)
	mag := el
	if el < 0 {
		mag = -(el + 1)
	}
	i := 1
	for ; i < 30; i++ {
		if mag < (q6[i]*b.det)>>12 {
			break
		}
	}
	code := codePosLow[i]
	if el < 0 {
		code = codeNegLow[i]
	}
	code4 := code >> 2
	dl := (b.det * qm4[code4]) >> 15
	b.adaptLow(code4)
	b.update(dl)
	return code
}

// encodeHigh quantizes one higher band sample to 2 bits (SUBTRA, QUANTH)
// and adapts the band (INVQAH, LOGSCH, SCALEH, block 4).
func (b *band) encodeHigh(xh int) int {
	eh := sat16(xh - b.s)
	mag := eh
	if eh < 0 {
		mag = -(eh + 1)
	}
	class := 1
	if mag >= (564*b.det)>>12 {
		class = 2
	}
	code := codePosHigh[class]
	if eh < 0 {
		code = codeNegHigh[class]
	}
	dh := (b.det * qm2[code]) >> 15
	b.adaptHigh(code)
	b.update(dh)
	return code
}

// Decoder turns 64 kbit/s G.722 into 16 kHz 16-bit PCM.
type Decoder struct {
	x    [24]int // receive QMF delay line, newest last
	low  band
	high band
}

// NewDecoder returns a decoder in the reset state.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.Reset()
	return d
}

// Reset returns the decoder to its initial state, as at the start of a
// stream.
func (d *Decoder) Reset() {
	d.x = [24]int{}
	d.low.reset(detLowInit)
	d.high.reset(detHighInit)
}

// Decode decodes src into dst, two samples per byte, and returns the number
// of samples written: 2*min(len(src), len(dst)/2). Every byte is a valid
// code.
func (d *Decoder) Decode(dst []int16, src []byte) int {
	n := min(len(src), len(dst)/2)
	for i, c := range src[:n] {
		rl := d.low.decodeLow(int(c) & 0x3F)
		rh := d.high.decodeHigh(int(c) >> 6)
		dst[2*i], dst[2*i+1] = d.synthesize(rl, rh)
	}
	return 2 * n
}

// decodeLow reconstructs one lower band sample from its 6-bit code
// (INVQBL, RECONS, LIMIT) and adapts the band with the 4-bit truncated code,
// exactly as the encoder did.
func (b *band) decodeLow(code int) int {
	rl := min(max(b.s+(b.det*qm6[code])>>15, -16384), 16383)
	code4 := code >> 2
	dl := (b.det * qm4[code4]) >> 15
	b.adaptLow(code4)
	b.update(dl)
	return rl
}

// decodeHigh reconstructs one higher band sample from its 2-bit code
// (INVQAH, RECONS, LIMIT) and adapts the band.
func (b *band) decodeHigh(code int) int {
	dh := (b.det * qm2[code]) >> 15
	rh := min(max(b.s+dh, -16384), 16383)
	b.adaptHigh(code)
	b.update(dh)
	return rh
}

// synthesize pushes one lower and one higher band sample through the
// receive QMF and returns two 16 kHz output samples.
func (d *Decoder) synthesize(rl, rh int) (int16, int16) {
	copy(d.x[:22], d.x[2:])
	d.x[22], d.x[23] = rl+rh, rl-rh
	var o1, o2 int
	for i, c := range qmfCoeffs {
		o2 += d.x[2*i] * c
		o1 += d.x[2*i+1] * qmfCoeffs[11-i]
	}
	return int16(sat16(o1 >> 11)), int16(sat16(o2 >> 11))
}
