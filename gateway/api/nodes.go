package api

import (
	"net/http"
	"time"
)

// NodeState is one gateway node as GET /v1/nodes lists it, from the
// records every node keeps up to date in the shared store.
type NodeState struct {
	ID string `json:"id"`
	// URL is the node's own HTTP base (http.public_url); SIP its SIP
	// listeners.
	URL      string   `json:"url"`
	SIP      []string `json:"sip"`
	Draining bool     `json:"draining"`
	Calls    int      `json:"calls"`
	// Rooms are the rooms whose audio this node hosts (embedded SFU: the
	// room lives there), by the placement records.
	Rooms []string `json:"rooms"`
	// Seen is when the node last reported; a node that stops reporting is
	// dropped after a few seconds.
	Seen time.Time `json:"seen"`
}

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Nodes == nil {
		return &requestError{class: errUnavailable, msg: "node listing not configured"}
	}
	nodes, err := s.cfg.Nodes(r.Context())
	if err != nil {
		return err
	}
	if nodes == nil {
		nodes = []NodeState{}
	}
	writeJSON(w, http.StatusOK, struct {
		Nodes []NodeState `json:"nodes"`
	}{nodes})
	return nil
}
