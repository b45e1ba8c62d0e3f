package store

import (
	"context"
	"time"
)

// Store keeps rooms and SIP registrations. Implementations are safe for concurrent use and return
// rooms the caller owns (no shared slices).
type Store interface {
	// CreateRoom stores a new room. NumericID is generated when empty;
	// CreatedAt and UpdatedAt are set by the store. A taken name is a
	// *ConflictError on "name".
	CreateRoom(ctx context.Context, r Room) (Room, error)
	// GetRoom returns the room with that exact name or ErrNotFound.
	GetRoom(ctx context.Context, name string) (Room, error)
	// ListRooms returns every room ordered by name.
	ListRooms(ctx context.Context) ([]Room, error)
	// UpdateRoom replaces the mutable fields (PIN, HostPIN, Aliases,
	// WaitForHost, PINOnDirectDial) of the room named r.Name; NumericID and
	// CreatedAt are kept. ErrNotFound when there is no such room.
	UpdateRoom(ctx context.Context, r Room) (Room, error)
	// DeleteRoom removes a room, freeing its PINs and aliases.
	DeleteRoom(ctx context.Context, name string) error
	// UpsertRoom creates the room or overwrites its mutable fields, keeping
	// NumericID (unless r sets one) and CreatedAt. It is how rooms from the
	// config file are applied at start.
	UpsertRoom(ctx context.Context, r Room) (Room, error)
	// FindBySIPUser maps a dialled user part to a room: its name, one of its
	// aliases or its numeric id, compared case-insensitively.
	FindBySIPUser(ctx context.Context, user string) (Room, error)
	// FindByPIN returns the room a PIN opens and whether it was the host
	// PIN. Every stored PIN is compared in constant time, so the time taken
	// does not depend on which PIN (if any) matched.
	FindByPIN(ctx context.Context, pin string) (r Room, host bool, err error)
	// PINInUse reports whether any room other than exceptRoom uses pin as
	// its PIN or host PIN.
	PINInUse(ctx context.Context, pin, exceptRoom string) (bool, error)
	// PutRegistration creates or refreshes the binding of r.AOR to
	// r.Contact (all fields replaced; UpdatedAt set by the store).
	// Bindings past their ExpiresAt are never returned, and the store may
	// drop them at any time.
	PutRegistration(ctx context.Context, r Registration) error
	// DeleteRegistrations removes aor's binding to contact, or every
	// binding of aor when contact is empty. Removing nothing is no error.
	DeleteRegistrations(ctx context.Context, aor, contact string) error
	// ListRegistrations returns the bindings not expired at now: those of
	// aor, or of every AOR when aor is empty, ordered by AOR and contact.
	ListRegistrations(ctx context.Context, aor string, now time.Time) ([]Registration, error)
	// Close releases the store; it is idempotent.
	Close() error
}
