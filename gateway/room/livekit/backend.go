package livekit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/livekit/protocol/auth"
	lkproto "github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/roombridge/roombridge/gateway/room"
)

var (
	_ room.Backend   = (*Backend)(nil)
	_ room.Directory = (*Backend)(nil)
)

var sdkLogOnce sync.Once

// healthRoom is the room name the health check asks about: listing one
// (normally absent) room is the cheapest authenticated call there is.
const healthRoom = "roombridge-health-check"

// Backend is the LiveKit backend. It is safe for concurrent use.
type Backend struct {
	cfg    Config
	log    *slog.Logger
	sdkLog protologger.Logger
	rs     *lksdk.RoomServiceClient
	m      *metrics
	// opts are the SDK options participants join with.
	opts clientOptions
	// media is what lean (publish-only) participants share.
	media *leanMedia

	// health is the last check's result: nil when LiveKit answered.
	health  atomic.Pointer[healthState]
	recheck chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	parts  map[partKey]*participant
	closed bool
}

type healthState struct{ err error }

// partKey names one of the backend's own participants.
type partKey struct{ room, identity string }

// New connects to LiveKit at cfg.URL: it checks that the server answers and
// accepts the API key before returning, so that a wrong URL or key fails the
// gateway's start with a clear message (errors.Is(err, room.ErrUnavailable)
// for an unreachable server, ErrBadCredentials for a refused key). Close
// stops its background health check.
//
// The SDK's package-wide logs (pion's PeerConnection logs among them) go to
// the Logger of the first Backend made in the process.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "livekit", "url", cfg.URL)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("livekit: metrics: %w", err)
	}
	opts, err := newClientOptions()
	if err != nil {
		return nil, err
	}
	b := &Backend{
		m: m, opts: opts,
		cfg:     cfg,
		log:     log,
		sdkLog:  protologger.LogRLogger(logr.FromSlogHandler(quieter{cfg.Logger.With("component", "livekit-sdk").Handler()})),
		rs:      lksdk.NewRoomServiceClient(cfg.URL, cfg.APIKey, cfg.APISecret),
		recheck: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		parts:   map[partKey]*participant{},
	}
	// The SDK logs its PeerConnections (pion) through a package-wide logger;
	// the first backend routes it, before any connection exists.
	sdkLogOnce.Do(func() { lksdk.SetLogger(b.sdkLog) })
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	if b.media, err = newLeanMedia(cfg.Logger); err != nil {
		return nil, err
	}
	b.health.Store(&healthState{})
	b.wg.Add(1)
	go b.healthLoop()
	return b, nil
}

// check asks LiveKit for one room, bounded by ConnectTimeout.
func (b *Backend) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ConnectTimeout)
	defer cancel()
	_, err := b.rs.ListRooms(ctx, &lkproto.ListRoomsRequest{Names: []string{healthRoom}})
	if err = apiError("health check", err, nil); err != nil && !errors.Is(err, ErrBadCredentials) && !errors.Is(err, room.ErrUnavailable) {
		// Any other failure (a proxy answering 502, a garbled reply) means
		// the gateway cannot use LiveKit either.
		err = fmt.Errorf("%w: %w", room.ErrUnavailable, err)
	}
	return err
}

// healthLoop refreshes the cached health state every HealthInterval, and at
// once when a Join failed.
func (b *Backend) healthLoop() {
	defer b.wg.Done()
	tick := time.NewTicker(b.cfg.HealthInterval)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
		case <-b.recheck:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-b.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := b.check(ctx)
		cancel()
		prev := b.health.Swap(&healthState{err: err})
		switch {
		case err != nil && prev.err == nil:
			b.log.Warn("LiveKit unreachable: new calls are refused", "err", err)
		case err == nil && prev.err != nil:
			b.log.Info("LiveKit reachable again")
			b.reachable()
		}
	}
}

// reachable runs Config.OnReachable, bounded in time and by Close.
func (b *Backend) reachable() {
	if b.cfg.OnReachable == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*b.cfg.ConnectTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-done:
		}
	}()
	b.cfg.OnReachable(ctx)
	close(done)
}

// requestCheck makes the health loop check now rather than at its next tick.
func (b *Backend) requestCheck() {
	select {
	case b.recheck <- struct{}{}:
	default:
	}
}

// Ready returns nil while LiveKit answers, else why not (wrapping
// room.ErrUnavailable or ErrBadCredentials). It reads the cached state of
// the background check and never waits on the network, so it suits /readyz
// and the decision to answer an INVITE with 503.
func (b *Backend) Ready(context.Context) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return fmt.Errorf("%w: livekit backend closed", room.ErrClosed)
	}
	return b.health.Load().err
}

// Healthy is Ready without the reason.
func (b *Backend) Healthy() bool { return b.Ready(context.Background()) == nil }

// Close stops the health check and removes the backend's participants from
// LiveKit (each gets EventRemoved with reason "shutdown"). It is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.wg.Wait()
		return nil
	}
	b.closed = true
	close(b.stop)
	parts := make([]*participant, 0, len(b.parts))
	for _, p := range b.parts {
		parts = append(parts, p)
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.remove("shutdown", true)
			p.wait()
		}()
	}
	wg.Wait()
	b.wg.Wait()
	return nil
}

