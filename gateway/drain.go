package gateway

import (
	"context"
	"fmt"

	"github.com/roombridge/roombridge/gateway/headroom"
)

// Ready reports whether the gateway takes new calls now: nil, or why not
// (ErrDraining; ErrNoHeadroom naming the ceiling while it refuses calls to
// keep the audio of those up; the room backend knows it is down). The SIP
// server answers OPTIONS from it (sip.Config.Ready), so that a dispatcher
// probing with OPTIONS sends new calls to another node before any INVITE
// is refused, and /readyz turns 503 with it.
func (g *Gateway) Ready() error {
	if g.draining.Load() {
		return ErrDraining
	}
	if r := g.head.Admit(); r != headroom.None {
		return fmt.Errorf("%w (%s)", ErrNoHeadroom, r)
	}
	if r, ok := g.cfg.Backend.(interface{ Ready(context.Context) error }); ok {
		if err := r.Ready(context.Background()); err != nil {
			return fmt.Errorf("%w: %w", ErrBackend, err)
		}
	}
	return nil
}

// Draining reports whether Drain (or Close) was called.
func (g *Gateway) Draining() bool { return g.draining.Load() }

// ActiveCalls is the number of calls in progress: from INVITE to hang-up,
// IVR and waiting rooms included.
func (g *Gateway) ActiveCalls() int { return g.activeCalls() }
