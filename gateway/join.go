package gateway

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roombridge/roombridge/gateway/room"
)

// DefaultMaxJoins is how many room joins run at once when Config.MaxJoins
// is zero: enough to keep a LiveKit server busy under a burst of calls,
// few enough that a burst does not open hundreds of signalling
// connections, ICE agents and DTLS handshakes at the same moment.
const DefaultMaxJoins = 16

// joinQueue bounds the room joins in progress: each join (with LiveKit a
// client of its own: signalling, ICE, DTLS) runs in parallel with at most
// max−1 others, and the rest wait their turn in arrival order of the
// runtime's channel queue, counted by roombridge_room_joins_queued.
type joinQueue struct {
	slots   chan struct{}
	queued  prometheus.Gauge
	active  prometheus.Gauge
	took    prometheus.Histogram
	dropped prometheus.Counter
	failed  prometheus.Counter
}

func newJoinQueue(max int, reg prometheus.Registerer) (*joinQueue, error) {
	if max <= 0 {
		max = DefaultMaxJoins
	}
	q := &joinQueue{
		slots: make(chan struct{}, max),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roombridge_room_joins_queued",
			Help: "Room joins waiting for one of the joins in progress to end (at most MaxJoins run at once).",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roombridge_room_joins_in_progress",
			Help: "Room joins in progress (backend participant, room hub, published track).",
		}),
		took: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roombridge_room_join_seconds",
			Help:    "Time from the start of a phone's room join (queueing included) to its end, successful or not.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40},
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roombridge_room_join_dropped_packets_total",
			Help: "RTP packets phones sent after being answered and before their room join ended: the room did not hear them (the caller heard silence meanwhile).",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roombridge_room_join_failures_total",
			Help: "Answered calls hung up because their room join failed.",
		}),
	}
	if reg == nil {
		return q, nil
	}
	for _, c := range []prometheus.Collector{q.queued, q.active, q.took, q.dropped, q.failed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// acquire waits for a free slot, or for ctx to end (its cause is
// returned). release gives the slot back.
func (q *joinQueue) acquire(ctx context.Context) (release func(), err error) {
	select {
	case q.slots <- struct{}{}:
	default:
		q.queued.Inc()
		select {
		case q.slots <- struct{}{}:
			q.queued.Dec()
		case <-ctx.Done():
			q.queued.Dec()
			return nil, context.Cause(ctx)
		}
	}
	q.active.Inc()
	return func() {
		q.active.Dec()
		<-q.slots
	}, nil
}

// pendingJoin is a room join running in the background while the call is
// answered. done is closed when the join has ended; err is set before.
type pendingJoin struct {
	room  string
	start time.Time
	done  chan struct{}
	err   error
}

// startJoin joins roomName in the background, so that the caller is
// answered without waiting for the backend (a LiveKit join takes a round
// trip or three, longer under a burst). awaitJoin collects the result;
// teardown waits for it.
func (c *call) startJoin(roomName string) {
	pj := &pendingJoin{room: roomName, start: time.Now(), done: make(chan struct{})}
	c.pending = pj
	go func() {
		defer close(pj.done)
		pj.err = c.joinBackend(roomName)
		c.g.joins.took.Observe(time.Since(pj.start).Seconds())
	}()
}

// awaitJoin waits for the background join of an answered call, the
// caller hearing silence from the leg's own clock meanwhile and the room
// hearing nothing of the caller (counted). A failed join ends the call.
// Without a pending join it does nothing.
func (c *call) awaitJoin() error {
	pj := c.pending
	if pj == nil {
		return nil
	}
	l := c.leg.Load()
	select {
	case <-pj.done:
	default:
		l.StartClock() // enterHub stops it
		select {
		case <-pj.done:
		case <-c.ctx.Done():
			return context.Cause(c.ctx)
		}
	}
	if pj.err != nil {
		c.g.joins.failed.Inc()
		c.log.Warn("room join failed after the answer: hanging up", "err", pj.err)
		return pj.err
	}
	var dropped uint64
	if s := c.sess.Load(); s != nil {
		dropped = s.Stats().PacketsReceived
	}
	c.g.joins.dropped.Add(float64(dropped))
	c.joined(pj.room)
	c.log.Info("joined the room after the answer", "join", time.Since(pj.start).Round(time.Millisecond), "dropped_packets", dropped)
	return nil
}

// waitJoin ends a background join that is still running (the call is
// over) and waits for it, so that teardown owns what it made.
func (c *call) waitJoin() {
	pj := c.pending
	if pj == nil {
		return
	}
	select {
	case <-pj.done:
	default:
		c.cancel(ErrCallDone)
		<-pj.done
	}
}

// joinRoom puts the caller into the room (joinBackend) and says so.
func (c *call) joinRoom(roomName string) error {
	if err := c.joinBackend(roomName); err != nil {
		return err
	}
	c.joined(roomName)
	return nil
}

// joinBackend makes the caller's participant in the room
// (legMedia.joinParticipant) and publishes a room system's video.
func (c *call) joinBackend(roomName string) error {
	err := c.joinParticipant(roomName, room.ParticipantInfo{
		Identity:   c.id,
		Name:       c.name(),
		Kind:       room.ParticipantKindSIP,
		Attributes: c.attributes(),
		// The room's audio reaches the caller through the hub; a room
		// system subscribes to the room's video (callvideo.go).
		PublishOnly: !c.hasVideo(),
	})
	if err != nil {
		return err
	}
	c.joinVideo(c.part, roomName)
	return nil
}

// joined records that the caller is in roomName, on the call's goroutine
// (so that webhooks keep their order).
func (c *call) joined(roomName string) {
	c.room.Store(&roomName)
	c.g.observe(c, ParticipantJoined)
}
