// Package vad measures audio levels and gates voice activity on 16-bit PCM.
//
// Level and AudioLevel give a frame's level in dBov, as carried by the
// client-to-mixer audio level header extension (RFC 6464 §3: 0 is the
// loudest, 127 is silence) and used by the room hub to pick speakers.
// Detector decides whether a leg is talking (energy above an adaptive noise
// floor, with a hangover so that word endings and short pauses are kept),
// so that silent legs can skip Opus encoding altogether.
//
// Nothing here allocates; a Detector is not safe for concurrent use.
package vad

import "math"

// Silence is the lowest level reported, in dBov: RFC 6464 clamps at
// −127 dBov and codes digital silence as 127.
const Silence = -127.0

// Level is the RMS level of pcm in dBov: 0 dBov is a full-scale square
// wave, so a full-scale sine is about −3 dBov (RFC 6464 §3). An empty or
// all-zero frame gives Silence.
func Level(pcm []int16) float64 {
	if len(pcm) == 0 {
		return Silence
	}
	var sum int64
	for _, s := range pcm {
		sum += int64(s) * int64(s)
	}
	if sum == 0 {
		return Silence
	}
	ms := float64(sum) / float64(len(pcm)) / (32768 * 32768)
	return max(10*math.Log10(ms), Silence)
}

// AudioLevel converts a level in dBov to the 7-bit value of the RFC 6464
// header extension: −dBov rounded, 0 (loudest) to 127 (silence).
func AudioLevel(dBov float64) uint8 {
	v := math.Round(-dBov)
	return uint8(min(max(v, 0), 127))
}

// LevelOf converts an RFC 6464 audio level back to dBov.
func LevelOf(audioLevel uint8) float64 {
	return -float64(min(audioLevel, 127))
}
