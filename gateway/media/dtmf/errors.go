package dtmf

import "errors"

var (
	// ErrShortPayload is returned for a telephone-event payload shorter than
	// the 4 bytes of RFC 4733 §2.3.
	ErrShortPayload = errors.New("dtmf: telephone-event payload shorter than 4 bytes")
	// ErrShortBuffer is returned when a caller's buffer cannot hold a payload.
	ErrShortBuffer = errors.New("dtmf: buffer shorter than 4 bytes")
	// ErrNotDigit is returned for a key that is not one of 0-9, *, #, A-D.
	ErrNotDigit = errors.New("dtmf: not a DTMF digit")
	// ErrClockRate is returned for an unsupported clock or sample rate.
	ErrClockRate = errors.New("dtmf: unsupported rate")
	// ErrConfig is returned for an out-of-range configuration value.
	ErrConfig = errors.New("dtmf: invalid configuration")
	// ErrIdle is returned by Sender.Next when no event is being sent.
	ErrIdle = errors.New("dtmf: no event in progress")
	// ErrUnknownMode is returned by ParseMode for an unknown name.
	ErrUnknownMode = errors.New("dtmf: unknown DTMF mode")
)
