package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
)

// kickReason is what a kicked participant is told (Event.Reason).
const kickReason = "removed by the room API"

// participantJSON is a participant as GET .../participants lists it.
type participantJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Kind       string            `json:"kind"` // "webrtc", "sip", "bot"
	Tracks     []trackJSON       `json:"tracks"`
	AudioMuted bool              `json:"audio_muted"`
	VideoMuted bool              `json:"video_muted"`
	JoinedAt   time.Time         `json:"joined_at"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Node is the gateway node (node.id) the participant's leg runs on,
	// when known.
	Node string `json:"node,omitempty"`
	// Quality is the SIP leg's media quality, from Config.Quality.
	Quality any `json:"quality,omitempty"`
	// Pinned: the participant's video goes to room systems (pin.go).
	Pinned bool `json:"pinned"`
}

type trackJSON struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`  // "audio" or "video"
	Codec string `json:"codec"` // MIME type, e.g. "audio/opus"
	Muted bool   `json:"muted"`
	// Source is "camera" or "screen" for video tracks.
	Source string `json:"source,omitempty"`
}

// muteRequest is the body of POST .../mute; at least one kind is required,
// true mutes and false unmutes.
type muteRequest struct {
	Audio *bool `json:"audio"`
	Video *bool `json:"video"`
}

// directory returns the backend's directory after checking that the room
// exists in the store, so an unknown room is a 404 whatever the backend
// thinks of empty rooms.
func (s *Server) directory(r *http.Request) (room.Directory, string, error) {
	name := r.PathValue("name")
	if _, err := s.cfg.Store.GetRoom(r.Context(), name); err != nil {
		return nil, "", err
	}
	if s.cfg.Directory == nil {
		return nil, "", &requestError{class: errUnavailable, msg: "no room backend configured"}
	}
	return s.cfg.Directory, name, nil
}

func (s *Server) listParticipants(w http.ResponseWriter, r *http.Request) error {
	dir, name, err := s.directory(r)
	if err != nil {
		return err
	}
	ps, err := dir.Participants(r.Context(), name)
	// A backend may not know a room nobody has joined yet: that is empty.
	if err != nil && !errors.Is(err, room.ErrRoomNotFound) {
		return err
	}
	out := make([]participantJSON, 0, len(ps))
	for _, p := range ps {
		pj := toParticipantJSON(p)
		if pj.Node = p.Attributes[room.AttrNode]; pj.Node == "" {
			pj.Node = s.cfg.LocalNode
		}
		if s.cfg.Quality != nil && p.Kind == room.ParticipantKindSIP {
			if q, ok := s.cfg.Quality(name, p.ID); ok {
				pj.Quality = q
			}
		}
		out = append(out, pj)
	}
	writeJSON(w, http.StatusOK, struct {
		Participants []participantJSON `json:"participants"`
	}{out})
	return nil
}

func (s *Server) muteParticipant(w http.ResponseWriter, r *http.Request) error {
	dir, name, err := s.directory(r)
	if err != nil {
		return err
	}
	var req muteRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Audio == nil && req.Video == nil {
		return badRequest("", `give "audio" and/or "video": true mutes, false unmutes`)
	}
	id := r.PathValue("id")
	for _, m := range []struct {
		kind  room.TrackKind
		muted *bool
	}{{room.TrackKindAudio, req.Audio}, {room.TrackKindVideo, req.Video}} {
		if m.muted == nil {
			continue
		}
		if err := dir.MuteParticipant(r.Context(), name, id, m.kind, *m.muted); err != nil {
			return participantErr(err)
		}
		s.log.Info("participant muted", "room", name, "participant", id, "kind", m.kind, "muted", *m.muted)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) kickParticipant(w http.ResponseWriter, r *http.Request) error {
	dir, name, err := s.directory(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := dir.RemoveParticipant(r.Context(), name, id, kickReason); err != nil {
		return participantErr(err)
	}
	s.log.Info("participant removed", "room", name, "participant", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// participantErr reports a backend that knows no such room as an unknown
// participant: the room itself was found in the store.
func participantErr(err error) error {
	if errors.Is(err, room.ErrRoomNotFound) || errors.Is(err, room.ErrParticipantNotFound) {
		return notFound("participant not found")
	}
	return err
}

func toParticipantJSON(p room.ParticipantState) participantJSON {
	out := participantJSON{
		ID:         p.ID,
		Name:       p.Name,
		Kind:       p.Kind.String(),
		Tracks:     make([]trackJSON, 0, len(p.Tracks)),
		AudioMuted: p.AudioMuted,
		VideoMuted: p.VideoMuted,
		JoinedAt:   p.JoinedAt.UTC(),
		Attributes: p.Attributes,
		Pinned:     p.Pinned,
	}
	for _, t := range p.Tracks {
		tj := trackJSON{ID: t.ID, Kind: t.Kind.String(), Codec: t.Codec, Muted: t.Muted}
		if t.Source != room.TrackSourceUnknown {
			tj.Source = t.Source.String()
		}
		out.Tracks = append(out.Tracks, tj)
	}
	return out
}
