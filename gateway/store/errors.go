package store

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is. The concrete errors below wrap them so that
// callers can either branch on the class or read the field.
var (
	// ErrNotFound: no room by that name, user part or PIN.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the value is already used by another room (PIN, host
	// PIN, name, alias or numeric id). Returned as a *ConflictError.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalid: a field breaks a rule on its own (bad name, PIN format,
	// pin equal to host_pin). Returned as a *ValidationError.
	ErrInvalid = errors.New("store: invalid")
	// ErrClosed: the store was used after Close.
	ErrClosed = errors.New("store: closed")
)

// ValidationError says which field of a room is wrong and why. Field uses
// the room API's JSON names ("name", "pin", "host_pin", "aliases",
// "numeric_id", "wait_for_host", "pin_on_direct_dial").
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// ConflictError says which field of a room collides with another room.
// Value is the colliding value (one alias of several, say) and Room the
// other room's name; both are for operators and logs, and the API does not
// repeat Room for PINs (that would tell a caller which room a PIN opens).
type ConflictError struct {
	Field string
	Value string
	Room  string
}

func (e *ConflictError) Error() string {
	msg := e.Field + ": "
	if e.Value != "" {
		msg += fmt.Sprintf("%q ", e.Value)
	}
	if e.Room == "" {
		return msg + "already in use"
	}
	return msg + fmt.Sprintf("already used by room %q", e.Room)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
