package store

import (
	"slices"
	"time"
)

// Room is a conference room as the gateway routes to it.
type Room struct {
	// Name is the room's identity everywhere: sip:NAME@domain, the SFU room,
	// the API path. It never changes after creation.
	Name string
	// PIN lets phone users reach the room through the dial-in IVR; empty
	// means the room cannot be reached by PIN.
	PIN string
	// HostPIN joins as host (starts a WaitForHost room); empty means none.
	HostPIN string
	// Aliases are further dialable user parts (e.g. "4711"), stored in lower
	// case because matching is case-insensitive.
	Aliases []string
	// NumericID is a short digit string generated on creation so that
	// keypad-only room systems can dial the room; it never changes.
	NumericID string
	// WaitForHost holds guests in the IVR until someone joins with HostPIN.
	WaitForHost bool
	// PINOnDirectDial asks callers who dial the room directly (by name,
	// alias or numeric id) for the PIN too.
	PINOnDirectDial bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// clone returns a copy that shares no slice with r, so callers can keep
// what the store returns without aliasing its caches or each other.
func (r Room) clone() Room {
	r.Aliases = slices.Clone(r.Aliases)
	if r.Aliases == nil {
		r.Aliases = []string{}
	}
	return r
}
