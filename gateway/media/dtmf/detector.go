package dtmf

import (
	"fmt"
	"math"
	"time"
)

// DetectorConfig tunes a Detector. Zero fields take the defaults shown.
type DetectorConfig struct {
	// Rate is the sample rate of the PCM: 8000 or 16000 (8000).
	Rate int
	// MinLevel is the weakest tone accepted, in dBm0 per tone (-30).
	// Q.24 receivers must accept -25 dBm0; -30 leaves room for line loss
	// and still rejects the quiet tail of speech and echo below it.
	MinLevel float64
	// MinTone is the shortest tone reported (35 ms): every Q.24-valid
	// press (40 ms or more) is reported, and a 30 ms blip of speech is not.
	MinTone time.Duration
	// MinPause is the shortest silence that separates two presses of the
	// same key (35 ms): Q.24 senders pause at least 40 ms, and a shorter
	// dropout (a lost packet, a burst of noise) does not double a digit.
	MinPause time.Duration
}

// Checks on each block, as power (mean-square) ratios. The values follow
// common practice for ITU-T Q.24 receivers (Bellcore TR-NWT-000506, and the
// detectors of spandsp and Asterisk).
const (
	// normalTwist: the low (row) group may be up to 8 dB stronger than the
	// high group. Lines lose more at high frequencies, so this is the usual
	// case at a receiver.
	normalTwist = 6.31 // 8 dB
	// reverseTwist: the high group may be up to 4 dB stronger.
	reverseTwist = 2.51 // 4 dB
	// relativePeak: the strongest row (column) is at least 6 dB above the
	// other rows (columns): one key, not a chord or a sweep.
	relativePeak = 3.98 // 6 dB
	// toneToTotal: the two tones carry at least this share of the block's
	// energy. Speech spreads its energy over many harmonics and formants.
	toneToTotal = 0.70
	// Second harmonics: voiced speech is rich in harmonics and a DTMF tone
	// has none. The row's harmonic (1394-1882 Hz) sits within a bin of the
	// column tones, whose leakage allows only a loose limit; the column's
	// harmonic (2418-3266 Hz) is alone and must be 15 dB down.
	rowHarmonic = 1.0  // 0 dB
	colHarmonic = 31.6 // 15 dB
	// twistDrift: a key's twist changes by at most 2.5 dB from one block
	// to the next. Both tones come from one oscillator pair, so the twist
	// is steady, even in partial blocks (both tones shrink alike), while
	// the formants of speech and the notes of music move. The jitter of a
	// real key comes from the strong tone's sidelobes in the weak tone's
	// bin: about ±1 dB at 8 dB of twist. With this check, the speech
	// fixtures stay silent even with toneToTotal lowered to 0.5.
	twistDrift = 1.78 // 2.5 dB
)

// blockSamples8k is the analysis block: 102 samples at 8000 Hz (12.75 ms),
// as in most Goertzel DTMF detectors. Its 78 Hz bins resolve the 73 Hz
// between the closest rows, and it is short enough for several blocks in a
// 40 ms tone.
const blockSamples8k = 102

