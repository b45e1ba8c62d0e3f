package uac

import (
	"errors"
	"fmt"
)

// Sentinel errors. Context causes of a Call and Dial errors wrap them, so
// callers test with errors.Is.
var (
	// ErrInvalidConfig reports a Config that cannot place a call; the
	// wrapping error names the field.
	ErrInvalidConfig = errors.New("uac: invalid config")
	// ErrCanceled reports a call abandoned (CANCEL sent) because the
	// context of Dial ended before the answer.
	ErrCanceled = errors.New("uac: call cancelled")
	// ErrRemoteHangup is the cause of a Call's context when the peer sent
	// BYE.
	ErrRemoteHangup = errors.New("uac: remote hung up")
	// ErrHangup is the cause of a Call's context after Hangup.
	ErrHangup = errors.New("uac: hung up")
	// ErrSessionExpired is the cause when the session timer ran out or a
	// refresh failed fatally (RFC 4028 §10).
	ErrSessionExpired = errors.New("uac: session expired")
	// ErrNoOfferHandler reports a delayed-offer call without OnOffer.
	ErrNoOfferHandler = errors.New("uac: delayed offer needs OnOffer")
	// ErrNoResponse reports an INVITE that got no response at all: the
	// transaction timed out (RFC 3261 §17.1.1.2 Timer B), its transport
	// failed, or Config.ResponseTimeout passed without a provisional.
	ErrNoResponse = errors.New("uac: no response")
	// ErrTransport reports a request that could not be sent: the address
	// did not resolve, or the connection could not be made.
	ErrTransport = errors.New("uac: transport failed")
	// ErrRealm reports a digest challenge from a realm the credentials
	// are not for (Config.Realm).
	ErrRealm = errors.New("uac: challenge from another realm")
	// ErrEnded reports a request on a call that has ended.
	ErrEnded = errors.New("uac: call ended")
)

// StatusError is a final non-2xx response to a request of the call
// (RFC 3261 §21): the INVITE, a re-INVITE, an INFO, a BYE.
type StatusError struct {
	Method string
	Code   int
	Reason string
}

// Error formats the status line, e.g. "uac: INVITE: 486 Busy Here".
func (e *StatusError) Error() string {
	if e.Method == "" {
		return fmt.Sprintf("uac: %d %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("uac: %s: %d %s", e.Method, e.Code, e.Reason)
}

// StatusCode returns the SIP status code carried by err, 0 when err holds
// no *StatusError.
func StatusCode(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}
