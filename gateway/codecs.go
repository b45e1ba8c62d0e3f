package gateway

import (
	"slices"

	"github.com/roombridge/roombridge/gateway/bridge"
	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
)

// answerCodecs are what a trunk without trunks[].codecs may offer us:
// legCodecs, then Opus, so that a trunk offering Opus alone gets it.
var answerCodecs = append(slices.Clip(legCodecs), sdp.Opus)

// trunkCodecs is the audio preference of a trunk's calls: its
// trunks[].codecs list (Config.TrunkCodecs), else answerCodecs.
func (g *Gateway) trunkCodecs(t *sip.Trunk) []sdp.Codec {
	if cs := g.listedCodecs(t); len(cs) > 0 {
		return cs
	}
	return answerCodecs
}

// listedCodecs is the trunk's trunks[].codecs, nil when it has none.
func (g *Gateway) listedCodecs(t *sip.Trunk) []sdp.Codec {
	if t == nil {
		return nil
	}
	return g.cfg.TrunkCodecs[t.Name]
}

// ownOffer is p for an offer of ours (a delayed-offer INVITE's 200 OK):
// Opus only when the trunk lists it. Every codec offered costs SDP
// lines, and an offer with video already comes close to the 1300 bytes
// over which a UDP request should not go (RFC 3261 §18.1.1).
func (c *call) ownOffer(p sdp.Policy) sdp.Policy {
	if len(c.g.listedCodecs(c.ic.Trunk())) == 0 {
		p.Codecs = legCodecs
	}
	return p
}

// opusParams is what an Opus peer asked of the audio it receives (its
// fmtp for the negotiated Opus format); zero for other codecs.
func (n *negotiated) opusParams() bridge.OpusParams {
	if n.codec != codec.Opus || n.remote == nil || n.remote.Audio == nil {
		return bridge.OpusParams{}
	}
	if rc, ok := findCodec(n.remote.Audio, n.sdpCodec); ok {
		return bridge.ParseOpusFmtp(rc.Fmtp)
	}
	return bridge.OpusParams{}
}

// offerOpusParams is opusParams for a WebRTC offer, read from its SDP.
func offerOpusParams(offer []byte) bridge.OpusParams {
	s, err := sdp.Parse(offer)
	if err != nil || s.Audio == nil {
		return bridge.OpusParams{}
	}
	if c, ok := findCodec(s.Audio, sdp.Opus); ok {
		return bridge.ParseOpusFmtp(c.Fmtp)
	}
	return bridge.OpusParams{}
}
