package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/roombridge/roombridge/gateway/bridge"
	"github.com/roombridge/roombridge/gateway/rtp"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/gateway/sip/uac"
	"github.com/roombridge/roombridge/ivr"
)

// ErrNodeLegEnded is the cause of a PIN caller's call ended by the node
// of its room: hung up there, kicked, the room closed.
var ErrNodeLegEnded = errors.New("the room's node ended the bridge")

const (
	// nodeDialTimeout bounds the INVITE to the room's node: a node that
	// does not answer within it is taken for dead, and the caller joins
	// the room here instead.
	nodeDialTimeout = 5 * time.Second
	// nodeResponseTimeout gives up on a node that sends not even a 100.
	nodeResponseTimeout = 2 * time.Second
	nodeByeTimeout      = 2 * time.Second
)

// nodeLeg is the SIP leg from this node to the node that hosts a PIN
// caller's room (the embedded SFU's placement, Config.RoomNode). The
// caller's RTP session and this leg's are joined by two bridge.Relays:
// the audio crosses this node as it came, G.711, G.722 or Opus, never
// decoded here, and the room's node mixes it like any phone's. The
// caller's INFO digits go on as INFO; RFC 4733 events ride the relay.
// Hanging up either leg hangs up the other.
type nodeLeg struct {
	log    *slog.Logger
	call   *uac.Call
	sess   *rtp.Session
	caller *bridge.Leg
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// roomElsewhere returns the SIP address of the node hosting room when
// that is another node and the caller may be bridged there (the nodes
// share a secret to vouch for the PIN).
func (c *call) roomElsewhere(ctx context.Context, room string) (string, bool) {
	if c.g.tokens == nil || c.g.cfg.RoomNode == nil || c.rtc != nil {
		return "", false
	}
	return c.g.cfg.RoomNode(ctx, room)
}

// bridgeToNode puts the caller, whose PIN opened a room of the node at
// addr, into that room over a nodeLeg. It returns false, with no error,
// when that node does not take the call (dead, draining, the codec
// refused): the caller then joins the room here, as a single node would.
func (c *call) bridgeToNode(a ivr.Join, addr string) (bool, error) {
	neg, l := c.negotiated(), c.leg.Load()
	if neg == nil || l == nil {
		return false, nil
	}
	log := c.log.With("room", a.Room, "room_node", addr)
	n, err := c.dialNode(a, addr, neg, l, log)
	if err != nil {
		if cause := context.Cause(c.ctx); cause != nil {
			return false, cause
		}
		c.g.m.nodeBridges.WithLabelValues(bridgeFallback).Inc()
		log.Warn("the room's node did not take the PIN caller: joining here", "err", err)
		return false, nil
	}
	c.node = n
	c.hostPIN = a.Host
	c.room.Store(&a.Room)
	c.g.m.nodeBridges.WithLabelValues(bridgeOut).Inc()
	log.Info("PIN caller bridged to the room's node", "host", a.Host, "codec", l.Codec().String(),
		"sip_call_id", n.call.CallID(), "setup", n.call.SetupTime().Round(time.Millisecond))
	n.wg.Add(1)
	go n.watch(c.cancel)
	return true, nil
}

// dialNode places the INVITE to the room's node with the caller's codec
// alone, and joins the two RTP sessions once it is answered.
func (c *call) dialNode(a ivr.Join, addr string, neg *negotiated, l *bridge.Leg, log *slog.Logger) (*nodeLeg, error) {
	peer, err := resolveNode(c.ctx, addr)
	if err != nil {
		return nil, err
	}
	ports, err := c.g.cfg.PortPool.Allocate()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPorts, err)
	}
	offer, err := sdp.Offer(sdp.Policy{
		Codecs: []sdp.Codec{neg.sdpCodec}, SRTP: sdp.SRTPDisable,
		Addr: c.g.mediaAddr(ports, peer), AudioPort: int(ports.RTPAddr().Port()),
		RTCPMux: true, Ptime: sdp.DefaultPtime, Username: "roombridge",
	})
	if err != nil {
		_ = ports.Close()
		return nil, err
	}
	tok := c.g.tokens.mint(nodeClaim{room: a.Room, host: a.Host, name: c.name(), node: c.g.cfg.NodeID}, time.Now())
	ctx, cancel := context.WithTimeout(c.ctx, nodeDialTimeout)
	defer cancel()
	call, err := uac.Dial(ctx, uac.Config{
		Target:          "sip:" + a.Room + "@" + addr + ";" + StayParam,
		FromUser:        digits(c.ic.From().User),
		FromDisplay:     c.name(),
		UserAgent:       "roombridge-node",
		Headers:         []uac.Header{{Name: NodeBridgeHeader, Value: tok}},
		Offer:           offer.Marshal(),
		ResponseTimeout: nodeResponseTimeout,
		Logger:          log.With("component", "nodeleg"),
	})
	if err != nil {
		_ = ports.Close()
		return nil, err
	}
	n := &nodeLeg{log: log, call: call, caller: l, stop: make(chan struct{})}
	if err := n.join(offer, neg, ports, c.g.cfg.RTPTimeout, c.sess.Load(), c.cancel); err != nil {
		_ = ports.Close()
		n.hangup()
		return nil, err
	}
	return n, nil
}