// Detector finds DTMF keys in 16-bit PCM (ITU-T Q.24). It runs eight
// Goertzel filters over fixed blocks, whatever the frame size fed to it,
// and accepts a block as a key when both tones are above the level floor,
// within the twist limits, well above the other tones of their group,
// carry most of the block's energy and have no strong second harmonic; a
// press is measured only over blocks whose twist stays steady.
//
// A press is reported once, when its estimated duration reaches MinTone.
// The duration is measured to a fraction of a block: the level of the
// key's two tones in the partial blocks at the edges, relative to the
// press's full blocks, says how much of those blocks the tone filled. The
// same estimate measures the silence between two presses of a key.
//
// As measured by the tests, at 8000 and 16000 Hz: all 16 keys from -3 to
// -29 dBm0 per tone, none from -31 down; twist accepted to 8 dB normal and
// 4 dB reverse, rejected from 9 and 4.5 dB; tones of 37 ms and more
// accepted at every alignment to the blocks, 33 ms and less never; gaps of
// 36 ms and more separate two presses, 33 ms and less do not; tones off by
// 1.5% accepted, by 3.5% rejected (Q.24); white noise at 15 dB SNR and
// G.711 at -25 dBm0 change nothing; no key from the speech and music
// fixtures. A 20 ms frame costs about 2 µs at 8000 Hz.
type Detector struct {
	n        int // block size in samples
	rowCoef  [4]float64
	colCoef  [4]float64
	row2Coef [4]float64 // second harmonics
	col2Coef [4]float64
	minPower float64 // mean square of a tone at MinLevel
	minTone  float64 // in blocks
	minPause float64 // in blocks

	buf  [2 * blockSamples8k]float64
	fill int
	pow  [8]float64 // this block: rows then columns
	prev [8]float64 // the block before

	// The current (or last) press.
	key     int     // keyIndex, -1 for none
	emitted bool    // reported already
	amax    float64 // the press's strongest block (tone amplitude)
	sum     float64 // tone in the press so far, in amplitude × blocks
	lastHit float64 // amplitude of the press's last detected block
	twist   float64 // row over column power in the last detected block
	miss    int     // blocks since the last detection of key
	trail   float64 // amplitude of key in the first block after the last detection
}

// NewDetector makes a Detector.
func NewDetector(cfg DetectorConfig) (*Detector, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 8000
	}
	if cfg.MinLevel == 0 {
		cfg.MinLevel = -30
	}
	if cfg.MinTone == 0 {
		cfg.MinTone = 35 * time.Millisecond
	}
	if cfg.MinPause == 0 {
		cfg.MinPause = 35 * time.Millisecond
	}
	if cfg.Rate != 8000 && cfg.Rate != 16000 {
		return nil, fmt.Errorf("%w: %d Hz (want 8000 or 16000)", ErrClockRate, cfg.Rate)
	}
	if cfg.MinLevel > 0 || cfg.MinLevel < -60 || cfg.MinTone < 0 || cfg.MinPause < 0 {
		return nil, fmt.Errorf("%w: %+v", ErrConfig, cfg)
	}
	d := &Detector{n: blockSamples8k * cfg.Rate / 8000, key: -1}
	for i := range 4 {
		d.rowCoef[i] = goertzel(rowFreq[i], cfg.Rate)
		d.colCoef[i] = goertzel(colFreq[i], cfg.Rate)
		d.row2Coef[i] = goertzel(2*rowFreq[i], cfg.Rate)
		d.col2Coef[i] = goertzel(2*colFreq[i], cfg.Rate)
	}
	a := Amplitude(cfg.MinLevel)
	d.minPower = a * a / 2
	block := time.Duration(d.n) * time.Second / time.Duration(cfg.Rate)
	d.minTone = float64(cfg.MinTone) / float64(block)
	d.minPause = float64(cfg.MinPause) / float64(block)
	return d, nil
}

// Reset forgets any tone in progress.
func (d *Detector) Reset() {
	d.fill, d.key, d.emitted, d.miss = 0, -1, false, 0
	d.prev = [8]float64{}
}

// Process analyses pcm, any length, and appends the keys whose presses
// were recognised to dst. With a dst of spare capacity it does not
// allocate.
func (d *Detector) Process(dst []byte, pcm []int16) []byte {
	for len(pcm) > 0 {
		k := min(d.n-d.fill, len(pcm))
		for i, s := range pcm[:k] {
			d.buf[d.fill+i] = float64(s)
		}
		d.fill += k
		pcm = pcm[k:]
		if d.fill == d.n {
			d.fill = 0
			if key, ok := d.block(); ok {
				dst = append(dst, keypad[key])
			}
		}
	}
	return dst
}

// block analyses a full block and advances the press tracking; it returns
// a key when a press is recognised.
func (d *Detector) block() (int, bool) {
	x := d.buf[:d.n]
	power4(&d.rowCoef, x, d.pow[:4])
	power4(&d.colCoef, x, d.pow[4:])
	hit := d.classify(x)
	key, ok := d.track(hit)
	d.prev = d.pow
	return key, ok
}

