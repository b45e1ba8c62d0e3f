package livekit

import (
	"crypto/rand"
	"strings"
	"sync/atomic"

	lkproto "github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/roombridge/roombridge/gateway/room"
)

// leanTrack is a lean participant's local track: the webrtc.TrackLocal
// its PeerConnection binds, and the rtpSink its localTrack writes to. It
// stamps the binding's SSRC and payload type on the writer's packet and
// hands it to the PeerConnection's stream (interceptors, SRTP, the
// shared socket): no copy, no allocation.
type leanTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecCapability
	// levelID receives the audio level extension's negotiated id at bind
	// (the localTrack's own, which its writer reads).
	levelID *atomic.Uint32
	bound   atomic.Pointer[leanBinding]
}

// leanBinding is what a bind negotiated.
type leanBinding struct {
	ssrc uint32
	pt   uint8
	w    webrtc.TrackLocalWriter
}

var (
	_ webrtc.TrackLocal = (*leanTrack)(nil)
	_ rtpSink           = (*leanTrack)(nil)
)

func newLeanTrack(kind room.TrackKind, c webrtc.RTPCodecCapability, levelID *atomic.Uint32) *leanTrack {
	t := &leanTrack{id: "TR_" + rand.Text()[:12], streamID: "roombridge", codec: c, levelID: levelID, kind: webrtc.RTPCodecTypeAudio}
	if kind == room.TrackKindVideo {
		t.kind = webrtc.RTPCodecTypeVideo
	}
	return t
}

// Bind implements webrtc.TrackLocal: it takes the negotiated codec of the
// track's MIME type (with the same fmtp if there is one).
func (t *leanTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var pick *webrtc.RTPCodecParameters
	for i, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, t.codec.MimeType) {
			continue
		}
		if pick == nil || c.SDPFmtpLine == t.codec.SDPFmtpLine {
			pick = &ctx.CodecParameters()[i]
		}
	}
	if pick == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	for _, e := range ctx.HeaderExtensions() {
		if e.URI == sdp.AudioLevelURI && e.ID > 0 && e.ID < 15 {
			t.levelID.Store(uint32(e.ID))
		}
	}
	t.bound.Store(&leanBinding{ssrc: uint32(ctx.SSRC()), pt: uint8(pick.PayloadType), w: ctx.WriteStream()})
	return *pick, nil
}

// Unbind implements webrtc.TrackLocal.
func (t *leanTrack) Unbind(webrtc.TrackLocalContext) error {
	t.bound.Store(nil)
	return nil
}

// ID implements webrtc.TrackLocal: the cid LiveKit knows the track by.
func (t *leanTrack) ID() string { return t.id }

// RID implements webrtc.TrackLocal: no simulcast.
func (t *leanTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (t *leanTrack) StreamID() string { return t.streamID }

// Kind implements webrtc.TrackLocal.
func (t *leanTrack) Kind() webrtc.RTPCodecType { return t.kind }

// WriteRTP implements rtpSink; packets before the bind are dropped.
func (t *leanTrack) WriteRTP(p *rtp.Packet, _ *lksdk.SampleWriteOptions) error {
	b := t.bound.Load()
	if b == nil {
		return nil
	}
	p.SSRC = b.ssrc
	p.PayloadType = b.pt
	_, err := b.w.WriteRTP(&p.Header, p.Payload)
	return err
}

// leanPub is a lean participant's publication of one track.
type leanPub struct {
	c     *leanClient
	sid   string
	kind  room.TrackKind
	muted atomic.Bool
}

var _ publication = (*leanPub)(nil)

// SID implements publication.
func (pub *leanPub) SID() string { return pub.sid }

// IsMuted implements publication.
func (pub *leanPub) IsMuted() bool { return pub.muted.Load() }

// SetMuted implements publication: LiveKit is told, and stops forwarding.
func (pub *leanPub) SetMuted(muted bool) {
	if pub.muted.Swap(muted) == muted {
		return
	}
	err := pub.c.send(&lkproto.SignalRequest{Message: &lkproto.SignalRequest_Mute{
		Mute: &lkproto.MuteTrackRequest{Sid: pub.sid, Muted: muted},
	}})
	if err != nil {
		// The connection is ending; the participant ends with it.
		pub.c.p.log.Debug("mute not sent", "track", pub.sid, "err", err)
	}
}

// remoteMuted: LiveKit muted or unmuted the track (the room API); it
// says whether that changed anything.
func (pub *leanPub) remoteMuted(muted bool) bool { return pub.muted.Swap(muted) != muted }
