package webhook

import "time"

// Event types.
const (
	RoomCreated       = "room_created"
	RoomDeleted       = "room_deleted"
	ParticipantJoined = "participant_joined"
	ParticipantLeft   = "participant_left"
	CallStarted       = "call_started"  // an INVITE was received
	CallAnswered      = "call_answered" // a call was answered (either way)
	CallEnded         = "call_ended"    // with cause, duration and quality
	DialProgress      = "dial_progress" // a dial-out changed state
)

// EventTypes lists every event type, for config validation.
var EventTypes = []string{RoomCreated, RoomDeleted, ParticipantJoined, ParticipantLeft, CallStarted, CallAnswered, CallEnded, DialProgress}

// Event is the JSON body of one webhook request.
type Event struct {
	// Event is the type, one of EventTypes.
	Event string `json:"event"`
	// ID is unique per event; a receiver that sees it twice (a retry whose
	// first answer was lost) can ignore the second.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Room is the room's name, when the event concerns one.
	Room        string       `json:"room,omitempty"`
	Participant *Participant `json:"participant,omitempty"`
	Call        *Call        `json:"call,omitempty"`
}

// Participant is the participant an event concerns.
type Participant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is "sip", "webrtc" or "bot".
	Kind       string            `json:"kind"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Call is the SIP call an event concerns.
type Call struct {
	// ID is the gateway's id of the call: the participant id of an
	// incoming call, the dial id of an outgoing one.
	ID string `json:"id"`
	// SIPCallID is the SIP Call-ID.
	SIPCallID string `json:"sip_call_id,omitempty"`
	// Direction is "inbound" or "outbound".
	Direction string `json:"direction"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Trunk     string `json:"trunk,omitempty"`
	Transport string `json:"transport,omitempty"`
	// State of a dial-out: dialing, ringing, answered or ended.
	State string `json:"state,omitempty"`
	// Status is the SIP status of the final (or latest) response.
	Status int `json:"status,omitempty"`
	// Cause says why the call ended (call_ended) or what the dial reached.
	Cause string `json:"cause,omitempty"`
	// Result is the outcome label of an incoming call (answered,
	// not_found, cancelled, ...), as in metrics.
	Result     string     `json:"result,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	// DurationSeconds is from the answer to the end (0 if unanswered).
	DurationSeconds float64  `json:"duration_seconds,omitempty"`
	Quality         *Quality `json:"quality,omitempty"`
}

// Quality summarises a call's media.
type Quality struct {
	PacketsReceived uint64  `json:"packets_received"`
	PacketsSent     uint64  `json:"packets_sent"`
	PacketsLost     int64   `json:"packets_lost"`
	JitterMS        float64 `json:"jitter_ms"`
	RTTMS           float64 `json:"rtt_ms,omitempty"`
	MOS             float64 `json:"mos,omitempty"`
}
