// Package opus is the project's only door to libopus (cgo, through
// github.com/hraban/opus). Keeping the C binding in one small package means
// everything else stays pure Go, and the encoder settings that matter for a
// gateway (complexity, DTX, FEC) are decided in one place.
package opus

import (
	"errors"
	"fmt"

	hopus "github.com/hraban/opus"
)

// MaxFrameBytes is enough for any Opus frame we produce or accept (RFC 6716
// caps a packet at 1275 bytes per frame).
const MaxFrameBytes = 1500

// ErrBadParams is returned for sample rates or channel counts libopus does
// not accept.
var ErrBadParams = errors.New("opus: bad parameters")

// EncoderConfig tunes an encoder. The zero value is a VoIP encoder at
// complexity 0 with in-band FEC allowed and libopus' own bitrate.
//
// Complexity buys little on telephone speech: measured on the speech
// fixture (gateway/bridge TestOpusSettings), complexity 0 costs a fifth of
// complexity 10 at 8 kHz, for a log-spectral distance 0.2 dB worse at the
// same bitrate; the bitrate matters far more. The gateway's choices are in
// gateway/bridge (PhoneOpus, MixOpus).
type EncoderConfig struct {
	Complexity int // 0..10, libopus' scale
	Bitrate    int // bits/s; 0 means libopus' automatic choice
	DTX        bool
	NoFEC      bool
	// LossPercent tells the encoder how much loss to expect so FEC has room.
	LossPercent int
	// MaxPlaybackRate is the receiver's maxplaybackrate (RFC 7587 §6.1):
	// the encoder keeps to the audio bandwidth it can play; 0 sets no
	// limit.
	MaxPlaybackRate int
}

// Encoder encodes 16-bit PCM to Opus. It is not safe for concurrent use.
type Encoder struct {
	enc      *hopus.Encoder
	rate     int
	channels int
}

// NewEncoder makes an encoder for PCM at rate Hz (8000, 12000, 16000, 24000
// or 48000) with the given channel count. Input at 8 or 16 kHz is encoded
// natively: no resampling is needed for G.711 or G.722 legs.
func NewEncoder(rate, channels int, cfg EncoderConfig) (*Encoder, error) {
	if !validRate(rate) || channels < 1 || channels > 2 {
		return nil, fmt.Errorf("%w: rate %d channels %d", ErrBadParams, rate, channels)
	}
	enc, err := hopus.NewEncoder(rate, channels, hopus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("opus: new encoder: %w", err)
	}
	if err := enc.SetComplexity(cfg.Complexity); err != nil {
		return nil, fmt.Errorf("opus: complexity: %w", err)
	}
	if cfg.Bitrate > 0 {
		if err := enc.SetBitrate(cfg.Bitrate); err != nil {
			return nil, fmt.Errorf("opus: bitrate: %w", err)
		}
	}
	if err := enc.SetDTX(cfg.DTX); err != nil {
		return nil, fmt.Errorf("opus: dtx: %w", err)
	}
	if err := enc.SetInBandFEC(!cfg.NoFEC); err != nil {
		return nil, fmt.Errorf("opus: fec: %w", err)
	}
	if cfg.LossPercent > 0 {
		if err := enc.SetPacketLossPerc(cfg.LossPercent); err != nil {
			return nil, fmt.Errorf("opus: loss: %w", err)
		}
	}
	if cfg.MaxPlaybackRate > 0 {
		if err := enc.SetMaxBandwidth(maxBandwidth(cfg.MaxPlaybackRate)); err != nil {
			return nil, fmt.Errorf("opus: max bandwidth: %w", err)
		}
	}
	return &Encoder{enc: enc, rate: rate, channels: channels}, nil
}

