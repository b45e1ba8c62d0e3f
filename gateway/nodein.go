package gateway

import (
	"time"

	"github.com/roombridge/roombridge/gateway/sip"
)

// bridgedIn reports whether ic is another node's bridge of a PIN caller
// into room (nodeleg.go): its Request-URI carries StayParam and its
// NodeBridgeHeader a valid, unspent token for room.
// Such a call joins room without the PIN, as the caller's name, host or
// guest as the PIN it keyed there. A missing or forged token makes it an
// ordinary call: the PIN IVR for a room with a PIN.
func (g *Gateway) bridgedIn(ic *sip.IncomingCall, room string) (nodeClaim, bool) {
	tok := ic.Header(NodeBridgeHeader)
	if tok == "" {
		return nodeClaim{}, false
	}
	if _, stay := ic.RequestURIParam(StayParam); !stay || g.tokens == nil {
		g.log.Warn("node bridge INVITE refused: not expected here", "call_id", ic.CallID(), "source", ic.Source().String())
		return nodeClaim{}, false
	}
	claim, err := g.tokens.check(tok, room, time.Now())
	if err != nil {
		g.m.nodeBridges.WithLabelValues(bridgeForged).Inc()
		g.log.Warn("node bridge INVITE refused", "call_id", ic.CallID(), "source", ic.Source().String(), "err", err)
		return nodeClaim{}, false
	}
	g.m.nodeBridges.WithLabelValues(bridgeIn).Inc()
	g.log.Info("node bridge INVITE let in", "call_id", ic.CallID(), "room", room, "from_node", claim.node, "host", claim.host)
	return claim, true
}
