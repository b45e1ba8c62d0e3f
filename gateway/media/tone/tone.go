// Package tone generates and measures pure tones in 16-bit PCM. Tests use it
// to prove that audio crossed the bridge (a caller sends 440 Hz, the other
// side must hear 440 Hz and not its own tone), and `roombridge call` uses it
// to report what it heard.
package tone

import "math"

// Generator produces a continuous sine wave across calls, so that frames
// joined end to end have no phase jumps.
type Generator struct {
	rate      float64
	step      float64
	phase     float64
	amplitude float64
}

// NewGenerator makes a generator of freq Hz at rate Hz with a peak of
// amplitude (0..32767).
func NewGenerator(freq float64, rate int, amplitude float64) *Generator {
	return &Generator{rate: float64(rate), step: 2 * math.Pi * freq / float64(rate), amplitude: amplitude}
}

// Fill writes the next len(pcm) samples.
func (g *Generator) Fill(pcm []int16) {
	for i := range pcm {
		pcm[i] = int16(g.amplitude * math.Sin(g.phase))
		g.phase += g.step
		if g.phase > 2*math.Pi {
			g.phase -= 2 * math.Pi
		}
	}
}

// Power is the Goertzel power of freq in pcm (sampled at rate), normalised
// so that a full-scale sine gives about 0.25 regardless of len(pcm).
func Power(pcm []int16, rate int, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, v := range pcm {
		s := float64(v)/32768 + coeff*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(pcm))
	return p / (n * n)
}

// RMS is the root mean square of pcm relative to full scale (0..1).
func RMS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, v := range pcm {
		f := float64(v) / 32768
		sum += f * f
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// Dominant returns the frequency among candidates with the most power in pcm.
func Dominant(pcm []int16, rate int, candidates []float64) (freq, power float64) {
	for _, f := range candidates {
		if p := Power(pcm, rate, f); p > power {
			freq, power = f, p
		}
	}
	return freq, power
}

// Peaks scans from 100 Hz to rate/2-100 in steps of one DFT bin (between 2
// and 25 Hz) and returns up to n frequencies with the most power, strongest
// first. It is for reports, not for the hot path.
func Peaks(pcm []int16, rate, n int) []float64 {
	type fp struct{ f, p float64 }
	var best []fp
	step := min(max(float64(rate)/float64(max(len(pcm), 1)), 2), 25)
	for f := 100.0; f < float64(rate)/2-100; f += step {
		p := Power(pcm, rate, f)
		best = append(best, fp{f, p})
	}
	// Partial selection sort: n is tiny. Neighbouring bins of one tone are
	// skipped so that two peaks are two tones.
	out := make([]float64, 0, n)
	for k := 0; k < n && k < len(best); k++ {
		m := k
		for i := k + 1; i < len(best); i++ {
			if best[i].p > best[m].p {
				m = i
			}
		}
		best[k], best[m] = best[m], best[k]
		if best[k].p == 0 {
			break
		}
		out = append(out, best[k].f)
		for i := k + 1; i < len(best); i++ {
			if d := best[i].f - best[k].f; d > -60 && d < 60 {
				best[i].p = 0
			}
		}
	}
	return out
}