// CheckEncoder reports whether NewEncoder would take these parameters,
// without making an encoder (about 50 KiB of libopus state): for callers
// that make theirs only once it is needed.
func CheckEncoder(rate, channels int, cfg EncoderConfig) error {
	switch {
	case !validRate(rate) || channels < 1 || channels > 2:
		return fmt.Errorf("%w: rate %d channels %d", ErrBadParams, rate, channels)
	case cfg.Complexity < 0 || cfg.Complexity > 10:
		return fmt.Errorf("%w: complexity %d", ErrBadParams, cfg.Complexity)
	case cfg.Bitrate != 0 && (cfg.Bitrate < 500 || cfg.Bitrate > 512000):
		return fmt.Errorf("%w: bitrate %d", ErrBadParams, cfg.Bitrate)
	case cfg.LossPercent < 0 || cfg.LossPercent > 100:
		return fmt.Errorf("%w: loss %d %%", ErrBadParams, cfg.LossPercent)
	case cfg.MaxPlaybackRate < 0:
		return fmt.Errorf("%w: max playback rate %d", ErrBadParams, cfg.MaxPlaybackRate)
	}
	return nil
}

// maxBandwidth is the widest Opus audio bandwidth a receiver playing at
// rate Hz can use (RFC 7587 §6.1, RFC 6716 §2: 4, 6, 8, 12, 20 kHz).
func maxBandwidth(rate int) hopus.Bandwidth {
	switch {
	case rate <= 8000:
		return hopus.Narrowband
	case rate <= 12000:
		return hopus.Mediumband
	case rate <= 16000:
		return hopus.Wideband
	case rate <= 24000:
		return hopus.SuperWideband
	}
	return hopus.Fullband
}

// Encode encodes one frame of interleaved PCM (for 20 ms at 8 kHz mono, 160
// samples) into out and returns the number of bytes written.
func (e *Encoder) Encode(pcm []int16, out []byte) (int, error) {
	n, err := e.enc.Encode(pcm, out)
	if err != nil {
		return 0, fmt.Errorf("opus: encode: %w", err)
	}
	return n, nil
}

// SampleRate is the PCM rate the encoder takes.
func (e *Encoder) SampleRate() int { return e.rate }

// Decoder decodes Opus to 16-bit PCM at a chosen rate. It is not safe for
// concurrent use.
type Decoder struct {
	dec      *hopus.Decoder
	rate     int
	channels int
}

// NewDecoder makes a decoder producing PCM at rate Hz with channels
// channels; libopus resamples internally, so a 48 kHz stream can be decoded
// straight to 8 kHz for a G.711 leg.
func NewDecoder(rate, channels int) (*Decoder, error) {
	if !validRate(rate) || channels < 1 || channels > 2 {
		return nil, fmt.Errorf("%w: rate %d channels %d", ErrBadParams, rate, channels)
	}
	dec, err := hopus.NewDecoder(rate, channels)
	if err != nil {
		return nil, fmt.Errorf("opus: new decoder: %w", err)
	}
	return &Decoder{dec: dec, rate: rate, channels: channels}, nil
}

// Decode decodes one Opus packet into pcm and returns the samples per
// channel written; it never writes past len(pcm).
func (d *Decoder) Decode(packet []byte, pcm []int16) (int, error) {
	n, err := d.dec.Decode(packet, pcm[:len(pcm):len(pcm)])
	if err != nil {
		return 0, fmt.Errorf("opus: decode: %w", err)
	}
	return n, nil
}

// DecodeLost conceals one lost frame: with the next packet at hand it uses
// that packet's in-band FEC, otherwise libopus' packet-loss concealment.
// pcm must be exactly one frame long.
func (d *Decoder) DecodeLost(next []byte, pcm []int16) error {
	// hraban/opus takes the frame size from cap(pcm), not len(pcm): a
	// frame cut from a longer buffer would ask libopus for the whole rest
	// of it, which FEC refuses (it falls back to concealment) and
	// concealment fills.
	pcm = pcm[:len(pcm):len(pcm)]
	var err error
	if len(next) > 0 {
		err = d.dec.DecodeFEC(next, pcm)
	} else {
		err = d.dec.DecodePLC(pcm)
	}
	if err != nil {
		return fmt.Errorf("opus: conceal: %w", err)
	}
	return nil
}

// SampleRate is the PCM rate the decoder produces.
func (d *Decoder) SampleRate() int { return d.rate }

func validRate(r int) bool {
	switch r {
	case 8000, 12000, 16000, 24000, 48000:
		return true
	}
	return false
}
