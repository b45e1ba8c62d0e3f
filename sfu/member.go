package sfu

import (
	"log/slog"
	"maps"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// noteKind says what a note tells a peer.
type noteKind int

const (
	noteUnknown noteKind = iota
	noteJoined
	noteLeft
	noteUpdated
	noteSpeakers
	noteMuted  // this participant was muted by the room API
	notePinned // the room's pinned participant changed
	noteVideoCodec
)

// note is a room event on its way to one peer.
type note struct {
	kind      noteKind
	p         room.ParticipantState
	speakers  []SpeakerJSON
	trackKind room.TrackKind
	muted     bool
	pinned    string
	codec     string // for noteVideoCodec: what browsers should publish
}

// peer is the side of a participant the room talks to: a WebRTC signalling
// session or an in-process bot. The room calls these methods with its lock
// held, so they only queue work and never block or call back into the room.
type peer interface {
	// subscribe starts receiving t (another participant's track).
	subscribe(t *pubTrack)
	// notify passes on a room event.
	notify(n note)
	// remove ends the participant from the outside (kick, room closed,
	// shutdown); the participant has already been taken out of the room.
	remove(reason string)
}

// member is a participant as the room sees it, whatever its kind.
type member struct {
	id       string
	name     string
	kind     room.ParticipantKind
	hidden   bool
	joinedAt time.Time
	attrs    map[string]string
	log      *slog.Logger
	peer     peer

	// Guarded by the room's mu.
	room       *roomState
	tracks     []*pubTrack
	audioMuted bool
	videoMuted bool
	gone       bool
	// needsH264: a room system's leg, which takes H.264 only (h264_pref.go).
	needsH264 bool
}

// state snapshots the member; the room's mu must be held.
func (m *member) state() room.ParticipantState {
	st := room.ParticipantState{
		ID: m.id, Name: m.name, Kind: m.kind,
		AudioMuted: m.audioMuted, VideoMuted: m.videoMuted,
		JoinedAt: m.joinedAt, Attributes: maps.Clone(m.attrs),
		Pinned: m.room != nil && m.room.pinned != "" && m.room.pinned == m.id,
	}
	for _, t := range m.tracks {
		st.Tracks = append(st.Tracks, t.state())
	}
	return st
}

// participantJSON is the signalling form of a participant state.
func participantJSON(st room.ParticipantState) ParticipantJSON {
	pj := ParticipantJSON{
		ID: st.ID, Name: st.Name, Kind: st.Kind.String(),
		AudioMuted: st.AudioMuted, VideoMuted: st.VideoMuted, Attributes: st.Attributes,
		Pinned: st.Pinned,
	}
	for _, t := range st.Tracks {
		tj := TrackJSON{ID: t.ID, Kind: t.Kind.String(), Codec: t.Codec, Muted: t.Muted}
		if t.Source != room.TrackSourceUnknown {
			tj.Source = t.Source.String()
		}
		pj.Tracks = append(pj.Tracks, tj)
	}
	return pj
}
