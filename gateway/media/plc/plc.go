// Package plc conceals lost frames of decoded PCM (G.711, G.722) in the
// spirit of ITU-T G.711 Appendix I: a lost frame is filled by repeating the
// last pitch period of the good signal, seamlessly looped; after 10 ms the
// loop widens to two and then three periods to sound less buzzy, the level
// falls linearly from 10 ms to silence at 60 ms, and when real audio returns
// it is cross-faded in (a quarter period plus 4 ms per extra 10 ms lost, at
// most 10 ms) instead of being spliced.
//
// Unlike Appendix I, good audio is not delayed (no 3.75 ms look-back): the
// loop seam is smoothed instead, which keeps the jitter buffer's latency
// the only latency.
//
// Usage per 20 ms tick: Good(frame) for every decoded frame, Conceal(frame)
// for every frame the jitter buffer reports lost. A Concealer does not
// allocate after New and is not safe for concurrent use.
package plc

import (
	"errors"
	"fmt"
	"math"
)

// ErrBadRate is returned by New for a sample rate outside 8000..48000 Hz.
var ErrBadRate = errors.New("plc: bad sample rate")

// Concealer holds the recent good signal of one stream.
type Concealer struct {
	rate             int
	minPitch, maxPit int // pitch search range in samples (5–15 ms)
	corrLen          int // correlation window

	hist []int16 // the last len(hist) output samples, oldest first
	src  []int16 // hist frozen at the start of a loss: what the loop plays

	lost   int // samples concealed in the current loss run (0: not concealing)
	pitch  int
	loopN  int     // periods in the loop (1..3)
	loopAt int     // position in the loop
	gain   float64 // current attenuation
	step   float64 // gain decrement per sample after the first 10 ms
	ms10   int     // samples in 10 ms
	silent int     // samples after which output is zero (60 ms)
}

// New returns a concealer for PCM at rate Hz.
func New(rate int) (*Concealer, error) {
	if rate < 8000 || rate > 48000 {
		return nil, fmt.Errorf("%w: %d Hz", ErrBadRate, rate)
	}
	c := &Concealer{
		rate:     rate,
		minPitch: rate * 5 / 1000,
		maxPit:   rate * 15 / 1000,
		corrLen:  rate * 20 / 1000,
		ms10:     rate / 100,
		silent:   rate * 60 / 1000,
	}
	// Three periods of the longest pitch, plus one period for the seam
	// cross-fade and the correlation window.
	c.hist = make([]int16, max(3*c.maxPit+c.maxPit, c.corrLen+c.maxPit))
	c.src = make([]int16, len(c.hist))
	c.step = 1 / float64(c.silent-c.ms10)
	return c, nil
}

// Reset forgets the signal, as at the start of a stream.
func (c *Concealer) Reset() {
	clear(c.hist)
	c.lost = 0
}

// Concealing reports whether the last frame was concealed.
func (c *Concealer) Concealing() bool { return c.lost > 0 }

// Good takes a correctly received frame. After a loss, the start of pcm is
// cross-faded with the continuing concealment, in place.
func (c *Concealer) Good(pcm []int16) {
	if c.lost > 0 {
		// ¼ period, plus 4 ms per 10 ms lost beyond the first, ≤ 10 ms.
		n := c.pitch/4 + (c.lost/c.ms10-1)*c.rate*4/1000
		n = min(max(n, c.pitch/4), c.ms10, len(pcm))
		for i := range n {
			w := float64(i+1) / float64(n+1)
			pcm[i] = sat(float64(c.next())*(1-w) + float64(pcm[i])*w)
		}
		c.lost = 0
	}
	c.push(pcm)
}

// Conceal fills dst with a substitute for a lost frame.
func (c *Concealer) Conceal(dst []int16) {
	if c.lost == 0 {
		c.pitch = c.findPitch()
		copy(c.src, c.hist)
		c.loopN, c.gain = 1, 1
		c.loopAt = 0
	}
	for i := range dst {
		dst[i] = c.next()
	}
	c.push(dst)
}

// next produces one concealment sample and advances the loss clock.
func (c *Concealer) next() int16 {
	if c.lost >= c.silent {
		c.lost++
		return 0
	}
	// Widen the loop at 10 and 20 ms. The sample at the same place in
	// the wider loop is the same history sample, so the switch is seamless.
	if c.lost > 0 && c.lost%c.ms10 == 0 && c.loopN < 3 && c.lost/c.ms10 == c.loopN {
		c.loopAt += c.pitch // old loop index i ↔ new index P+i
		c.loopN++
	}
	if c.lost >= c.ms10 {
		c.gain = max(0, c.gain-c.step)
	}
	v := c.loop(c.loopAt) * c.gain
	c.loopAt++
	if c.loopAt == c.loopN*c.pitch {
		c.loopAt = 0
	}
	c.lost++
	return sat(v)
}

// loop is sample j of the last loopN·pitch samples of history, with the
// final quarter period blended into the samples one period earlier so that
// wrapping from the end of the loop to its start is smooth.
func (c *Concealer) loop(j int) float64 {
	h := c.src
	l := c.loopN * c.pitch
	q := max(1, c.pitch/4)
	v := float64(h[len(h)-l+j])
	if j >= l-q {
		w := float64(j-(l-q)+1) / float64(q+1)
		v = v*(1-w) + float64(h[len(h)-l+j-c.pitch])*w
	}
	return v
}

// findPitch picks the lag in 5–15 ms that best predicts the last 20 ms of
// history from the signal one lag earlier (normalised cross-correlation):
// a coarse search over every other lag on every other sample, then a full
// search around the winner.
func (c *Concealer) findPitch() int {
	best, _ := c.searchPitch(c.minPitch, c.maxPit, 2)
	best, _ = c.searchPitch(max(c.minPitch, best-2), min(c.maxPit, best+2), 1)
	return best
}

func (c *Concealer) searchPitch(lo, hi, step int) (best int, score float64) {
	h := c.hist
	seg := h[len(h)-c.corrLen:]
	best, score = hi, math.Inf(-1)
	for lag := lo; lag <= hi; lag += step {
		ref := h[len(h)-c.corrLen-lag : len(h)-lag]
		var xy, yy float64
		for i := 0; i < len(seg); i += step {
			y := float64(ref[i])
			xy += float64(seg[i]) * y
			yy += y * y
		}
		if yy == 0 {
			continue
		}
		if s := xy / math.Sqrt(yy); s > score {
			best, score = lag, s
		}
	}
	return best, score
}

// push appends samples to the history.
func (c *Concealer) push(pcm []int16) {
	h := c.hist
	if len(pcm) >= len(h) {
		copy(h, pcm[len(pcm)-len(h):])
		return
	}
	copy(h, h[len(pcm):])
	copy(h[len(h)-len(pcm):], pcm)
}

func sat(v float64) int16 {
	v = math.Round(v)
	return int16(min(max(v, -32768), 32767))
}
