package ivr

import (
	"fmt"
	"strings"
)

// Action is something the session asks the gateway to do on the call: one
// of Play, StopPlayback, Join, Wait and Hangup.
type Action interface {
	fmt.Stringer
	action()
}

// Play starts a prompt (a name from package ivr/prompts), replacing any
// prompt still playing. The gateway reports PromptDone(ID) when a prompt
// that does not loop has played to its end, or could not be played at all;
// it reports nothing for a prompt that was stopped or replaced.
type Play struct {
	ID     uint64
	Prompt string
	// Interruptible prompts are cut by the caller's first key (barge-in):
	// the session then sends StopPlayback itself.
	Interruptible bool
	// Loop plays the prompt over and over until it is stopped (hold music).
	Loop bool
}

// StopPlayback stops the prompt playing, if any.
type StopPlayback struct{}

// Join connects the caller to Room, as its host (a host PIN) or as a guest.
// The gateway then tells the session how many others were already in the
// room with RoomCount.
type Join struct {
	Room string
	Host bool
}

// Wait holds the caller for Room until its host joins: the session plays
// "waiting for the host" and hold music, and the gateway calls HostJoined
// when a host is (or already was) in the room.
type Wait struct {
	Room string
}

// Hangup ends the call from the IVR, after the goodbye prompt.
type Hangup struct {
	Reason Outcome
	Err    error // the lookup error, for OutcomeError
}

func (Play) action()         {}
func (StopPlayback) action() {}
func (Join) action()         {}
func (Wait) action()         {}
func (Hangup) action()       {}

func (a Play) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Play(%s id=%d", a.Prompt, a.ID)
	if a.Interruptible {
		b.WriteString(" interruptible")
	}
	if a.Loop {
		b.WriteString(" loop")
	}
	b.WriteString(")")
	return b.String()
}

func (StopPlayback) String() string { return "StopPlayback" }

func (a Join) String() string {
	if a.Host {
		return fmt.Sprintf("Join(%s host)", a.Room)
	}
	return fmt.Sprintf("Join(%s)", a.Room)
}

func (a Wait) String() string { return fmt.Sprintf("Wait(%s)", a.Room) }

func (a Hangup) String() string {
	if a.Err != nil {
		return fmt.Sprintf("Hangup(%s: %v)", a.Reason, a.Err)
	}
	return fmt.Sprintf("Hangup(%s)", a.Reason)
}

// Outcome is how a call left the IVR, for metrics.
type Outcome int

// Outcomes. The zero value is OutcomeUnknown: the call is still in the IVR.
const (
	OutcomeUnknown  Outcome = iota
	OutcomeJoined           // a Join was sent
	OutcomeWrongPIN         // attempts used up, the last one a wrong or over-long PIN
	OutcomeTimeout          // attempts used up, the last one with no entry in time; or the host never came
	OutcomeHungUp           // the caller hung up (or the call was closed) in the IVR
	OutcomeError            // the PIN lookup failed for another reason than ErrNotFound
)

// Outcomes lists every outcome but OutcomeUnknown, to pre-register metric
// labels.
func Outcomes() []Outcome {
	return []Outcome{OutcomeJoined, OutcomeWrongPIN, OutcomeTimeout, OutcomeHungUp, OutcomeError}
}

// String is the outcome's metric label.
func (o Outcome) String() string {
	switch o {
	case OutcomeJoined:
		return "joined"
	case OutcomeWrongPIN:
		return "wrong_pin"
	case OutcomeTimeout:
		return "timeout"
	case OutcomeHungUp:
		return "hung_up_in_ivr"
	case OutcomeError:
		return "error"
	}
	return "unknown"
}

// State is where a session is in its state machine; see the package
// comment for the transitions.
type State int

// States. The zero value is StateUnknown and is never a session's state.
const (
	StateUnknown    State = iota
	StatePrompting        // playing welcome / enter_pin / invalid_pin, barge-in allowed
	StateCollecting       // taking digits, a first-digit or inter-digit timer running
	StateLookingUp        // the Lookup call is under way
	StateJoining          // playing "joining", then Join
	StateWaiting          // Wait sent: "waiting for the host", hold music, until HostJoined
	StateJoined           // Join sent, waiting for RoomCount
	StateAnnouncing       // after Join: "you are the first participant" / the count
	StateGoodbye          // playing goodbye, then Hangup
	StateEnded            // nothing more will happen; Actions is closed
)

func (s State) String() string {
	switch s {
	case StatePrompting:
		return "prompting"
	case StateCollecting:
		return "collecting"
	case StateLookingUp:
		return "looking_up"
	case StateJoining:
		return "joining"
	case StateWaiting:
		return "waiting"
	case StateJoined:
		return "joined"
	case StateAnnouncing:
		return "announcing"
	case StateGoodbye:
		return "goodbye"
	case StateEnded:
		return "ended"
	}
	return "unknown"
}
