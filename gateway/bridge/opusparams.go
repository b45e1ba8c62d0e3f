package bridge

import (
	"strconv"
	"strings"

	"github.com/roombridge/roombridge/gateway/media/opus"
)

// OpusParams are the receive parameters an Opus peer states in its SDP
// fmtp (RFC 7587 §6.1), which the leg's encoder honours for what it sends.
type OpusParams struct {
	// FEC: the peer decodes in-band FEC (useinbandfec=1), so the encoder
	// adds it, expecting fecLossPercent loss.
	FEC bool
	// MaxPlaybackRate is the highest rate the peer plays (maxplaybackrate);
	// the encoder keeps to its audio bandwidth. 0: no limit.
	MaxPlaybackRate int
}

// fecLossPercent is the loss the encoder of a peer that wants FEC plans
// for: libopus only spends bits on FEC when told to expect loss.
const fecLossPercent = 10

// ParseOpusFmtp reads useinbandfec and maxplaybackrate from an Opus fmtp
// value ("minptime=10;useinbandfec=1"); parameters it does not know, or
// values out of range, are ignored as RFC 7587 §6.1 asks.
func ParseOpusFmtp(fmtp string) OpusParams {
	var p OpusParams
	for kv := range strings.SplitSeq(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "useinbandfec":
			p.FEC = v == "1"
		case "maxplaybackrate":
			if n, err := strconv.Atoi(v); err == nil && n >= 8000 && n <= 48000 {
				p.MaxPlaybackRate = n
			}
		}
	}
	return p
}

// encoderConfig is MixOpus adjusted to what the peer asked for.
func (p OpusParams) encoderConfig() opus.EncoderConfig {
	c := MixOpus
	c.NoFEC = !p.FEC
	if p.FEC {
		c.LossPercent = fecLossPercent
	}
	c.MaxPlaybackRate = p.MaxPlaybackRate
	return c
}
