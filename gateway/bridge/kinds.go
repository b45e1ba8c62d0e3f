package bridge

import (
	"fmt"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/opus"
)

// kind is the stages a codec's leg is composed of: the one place where the
// codec decides anything (doc.go).
type kind struct {
	rate       int // PCM rate of the leg's stages
	maxPayload int // largest packet payload taken in
	maxWire    int // largest payload sent
	compose    func(l *Leg) error
}

// maxPhonePayload is the largest packet a phone leg takes: 60 ms of G.711
// or G.722 (8 bytes per ms); longer ones are refused and counted.
const maxPhonePayload = 480

// opusRate is the PCM rate of an Opus leg's decode (for the mix) and
// encode (of its mix): wideband, the rate of the room mix with such a leg
// in it.
const opusRate = wideRate

// kindOf returns the stages of a leg whose negotiated codec is c.
func kindOf(c codec.ID) (kind, error) {
	switch c {
	case codec.PCMU, codec.PCMA, codec.G722:
		return kind{rate: c.SampleRate(), maxPayload: maxPhonePayload, maxWire: c.FrameBytes(), compose: composePhone}, nil
	case codec.Opus:
		return kind{rate: opusRate, maxPayload: opus.MaxFrameBytes, maxWire: opus.MaxFrameBytes, compose: composeOpus}, nil
	}
	return kind{}, fmt.Errorf("%w: %v", ErrCodec, c)
}

// composePhone: the peer's G.711/G.722 is decoded (PLC for losses), mixed
// as PCM and Opus-encoded at its own rate while someone outside the hub
// listens; the leg hears its N−1 mix in its own codec.
func composePhone(l *Leg) (err error) {
	if l.dec, err = newDecoder(l.cfg.Codec, l.rate); err != nil {
		return err
	}
	if l.enc, err = newEncoder(l.cfg.Codec, l.rate, opus.EncoderConfig{}); err != nil {
		return err
	}
	l.pub, err = newEncodePublisher(l.rate, PhoneOpus)
	return err
}

// composeOpus: the peer's Opus goes to the room untouched and, decoded
// once (with FEC and concealment for losses), into the mix for the
// phones; the leg hears its N−1 mix encoded to Opus.
func composeOpus(l *Leg) (err error) {
	if l.dec, err = newDecoder(codec.Opus, l.rate); err != nil {
		return err
	}
	l.fec = make([]byte, opus.MaxFrameBytes)
	if l.enc, err = newEncoder(codec.Opus, l.rate, l.cfg.Opus.encoderConfig()); err != nil {
		return err
	}
	l.pub = passthroughPublisher{}
	return nil
}

// Supports reports whether NewLeg can build a leg for codec c.
func Supports(c codec.ID) bool {
	_, err := kindOf(c)
	return err == nil
}
