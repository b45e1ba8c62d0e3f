package fakesfu

import "github.com/roombridge/roombridge/sfu"

// The fake speaks the real protocol types, so a change to the protocol
// changes the fake with it.
type (
	// Message is a signalling message.
	Message = sfu.Message
	// Participant is a participant entry.
	Participant = sfu.ParticipantJSON
	// Speaker is an active_speakers entry.
	Speaker = sfu.SpeakerJSON
)

// EchoID is the participant id (and stream id) of the echoed tracks.
const EchoID = "echo"
