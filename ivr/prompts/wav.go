package prompts

import (
	"fmt"

	"github.com/roombridge/roombridge/gateway/media/wav"
)

// DecodeWAV parses a mono 16-bit PCM WAV file (see wav.Decode) and checks
// that it is at a rate prompts come in: 8000, 16000 or 48000 Hz. Every
// problem is an error wrapping ErrFormat.
func DecodeWAV(b []byte) (samples []int16, rate int, err error) {
	samples, rate, err = wav.Decode(b)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	switch rate {
	case 8000, 16000, 48000:
		return samples, rate, nil
	}
	return nil, 0, fmt.Errorf("%w: %d Hz, want 8000, 16000 or 48000", ErrFormat, rate)
}

// EncodeWAV returns samples as a mono 16-bit PCM WAV file at rate Hz, the
// format DecodeWAV and the prompts folder take.
func EncodeWAV(samples []int16, rate int) []byte { return wav.Encode(samples, rate) }