// newIdentity makes an identity for a participant that came without one.
func (b *Backend) newIdentity() string {
	return b.cfg.IdentityPrefix + rand.Text()[:12]
}

// register reserves (room, identity) for p; a second participant of this
// backend with the same identity is refused rather than allowed to kick the
// first out, which is what LiveKit would do.
func (b *Backend) register(p *participant) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("%w: livekit backend closed", room.ErrClosed)
	}
	k := partKey{p.roomName, p.id}
	if _, dup := b.parts[k]; dup {
		return fmt.Errorf("%w: %q in room %q", room.ErrDuplicateIdentity, p.id, p.roomName)
	}
	b.parts[k] = p
	return nil
}

func (b *Backend) unregister(p *participant) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := partKey{p.roomName, p.id}
	if b.parts[k] == p {
		delete(b.parts, k)
	}
}

// own returns the backend's own participant (room, identity), if any.
func (b *Backend) own(roomName, identity string) *participant {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.parts[partKey{roomName, identity}]
}

// Join implements room.Backend: the participant connects to LiveKit as a
// client of its own. It fails at once with room.ErrUnavailable while the
// health check says LiveKit is unreachable, and within ConnectTimeout
// otherwise.
func (b *Backend) Join(ctx context.Context, roomName string, info room.ParticipantInfo) (room.Participant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.Ready(ctx); err != nil {
		return nil, err
	}
	id := info.Identity
	if id == "" {
		id = b.newIdentity()
	}
	kind := info.Kind
	if kind == room.ParticipantKindUnknown {
		kind = room.ParticipantKindBot
	}
	p := newParticipant(b, roomName, id, info.Hidden, b.log.With("room", roomName, "participant", id, "kind", kind.String()))
	// A phone leg joins with the adapter's lean client; a hidden
	// participant publishes nothing, so PublishOnly means nothing to it.
	lean := info.PublishOnly && !info.Hidden
	if lean {
		p.publishOnly = true
		p.lean = newLeanClient(p)
	}
	if err := b.register(p); err != nil {
		return nil, err
	}
	token, err := b.token(roomName, id, kind, info)
	if err != nil {
		b.unregister(p)
		return nil, fmt.Errorf("livekit: access token: %w", err)
	}
	if err := p.connect(ctx, token); err != nil {
		b.unregister(p)
		if errors.Is(err, room.ErrUnavailable) {
			b.requestCheck()
		}
		return nil, err
	}
	p.log.Info("participant joined")
	if lean {
		return leanLeg{p}, nil
	}
	return p, nil
}

// token makes the participant's access token: its identity, name, kind and
// attributes, and what it may do.
func (b *Backend) token(roomName, id string, kind room.ParticipantKind, info room.ParticipantInfo) (string, error) {
	publish := !info.Hidden
	subscribe := true
	grant := &auth.VideoGrant{
		RoomJoin:       true,
		Room:           roomName,
		Hidden:         info.Hidden,
		CanPublish:     &publish,
		CanSubscribe:   &subscribe,
		CanPublishData: &publish,
	}
	at := auth.NewAccessToken(b.cfg.APIKey, b.cfg.APISecret).
		SetIdentity(id).
		SetName(info.Name).
		SetKind(lkKind(kind)).
		SetVideoGrant(grant).
		SetValidFor(24 * time.Hour)
	if len(info.Attributes) > 0 {
		at.SetAttributes(info.Attributes)
	}
	return at.ToJWT()
}

// lkKind is the LiveKit kind a participant joins as: SIP legs as SIP (so
// LiveKit's own clients show them as phone participants), everything else
// as a standard participant.
func lkKind(k room.ParticipantKind) lkproto.ParticipantInfo_Kind {
	if k == room.ParticipantKindSIP {
		return lkproto.ParticipantInfo_SIP
	}
	return lkproto.ParticipantInfo_STANDARD
}

// roomKind is the inverse of lkKind for any participant of the room.
func roomKind(k lkproto.ParticipantInfo_Kind) room.ParticipantKind {
	switch k {
	case lkproto.ParticipantInfo_SIP:
		return room.ParticipantKindSIP
	case lkproto.ParticipantInfo_STANDARD:
		return room.ParticipantKindWebRTC
	default: // agents, egress, ingress, connectors, bridges
		return room.ParticipantKindBot
	}
}

// quieter is a slog handler that logs the SDK's Info records at Debug: the
// SDK reports every join, publication and subscription at Info, which is
// too much for a gateway carrying hundreds of calls.
type quieter struct{ slog.Handler }

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return q.Handler.Enabled(ctx, l)
}

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return q.Handler.Handle(ctx, r)
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler { return quieter{q.Handler.WithAttrs(as)} }
func (q quieter) WithGroup(n string) slog.Handler       { return quieter{q.Handler.WithGroup(n)} }
