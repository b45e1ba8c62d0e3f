package bridge

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/media/codec"
	"github.com/roombridge/roombridge/gateway/media/mixer"
	"github.com/roombridge/roombridge/gateway/room"
)

// Observer sees every tick of every room clock, for metrics and admission
// control. Tick is called on the clock goroutine after each tick with how
// late the tick started (0 when on time) and how long its work took; it
// must not block.
type Observer interface {
	Tick(lateness, took time.Duration)
}

// HubConfig configures a Hub. NewHub copies it.
type HubConfig struct {
	// Room is the room's name in the backend.
	Room string
	// Backend is where the room lives; the hub joins it as a hidden
	// participant.
	Backend room.Backend
	// MaxSpeakers is how many speakers each leg hears at once [4].
	MaxSpeakers int
	// Logger gets the hub's logs; nil discards them.
	Logger *slog.Logger
	// Observer, when set, sees every tick.
	Observer Observer
}

// Hub is a room's audio hub on this node: one hidden participant that
// decodes every remote Opus track once, the mixer, and the legs of the
// room, all driven by a single 20 ms clock goroutine. It lives from the
// room's first leg on this node to its last.
type Hub struct {
	cfg HubConfig
	log *slog.Logger
	mix *mixer.Hub

	startMu  sync.Mutex
	started  bool
	startErr error
	part     room.Participant
	stop     context.CancelFunc
	clock    sync.WaitGroup // the clock goroutine
	pumps    sync.WaitGroup // readers of remote tracks that cannot be polled

	mu      sync.Mutex
	cond    *sync.Cond // signals the end of a tick
	ticking bool
	tickSeq uint64
	legs    []*Leg
	own     map[string]bool // participant ids of our legs: their audio is mixed directly
	// ownIDs mirrors own for the backend's track filter, which runs on the
	// backend's goroutines and must not take mu.
	ownIDs sync.Map
	tracks []*remoteTrack
	closed bool

	rateChanges int // mix rate switches (rate.go); guarded by mu

	// Clock goroutine state.
	legSnap   []*Leg
	trackSnap []*remoteTrack
	lateTicks uint64
}

// NewHub makes the hub of a room; it joins the room on Start.
func NewHub(cfg HubConfig) *Hub {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxSpeakers <= 0 {
		cfg.MaxSpeakers = 4
	}
	// A hub starts as a room of phones; its first tick settles the rate.
	mix, _ := mixer.New(mixer.Config{Rate: narrowRate, MaxSpeakers: cfg.MaxSpeakers})
	h := &Hub{cfg: cfg, log: cfg.Logger, mix: mix, own: map[string]bool{}}
	h.cond = sync.NewCond(&h.mu)
	return h
}

// Room is the name of the hub's room.
func (h *Hub) Room() string { return h.cfg.Room }

// Start joins the room as a hidden participant and starts the clock, once;
// later calls return the first one's result.
func (h *Hub) Start(ctx context.Context) error {
	h.startMu.Lock()
	defer h.startMu.Unlock()
	if h.started {
		return h.startErr
	}
	h.started = true
	p, err := h.cfg.Backend.Join(ctx, h.cfg.Room, room.ParticipantInfo{
		Identity: "hub_" + randHex(),
		Name:     "audio hub",
		Kind:     room.ParticipantKindBot,
		Hidden:   true,
	})
	if err != nil {
		h.startErr = errors.Join(ErrBackend, err)
		return h.startErr
	}
	h.part = p
	if f, ok := p.(room.TrackFilter); ok {
		// Our legs' audio is mixed as PCM: the backend need not forward
		// their Opus back to us.
		f.SetTrackFilter(func(id string) bool { _, own := h.ownIDs.Load(id); return !own })
	}
	if f, ok := p.(room.KindFilter); ok {
		// The hub mixes audio: no backend forwards (or depacketizes)
		// video for it.
		f.SetKindFilter(room.TrackKindAudio)
	}
	p.OnTrack(h.onTrack)
	cctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	h.clock.Add(1)
	go h.run(cctx)
	h.log.Debug("room hub started")
	return nil
}

// Expect records the participant id of one of our legs before it
// publishes, so that its track is never decoded back into the mix.
func (h *Hub) Expect(id string) {
	h.mu.Lock()
	h.own[id] = true
	h.mu.Unlock()
	h.ownIDs.Store(id, struct{}{})
}

// Add puts a leg into the mix and onto the hub's clock; the leg's own
// clock must be stopped.
func (h *Hub) Add(l *Leg) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	// Under mu, so that no tick changes the mix rate meanwhile.
	if err := l.port.join(h.mix, l.cfg.ID, h.mix.Config().Rate); err != nil {
		return err
	}
	h.legs = append(h.legs, l)
	return nil
}

