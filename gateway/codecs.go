package gateway

import (
	"github.com/roombridge/roombridge/gateway/bridge"
	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
)

// trunkCodecs is the audio preference of a trunk's calls: its
// trunks[].codecs list (Config.TrunkCodecs), else legCodecs.
func (g *Gateway) trunkCodecs(t *sip.Trunk) []sdp.Codec {
	if t != nil {
		if cs, ok := g.cfg.TrunkCodecs[t.Name]; ok && len(cs) > 0 {
			return cs
		}
	}
	return legCodecs
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
