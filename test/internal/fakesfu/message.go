package fakesfu

import "github.com/pion/webrtc/v4"

// Message mirrors sfu.Message. It is copied rather than imported so that
// this fake keeps building while the real SFU changes, and so that a drift
// between the two shows up as a failing browser test against the gateway.
type Message struct {
	Type         string                   `json:"type"`
	Room         string                   `json:"room,omitempty"`
	Name         string                   `json:"name,omitempty"`
	Token        string                   `json:"token,omitempty"`
	PC           string                   `json:"pc,omitempty"`
	SDP          string                   `json:"sdp,omitempty"`
	Candidate    *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Kind         string                   `json:"kind,omitempty"`
	Muted        *bool                    `json:"muted,omitempty"`
	Participant  *Participant             `json:"participant,omitempty"`
	Participants []Participant            `json:"participants,omitempty"`
	ICEServers   []webrtc.ICEServer       `json:"ice_servers,omitempty"`
	Speakers     []Speaker                `json:"speakers,omitempty"`
	Reason       string                   `json:"reason,omitempty"`
	Error        string                   `json:"error,omitempty"`
}

// Participant mirrors sfu.ParticipantJSON.
type Participant struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Kind       string `json:"kind,omitempty"`
	AudioMuted bool   `json:"audio_muted"`
	VideoMuted bool   `json:"video_muted"`
}

// Speaker mirrors sfu.SpeakerJSON.
type Speaker struct {
	ID    string  `json:"id"`
	Level float64 `json:"level"`
}

// EchoID is the participant id (and stream id) of the echoed tracks.
const EchoID = "echo"
