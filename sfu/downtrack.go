package sfu

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/roombridge/roombridge/gateway/room"
)

// downTrack is one published track as sent to one WebRTC subscriber on its
// "sub" PeerConnection. It implements webrtc.TrackLocal itself rather than
// using TrackLocalStaticRTP so that the SSRC, payload type, sequence number
// and audio-level extension id are rewritten into a header it owns, with no
// allocation and no lock per packet.
type downTrack struct {
	src  *pubTrack
	peer *rtcPeer

	// bound is set by Bind once the subscriber's answer is applied.
	bound atomic.Pointer[binding]

	// Forwarder state: touched only by the source's single writer.
	started bool
	epoch   uint32
	offset  uint16
	lastOut uint16

	// mapping is epoch<<16 | offset, published for the NACK handler.
	mapping atomic.Uint64
	rtx     retransmitter

	// Owned by the peer's signalling loop.
	sender *webrtc.RTPSender
}

// binding is what negotiation decided for one downTrack.
type binding struct {
	ssrc    uint32
	pt      uint8
	levelID uint8
	w       webrtc.TrackLocalWriter
}

func newDownTrack(src *pubTrack, p *rtcPeer) *downTrack {
	return &downTrack{src: src, peer: p}
}

// ID, StreamID, RID and Kind implement webrtc.TrackLocal; the stream id is
// the publisher's participant id so that clients group tracks by person.
func (d *downTrack) ID() string       { return d.src.id }
func (d *downTrack) StreamID() string { return d.src.owner.id }
func (d *downTrack) RID() string      { return "" }
func (d *downTrack) Kind() webrtc.RTPCodecType {
	if d.src.kind == room.TrackKindVideo {
		return webrtc.RTPCodecTypeVideo
	}
	return webrtc.RTPCodecTypeAudio
}

// codecParameters is the codec the subscriber is offered for this track:
// the publisher's, since the SFU does not transcode.
func (d *downTrack) codecParameters() webrtc.RTPCodecParameters {
	switch {
	case d.src.codec.isVP8():
		return vp8Codec
	case d.src.codec.isH264():
		return h264Codec
	default:
		return opusCodec
	}
}

// Bind implements webrtc.TrackLocal.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var chosen *webrtc.RTPCodecParameters
	for i, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, d.src.codec.MimeType) {
			continue
		}
		if d.src.codec.isH264() && !strings.Contains(c.SDPFmtpLine, "packetization-mode=1") {
			continue
		}
		chosen = &ctx.CodecParameters()[i]
		break
	}
	if chosen == nil {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: subscriber has no %s", room.ErrUnsupportedCodec, d.src.codec.MimeType)
	}
	b := &binding{ssrc: uint32(ctx.SSRC()), pt: uint8(chosen.PayloadType), w: ctx.WriteStream()}
	for _, e := range ctx.HeaderExtensions() {
		if e.URI == sdp.AudioLevelURI && e.ID > 0 && e.ID < 15 {
			b.levelID = uint8(e.ID)
		}
	}
	d.bound.Store(b)
	// A new video subscriber can only start decoding at a keyframe; on a
	// sub connection still setting up, it is asked for once connected.
	if d.peer.subUp.Load() {
		d.src.keyframe(false)
	}
	return *chosen, nil
}

// Unbind implements webrtc.TrackLocal.
func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(nil)
	return nil
}

// writePacket implements subscriber. Sequence numbers are shifted so that a
// deliberate interruption (mute) leaves no gap for the receiver to NACK,
// while real loss stays visible. The packet is numbered here, on the
// forwarder's goroutine, and queued for the subscriber's writer: nothing
// here waits for the subscriber's network.
func (d *downTrack) writePacket(p *fwdPacket) {
	b := d.bound.Load()
	if b == nil {
		return
	}
	if ep := d.src.epoch.Load(); !d.started || ep != d.epoch {
		if d.started {
			d.offset = d.lastOut + 1 - p.hdr.SequenceNumber
		}
		d.started, d.epoch = true, ep
		d.mapping.Store(uint64(ep)<<16 | uint64(d.offset))
	}
	d.lastOut = p.hdr.SequenceNumber + d.offset
	d.peer.downOut.push(outPacket{
		d: d, b: b, seq: d.lastOut, ts: p.hdr.Timestamp, marker: p.hdr.Marker,
		level: p.level, hasLevel: p.hasLevel,
	}, p.payload)
}

// trackEnded implements subscriber: the subscriber's loop removes the
// transceiver and renegotiates.
// listens: a WebRTC subscriber is a person.
func (d *downTrack) listens() bool { return true }

func (d *downTrack) trackEnded() {
	d.peer.post(func() { d.peer.removeDown(d.src) })
}

// readRTCP reads the subscriber's RTCP for this track until the sender
// stops; reading also drives the NACK responder and report interceptors.
// Picture loss and full intra requests become keyframe requests.
func (d *downTrack) readRTCP(sender *webrtc.RTPSender) {
	defer d.peer.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.src.keyframe(false)
			case *rtcp.TransportLayerNack:
				d.onNack(pkt)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				d.onREMB(pkt)
			}
		}
	}
}

// onREMB takes a subscriber's receive estimate (goog-remb) as its limit on
// a track of the gateway's participants (see pubTrack.rembCaps). A REMB
// estimates everything the subscriber receives over the SSRCs it lists,
// so each of them is given an equal share.
func (d *downTrack) onREMB(p *rtcp.ReceiverEstimatedMaximumBitrate) {
	if !d.src.rembCaps || d.src.caps == nil || len(p.SSRCs) == 0 || p.Bitrate <= 0 {
		return
	}
	d.src.caps.set(d, uint64(p.Bitrate)/uint64(len(p.SSRCs)))
}

// subConnected records the sub connection's state; once connected, its
// video subscriptions ask their sources for a keyframe, which the ones
// bound while it was setting up did not.
func (p *rtcPeer) subConnected(up bool) {
	if p.subUp.Swap(up) == up || !up {
		return
	}
	p.post(func() {
		for t, d := range p.downs {
			if t.kind == room.TrackKindVideo && d.bound.Load() != nil {
				t.keyframe(false)
			}
		}
	})
}
