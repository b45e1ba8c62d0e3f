package gateway

import (
	"errors"
	"fmt"

	"github.com/roombridge/roombridge/gateway/sip"
)

// Admission errors; the web signalling sends their text to the browser, so
// they are worded for the person joining, and their Reason to the page,
// which asks for a PIN on pin_required and pin_wrong.
var (
	ErrTokenRequired = &AdmitError{"token_required", "this room needs a join link (token)"}
	ErrTokenInvalid  = &AdmitError{"token_invalid", "the join link is invalid or has expired"}
	ErrTokenRoom     = &AdmitError{"token_room", "the join link is for another room"}
	ErrNoSuchRoom    = &AdmitError{"no_room", "there is no such room"}
	ErrPINRequired   = &AdmitError{"pin_required", "this room needs its PIN"}
	ErrPINWrong      = &AdmitError{"pin_wrong", "wrong PIN"}
	ErrWebLockedOut  = &AdmitError{"locked_out", "too many wrong PINs from your address; try again later"}
)

// AdmitError is a refused web join: a machine-readable reason and a text
// for the person joining.
type AdmitError struct {
	reason, text string
}

func (e *AdmitError) Error() string { return e.text }

// Reason is the refusal's code in the signalling error message.
func (e *AdmitError) Reason() string { return e.reason }

// Call errors. Those a caller can be refused with wrap a sentinel of
// gateway/sip, which alone chooses the SIP status code.
var (
	// ErrLockedOut: too many wrong PINs came from the caller's address or
	// number lately (403); a call in the IVR that reaches the limit ends.
	ErrLockedOut = fmt.Errorf("locked out after repeated wrong PINs: %w", sip.ErrForbidden)
	// ErrDraining: the gateway is draining and takes no new calls (503).
	ErrDraining = fmt.Errorf("gateway draining: %w", sip.ErrOverloaded)
	// ErrBackend: the store or the room backend failed (503).
	ErrBackend = fmt.Errorf("room backend unavailable: %w", sip.ErrOverloaded)
	// ErrNoHeadroom: the gateway is at a ceiling of admission control
	// (limits.*, or its room clocks run late) and keeps the capacity for
	// the calls it has (503 with Retry-After).
	ErrNoHeadroom = fmt.Errorf("no headroom for another call: %w", sip.ErrOverloaded)
	// ErrSRTPNeedsTLS: the trunk requires SRTP and the call's signalling
	// is not TLS, where SDES keys would travel in clear (488).
	ErrSRTPNeedsTLS = fmt.Errorf("SRTP required, and SDES keys travel only over SIP/TLS: %w", sip.ErrSRTPRequired)
	// ErrNoPorts: no RTP port pair is free (503).
	ErrNoPorts = fmt.Errorf("no RTP ports free: %w", sip.ErrOverloaded)

	// ErrInvalidConfig: New was given an unusable Config.
	ErrInvalidConfig = errors.New("gateway: invalid config")
	// ErrGatewayClosed is the cause of calls ended by Gateway.Close.
	ErrGatewayClosed = errors.New("gateway closed")
	// ErrRemoved is the cause of calls whose participant was removed from
	// the room (kicked through the API, room closed).
	ErrRemoved = errors.New("removed from the room")
	// ErrIVRHangup is the cause of calls the PIN IVR ended (attempts
	// used up, locked out, the PIN store failing).
	ErrIVRHangup = errors.New("hung up by the IVR")
	// ErrCallDone is the cause recorded when a call's handler returns.
	ErrCallDone = errors.New("call ended")
)
