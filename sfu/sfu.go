package sfu

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/roombridge/roombridge/gateway/pionlog"
	"github.com/roombridge/roombridge/gateway/room"
)

var (
	_ room.Backend   = (*SFU)(nil)
	_ room.Directory = (*SFU)(nil)
)

// SFU is the embedded selective forwarding unit: rooms of WebRTC and
// in-process participants. It is safe for concurrent use.
type SFU struct {
	cfg Config
	log *slog.Logger
	api *webrtc.API
	m   *metrics

	// ctx is the parent of every participant's context; Close cancels it.
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	rooms  map[string]*roomState
	closed bool

	// wg counts every goroutine and signalling session the SFU owns, so
	// that Close can wait for them.
	wg sync.WaitGroup
	// sessions counts the web clients' signalling sessions now open.
	sessions atomic.Int64
}

// Sessions is the number of web client sessions (signalling WebSockets)
// open now; a draining gateway waits for them to end.
func (s *SFU) Sessions() int { return int(s.sessions.Load()) }

// New makes an SFU from cfg; it starts no goroutine until participants join.
func New(cfg Config) (*SFU, error) {
	if cfg.PortMax < cfg.PortMin {
		return nil, fmt.Errorf("sfu: PortMax %d below PortMin %d", cfg.PortMax, cfg.PortMin)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	log = log.With("component", "sfu")
	if cfg.PionLogger == nil {
		cfg.PionLogger = pionlog.New(log)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("sfu: metrics: %w", err)
	}
	api, err := newAPI(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	return &SFU{
		cfg: cfg, log: log, api: api, m: m,
		ctx: ctx, cancel: cancel, rooms: map[string]*roomState{},
	}, nil
}

// Close removes every participant (reason "shutdown"), refuses new ones and
// waits for all of the SFU's goroutines. It is idempotent.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	var members []*member
	for _, r := range s.rooms {
		members = append(members, r.all()...)
	}
	s.mu.Unlock()
	for _, m := range members {
		s.kick(m, "shutdown")
	}
	s.cancel(room.ErrClosed)
	s.wg.Wait()
	return nil
}

// newID makes a participant or track id: a prefix and 12 random base32
// characters.
func newID(prefix string) string {
	return prefix + rand.Text()[:12]
}

// admit puts m into the named room, creating the room on first join.
func (s *SFU) admit(roomName string, m *member) (*roomState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("%w: sfu is shut down", room.ErrClosed)
	}
	r := s.rooms[roomName]
	created := false
	if r == nil {
		r = newRoomState(s, roomName)
		created = true
	}
	if err := r.add(m); err != nil {
		return nil, err
	}
	if created {
		s.rooms[roomName] = r
		s.m.rooms.Inc()
		s.wg.Add(1)
		go r.speakerLoop()
		s.log.Debug("room created", "room", roomName)
	}
	return r, nil
}

// depart takes m out of its room and drops the room when it is empty. It is
// idempotent.
func (s *SFU) depart(m *member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := m.room
	if r == nil {
		return
	}
	if r.remove(m) && s.rooms[r.name] == r {
		delete(s.rooms, r.name)
		close(r.stop)
		s.m.rooms.Dec()
		s.log.Debug("room dropped", "room", r.name)
	}
}

// kick removes m from its room at once and tells its peer to end.
func (s *SFU) kick(m *member, reason string) {
	s.depart(m)
	m.peer.remove(reason)
}

func (s *SFU) room(name string) *roomState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[name]
}

// Participants implements room.Directory.
func (s *SFU) Participants(_ context.Context, roomName string) ([]room.ParticipantState, error) {
	r := s.room(roomName)
	if r == nil {
		return []room.ParticipantState{}, nil
	}
	return r.visibleStates(nil), nil
}

// MuteParticipant implements room.Directory. A WebRTC participant is told
// with a "muted" message, a bot with an EventMuted.
func (s *SFU) MuteParticipant(_ context.Context, roomName, id string, kind room.TrackKind, muted bool) error {
	m, err := s.find(roomName, id)
	if err != nil {
		return err
	}
	return m.room.setMuted(m, kind, muted, true)
}

// RemoveParticipant implements room.Directory. The participant is out of
// the room's listing when it returns; its connection closes shortly after.
func (s *SFU) RemoveParticipant(_ context.Context, roomName, id, reason string) error {
	m, err := s.find(roomName, id)
	if err != nil {
		return err
	}
	if reason == "" {
		reason = "removed"
	}
	s.kick(m, reason)
	return nil
}

// CloseRoom implements room.Directory.
func (s *SFU) CloseRoom(_ context.Context, roomName string) error {
	r := s.room(roomName)
	if r == nil {
		return fmt.Errorf("%w: %q", room.ErrRoomNotFound, roomName)
	}
	for _, m := range r.all() {
		s.kick(m, "room closed")
	}
	return nil
}

func (s *SFU) find(roomName, id string) (*member, error) {
	r := s.room(roomName)
	if r == nil {
		return nil, fmt.Errorf("%w: %q in room %q", room.ErrParticipantNotFound, id, roomName)
	}
	m := r.member(id)
	if m == nil {
		return nil, fmt.Errorf("%w: %q in room %q", room.ErrParticipantNotFound, id, roomName)
	}
	return m, nil
}

// Join implements room.Backend: it adds an in-process participant (a SIP leg,
// the room audio hub, a recorder) to a room.
func (s *SFU) Join(ctx context.Context, roomName string, info room.ParticipantInfo) (room.Participant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := info.Identity
	if id == "" {
		id = newID("PA_")
	}
	kind := info.Kind
	if kind == room.ParticipantKindUnknown {
		kind = room.ParticipantKindBot
	}
	m := &member{
		id: id, name: info.Name, kind: kind, hidden: info.Hidden,
		joinedAt: time.Now(), attrs: info.Attributes,
		log: s.log.With("room", roomName, "participant", id, "kind", kind.String()),
	}
	b := newBot(s, m)
	m.peer = b
	r, err := s.admit(roomName, m)
	if err != nil {
		return nil, err
	}
	if id, _ := s.Pinned(ctx, roomName); id != "" && r != nil {
		b.emit(room.Event{Type: room.EventPinned, Pinned: id})
	}
	s.wg.Add(1)
	go b.dispatchLoop()
	m.log.Info("participant joined")
	return b, nil
}