// join starts the leg's RTP session on ports with the node's answer and
// relays between it and the caller's session.
func (n *nodeLeg) join(offer *sdp.Session, neg *negotiated, ports *rtp.PortPair, timeout time.Duration,
	callerSess *rtp.Session, end context.CancelCauseFunc,
) error {
	bn, err := acceptAnswer(offer, n.call.Answer())
	if err != nil {
		return err
	}
	if bn.codec != neg.codec || callerSess == nil {
		return fmt.Errorf("%w: the room's node answered %s to %s", sip.ErrNoCommonCodec, bn.codec, neg.codec)
	}
	clock := neg.codec.ClockRate()
	toCaller := bridge.RelayConfig{FromMedia: bn.recvPT, ToMedia: neg.sendPT}
	toNode := bridge.RelayConfig{FromMedia: neg.recvPT, ToMedia: bn.sendPT}
	if bn.te != nil && neg.remote != nil {
		if te := peerEvent(neg.remote.Audio, clock); te != nil {
			toCaller.FromTE, toCaller.ToTE, toCaller.TE = bn.te.PT, te.PT, true
		}
	}
	if neg.te != nil && bn.remote != nil {
		if te := peerEvent(bn.remote.Audio, clock); te != nil {
			toNode.FromTE, toNode.ToTE, toNode.TE = neg.te.PT, te.PT, true
		}
	}
	sess, err := rtp.NewSession(rtp.SessionConfig{
		Ports:       ports,
		PayloadType: bn.recvPT,
		ClockRate:   clock,
		Remote:      bn.remoteRTP,
		RemoteRTCP:  bn.remoteRTCP,
		RTCPMux:     bn.rtcpMux,
		Timeout:     timeout,
		Codec:       bn.codec,
		Handler:     bridge.NewRelay(callerSess, toCaller),
		Logger:      n.log,
	})
	if err != nil {
		return err
	}
	n.sess = sess
	sess.OnTimeout(func() { end(rtp.ErrTimeout) })
	n.caller.StopClock()
	n.caller.SetRelay(bridge.NewRelay(sess, toNode))
	return nil
}

// watch ends the caller's call when the node's leg ends.
func (n *nodeLeg) watch(end context.CancelCauseFunc) {
	defer n.wg.Done()
	select {
	case <-n.call.Context().Done():
		end(fmt.Errorf("%w: %w", ErrNodeLegEnded, context.Cause(n.call.Context())))
	case <-n.stop:
	}
}

// digit sends a key the caller sent as INFO on to the room's node (its
// in-call commands, *6).
func (n *nodeLeg) digit(ctx context.Context, key byte) {
	ctx, cancel := context.WithTimeout(ctx, nodeByeTimeout)
	defer cancel()
	body := fmt.Sprintf("Signal=%c\r\nDuration=160\r\n", key)
	if err := n.call.SendInfo(ctx, sip.ContentTypeDTMFRelay, []byte(body)); err != nil {
		n.log.Debug("INFO digit not sent to the room's node", "err", err)
	}
}

// close ends the leg (BYE unless the node hung up) and frees its ports
// and goroutines; nil does nothing.
func (n *nodeLeg) close() {
	if n == nil {
		return
	}
	n.once.Do(func() {
		n.caller.SetRelay(nil)
		close(n.stop)
		n.wg.Wait()
		if n.sess != nil {
			_ = n.sess.Close()
		}
		n.hangup()
	})
}

func (n *nodeLeg) hangup() {
	ctx, cancel := context.WithTimeout(context.Background(), nodeByeTimeout)
	defer cancel()
	if err := n.call.Hangup(ctx); err != nil {
		n.log.Debug("BYE to the room's node", "err", err)
	}
}

// resolveNode is the address of a node's node.sip_address (host:port).
func resolveNode(ctx context.Context, addr string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("node address %q: %w", addr, err)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("node address %q: %w", addr, err)
	}
	p, err := netip.ParseAddrPort(net.JoinHostPort(ips[0].Unmap().String(), port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("node address %q: %w", addr, err)
	}
	return p, nil
}
