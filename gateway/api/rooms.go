package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/store"
)

// generatedPINDigits is the length of PINs made up when a room is created
// without one.
const generatedPINDigits = 6

// closeRoomTimeout bounds disconnecting a deleted room's participants; it
// runs even if the client hangs up, so the room does not linger.
const closeRoomTimeout = 10 * time.Second

// roomJSON is a room as the API shows it.
type roomJSON struct {
	Name            string    `json:"name"`
	PIN             string    `json:"pin"`
	HostPIN         string    `json:"host_pin"`
	Aliases         []string  `json:"aliases"`
	NumericID       string    `json:"numeric_id"`
	SIPURI          string    `json:"sip_uri,omitempty"`
	WaitForHost     bool      `json:"wait_for_host"`
	PINOnDirectDial bool      `json:"pin_on_direct_dial"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	// Participants is how many visible participants are in the room now.
	Participants int `json:"participants"`
}

// createRoomRequest is the body of POST /v1/rooms.
type createRoomRequest struct {
	Name string `json:"name"`
	// PIN is generated (6 digits) when left out or empty.
	PIN             string   `json:"pin"`
	HostPIN         string   `json:"host_pin"`
	Aliases         []string `json:"aliases"`
	WaitForHost     bool     `json:"wait_for_host"`
	PINOnDirectDial bool     `json:"pin_on_direct_dial"`
}

// patchRoomRequest is the body of PATCH /v1/rooms/{name}: fields left out
// (or null) keep their value; "" clears pin or host_pin, [] clears aliases.
type patchRoomRequest struct {
	// Name may be sent (clients often echo the whole room) but not changed.
	Name            *string   `json:"name"`
	PIN             *string   `json:"pin"`
	HostPIN         *string   `json:"host_pin"`
	Aliases         *[]string `json:"aliases"`
	WaitForHost     *bool     `json:"wait_for_host"`
	PINOnDirectDial *bool     `json:"pin_on_direct_dial"`
}

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) error {
	rooms, err := s.cfg.Store.ListRooms(r.Context())
	if err != nil {
		return err
	}
	out := make([]roomJSON, 0, len(rooms))
	for _, rm := range rooms {
		out = append(out, s.roomJSON(r.Context(), rm))
	}
	writeJSON(w, http.StatusOK, struct {
		Rooms []roomJSON `json:"rooms"`
	}{out})
	return nil
}

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request) error {
	rm, err := s.cfg.Store.GetRoom(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.roomJSON(r.Context(), rm))
	return nil
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) error {
	var req createRoomRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	in := store.Room{
		Name:            req.Name,
		PIN:             req.PIN,
		HostPIN:         req.HostPIN,
		Aliases:         req.Aliases,
		WaitForHost:     req.WaitForHost,
		PINOnDirectDial: req.PINOnDirectDial,
	}
	rm, err := s.createWithPIN(r.Context(), in)
	if err != nil {
		return err
	}
	s.log.Info("room created", "room", rm.Name, "numeric_id", rm.NumericID)
	if s.cfg.OnRoomCreated != nil {
		if err := s.cfg.OnRoomCreated(r.Context(), rm.Name); err != nil {
			s.log.Warn("room created in the store but not in the backend", "room", rm.Name, "err", err)
		}
	}
	w.Header().Set("Location", "/v1/rooms/"+rm.Name)
	writeJSON(w, http.StatusCreated, s.roomJSON(r.Context(), rm))
	return nil
}

// createWithPIN creates in, generating its PIN when it has none. A generated
// PIN can be taken by a concurrent create between GeneratePIN and
// CreateRoom, so that one conflict is retried with a fresh PIN.
func (s *Server) createWithPIN(ctx context.Context, in store.Room) (store.Room, error) {
	if in.PIN != "" {
		return s.cfg.Store.CreateRoom(ctx, in)
	}
	var err error
	for range 3 {
		if in.PIN, err = store.GeneratePIN(ctx, s.cfg.Store, generatedPINDigits); err != nil {
			return store.Room{}, err
		}
		if in.PIN == in.HostPIN {
			err = &store.ConflictError{Field: "pin"}
			continue
		}
		var rm store.Room
		rm, err = s.cfg.Store.CreateRoom(ctx, in)
		var ce *store.ConflictError
		if errors.As(err, &ce) && ce.Field == "pin" {
			continue
		}
		return rm, err
	}
	return store.Room{}, err
}

func (s *Server) patchRoom(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var req patchRoomRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name != nil && *req.Name != name {
		return badRequest("name", "name cannot be changed")
	}
	// Read-modify-write: two PATCHes racing on one room may lose one's
	// change; acceptable for an admin API, and each write is still valid.
	rm, err := s.cfg.Store.GetRoom(r.Context(), name)
	if err != nil {
		return err
	}
	if req.PIN != nil {
		rm.PIN = *req.PIN
	}
	if req.HostPIN != nil {
		rm.HostPIN = *req.HostPIN
	}
	if req.Aliases != nil {
		rm.Aliases = *req.Aliases
	}
	if req.WaitForHost != nil {
		rm.WaitForHost = *req.WaitForHost
	}
	if req.PINOnDirectDial != nil {
		rm.PINOnDirectDial = *req.PINOnDirectDial
	}
	rm, err = s.cfg.Store.UpdateRoom(r.Context(), rm)
	if err != nil {
		return err
	}
	s.log.Info("room updated", "room", rm.Name)
	writeJSON(w, http.StatusOK, s.roomJSON(r.Context(), rm))
	return nil
}

func (s *Server) deleteRoom(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	// Delete first so that no new call routes to the room, then disconnect
	// whoever is still in it.
	if err := s.cfg.Store.DeleteRoom(r.Context(), name); err != nil {
		return err
	}
	s.log.Info("room deleted", "room", name)
	if s.cfg.Directory != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), closeRoomTimeout)
		err := s.cfg.Directory.CloseRoom(ctx, name)
		cancel()
		if err != nil && !errors.Is(err, room.ErrRoomNotFound) {
			// The room is gone from the store either way; its participants
			// stay until they hang up. Worth an operator's attention, not
			// a failed request the client would retry into a 404.
			s.log.Warn("deleted room not closed in backend", "room", name, "err", err)
		}
	}
	if s.cfg.OnRoomDeleted != nil {
		s.cfg.OnRoomDeleted(name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// roomJSON renders rm with its live participant count. The count is
// best-effort: a backend that cannot be reached shows 0 rather than failing
// the listing of rooms, which lives in the store.
func (s *Server) roomJSON(ctx context.Context, rm store.Room) roomJSON {
	out := roomJSON{
		Name:            rm.Name,
		PIN:             rm.PIN,
		HostPIN:         rm.HostPIN,
		Aliases:         rm.Aliases,
		NumericID:       rm.NumericID,
		WaitForHost:     rm.WaitForHost,
		PINOnDirectDial: rm.PINOnDirectDial,
		CreatedAt:       rm.CreatedAt,
		UpdatedAt:       rm.UpdatedAt,
	}
	if out.Aliases == nil {
		out.Aliases = []string{}
	}
	if s.cfg.SIPDomain != "" {
		out.SIPURI = "sip:" + rm.Name + "@" + s.cfg.SIPDomain
	}
	if s.cfg.Directory != nil {
		ps, err := s.cfg.Directory.Participants(ctx, rm.Name)
		if err != nil && !errors.Is(err, room.ErrRoomNotFound) {
			s.log.Debug("participant count unavailable", "room", rm.Name, "err", err)
		}
		out.Participants = len(ps)
	}
	return out
}
