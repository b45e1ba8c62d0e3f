package bridge

import (
	"math"
	"sync/atomic"

	"github.com/roombridge/roombridge/gateway/media/dtmf"
)

// In-band DTMF detection and suppression (the key stage of a leg): a phone without telephone-event keys *6 (or a
// PIN, or anything) as tones in its audio, which would otherwise be mixed
// into the room and Opus-encoded for it, so that everyone hears the beeps.
// The leg's Detector (gateway/media/dtmf) reports a press only once, when
// the tone has lasted its minimum duration (35 ms); from that frame on the
// toneGate follows the reported key's two frequencies itself and holds the
// leg's audio back while they are present, and for toneGateHang after they
// end. There is no look-ahead (it would delay every phone's audio), so the
// first 35 to 40 ms of each tone, before the detector is sure, and up to
// one more 20 ms frame depending on how the tone falls on the frames, still
// reach the room: a short tick rather than a beep.

// DTMF row (low group) and column (high group) frequencies, ITU-T Q.23.
var (
	dtmfRow = [4]float64{697, 770, 852, 941}
	dtmfCol = [4]float64{1209, 1336, 1477, 1633}
)

const (
	// dtmfKeypad lays out the keys row by row, as on the keypad.
	dtmfKeypad = "123A456B789C*0#D"
	// toneGateHang is how many 20 ms frames stay muted after the key's
	// tones end: 40 ms, for the tone's decay and a frame it only partly
	// fills.
	toneGateHang = 2
	// toneGateFloor is the weakest tone, as a mean square relative to full
	// scale, that still counts as the key going on: -36 dBm0, below the
	// detector's -30 dBm0 floor so that a fading tone stays muted.
	// A sine at 0 dBm0 peaks at 0.69424 of full scale (G.711's digital
	// milliwatt): 0.241 mean square; -36 dB of that is 6.05e-5.
	toneGateFloor = 6.05e-5
	// toneGateShare is the share of a frame's energy the two tones must
	// carry for the key to count as still pressed (speech does not).
	toneGateShare = 0.5
)

// toneGate holds a leg's audio back while an in-band DTMF key sounds. It
// runs on the leg's clock goroutine and allocates nothing.
type toneGate struct {
	rate          float64
	coLow, coHigh float64 // Goertzel coefficients of the key's two tones
	active        bool    // a key was reported and has not yet ended
	hang          int     // frames still muted after the tones ended
}

// key starts muting for a key the detector has just reported.
func (m *toneGate) key(k byte) {
	i := -1
	for j := range len(dtmfKeypad) {
		if dtmfKeypad[j] == k {
			i = j
			break
		}
	}
	if i < 0 {
		return
	}
	m.coLow = 2 * math.Cos(2*math.Pi*dtmfRow[i/4]/m.rate)
	m.coHigh = 2 * math.Cos(2*math.Pi*dtmfCol[i%4]/m.rate)
	m.active, m.hang = true, toneGateHang
}

// mute reports whether the frame pcm is to be held back: while the key's
// two tones are present in it, and toneGateHang frames after that.
func (m *toneGate) mute(pcm []int16) bool {
	if !m.active {
		return false
	}
	if m.present(pcm) {
		m.hang = toneGateHang
	} else if m.hang--; m.hang < 0 {
		m.active, m.hang = false, 0
		return false
	}
	return true
}

// present reports whether both tones of the key are in pcm, each above the
// floor, and together carry most of its energy.
func (m *toneGate) present(pcm []int16) bool {
	if len(pcm) == 0 {
		return false
	}
	var e, l1, l2, h1, h2 float64
	for _, v := range pcm {
		x := float64(v) / 32768
		e += x * x
		l1, l2 = x+m.coLow*l1-l2, l1
		h1, h2 = x+m.coHigh*h1-h2, h1
	}
	n := float64(len(pcm))
	// A sine of amplitude A gives a Goertzel power of (A·n/2)² at its own
	// frequency: 2·P/n² is its mean square, A²/2.
	low := 2 * (l1*l1 + l2*l2 - m.coLow*l1*l2) / (n * n)
	high := 2 * (h1*h1 + h2*h2 - m.coHigh*h1*h2) / (n * n)
	return low >= toneGateFloor && high >= toneGateFloor && low+high >= toneGateShare*e/n
}

// keyStage is a leg's in-band DTMF stage: the detector reports keys, and
// the gate keeps keyed frames out of the room. It runs on the leg's clock.
type keyStage struct {
	det   *dtmf.Detector
	found []byte
	gate  toneGate
	held  atomic.Uint64 // frames held back from the room
}

func newKeyStage(rate int) (*keyStage, error) {
	det, err := dtmf.NewDetector(dtmf.DetectorConfig{Rate: rate})
	if err != nil {
		return nil, err
	}
	return &keyStage{det: det, found: make([]byte, 0, 8), gate: toneGate{rate: float64(rate)}}, nil
}

// process runs the detector over one frame, hands each key found to digit,
// and reports whether the frame is part of a key press, to be kept from
// the room.
func (k *keyStage) process(pcm []int16, digit func(key byte)) (keyed bool) {
	k.found = k.det.Process(k.found[:0], pcm)
	for _, key := range k.found {
		digit(key)
		k.gate.key(key)
	}
	if keyed = k.gate.mute(pcm); keyed {
		k.held.Add(1)
	}
	return keyed
}
