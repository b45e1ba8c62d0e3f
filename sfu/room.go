package sfu

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/roombridge/roombridge/gateway/room"
)

// roomState is one room: its members and their tracks. Its mu guards the
// membership and every member's tracks and mute flags; peers are told about
// changes while it is held so that they see them in order.
type roomState struct {
	name string
	sfu  *SFU

	mu       sync.Mutex
	members  map[string]*member
	visible  int
	speakers []string // last active-speaker list sent
	pinned   string   // the pinned participant's id (pin.go)
	stop     chan struct{}
}

func newRoomState(s *SFU, name string) *roomState {
	return &roomState{name: name, sfu: s, members: map[string]*member{}, stop: make(chan struct{})}
}

// add puts m in the room; the SFU's mu is held (so the room cannot be dropped
// meanwhile).
func (r *roomState) add(m *member) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.members[m.id]; dup {
		return fmt.Errorf("%w: %q in room %q", room.ErrDuplicateIdentity, m.id, r.name)
	}
	if max := r.sfu.cfg.MaxParticipants; max > 0 && !m.hidden && r.visible >= max {
		return fmt.Errorf("%w: %q has %d participants", ErrRoomFull, r.name, r.visible)
	}
	m.room = r
	r.members[m.id] = m
	if !m.hidden {
		r.visible++
	}
	r.sfu.m.participants.WithLabelValues(m.kind.String()).Inc()
	st := m.state()
	for _, o := range r.members {
		if o == m {
			continue
		}
		if !m.hidden {
			o.peer.notify(note{kind: noteJoined, p: st})
		}
	}
	return nil
}

// subscribeExisting subscribes m to every track already in the room. It is a
// separate step from add so that a peer can send its "joined" message (or
// register its handler) before the first track arrives.
func (r *roomState) subscribeExisting(m *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone {
		return
	}
	for _, o := range r.members {
		if o == m {
			continue
		}
		for _, t := range o.tracks {
			m.peer.subscribe(t)
		}
	}
}

// remove takes m out of the room, ends its tracks and tells the others. The
// SFU's mu must be held; it returns whether the room is now empty.
func (r *roomState) remove(m *member) (empty bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone || r.members[m.id] != m {
		return len(r.members) == 0
	}
	m.gone = true
	delete(r.members, m.id)
	if !m.hidden {
		r.visible--
	}
	r.sfu.m.participants.WithLabelValues(m.kind.String()).Dec()
	tracks := m.tracks
	m.tracks = nil
	for _, t := range tracks {
		r.sfu.m.tracks.WithLabelValues(t.kind.String()).Dec()
		t.end()
	}
	if !m.hidden {
		st := m.state()
		for _, o := range r.members {
			o.peer.notify(note{kind: noteLeft, p: st})
		}
	}
	if r.pinned == m.id {
		r.pinLocked("")
	}
	return len(r.members) == 0
}

// publish adds t to its owner's tracks and subscribes everybody else.
func (r *roomState) publish(t *pubTrack) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := t.owner
	if m.gone {
		return fmt.Errorf("%w: participant %q has left", room.ErrClosed, m.id)
	}
	switch t.kind {
	case room.TrackKindAudio:
		t.muted.Store(m.audioMuted)
	case room.TrackKindVideo:
		t.muted.Store(m.videoMuted)
	}
	m.tracks = append(m.tracks, t)
	r.sfu.m.tracks.WithLabelValues(t.kind.String()).Inc()
	for _, o := range r.members {
		if o != m {
			o.peer.subscribe(t)
		}
	}
	r.updatedLocked(m)
	return nil
}

// unpublish ends t and takes it off its owner's tracks.
func (r *roomState) unpublish(t *pubTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := t.owner
	i := slices.Index(m.tracks, t)
	if i < 0 {
		return
	}
	m.tracks = slices.Delete(m.tracks, i, i+1)
	r.sfu.m.tracks.WithLabelValues(t.kind.String()).Dec()
	t.end()
	r.updatedLocked(m)
}

// setMuted mutes m's tracks of kind. byAPI tells m itself (the room API
// muted it); a self mute only tells the others.
func (r *roomState) setMuted(m *member, kind room.TrackKind, muted, byAPI bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone {
		return fmt.Errorf("%w: participant %q has left", room.ErrClosed, m.id)
	}
	switch kind {
	case room.TrackKindAudio:
		m.audioMuted = muted
	case room.TrackKindVideo:
		m.videoMuted = muted
	default:
		return fmt.Errorf("%w: track kind %v", room.ErrUnsupportedCodec, kind)
	}
	for _, t := range m.tracks {
		if t.kind == kind {
			t.setMuted(muted)
		}
	}
	if byAPI {
		m.peer.notify(note{kind: noteMuted, trackKind: kind, muted: muted})
	}
	r.updatedLocked(m)
	return nil
}

// updatedLocked tells everybody but m that m's tracks or mute flags changed.
func (r *roomState) updatedLocked(m *member) {
	if m.hidden {
		return
	}
	st := m.state()
	for _, o := range r.members {
		if o != m {
			o.peer.notify(note{kind: noteUpdated, p: st})
		}
	}
}

// visibleStates lists the visible members but skip, in join order.
func (r *roomState) visibleStates(skip *member) []room.ParticipantState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.visibleStatesLocked(skip)
}

func (r *roomState) visibleStatesLocked(skip *member) []room.ParticipantState {
	out := make([]room.ParticipantState, 0, len(r.members))
	for _, m := range r.members {
		if m != skip && !m.hidden {
			out = append(out, m.state())
		}
	}
	slices.SortFunc(out, func(a, b room.ParticipantState) int {
		return cmp.Or(a.JoinedAt.Compare(b.JoinedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// findTrack looks a track up by id among all members.
func (r *roomState) findTrack(id string) *pubTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		for _, t := range m.tracks {
			if t.id == id {
				return t
			}
		}
	}
	return nil
}

// member looks a visible member up by id.
func (r *roomState) member(id string) *member {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[id]; m != nil && !m.hidden {
		return m
	}
	return nil
}

// all lists every member (hidden ones too).
func (r *roomState) all() []*member {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		out = append(out, m)
	}
	return out
}
