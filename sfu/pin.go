package sfu

import (
	"context"
	"fmt"

	"github.com/roombridge/roombridge/gateway/room"
)

var _ room.Pinner = (*SFU)(nil)

// Pin implements room.Pinner: id becomes the room's pinned participant and
// everybody in the room is told (bots get room.EventPinned, web clients a
// "pinned" message).
func (s *SFU) Pin(_ context.Context, roomName, id string) error {
	m, err := s.find(roomName, id)
	if err != nil {
		return err
	}
	return m.room.setPinned(id, "")
}

// Unpin implements room.Pinner.
func (s *SFU) Unpin(_ context.Context, roomName, id string) error {
	r := s.room(roomName)
	if r == nil {
		return nil
	}
	return r.setPinned("", id)
}

// Pinned implements room.Pinner.
func (s *SFU) Pinned(_ context.Context, roomName string) (string, error) {
	r := s.room(roomName)
	if r == nil {
		return "", nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pinned, nil
}

// setPinned pins id (or, with id "", removes the pin of only). A pinned
// member that left in the meantime is not pinned.
func (r *roomState) setPinned(id, only string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if only != "" && r.pinned != only {
		return nil
	}
	if id != "" {
		if m := r.members[id]; m == nil || m.hidden || m.gone {
			return fmt.Errorf("%w: %q in room %q", room.ErrParticipantNotFound, id, r.name)
		}
	}
	r.pinLocked(id)
	return nil
}

// pinLocked changes the pin and tells everybody; r.mu is held.
func (r *roomState) pinLocked(id string) {
	if r.pinned == id {
		return
	}
	prev := r.pinned
	r.pinned = id
	for _, m := range r.members {
		m.peer.notify(note{kind: notePinned, pinned: id})
	}
	// The listing shows who is pinned: both members' states changed.
	for _, pid := range []string{prev, id} {
		if m := r.members[pid]; m != nil {
			r.updatedLocked(m)
		}
	}
}
