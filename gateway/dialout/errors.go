package dialout

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrInvalid marks a request the registry refuses; a *FieldError
	// names the field.
	ErrInvalid = errors.New("dialout: invalid request")
	// ErrNotFound reports an unknown call id.
	ErrNotFound = errors.New("dialout: no such call")
	// ErrClosed reports a Dial after Close.
	ErrClosed = errors.New("dialout: registry closed")
	// ErrTooMany reports a Dial beyond Config.MaxCalls.
	ErrTooMany = errors.New("dialout: too many calls in progress")
	// ErrNoRFC4733 is returned by a DTMFSender whose callee takes no
	// RFC 4733 events: the digits then go as SIP INFO.
	ErrNoRFC4733 = errors.New("dialout: the callee takes no RFC 4733 telephone-events")
	// ErrHangup is the cause of a call ended through Hangup.
	ErrHangup = errors.New("dialout: hung up by the API")
)

// FieldError is an invalid field of a Request (its JSON name).
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Msg) }

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
