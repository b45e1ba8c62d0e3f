package api

import (
	"net/http"

	"github.com/roombridge/roombridge/gateway/room"
)

// pinRequest is the optional body of POST .../pin. It has no fields yet:
// a body naming any is refused with the field named, so that a client
// does not believe an option it sent was applied.
type pinRequest struct{}

// pinner returns the backend's room.Pinner after the same checks as
// directory.
func (s *Server) pinner(r *http.Request) (room.Pinner, string, error) {
	dir, name, err := s.directory(r)
	if err != nil {
		return nil, "", err
	}
	p, ok := dir.(room.Pinner)
	if !ok {
		return nil, "", &requestError{class: errUnavailable, msg: "the room backend cannot pin participants"}
	}
	return p, name, nil
}

// pinParticipant pins a participant: its video is sent to the room's room
// systems instead of the active speaker's, until it is unpinned or leaves.
func (s *Server) pinParticipant(w http.ResponseWriter, r *http.Request) error {
	p, name, err := s.pinner(r)
	if err != nil {
		return err
	}
	var req pinRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := p.Pin(r.Context(), name, id); err != nil {
		return participantErr(err)
	}
	s.log.Info("participant pinned", "room", name, "participant", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unpinParticipant removes a participant's pin; room systems follow the
// active speaker again. Unpinning a participant that is not pinned (or
// has left) succeeds and changes nothing.
func (s *Server) unpinParticipant(w http.ResponseWriter, r *http.Request) error {
	p, name, err := s.pinner(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := p.Unpin(r.Context(), name, id); err != nil {
		return participantErr(err)
	}
	s.log.Info("participant unpinned", "room", name, "participant", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
