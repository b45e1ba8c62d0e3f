package bridge

import (
	"fmt"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/g711"
	"github.com/roombridge/roombridge/gateway/media/g722"
	"github.com/roombridge/roombridge/gateway/media/opus"
	"github.com/roombridge/roombridge/gateway/media/plc"
)

// decoder turns a leg's payloads into PCM at the leg's rate, one 20 ms
// frame at a time, and conceals the frames that did not arrive.
type decoder interface {
	// decode decodes payload into pcm (one frame) and reports whether it
	// could; a short payload leaves the rest of the frame silent, a longer
	// one is cut to the frame.
	decode(pcm []int16, payload []byte) bool
	// conceal fills pcm for a lost frame. next is the payload that follows
	// the loss when it is already at hand (Opus recovers the lost frame
	// from its in-band FEC), else nil.
	conceal(pcm []int16, next []byte)
}

// encoder turns one frame of PCM at the leg's rate into a payload.
type encoder interface {
	encode(dst []byte, pcm []int16) (int, error)
}

// newDecoder makes the decoder of codec c producing PCM at rate.
func newDecoder(c codec.ID, rate int) (decoder, error) {
	switch c {
	case codec.PCMU:
		return newPLCDecoder(rate, g711.DecodeUlaw)
	case codec.PCMA:
		return newPLCDecoder(rate, g711.DecodeAlaw)
	case codec.G722:
		return newPLCDecoder(rate, g722.NewDecoder().Decode)
	case codec.Opus:
		d, err := opus.NewDecoder(rate, 1)
		if err != nil {
			return nil, err
		}
		return opusDecoder{d}, nil
	}
	return nil, fmt.Errorf("%w: %v", ErrCodec, c)
}

// newEncoder makes the encoder of codec c taking PCM at rate; cfg tunes
// Opus.
func newEncoder(c codec.ID, rate int, cfg opus.EncoderConfig) (encoder, error) {
	switch c {
	case codec.PCMU:
		return encodeFunc(g711.EncodeUlaw), nil
	case codec.PCMA:
		return encodeFunc(g711.EncodeAlaw), nil
	case codec.G722:
		return encodeFunc(g722.NewEncoder().Encode), nil
	case codec.Opus:
		e, err := opus.NewEncoder(rate, 1, cfg)
		if err != nil {
			return nil, err
		}
		return opusEncoder{e}, nil
	}
	return nil, fmt.Errorf("%w: %v", ErrCodec, c)
}

// encodeFunc adapts the sample codecs' encode functions, which cannot fail.
type encodeFunc func(dst []byte, pcm []int16) int

func (f encodeFunc) encode(dst []byte, pcm []int16) (int, error) { return f(dst, pcm), nil }

// plcDecoder is a sample codec (G.711, G.722) with packet-loss
// concealment that repeats the last pitch period (gateway/media/plc).
type plcDecoder struct {
	dec func(dst []int16, src []byte) int
	plc *plc.Concealer
}

func newPLCDecoder(rate int, dec func(dst []int16, src []byte) int) (*plcDecoder, error) {
	c, err := plc.New(rate)
	if err != nil {
		return nil, err
	}
	return &plcDecoder{dec: dec, plc: c}, nil
}

func (d *plcDecoder) decode(pcm []int16, payload []byte) bool {
	n := d.dec(pcm, payload)
	clear(pcm[n:])
	d.plc.Good(pcm)
	return true
}

func (d *plcDecoder) conceal(pcm []int16, _ []byte) { d.plc.Conceal(pcm) }

// opusDecoder decodes 20 ms Opus packets; longer ones fail and are
// concealed (legs negotiate ptime 20).
type opusDecoder struct{ d *opus.Decoder }

func (d opusDecoder) decode(pcm []int16, payload []byte) bool {
	n, err := d.d.Decode(payload, pcm)
	if err != nil {
		return false
	}
	clear(pcm[n:])
	return true
}

func (d opusDecoder) conceal(pcm []int16, next []byte) {
	if d.d.DecodeLost(next, pcm) != nil {
		clear(pcm)
	}
}

type opusEncoder struct{ e *opus.Encoder }

func (e opusEncoder) encode(dst []byte, pcm []int16) (int, error) { return e.e.Encode(pcm, dst) }
