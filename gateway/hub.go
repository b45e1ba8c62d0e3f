package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/media/mixer"
	"github.com/roombridge/roombridge/gateway/room"
)

// maxCatchUp is how many ticks a late clock runs back to back before it
// gives up on the lost time and starts afresh: a few frames of burst are
// what jitter buffers absorb, a long stall is better skipped.
const maxCatchUp = 5

// hub is a room's audio hub on this node: one hidden participant that
// decodes every remote Opus track once, the mixer, and the SIP legs of the
// room, all driven by a single 20 ms clock goroutine. It lives from the
// room's first leg on this node to its last (Gateway.joinHub, leaveHub).
type hub struct {
	g    *Gateway
	room string
	log  *slog.Logger
	mix  *mixer.Hub

	users int // legs joined or joining; guarded by g.mu

	startMu  sync.Mutex
	started  bool
	startErr error
	part     room.Participant
	stop     context.CancelFunc
	clock    sync.WaitGroup // the clock goroutine
	readers  sync.WaitGroup // remote track readers

	mu      sync.Mutex
	cond    *sync.Cond // signals the end of a tick
	ticking bool
	tickSeq uint64
	legs    []*leg
	own     map[string]bool // participant ids of our legs: their audio is mixed directly
	// ownIDs mirrors own for the backend's track filter, which runs on the
	// backend's goroutines and must not take h.mu.
	ownIDs sync.Map
	tracks []*remoteTrack
	closed bool

	// Clock goroutine state.
	legSnap   []*leg
	trackSnap []*remoteTrack
	lateTicks uint64
}

func newHub(g *Gateway, roomName string) *hub {
	mix, _ := mixer.New(mixer.Config{Rate: hubRate, FrameSamples: hubFrame, MaxSpeakers: g.cfg.MaxSpeakers})
	h := &hub{
		g:    g,
		room: roomName,
		log:  g.log.With("room", roomName, "hub", true), // the gateway logger already names the component
		mix:  mix,
		own:  map[string]bool{},
	}
	h.cond = newCond(h)
	return h
}

func newCond(h *hub) *sync.Cond { return sync.NewCond(&h.mu) }

// start joins the room as a hidden participant and starts the clock, once;
// later calls return the first one's result.
func (h *hub) start(ctx context.Context) error {
	h.startMu.Lock()
	defer h.startMu.Unlock()
	if h.started {
		return h.startErr
	}
	h.started = true
	p, err := h.g.cfg.Backend.Join(ctx, h.room, room.ParticipantInfo{
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
	p.OnTrack(h.onTrack)
	cctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	h.clock.Add(1)
	go h.run(cctx)
	h.log.Debug("room hub started")
	return nil
}

// expect records the participant id of one of our legs before it
// publishes, so that its track is never decoded back into the mix.
func (h *hub) expect(id string) {
	h.mu.Lock()
	h.own[id] = true
	h.mu.Unlock()
	h.ownIDs.Store(id, struct{}{})
}

// addLeg puts a leg into the mix and the clock.
func (h *hub) addLeg(l *leg) {
	l.src = h.mix.AddSource(l.id)
	l.lis = h.mix.AddListener(l.src)
	h.mu.Lock()
	h.legs = append(h.legs, l)
	h.mu.Unlock()
}

// removeLeg forgets our leg id and takes l (when added) out and waits for a tick in progress, so that the
// leg is not touched once its call returns.
func (h *hub) removeLeg(id string, l *leg) {
	h.ownIDs.Delete(id)
	h.mu.Lock()
	delete(h.own, id)
	if l == nil {
		h.mu.Unlock()
		return
	}
	h.legs = slices.DeleteFunc(h.legs, func(x *leg) bool { return x == l })
	for seq := h.tickSeq; h.ticking && h.tickSeq == seq; {
		h.cond.Wait()
	}
	h.mu.Unlock()
	if l.lis != nil {
		h.mix.RemoveListener(l.lis)
		h.mix.RemoveSource(l.src)
	}
}

// onTrack starts reading a remote participant's Opus track; it runs on the
// backend's dispatch goroutine.
func (h *hub) onTrack(rt room.RemoteTrack) {
	if rt.Kind() != room.TrackKindAudio || !isOpus(rt.Codec()) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.own[rt.ParticipantID()] {
		return
	}
	t, err := newRemoteTrack(rt, h.mix.AddSource(rt.ParticipantID()))
	if err != nil {
		h.log.Warn("remote track not mixed", "track", rt.ID(), "err", err)
		return
	}
	h.tracks = append(h.tracks, t)
	h.readers.Add(1)
	go func() {
		defer h.readers.Done()
		t.read()
	}()
	h.log.Debug("mixing remote track", "track", rt.ID(), "participant", rt.ParticipantID())
}

// run is the room's clock. time.Ticker drops ticks when the goroutine is
// late; run keeps its own schedule instead and catches up with back-to-back
// ticks, counting each late one.
func (h *hub) run(ctx context.Context) {
	defer h.clock.Done()
	t := time.NewTicker(frameDur)
	defer t.Stop()
	next := time.Now().Add(frameDur)
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
			n := 0
			for !now.Before(next) {
				if n == maxCatchUp {
					next = now.Add(frameDur)
					break
				}
				start := time.Now()
				h.tick()
				h.g.m.tickTime.Observe(time.Since(start).Seconds())
				h.g.m.ticks.Inc()
				next = next.Add(frameDur)
				n++
			}
			if n > 1 {
				h.lateTicks += uint64(n - 1)
				h.g.m.lateTicks.Add(float64(n - 1))
			}
		}
	}
}

// tick is one 20 ms frame of the room: every leg's audio in, every remote
// track decoded once, one mix, every leg's N−1 out. No lock is held while
// legs write to the network.
func (h *hub) tick() {
	h.mu.Lock()
	h.ticking = true
	h.tickSeq++
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

// close stops the clock, leaves the room (which ends every remote track, so
// the readers return) and waits for all of the hub's goroutines.
func (h *hub) close() error {
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
	h.readers.Wait()
	h.log.Debug("room hub stopped", "late_ticks", h.lateTicks)
	return err
}

func isOpus(mime string) bool { return strings.EqualFold(mime, "audio/opus") }

func randUint32() uint32 { return rand.Uint32() }

func randHex() string {
	const hexdigits = "0123456789abcdef"
	var b [12]byte
	for i := range b {
		b[i] = hexdigits[rand.IntN(16)]
	}
	return string(b[:])
}

// population is how many participants the hub hears or serves: its SIP
// legs and the audio tracks of the others.
func (h *hub) population() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.legs) + len(h.tracks)
}
