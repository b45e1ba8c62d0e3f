package bridge

import (
	"sync/atomic"

	pionrtp "github.com/pion/rtp"
)

// PacketSender sends a packet built elsewhere, keeping its sequence
// number, timestamp and marker and putting in its own SSRC;
// *rtp.Session is one.
type PacketSender interface {
	WriteRTPPacket(pkt *pionrtp.Packet) error
}

// RelayConfig maps the payload types of one direction of a relay: what
// the receiving transport's peer sends (From) to what the other peer
// expects (To).
type RelayConfig struct {
	FromMedia, ToMedia uint8
	// FromTE and ToTE are the telephone-event payload types; TE false
	// drops events (the other peer has none).
	FromTE, ToTE uint8
	TE           bool
}

// Relay joins two transports with no codec between them: every audio or
// telephone-event packet one peer sends goes to the other as it came,
// payload type renumbered, sequence numbers and timestamps kept (so the
// far jitter buffer sees the real losses and the events keep their
// durations). A node bridge (a PIN caller on one node, its room on
// another) runs one per direction: G.711 or Opus crosses both nodes
// without being decoded, and the room's node mixes it as any phone's.
// HandleRTP runs on the receiving transport's reader goroutine and
// allocates nothing.
type Relay struct {
	cfg      RelayConfig
	to       PacketSender
	sent     atomic.Uint64
	sendErrs atomic.Uint64
	// out is the packet handed on: a copy, so that the caller's packet
	// does not escape through the PacketSender interface (every leg's
	// HandleRTP would then allocate its packet, relaying or not). One
	// reader goroutine calls HandleRTP, and senders do not keep packets.
	out pionrtp.Packet
}

// NewRelay makes the relay of packets to to.
func NewRelay(to PacketSender, cfg RelayConfig) *Relay { return &Relay{cfg: cfg, to: to} }

// HandleRTP forwards pkt (it implements rtp.Handler); other payload types
// (comfort noise) are dropped.
func (r *Relay) HandleRTP(pkt *pionrtp.Packet) {
	r.out = *pkt
	switch {
	case pkt.PayloadType == r.cfg.FromMedia:
		r.out.PayloadType = r.cfg.ToMedia
	case r.cfg.TE && pkt.PayloadType == r.cfg.FromTE:
		r.out.PayloadType = r.cfg.ToTE
	default:
		return
	}
	if err := r.to.WriteRTPPacket(&r.out); err != nil {
		r.sendErrs.Add(1)
		return
	}
	r.sent.Add(1)
}

// Stats are the packets relayed and those the other transport refused.
func (r *Relay) Stats() (sent, errors uint64) { return r.sent.Load(), r.sendErrs.Load() }

// SetRelay sends every packet the leg receives to r from now on, instead
// of to its own stages (nil returns them there). The leg's clock must be
// stopped: the leg decodes nothing while it relays.
func (l *Leg) SetRelay(r *Relay) { l.relay.Store(r) }
