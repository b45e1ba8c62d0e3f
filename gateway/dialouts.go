package gateway

import (
	"time"

	"github.com/roombridge/roombridge/gateway/dialout"
	"github.com/roombridge/roombridge/gateway/headroom"
	"github.com/roombridge/roombridge/gateway/room"
)

// admitOut counts a dial-out leg in, unless the gateway drains, has
// closed or has no headroom: a dial-out's callee is a leg like any other.
func (g *Gateway) admitOut(o *outLeg) error {
	if r := g.head.Admit(); r != headroom.None {
		g.m.refusals.WithLabelValues(r.String()).Inc()
		return ErrNoHeadroom
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.draining.Load() {
		return ErrDraining
	}
	if g.outs == nil {
		g.outs = map[*outLeg]struct{}{}
	}
	g.outs[o] = struct{}{}
	g.wg.Add(1)
	return nil
}

// releaseOut takes o out of the table, its packet counters into the
// totals.
func (g *Gateway) releaseOut(o *outLeg) {
	t := o.rtpTotals()
	g.mu.Lock()
	if _, ok := g.outs[o]; !ok {
		g.mu.Unlock()
		return
	}
	delete(g.outs, o)
	g.ended.add(t)
	g.mu.Unlock()
	g.wg.Done()
}

// endOuts ends every dial-out leg with cause; their registry hangs them
// up and closes them.
func (g *Gateway) endOuts(cause error) {
	g.mu.Lock()
	outs := make([]*outLeg, 0, len(g.outs))
	for o := range g.outs {
		outs = append(outs, o)
	}
	g.mu.Unlock()
	for _, o := range outs {
		o.cancel(cause)
	}
}

// observeOut tells the observer that a dial-out's callee joined or left
// its room.
func (g *Gateway) observeOut(typ CallEventType, info dialout.Info, p room.ParticipantInfo) {
	if g.cfg.Observer == nil {
		return
	}
	g.cfg.Observer.ObserveCall(CallEvent{
		Type: typ, Time: time.Now().UTC(), Direction: "outbound", ID: info.ID, SIPCallID: info.SIPCallID,
		From: info.From, To: info.To, Trunk: info.Trunk, Transport: p.Attributes["sip.transport"],
		Room: info.Room, Participant: p, StartedAt: info.CreatedAt,
	})
}
