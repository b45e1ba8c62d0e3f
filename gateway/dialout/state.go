package dialout

import "time"

// State is where a dial-out call stands.
type State string

// States, in the order a call goes through them; a call may go from
// dialing or ringing straight to ended.
const (
	StateDialing  State = "dialing"
	StateRinging  State = "ringing"
	StateAnswered State = "answered"
	StateEnded    State = "ended"
)

// Causes of an ended call.
const (
	CauseHangup       = "hangup"        // DELETE /v1/calls/{id} after the answer
	CauseCancelled    = "cancelled"     // DELETE before the answer
	CauseRemoteHangup = "remote_hangup" // the callee hung up
	CauseBusy         = "busy"          // 486, 600
	CauseDeclined     = "declined"      // 603
	CauseNoAnswer     = "no_answer"     // the ring timeout passed, or 480
	CauseNotFound     = "not_found"     // 404, 484, 604
	CauseRejected     = "rejected"      // another 4xx-6xx
	CauseNoRoute      = "no_route"      // no trunk may dial the number
	CauseUnavailable  = "unavailable"   // every trunk down, or failed (5xx, no response)
	CauseMediaFailed  = "media_failed"  // the answered call could not join the room
	CauseKicked       = "kicked"        // removed from the room (API kick)
	CauseRTPTimeout   = "rtp_timeout"   // no RTP or RTCP from the callee for rtp.timeout
	CauseExpired      = "session_expired"
	CauseShutdown     = "shutdown"
	CauseFailed       = "failed"
)

// Info is a snapshot of one dial-out call.
type Info struct {
	ID    string
	Room  string
	To    string
	Trunk string // the trunk that carried it, once known
	From  string
	Name  string
	// Participant is the identity the callee joins the room as.
	Participant string
	State       State
	// Status is the SIP status code of the latest response (180, 200,
	// 486...), 0 before any.
	Status int
	// Cause says why the call ended (empty before).
	Cause string
	// EarlyMedia is set once a provisional response carried SDP.
	EarlyMedia bool
	SIPCallID  string
	// Origin is the Request's: empty for the room API,
	// OriginClickToCall for a SIP caller's click-to-call.
	Origin     string
	Attributes map[string]string
	// Quality is the media quality of the answered call (a
	// gateway.LegQuality), live while it lasts and as it was at its end;
	// nil before the answer.
	Quality any

	CreatedAt  time.Time
	RingingAt  time.Time
	AnsweredAt time.Time
	EndedAt    time.Time
}
