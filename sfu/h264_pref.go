package sfu

import (
	"slices"

	"github.com/pion/webrtc/v4"
	"github.com/roombridge/roombridge/gateway/room"
)

// A room system takes H.264 only, and the SFU does not transcode: in a
// room with one, browsers must publish H.264. A room system's leg is a
// visible bot whose kind filter asks for video (room.KindFilter); once one
// subscribes, the room prefers H.264 constrained baseline. Web clients
// learn it from "video_codec" in their joined message (or a "video_codec"
// message when a room system joins later) and offer H.264 first; the SFU's
// answers to their "pub" offers list H.264 first too, which is what a
// browser sends.

// wantsH264 marks m as a room system's leg; it is called when the bot
// starts taking tracks with a kind filter that includes video.
func (r *roomState) wantsH264(m *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone || m.hidden || m.needsH264 {
		return
	}
	had := r.preferH264Locked()
	m.needsH264 = true
	if had {
		return
	}
	for _, o := range r.members {
		if o != m {
			o.peer.notify(note{kind: noteVideoCodec, codec: h264Codec.MimeType})
		}
	}
}

// preferH264Locked says whether the room holds a room system; r.mu is held.
func (r *roomState) preferH264Locked() bool {
	for _, m := range r.members {
		if m.needsH264 {
			return true
		}
	}
	return false
}

func (r *roomState) preferH264() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.preferH264Locked()
}

// videoCodecHint is the joined message's video_codec: what the room wants
// browsers to publish, "" when any codec will do.
func (r *roomState) videoCodecHint() string {
	if r.preferH264() {
		return h264Codec.MimeType
	}
	return ""
}

// botWantsVideo says whether a bot's kind filter asks for video explicitly.
func botWantsVideo(kinds []room.TrackKind) bool {
	return kinds != nil && slices.Contains(kinds, room.TrackKindVideo)
}

// preferH264Answer puts H.264 (constrained baseline, packetization-mode 1)
// first on the video transceivers of the "pub" connection before it
// answers, when the room holds a room system. The op loop calls it.
func (p *rtcPeer) preferH264Answer() {
	if !p.m.room.preferH264() {
		return
	}
	// Payload type 0 makes pion answer with the offer's payload types
	// (JSEP); ours would name other formats in the browser's numbering.
	h, v := h264Codec, vp8Codec
	h.PayloadType, v.PayloadType = 0, 0
	for _, tr := range p.pub.GetTransceivers() {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		// A preference the offer lacks is refused whole: a browser that
		// offers H.264 alone keeps it, one without H.264 keeps its own.
		if tr.SetCodecPreferences([]webrtc.RTPCodecParameters{h, v}) != nil {
			_ = tr.SetCodecPreferences([]webrtc.RTPCodecParameters{h})
		}
	}
}