// classify applies the per-block checks and returns the key seen, or -1.
func (d *Detector) classify(x []float64) int {
	row, col := 0, 0
	for i := 1; i < 4; i++ {
		if d.pow[i] > d.pow[row] {
			row = i
		}
		if d.pow[4+i] > d.pow[4+col] {
			col = i
		}
	}
	pr, pc := d.pow[row], d.pow[4+col]
	if pr < d.minPower || pc < d.minPower {
		return -1
	}
	if pr > pc*normalTwist || pc > pr*reverseTwist {
		return -1
	}
	for i := range 4 {
		if (i != row && d.pow[i]*relativePeak > pr) || (i != col && d.pow[4+i]*relativePeak > pc) {
			return -1
		}
	}
	var energy float64
	for _, v := range x {
		energy += v * v
	}
	if pr+pc < toneToTotal*energy/float64(len(x)) {
		return -1
	}
	if power(d.row2Coef[row], x)*rowHarmonic > pr || power(d.col2Coef[col], x)*colHarmonic > pc {
		return -1
	}
	return row*4 + col
}

// amp is the amplitude of key's two tones in pow: the geometric mean of
// their peaks, which grows in proportion to the part of the block the key
// filled.
func amp(pow *[8]float64, key int) float64 {
	return math.Sqrt(math.Sqrt(pow[key/4] * pow[4+key%4]))
}

// track follows presses from the per-block result hit (a key or -1).
func (d *Detector) track(hit int) (int, bool) {
	switch {
	case hit < 0:
		if d.key >= 0 {
			if d.miss == 0 {
				// The block after the last detection may hold the end
				// of the tone.
				d.trail = amp(&d.pow, d.key)
			}
			d.miss = min(d.miss+1, 1<<20)
			if d.miss == 1 {
				return d.maybeEmit(min(d.trail, d.amax))
			}
		}
		return -1, false

	case hit == d.key && d.miss == 0:
		a := amp(&d.pow, hit)
		tw := d.twistOf(hit)
		if tw > d.twist*twistDrift || tw*twistDrift < d.twist {
			// Not the steady pair of a key: measure again from here,
			// without reporting the key again if it was reported.
			emitted := d.emitted
			d.start(hit, a, 0)
			d.emitted = emitted
			break
		}
		d.twist = tw
		d.amax = max(d.amax, a)
		d.sum += a
		d.lastHit = a

	case hit == d.key:
		// The key again after a gap: the same press if the gap is shorter
		// than MinPause. The gap is the missed blocks less the tone in
		// them (the old tone's tail, the new tone's start) plus the
		// silence in the partial blocks on either side.
		a := amp(&d.pow, hit)
		am := max(d.amax, a)
		edges := min(d.trail, am)
		lead := 0.0
		if d.miss > 1 {
			lead = min(amp(&d.prev, hit), am)
			edges += lead
		}
		gap := float64(d.miss) + (am-d.lastHit)/am + (am-a)/am - edges/am
		if gap >= d.minPause {
			d.start(hit, a, lead)
		} else {
			d.amax = am
			d.sum += a + edges
			d.lastHit = a
			d.twist = d.twistOf(hit)
			d.miss = 0
		}

	default:
		d.start(hit, amp(&d.pow, hit), amp(&d.prev, hit))
	}
	return d.maybeEmit(0)
}

// start begins a new press of key whose first detected block has
// amplitude a, after a block holding lead of it.
func (d *Detector) start(key int, a, lead float64) {
	d.key, d.emitted, d.miss = key, false, 0
	d.amax, d.lastHit = a, a
	d.sum = a + min(lead, a)
	d.twist = d.twistOf(key)
}

// twistOf is the row over column power of key in the current block.
func (d *Detector) twistOf(key int) float64 { return d.pow[key/4] / d.pow[4+key%4] }

// maybeEmit reports the press once its tone, plus extra (amplitude ×
// blocks) in a trailing block, reaches MinTone.
func (d *Detector) maybeEmit(extra float64) (int, bool) {
	if d.emitted || d.key < 0 || d.amax <= 0 {
		return -1, false
	}
	if (d.sum+extra)/d.amax < d.minTone {
		return -1, false
	}
	d.emitted = true
	return d.key, true
}
