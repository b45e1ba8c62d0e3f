package gateway

import (
	"context"

	"github.com/roombridge/roombridge/gateway/bridge"
)

// roomHub is a room's audio hub (gateway/bridge) with the count of the
// calls using it, so that it lives from the room's first leg on this node
// to its last (Gateway.joinHub, leaveHub).
//
// The hub joins the room in the background from the moment the room's
// first leg arrives, beside that leg's own join rather than after it: the
// hub is a full backend participant (with LiveKit, a client that
// subscribes), whose join takes longer than a phone's, and every leg of
// the room waits for it before publishing.
type roomHub struct {
	*bridge.Hub
	users int // legs joined or joining; guarded by g.mu

	started  chan struct{} // closed when the start has ended
	startErr error         // set before started is closed
	cancel   context.CancelFunc
}

func (g *Gateway) newHub(roomName string) *roomHub {
	return &roomHub{
		Hub: bridge.NewHub(bridge.HubConfig{
			Room:        roomName,
			Backend:     g.backendOf(roomName),
			MaxSpeakers: g.cfg.MaxSpeakers,
			Logger:      g.log.With("room", roomName, "hub", true), // the gateway logger already names the component
			Observer:    clockObserver{g.m, g.head},
		}),
		started: make(chan struct{}),
	}
}

// start joins the hub to its room, in a join slot of its own: no leg
// holds a slot while it waits for the hub, so the slots cannot all be
// taken by legs waiting for hubs that wait for a slot. Its context is the
// hub's, not a leg's, so that the first caller hanging up does not fail
// the join for the others; leaveHub cancels it when the last leg goes.
func (h *roomHub) start(q *joinQueue) {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.started)
		release, err := q.acquire(ctx)
		if err != nil {
			h.startErr = err
			return
		}
		defer release()
		h.startErr = h.Start(ctx)
	}()
}

// wait waits for the hub's start to end, or for ctx to.
func (h *roomHub) wait(ctx context.Context) error {
	select {
	case <-h.started:
		return h.startErr
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
