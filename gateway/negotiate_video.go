package gateway

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
)

// videoNeg is the outcome of offer/answer for a room system's main video
// stream: H.264 in one packetization mode, the keyframe requests it
// understands, and where its RTP and RTCP go.
type videoNeg struct {
	// recvPT is the payload type of our SDP, which the room system sends
	// with; sendPT the room system's own for the same format (RFC 3264
	// §5.1).
	recvPT, sendPT uint8
	mode           int
	// profile is the answered profile-level-id's profile_idc and
	// profile-iop, and level its level, for the room's track.
	profileIDC, profileIOP byte
	level                  sdp.H264Level
	// pli and fir are the rtcp-fb kinds both sides agreed on (RFC 4585
	// "nack pli", RFC 5104 "ccm fir"); with neither, keyframes are asked
	// for with SIP INFO picture_fast_update (RFC 5168).
	pli, fir bool
	// tmmbr and remb are the bit-rate feedback agreed on (RFC 5104 "ccm
	// tmmbr", "goog-remb"): how the room system is asked to send less.
	tmmbr, remb bool
	// maxBitrate is the room system's b=TIAS (or b=AS) for its video, else
	// for its session, in bit/s; 0 when it states none.
	maxBitrate int
	srtp       *rtp.SRTPKeys
	// remoteRTP and remoteRTCP are the room system's addresses from SDP.
	remoteRTP, remoteRTCP netip.AddrPort
	rtcpMux               bool
	// send and recv are whether video flows to the room system and from
	// it, after both directions (and a hold from either side) are
	// applied.
	send, recv bool
	// limits is what the room system decodes (its fmtp: level, max-fs,
	// max-mbps), and sprop its out-of-band SPS/PPS, if any.
	limits sdp.H264Limits
	sprop  string
	// label is the room system's a=label of the stream (RFC 4574), which
	// SIP INFO media_control names streams by (RFC 5168 stream_id).
	label string
}

// videoContent tells a room system's two video streams apart (RFC 4796
// a=content): the main one (its camera, and the room's speaker towards
// it) and the content one (a=content:slides: a shared screen both ways).
type videoContent uint8

// The streams, in the order of callVideo.streams.
const (
	contentMain videoContent = iota
	contentSlides
	numContents
)

// String returns "main" or "slides", as in a=content.
func (k videoContent) String() string {
	if k == contentSlides {
		return "slides"
	}
	return "main"
}

// of returns the stream of s that k names (nil when s has none).
func (k videoContent) of(s *sdp.Session) *sdp.Media {
	if s == nil {
		return nil
	}
	if k == contentSlides {
		return s.Slides
	}
	return s.Video
}

// source is what the room track of the stream shows.
func (k videoContent) source() room.TrackSource {
	if k == contentSlides {
		return room.TrackSourceScreen
	}
	return room.TrackSourceCamera
}

