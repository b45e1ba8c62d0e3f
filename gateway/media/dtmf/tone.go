package dtmf

import (
	"fmt"
	"math"
)

// Row (low group) and column (high group) frequencies in Hz, ITU-T Q.23
// Table 1. Key k is rowFreq[k/4] + colFreq[k%4] in keyIndex order.
var (
	rowFreq = [4]float64{697, 770, 852, 941}
	colFreq = [4]float64{1209, 1336, 1477, 1633}
)

// keypad lays out the keys by row and column as on the keypad (Q.23).
const keypad = "123A456B789C*0#D"

// keyIndex returns row*4+col of key, or -1.
func keyIndex(key byte) int {
	if key >= 'a' && key <= 'd' {
		key -= 'a' - 'A'
	}
	for i := range len(keypad) {
		if keypad[i] == key {
			return i
		}
	}
	return -1
}

// DBm0Peak is the peak, in 16-bit PCM, of a sine at 0 dBm0: G.711's full
// scale is +3.17 dBm0 (ITU-T G.711, the digital milliwatt), and the
// gateway's 16-bit samples put full scale at 32767.
const DBm0Peak = 32767 * 0.69424 // 10^(-3.17/20)

// Amplitude is the peak in 16-bit PCM of a sine at level dBm0.
func Amplitude(level float64) float64 { return DBm0Peak * math.Pow(10, level/20) }

// Tone generates the two sines of a DTMF key in 16-bit PCM, continuous
// across calls, for playing digits in-band to a trunk without
// telephone-event (and for the detector's tests).
type Tone struct {
	lowStep, highStep   float64
	lowPhase, highPhase float64
	lowAmp, highAmp     float64
}

// NewTone makes a generator of key at rate Hz with each of its two tones
// at level dBm0. ITU-T Q.23 senders use about -6 to -10 dBm0 per tone.
func NewTone(key byte, rate int, level float64) (*Tone, error) {
	return NewToneTwist(key, rate, level, level)
}

// NewToneTwist is NewTone with separate levels for the low (row) and high
// (column) tone, to make twisted tones.
func NewToneTwist(key byte, rate int, low, high float64) (*Tone, error) {
	k := keyIndex(key)
	if k < 0 {
		return nil, fmt.Errorf("%w: %q", ErrNotDigit, key)
	}
	if rate < 4000 || rate > 192000 {
		return nil, fmt.Errorf("%w: %d Hz", ErrClockRate, rate)
	}
	return &Tone{
		lowStep:  2 * math.Pi * rowFreq[k/4] / float64(rate),
		highStep: 2 * math.Pi * colFreq[k%4] / float64(rate),
		lowAmp:   Amplitude(low),
		highAmp:  Amplitude(high),
	}, nil
}

// Fill writes the next len(pcm) samples.
func (t *Tone) Fill(pcm []int16) {
	for i := range pcm {
		v := t.lowAmp*math.Sin(t.lowPhase) + t.highAmp*math.Sin(t.highPhase)
		pcm[i] = int16(max(-32768, min(32767, math.Round(v))))
		t.lowPhase = math.Mod(t.lowPhase+t.lowStep, 2*math.Pi)
		t.highPhase = math.Mod(t.highPhase+t.highStep, 2*math.Pi)
	}
}
