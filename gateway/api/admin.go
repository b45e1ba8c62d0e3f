package api

import (
	"net/http"
	"time"
)

// DrainState is what the drain routes report: whether this node drains,
// and how much is still in progress on it.
type DrainState struct {
	Draining bool `json:"draining"`
	// Since is when the drain began; Deadline when whatever is still in
	// progress then will be ended (shutdown.drain_timeout).
	Since    time.Time `json:"since,omitzero"`
	Deadline time.Time `json:"deadline,omitzero"`
	// Calls are SIP legs still up on this node, Sessions web client
	// sessions (embedded SFU) still connected.
	Calls    int `json:"calls"`
	Sessions int `json:"sessions"`
}

// drain starts the drain (idempotent) and reports its state: 202, since
// the node exits on its own once the calls have ended.
func (s *Server) drain(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Drain == nil {
		return &requestError{class: errUnavailable, msg: "this server cannot drain"}
	}
	st := s.cfg.Drain(true)
	s.log.Info("drain requested through the API", "remote", r.RemoteAddr, "calls", st.Calls, "sessions", st.Sessions)
	writeJSON(w, http.StatusAccepted, st)
	return nil
}

func (s *Server) drainState(w http.ResponseWriter, _ *http.Request) error {
	if s.cfg.Drain == nil {
		return &requestError{class: errUnavailable, msg: "this server cannot drain"}
	}
	writeJSON(w, http.StatusOK, s.cfg.Drain(false))
	return nil
}
