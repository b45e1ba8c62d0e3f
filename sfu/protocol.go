package sfu

import "github.com/pion/webrtc/v4"

// The web client's signalling protocol: JSON text messages over a WebSocket
// at /v1/rtc. Each participant uses two PeerConnections so that offers never
// collide: on the "pub" connection the client offers (it publishes its
// microphone and camera); on the "sub" connection the server offers (it adds
// and removes other participants' tracks and renegotiates as it needs).
// A remote track's MediaStream id is the publishing participant's id, so the
// client can put each track under the right person.
//
// Client → server:
//
//	{"type":"join","room":"demo","name":"alice","token":"…","pin":"…"}   first message; token or pin as the room needs
//	{"type":"offer","pc":"pub","sdp":"…","sources":{"<track id>":"screen"}}  publish (again, after adding/removing tracks); sources: which video tracks are screen shares (others are cameras)
//	{"type":"answer","pc":"sub","sdp":"…"}                      answer to the server's offer
//	{"type":"candidate","pc":"pub"|"sub","candidate":{…}}       trickle ICE (RTCIceCandidateInit)
//	{"type":"mute","kind":"audio"|"video","muted":true}          self mute
//	{"type":"leave"}
//
// Server → client:
//
//	{"type":"joined","participant":{…self…},"participants":[{…}],"ice_servers":[…],"dialin":{…}}
//	{"type":"answer","pc":"pub","sdp":"…"}
//	{"type":"offer","pc":"sub","sdp":"…"}
//	{"type":"candidate","pc":"pub"|"sub","candidate":{…}}
//	{"type":"participant_joined","participant":{…}}
//	{"type":"participant_updated","participant":{…}}           tracks or mute state changed
//	{"type":"participant_left","participant":{"id":"…"}}
//	{"type":"active_speakers","speakers":[{"id":"…","level":0.7}]}  loudest first, level 0..1
//	{"type":"muted","kind":"audio","muted":true}                you were muted by the room API
//	{"type":"pinned","participant":{"id":"…"}}                 the room API pinned someone (no participant: unpinned)
//	{"type":"video_codec","video_codec":"video/H264"}          a room system joined: publish H.264 (the joined message carries video_codec too)
//	{"type":"removed","reason":"kicked"}                        then the server closes the socket
//	{"type":"error","error":"…","reason":"pin_required"}      then the server closes the socket; reason: pin_required, pin_wrong, locked_out, token_…, no_room
//
// Empty lists are omitted (a "joined" in an empty room has no
// "participants"; an "active_speakers" with nobody speaking has no
// "speakers"): clients treat a missing list as empty. A "muted" with
// muted:false from the room API only allows the participant to unmute; the
// web client does not turn a microphone back on by itself.
//
// A participant's "attributes" are those it joined with (a SIP leg's
// "sip.transport", for one); "dialin", when the server has one, tells how
// to join the same room by phone: {"numbers":["+15550100"],"pin":"1234",
// "sip_uri":"sip:demo@conf.example.com","numeric_id":"4711"}.
//
// The server sends a WebSocket ping every 10 s and ends a participant whose
// socket is silent for 30 s.

// Message types.
const (
	MsgJoin               = "join"
	MsgJoined             = "joined"
	MsgOffer              = "offer"
	MsgAnswer             = "answer"
	MsgCandidate          = "candidate"
	MsgMute               = "mute"
	MsgMuted              = "muted"
	MsgLeave              = "leave"
	MsgParticipantJoined  = "participant_joined"
	MsgParticipantUpdated = "participant_updated"
	MsgParticipantLeft    = "participant_left"
	MsgActiveSpeakers     = "active_speakers"
	MsgRemoved            = "removed"
	MsgError              = "error"
	MsgPinned             = "pinned"
	MsgVideoCodec         = "video_codec"
)

// PeerConnection names in the "pc" field.
const (
	PCPub = "pub"
	PCSub = "sub"
)

// Message is every signalling message; unused fields are omitted.
type Message struct {
	Type         string                   `json:"type"`
	Room         string                   `json:"room,omitempty"`
	Name         string                   `json:"name,omitempty"`
	Token        string                   `json:"token,omitempty"`
	PIN          string                   `json:"pin,omitempty"`
	PC           string                   `json:"pc,omitempty"`
	SDP          string                   `json:"sdp,omitempty"`
	Candidate    *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Kind         string                   `json:"kind,omitempty"`
	Muted        *bool                    `json:"muted,omitempty"`
	Participant  *ParticipantJSON         `json:"participant,omitempty"`
	Participants []ParticipantJSON        `json:"participants,omitempty"`
	ICEServers   []webrtc.ICEServer       `json:"ice_servers,omitempty"`
	Speakers     []SpeakerJSON            `json:"speakers,omitempty"`
	Reason       string                   `json:"reason,omitempty"`
	Error        string                   `json:"error,omitempty"`
	DialIn       *DialInJSON              `json:"dialin,omitempty"`
	// VideoCodec is what the room wants browsers to publish ("video/H264"
	// in a room with a room system), in joined and video_codec messages.
	VideoCodec string `json:"video_codec,omitempty"`
	// Sources maps the client's MediaStreamTrack ids to "camera" or
	// "screen", in a pub offer.
	Sources map[string]string `json:"sources,omitempty"`
}

// DialInJSON is how to join a room by phone, in the joined message.
type DialInJSON struct {
	Numbers   []string `json:"numbers,omitempty"`
	PIN       string   `json:"pin,omitempty"`
	SIPURI    string   `json:"sip_uri,omitempty"`
	NumericID string   `json:"numeric_id,omitempty"`
}

// ParticipantJSON is a participant as the web client sees it.
type ParticipantJSON struct {
	ID         string      `json:"id"`
	Name       string      `json:"name,omitempty"`
	Kind       string      `json:"kind,omitempty"` // "webrtc", "sip", "bot"
	Tracks     []TrackJSON `json:"tracks,omitempty"`
	AudioMuted bool        `json:"audio_muted"`
	VideoMuted bool        `json:"video_muted"`
	// Attributes are the participant's own (a SIP leg's "sip.transport").
	Attributes map[string]string `json:"attributes,omitempty"`
	// Pinned: the room API pinned this participant (its video goes to
	// room systems).
	Pinned bool `json:"pinned,omitempty"`
}

// TrackJSON is one published track.
type TrackJSON struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Codec string `json:"codec"`
	Muted bool   `json:"muted"`
	// Source is "camera" or "screen" for video tracks.
	Source string `json:"source,omitempty"`
}

// SpeakerJSON is one entry of an active_speakers message.
type SpeakerJSON struct {
	ID    string  `json:"id"`
	Level float64 `json:"level"`
}
