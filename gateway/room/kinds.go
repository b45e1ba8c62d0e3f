package room

// TrackKind is the media kind of a track.
type TrackKind int

// Track kinds. The zero value is TrackKindUnknown so that a forgotten field is
// visible rather than silently meaning "audio".
const (
	TrackKindUnknown TrackKind = iota
	TrackKindAudio
	TrackKindVideo
)

// String returns "audio", "video" or "unknown".
func (k TrackKind) String() string {
	switch k {
	case TrackKindAudio:
		return "audio"
	case TrackKindVideo:
		return "video"
	default:
		return "unknown"
	}
}

// ParseTrackKind is the inverse of String; it returns TrackKindUnknown for
// anything it does not know.
func ParseTrackKind(s string) TrackKind {
	switch s {
	case "audio":
		return TrackKindAudio
	case "video":
		return TrackKindVideo
	default:
		return TrackKindUnknown
	}
}

// ParticipantKind says how a participant reached the room.
type ParticipantKind int

// Participant kinds, as reported by the room API ("webrtc", "sip", "bot").
const (
	ParticipantKindUnknown ParticipantKind = iota
	// ParticipantKindWebRTC is a browser or any WebRTC client of the SFU.
	ParticipantKindWebRTC
	// ParticipantKindSIP is a SIP leg bridged by the gateway.
	ParticipantKindSIP
	// ParticipantKindBot is any other in-process participant (mixers, recorders).
	ParticipantKindBot
)

// String returns the kind as the API spells it.
func (k ParticipantKind) String() string {
	switch k {
	case ParticipantKindWebRTC:
		return "webrtc"
	case ParticipantKindSIP:
		return "sip"
	case ParticipantKindBot:
		return "bot"
	default:
		return "unknown"
	}
}

// EventType is the kind of a room Event.
type EventType int

// Event types delivered on Participant.Events.
const (
	EventUnknown EventType = iota
	// EventParticipantJoined: another participant joined (Participant set).
	EventParticipantJoined
	// EventParticipantLeft: another participant left (Participant set).
	EventParticipantLeft
	// EventActiveSpeakers: the loudest participants changed (Speakers set,
	// loudest first).
	EventActiveSpeakers
	// EventMuted: this participant's track was muted or unmuted by someone
	// else, for example through the room API (Kind and Muted set).
	EventMuted
	// EventRemoved: this participant was removed (kicked, room deleted,
	// backend shut down); Reason says why. No events follow it.
	EventRemoved
	// EventKeyframeRequested: a subscriber asked for a keyframe of this
	// participant's video track (TrackID set). A SIP leg turns it into an
	// RTCP PLI/FIR or a SIP INFO picture_fast_update.
	EventKeyframeRequested
	// EventPinned: the room's pinned participant changed (Pinned set, ""
	// when the pin was removed); see Pinner.
	EventPinned
	// EventVideoBitrate: the receivers of this participant's video track
	// (TrackID set) can take at most Bitrate bit/s, 0 when none limits
	// it any more; see VideoBitrateCapper. A SIP leg turns it into an
	// RTCP TMMBR or REMB to the room system.
	EventVideoBitrate
)

// String names the event type for logs.
func (t EventType) String() string {
	switch t {
	case EventParticipantJoined:
		return "participant_joined"
	case EventParticipantLeft:
		return "participant_left"
	case EventActiveSpeakers:
		return "active_speakers"
	case EventMuted:
		return "muted"
	case EventRemoved:
		return "removed"
	case EventKeyframeRequested:
		return "keyframe_requested"
	case EventPinned:
		return "pinned"
	case EventVideoBitrate:
		return "video_bitrate"
	default:
		return "unknown"
	}
}