// Remove forgets our leg id and takes l (when added, else nil) out,
// waiting for a tick in progress, so that the leg is not touched once
// Remove returns.
func (h *Hub) Remove(id string, l *Leg) {
	h.ownIDs.Delete(id)
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.own, id)
	if l == nil {
		return
	}
	h.legs = slices.DeleteFunc(h.legs, func(x *Leg) bool { return x == l })
	for seq := h.tickSeq; h.ticking && h.tickSeq == seq; {
		h.cond.Wait()
	}
	l.port.leave(h.mix)
}

// onTrack starts reading a remote participant's Opus track; it runs on
// the backend's dispatch goroutine.
func (h *Hub) onTrack(rt room.RemoteTrack) {
	if rt.Kind() != room.TrackKindAudio || codec.ParseMIME(rt.Codec()) != codec.Opus {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.own[rt.ParticipantID()] {
		return
	}
	t, err := newRemoteTrack(rt, h.mix.AddSource(rt.ParticipantID()), h.mix.Config().Rate)
	if err != nil {
		h.log.Warn("remote track not mixed", "track", rt.ID(), "err", err)
		return
	}
	polled := t.q != nil
	if !polled {
		t.pump(&h.pumps)
	}
	h.tracks = append(h.tracks, t)
	h.log.Debug("mixing remote track", "track", rt.ID(), "participant", rt.ParticipantID(), "polled", polled)
}

// run is the room's clock. time.Ticker drops ticks when the goroutine is
// late; run keeps its own schedule instead and catches up with back-to-back
// ticks, counting each late one.
func (h *Hub) run(ctx context.Context) {
	defer h.clock.Done()
	t := time.NewTicker(FrameDuration)
	defer t.Stop()
	// The schedule starts a moment after the ticker's own, so its times
	// trail the ticker's by that moment: tickDue allows for it.
	next := time.Now().Add(FrameDuration)
	events := h.part.Events()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Type == room.EventRemoved {
				// The legs get their own EventRemoved and end the hub.
				h.log.Info("room hub removed from the room", "reason", ev.Reason)
			}
		case now := <-t.C:
			for n := 0; tickDue(now, next); n++ {
				if n == maxCatchUp {
					next = now.Add(FrameDuration)
					break
				}
				start := time.Now()
				h.tick()
				if o := h.cfg.Observer; o != nil {
					o.Tick(max(start.Sub(next), 0), time.Since(start))
				}
				if start.Sub(next) >= FrameDuration {
					h.lateTicks++
				}
				next = next.Add(FrameDuration)
			}
		}
	}
}

// tick is one 20 ms frame of the room: every leg's audio in, every remote
// track decoded once, one mix, every leg's N−1 out. No lock is held while
// legs write to the network.
func (h *Hub) tick() {
	h.mu.Lock()
	h.ticking = true
	h.tickSeq++
	if r := wantRate(h.legs); r != h.mix.Config().Rate {
		h.setRate(r)
	}
	h.legSnap = append(h.legSnap[:0], h.legs...)
	h.trackSnap = append(h.trackSnap[:0], h.tracks...)
	h.mu.Unlock()

	for _, l := range h.legSnap {
		l.pull()
	}
	ended := false
	for _, t := range h.trackSnap {
		t.pull()
		ended = ended || t.done()
	}
	h.mix.Tick()
	for _, l := range h.legSnap {
		l.push()
	}

	h.mu.Lock()
	if ended {
		h.tracks = slices.DeleteFunc(h.tracks, func(t *remoteTrack) bool {
			if t.done() {
				h.mix.RemoveSource(t.src)
				return true
			}
			return false
		})
	}
	h.ticking = false
	h.cond.Broadcast()
	h.mu.Unlock()
	clear(h.legSnap)
	clear(h.trackSnap)
}

// Close stops the clock, leaves the room (which ends every remote track,
// and so the pumps of those that cannot be polled) and waits for all of
// the hub's goroutines.
func (h *Hub) Close() error {
	h.startMu.Lock()
	defer h.startMu.Unlock()
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	if h.part == nil {
		return nil
	}
	h.stop()
	h.clock.Wait()
	err := h.part.Leave("room hub closed")
	h.pumps.Wait()
	h.log.Debug("room hub stopped", "late_ticks", h.lateTicks)
	return err
}

// MixRate is the rate the room mix runs at.
func (h *Hub) MixRate() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mix.Config().Rate
}

// Population is how many participants the hub hears or serves: its legs
// and the audio tracks of the others.
func (h *Hub) Population() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.legs) + len(h.tracks)
}

func randHex() string {
	const hexdigits = "0123456789abcdef"
	var b [12]byte
	for i := range b {
		b[i] = hexdigits[rand.IntN(16)]
	}
	return string(b[:])
}
