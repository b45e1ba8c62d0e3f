package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/roombridge/roombridge/gateway/dialout"
)

// DialOuts places and tracks the calls of POST /v1/rooms/{name}/dial;
// *dialout.Registry implements it.
type DialOuts interface {
	Dial(req dialout.Request) (dialout.Info, error)
	Get(id string) (dialout.Info, bool)
	List() []dialout.Info
	Hangup(id string) (dialout.Info, error)
}

var _ DialOuts = (*dialout.Registry)(nil)

// dialRequest is the body of POST /v1/rooms/{name}/dial.
type dialRequest struct {
	To      string            `json:"to"`
	Trunk   string            `json:"trunk"`
	From    string            `json:"from"`
	Name    string            `json:"name"`
	DTMF    string            `json:"dtmf"`
	Timeout string            `json:"timeout"`
	Headers map[string]string `json:"headers"`
}

// callJSON is a dial-out call as the API shows it.
type callJSON struct {
	ID          string `json:"id"`
	Room        string `json:"room"`
	To          string `json:"to"`
	Trunk       string `json:"trunk,omitempty"`
	From        string `json:"from,omitempty"`
	Name        string `json:"name,omitempty"`
	Participant string `json:"participant"`
	State       string `json:"state"`
	Status      int    `json:"status,omitempty"`
	Cause       string `json:"cause,omitempty"`
	EarlyMedia  bool   `json:"early_media"`
	SIPCallID   string `json:"sip_call_id,omitempty"`
	// Origin is "api" for the room API's dials, "click-to-call" for a
	// SIP caller's.
	Origin     string     `json:"origin"`
	CreatedAt  time.Time  `json:"created_at"`
	RingingAt  *time.Time `json:"ringing_at,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	// Quality is the answered call's media quality (as a participant's
	// in GET /v1/rooms/{name}/participants), nil before the answer.
	Quality any `json:"quality,omitempty"`
}

func (s *Server) dialOuts() (DialOuts, error) {
	if s.cfg.Calls == nil {
		return nil, &requestError{class: errUnavailable, msg: "dial-out is not configured: no outbound trunk"}
	}
	return s.cfg.Calls, nil
}

func (s *Server) dial(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if _, err := s.cfg.Store.GetRoom(r.Context(), name); err != nil {
		return err
	}
	calls, err := s.dialOuts()
	if err != nil {
		return err
	}
	var req dialRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var timeout time.Duration
	if req.Timeout != "" {
		if timeout, err = time.ParseDuration(req.Timeout); err != nil {
			return badRequest("timeout", fmt.Sprintf("timeout %q is not a duration like 30s", req.Timeout))
		}
	}
	info, err := calls.Dial(dialout.Request{
		Room: name, To: req.To, Trunk: req.Trunk, From: req.From, Name: req.Name,
		DTMF: req.DTMF, Timeout: timeout, Headers: req.Headers,
	})
	if err != nil {
		return dialErr(err)
	}
	s.log.Info("dial-out placed", "room", name, "call", info.ID, "trunk", req.Trunk)
	w.Header().Set("Location", "/v1/calls/"+info.ID)
	writeJSON(w, http.StatusCreated, toCallJSON(info))
	return nil
}

func (s *Server) listCalls(w http.ResponseWriter, _ *http.Request) error {
	out := []callJSON{}
	if s.cfg.Calls != nil {
		for _, c := range s.cfg.Calls.List() {
			out = append(out, toCallJSON(c))
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Calls []callJSON `json:"calls"`
	}{out})
	return nil
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) error {
	calls, err := s.dialOuts()
	if err != nil {
		return err
	}
	info, ok := calls.Get(r.PathValue("id"))
	if !ok {
		return notFound("call not found")
	}
	writeJSON(w, http.StatusOK, toCallJSON(info))
	return nil
}

func (s *Server) hangupCall(w http.ResponseWriter, r *http.Request) error {
	calls, err := s.dialOuts()
	if err != nil {
		return err
	}
	info, err := calls.Hangup(r.PathValue("id"))
	if err != nil {
		return dialErr(err)
	}
	s.log.Info("dial-out hung up", "call", info.ID)
	// The CANCEL or BYE is under way; the call's state shows when it ends.
	writeJSON(w, http.StatusAccepted, toCallJSON(info))
	return nil
}

// dialErr maps the registry's errors to API errors.
func dialErr(err error) error {
	var fe *dialout.FieldError
	switch {
	case errors.As(err, &fe):
		return badRequest(fe.Field, fe.Error())
	case errors.Is(err, dialout.ErrNotFound):
		return notFound("call not found")
	case errors.Is(err, dialout.ErrTooMany):
		return &requestError{class: errUnavailable, msg: "too many dial-outs in progress, try again later"}
	case errors.Is(err, dialout.ErrClosed):
		return &requestError{class: errUnavailable, msg: "shutting down"}
	}
	return err
}

func toCallJSON(i dialout.Info) callJSON {
	return callJSON{
		ID: i.ID, Room: i.Room, To: i.To, Trunk: i.Trunk, From: i.From, Name: i.Name,
		Participant: i.Participant, State: string(i.State), Status: i.Status, Cause: i.Cause,
		EarlyMedia: i.EarlyMedia, SIPCallID: i.SIPCallID, Origin: origin(i.Origin), CreatedAt: i.CreatedAt,
		RingingAt: timePtr(i.RingingAt), AnsweredAt: timePtr(i.AnsweredAt), EndedAt: timePtr(i.EndedAt),
		Quality: i.Quality,
	}
}

// origin names who placed a call: "api" for the room API.
func origin(o string) string {
	if o == "" {
		return "api"
	}
	return o
}

// timePtr is nil for the zero time, so JSON leaves it out.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
