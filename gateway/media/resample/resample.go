// Package resample converts 16-bit mono PCM between the rates a gateway
// meets: 8 kHz (G.711), 16 kHz (G.722, the room hub) and 48 kHz (WebRTC
// Opus), by exact integer factors with polyphase FIR filters.
//
// 8 ↔ 16 kHz uses a half-band filter (every other tap is zero, so decimation
// costs about L/2 multiplies per output and one interpolation phase is a
// pure delay). 16 ↔ 48 kHz uses a third-band (Nyquist) filter. Both are
// Kaiser-windowed sinc designs computed once at start-up, with at least
// 60 dB of stop-band attenuation beyond the transition band:
//
//	8 ↔ 16 kHz:  flat to 3.6 kHz, rejected from 4.4 kHz
//	16 ↔ 48 kHz: flat to 6.8 kHz, rejected from 8.0 kHz
//
// A Resampler keeps its filter history across calls, so a stream cut into
// 20 ms frames comes out exactly as if it had been converted in one go: no
// clicks at frame edges. It does not allocate after construction and is not
// safe for concurrent use.
package resample

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned by New for a rate pair it does not convert.
var ErrUnsupported = errors.New("resample: unsupported rate pair")

// ErrShortBuffer is returned by Process when dst cannot hold the output;
// nothing is consumed in that case.
var ErrShortBuffer = errors.New("resample: destination too short")

// Resampler converts a PCM stream from one rate to another.
type Resampler struct {
	inRate, outRate int
	down            *decimator
	up              *interpolator
}

// New returns a resampler from inRate to outRate Hz. Supported pairs are
// 8000↔16000 and 16000↔48000; equal rates give a pass-through copy.
func New(inRate, outRate int) (*Resampler, error) {
	r := &Resampler{inRate: inRate, outRate: outRate}
	switch {
	case inRate == outRate && inRate > 0:
	case inRate == 16000 && outRate == 8000:
		r.down = newDecimator(2, halfBand)
	case inRate == 8000 && outRate == 16000:
		r.up = newInterpolator(2, halfBand)
	case inRate == 48000 && outRate == 16000:
		r.down = newDecimator(3, thirdBand)
	case inRate == 16000 && outRate == 48000:
		r.up = newInterpolator(3, thirdBand)
	default:
		return nil, fmt.Errorf("%w: %d → %d Hz", ErrUnsupported, inRate, outRate)
	}
	return r, nil
}

// InRate and OutRate are the rates the resampler was made for.
func (r *Resampler) InRate() int  { return r.inRate }
func (r *Resampler) OutRate() int { return r.outRate }

// MaxOut is the most samples Process can write for n input samples.
// For whole frames (n a multiple of the factor) it is exact: 320 samples at
// 16 kHz give 160 at 8 kHz and 960 at 48 kHz.
func (r *Resampler) MaxOut(n int) int {
	switch {
	case r.down != nil:
		return (n + r.down.r - 1) / r.down.r
	case r.up != nil:
		return n * r.up.factor()
	}
	return n
}

// Process converts src and writes the output to dst, returning the number
// of samples written. When downsampling, input samples that do not yet make
// a whole output sample are kept for the next call, so any chunking works;
// feeding whole frames keeps the output exactly a frame long.
func (r *Resampler) Process(dst, src []int16) (int, error) {
	if len(dst) < r.MaxOut(len(src)) {
		return 0, fmt.Errorf("%w: %d for %d input samples", ErrShortBuffer, len(dst), len(src))
	}
	switch {
	case r.down != nil:
		return r.down.process(dst, src), nil
	case r.up != nil:
		return r.up.process(dst, src), nil
	}
	return copy(dst, src), nil
}

// Reset clears the filter history, as at the start of a stream.
func (r *Resampler) Reset() {
	switch {
	case r.down != nil:
		r.down.reset()
	case r.up != nil:
		r.up.reset()
	}
}

// Delay is the group delay in output samples (linear phase, the same at
// every frequency): input sample i comes out at output position
// i·OutRate/InRate + Delay.
func (r *Resampler) Delay() float64 {
	switch {
	case r.down != nil:
		return r.down.delay
	case r.up != nil:
		return r.up.delay
	}
	return 0
}

func toInt16(v float32) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v < 0:
		return int16(v - 0.5)
	}
	return int16(v + 0.5)
}