// settleVideo derives the parameters of the video leg for stream k from
// a negotiated pair, or nil when the pair has no such stream (not
// offered, or rejected with port 0). weOffered says whether local is the
// offer (a delayed-offer INVITE) or the answer.
func settleVideo(local, remote *sdp.Session, weOffered bool, k videoContent) (*videoNeg, error) {
	lv, rv := k.of(local), k.of(remote)
	if lv == nil || rv == nil || lv.Rejected() || rv.Rejected() || len(lv.Codecs) == 0 || len(rv.Codecs) == 0 {
		return nil, nil
	}
	offerM, answerM := rv, lv
	if weOffered {
		offerM, answerM = lv, rv
	}
	answered := answerM.Codecs[0]
	params, ok := sdp.ParseH264Fmtp(answered.Fmtp)
	if !ok || !strings.EqualFold(answered.Name, "H264") || params.PacketizationMode > 1 {
		return nil, fmt.Errorf("%w: video format %s %q", sip.ErrNoCommonCodec, answered.Name, answered.Fmtp)
	}
	n := &videoNeg{
		mode:       params.PacketizationMode,
		profileIDC: params.ProfileIDC, profileIOP: params.ProfileIOP, level: params.Level,
		remoteRTP:  remote.RTPAddr(rv),
		remoteRTCP: remote.RTCPAddr(rv),
		rtcpMux:    lv.RTCPMux && rv.RTCPMux,
	}
	for _, a := range rv.Attributes {
		if a.Key == "label" {
			n.label = strings.TrimSpace(a.Value)
		}
	}
	// Payload types: ours for what we receive, theirs for what we send,
	// matched by format (the same H.264 packetization mode).
	lc, ok1 := sameH264(lv, params.PacketizationMode)
	rc, ok2 := sameH264(rv, params.PacketizationMode)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: H.264 mode %d not on both sides", sip.ErrNotAcceptable, params.PacketizationMode)
	}
	n.recvPT, n.sendPT = lc.PT, rc.PT
	if theirs, ok := sdp.ParseH264Fmtp(rc.Fmtp); ok {
		n.limits = theirs.Limits()
		n.sprop = theirs.SpropParameterSets
	}
	for _, fb := range answerM.RTCPFb {
		switch {
		case fb.Type == "nack" && fb.Param == "pli":
			n.pli = true
		case fb.Type == "ccm" && fb.Param == "fir":
			n.fir = true
		case fb.Type == "ccm" && fb.Param == "tmmbr":
			n.tmmbr = true
		case fb.Type == "goog-remb" && fb.Param == "":
			n.remb = true
		}
	}
	if n.maxBitrate = rv.Bitrate; n.maxBitrate == 0 {
		n.maxBitrate = remote.Bitrate
	}
	n.send = lv.Direction.Sends() && rv.Direction.Receives() && !remote.OnHold(rv)
	n.recv = lv.Direction.Receives() && rv.Direction.Sends()
	var err error
	if n.srtp, err = srtpKeys(offerM, answerM, weOffered); err != nil {
		return nil, err
	}
	return n, nil
}

// sameH264 finds the stream's H.264 format in packetization mode mode.
func sameH264(m *sdp.Media, mode int) (sdp.Codec, bool) {
	for _, c := range m.Codecs {
		if p, ok := sdp.ParseH264Fmtp(c.Fmtp); ok && strings.EqualFold(c.Name, "H264") && p.PacketizationMode == mode {
			return c, true
		}
	}
	return sdp.Codec{}, false
}

// fmtpLine is the fmtp of the room track that carries the room system's
// picture: its profile and level, in mode 1, which is what the backends
// packetize with.
func (n *videoNeg) fmtpLine() string {
	return fmt.Sprintf("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=%02x%02x%02x",
		n.profileIDC, n.profileIOP, byte(n.level))
}

// videoEnabled reports whether calls from ic get video: the trunk's
// trunks[].video, else sip.video.
func (g *Gateway) videoEnabled(ic *sip.IncomingCall) bool {
	if t := ic.Trunk(); t != nil {
		if on, ok := g.cfg.TrunkVideo[t.Name]; ok {
			return on
		}
	}
	return g.cfg.Video
}

// offersVideo reports whether an SDP offer has a video stream we could
// answer; an unreadable offer is refused later by the audio path.
func offersVideo(offer []byte) bool {
	o, err := sdp.Parse(offer)
	return err == nil && o.Video != nil && !o.Video.Rejected()
}

// offersBFCP reports whether an SDP offer has a UDP/BFCP line (RFC
// 8856), the floor control of its content stream.
func offersBFCP(offer []byte) bool {
	o, err := sdp.Parse(offer)
	return err == nil && o.BFCP != nil && o.BFCP.Proto == "UDP/BFCP"
}

// offersSlides reports whether an SDP offer has a content stream
// (a=content:slides) next to its video.
func offersSlides(offer []byte) bool {
	o, err := sdp.Parse(offer)
	return err == nil && o.Video != nil && !o.Video.Rejected() && o.Slides != nil && !o.Slides.Rejected()
}
