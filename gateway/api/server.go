package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/roombridge/roombridge/gateway/room"
	"github.com/roombridge/roombridge/gateway/sip/outbound"
	"github.com/roombridge/roombridge/gateway/store"
)

// Config is what the API needs; it is read once by New.
type Config struct {
	// Keys are the accepted bearer tokens; at least one, none empty.
	Keys []string
	// Store holds the rooms. Required.
	Store store.Store
	// Directory lists, mutes and kicks participants, and closes deleted
	// rooms. When nil, participant routes answer 503.
	Directory room.Directory
	// Tokens mints join tokens; the same *Tokens must verify them at the
	// SFU. When nil, the token route answers 503.
	Tokens *Tokens
	// SIPDomain makes each room's sip_uri (sip:NAME@SIPDomain); empty
	// leaves sip_uri out. It is also the domain of SIP accounts.
	SIPDomain string
	// SIPCredentials mints short-lived SIP accounts for browsers; the same
	// *SIPCredentials must check them at the registrar. When nil, the
	// route answers 503.
	SIPCredentials *SIPCredentials
	// PublicURL is the base of join URLs, e.g. https://meet.example.com.
	// Empty gives URLs relative to the server ("/r/ROOM?...").
	PublicURL string
	// Logger receives request errors and an audit line per change; nil
	// discards.
	Logger *slog.Logger
	// OnRoomDeleted, if set, is called after a room is deleted and its
	// participants were told to leave (e.g. to send a webhook). It runs on
	// the request's goroutine, so it must not block for long.
	OnRoomDeleted func(name string)
	// OnRoomCreated, if set, is called after a room is stored, with the
	// request's context (e.g. to create it in LiveKit). An error is logged
	// and the room stays: a backend that cannot be told now creates the
	// room when the first participant joins.
	OnRoomCreated func(ctx context.Context, name string) error
	// Trunks, if set, reports the outbound trunks for GET /v1/trunks.
	Trunks func() []outbound.TrunkState
	// Calls, if set, places and tracks dial-outs (POST
	// /v1/rooms/{name}/dial, /v1/calls); without it those answer 503.
	Calls DialOuts
	// Quality, if set, gives a SIP participant's media quality (loss,
	// jitter, RTT, MOS) as a JSON-marshalable value for the listing; false
	// when this node has no such leg.
	Quality func(room, participantID string) (any, bool)
	// LocalNode, when set, is the node listed for participants whose
	// backend attributes name none (room.AttrNode): set it when every
	// participant the Directory lists lives in this process (the embedded
	// SFU).
	LocalNode string
	// Drain, if set, reports this node's drain state and, with start,
	// begins the drain (POST /v1/admin/drain); nil answers 503.
	Drain func(start bool) DrainState
	// Nodes, if set, lists the gateway nodes sharing the store (GET
	// /v1/nodes); nil answers 503.
	Nodes func(ctx context.Context) ([]NodeState, error)
}

// Server serves the room API. Create it with New.
type Server struct {
	cfg       Config
	log       *slog.Logger
	keys      [][32]byte
	publicURL string
	mux       *http.ServeMux
}

var _ http.Handler = (*Server)(nil)

// New checks cfg and builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: Config.Store is required")
	}
	keys, err := hashKeys(cfg.Keys)
	if err != nil {
		return nil, err
	}
	publicURL := strings.TrimRight(cfg.PublicURL, "/")
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("api: Config.PublicURL %q is not an http(s) URL", cfg.PublicURL)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		keys:      keys,
		publicURL: publicURL,
		mux:       http.NewServeMux(),
	}
	for _, rt := range s.routes() {
		h := rt.handler
		if rt.public {
			s.mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, h) })
			continue
		}
		s.mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := s.authorize(r); err != nil {
				s.fail(w, r, err)
				return
			}
			s.serve(w, r, h)
		})
	}
	return s, nil
}

// handlerFunc is a route handler. It writes its own success response and
// returns errors for fail to report, so status codes for errors are chosen
// in one place.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	pattern string
	handler handlerFunc
	public  bool // no API key needed
}

// openAPIPath is the one route served without an API key.
const openAPIPath = "/v1/openapi.json"

// routes is the whole API surface; the OpenAPI test checks the document
// against this list.
func (s *Server) routes() []route {
	return []route{
		{"GET " + openAPIPath, s.openAPI, true},
		{"GET /v1/rooms", s.listRooms, false},
		{"POST /v1/rooms", s.createRoom, false},
		{"GET /v1/rooms/{name}", s.getRoom, false},
		{"PATCH /v1/rooms/{name}", s.patchRoom, false},
		{"DELETE /v1/rooms/{name}", s.deleteRoom, false},
		{"GET /v1/rooms/{name}/participants", s.listParticipants, false},
		{"POST /v1/rooms/{name}/participants/{id}/mute", s.muteParticipant, false},
		{"DELETE /v1/rooms/{name}/participants/{id}", s.kickParticipant, false},
		{"POST /v1/rooms/{name}/participants/{id}/pin", s.pinParticipant, false},
		{"DELETE /v1/rooms/{name}/participants/{id}/pin", s.unpinParticipant, false},
		{"POST /v1/rooms/{name}/tokens", s.createToken, false},
		{"POST /v1/rooms/{name}/dial", s.dial, false},
		{"GET /v1/calls", s.listCalls, false},
		{"GET /v1/calls/{id}", s.getCall, false},
		{"DELETE /v1/calls/{id}", s.hangupCall, false},
		{"GET /v1/trunks", s.listTrunks, false},
		{"POST /v1/sip-credentials", s.createSIPCredential, false},
		{"GET /v1/registrations", s.listRegistrations, false},
		{"POST /v1/admin/drain", s.drain, false},
		{"GET /v1/admin/drain", s.drainState, false},
		{"GET /v1/nodes", s.listNodes, false},
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, h handlerFunc) {
	if err := h(w, r); err != nil {
		s.fail(w, r, err)
	}
}

// Handler returns the API's handler. Mount it at "/v1/" without stripping
// the prefix: the routes include it.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP routes r. Requests no route matches get the mux's answer (404
// or 405 with Allow) as a JSON error, after the key check so that the API's
// shape is not probed without one.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	if r.URL.Path != openAPIPath {
		if err := s.authorize(r); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		s.fail(w, r, &requestError{
			class: errMethodNotAllowed,
			msg:   fmt.Sprintf("method %s not allowed here; allowed: %s", r.Method, rec.header.Get("Allow")),
		})
	case http.StatusNotFound:
		s.fail(w, r, notFound("no such route: "+r.URL.Path))
	default:
		// Path-cleaning redirects: pass them on as the mux made them.
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
	}
}

// headerRecorder keeps the status and headers of the mux's own 404/405
// answer and drops its plain-text body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}

func (h *headerRecorder) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}
