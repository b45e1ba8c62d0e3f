package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/roombridge/roombridge/gateway/media/dtmf"
	"github.com/roombridge/roombridge/gateway/sdp"
	"github.com/roombridge/roombridge/gateway/sip"
	"github.com/roombridge/roombridge/ivr"
	"github.com/roombridge/roombridge/ivr/prompts"
)

// call is one SIP leg from INVITE to hang-up. It lives as long as
// Gateway.HandleCall: its context is cancelled with a cause when it must
// end, and everything it started (ports, RTP session, room participant,
// its place in the room hub) is released before HandleCall returns.
type call struct {
	// legMedia is the leg's media and its place in a room, shared with
	// dial-outs (legmedia.go); it holds g, log, id and the call's context.
	legMedia

	ic    *sip.IncomingCall
	start time.Time

	// Set during setup by the handler goroutine; read by teardown on the
	// same goroutine.
	host    bool // joined with the host PIN
	hostPIN bool // the PIN keyed (here or on the node that sent the call) is the host's
	// bridged is set on a PIN caller another node sent here (nodein.go);
	// node on a PIN caller of ours bridged to its room's node (nodeleg.go).
	bridged  *nodeClaim
	node     *nodeLeg
	prompts  *prompts.Set
	lockKeys []string

	// digits come from the leg (RFC 4733, in-band) and from INFO; the
	// handler goroutine merges them (merger) and acts on them. promptEnded
	// carries the ids of prompts played to their end by the leg's clock.
	promptEnded chan uint64
	merger      *dtmf.Merger
	merged      []dtmf.Digit
	star        time.Time // when * started an in-call command
	promptSeq   uint64
	pending     *pendingJoin // a direct call's background join (join.go)

	vid callVideo
}

func newCall(g *Gateway, ic *sip.IncomingCall, start time.Time, log *slog.Logger) *call {
	c := &call{
		legMedia: legMedia{
			g: g, log: log, id: legIdentity(ic.CallID()),
			digits: make(chan dtmf.Digit, digitQueue),
		},
		ic: ic, start: start,
		promptEnded: make(chan uint64, 4),
		merged:      make([]dtmf.Digit, 0, 8),
	}
	c.merger, _ = dtmf.NewMerger(dtmf.MergerConfig{})
	c.video = c
	c.ctx, c.cancel = context.WithCancelCause(ic.Context())
	return c
}

// run takes the call from routing to its end and returns the result label
// for metrics and the cause of the end.
func (c *call) run() (result string, err error) {
	defer c.cancel(ErrCallDone)
	defer func() {
		if terr := c.teardown(); terr != nil {
			c.log.Warn("call teardown", "err", terr)
		}
	}()

	var lockMode string
	if t := c.ic.Trunk(); t != nil {
		lockMode = t.PINLockout
	}
	c.lockKeys = lockoutKeys(c.ic.Source(), c.ic.From().User, lockMode)
	if key, locked := c.g.lock.Locked(c.lockKeys...); locked {
		c.g.m.ivrOutcomes.WithLabelValues(outcomeLockedOut).Inc()
		c.log.Info("call refused: locked out after wrong PINs", "key", c.g.logKey(key))
		return c.reject(ErrLockedOut)
	}
	dest, err := c.g.route(c.ctx, c.ic)
	if err != nil {
		return c.reject(err)
	}
	if c.bridged = dest.bridged; c.bridged != nil {
		c.hostPIN = c.bridged.host
	}
	switch {
	case dest.callOut != "":
		c.log = c.log.With("click_to_call", dest.callOut, "participant", c.id)
	case !dest.ivr:
		c.log = c.log.With("room", dest.room.Name, "participant", c.id)
	default:
		c.log = c.log.With("ivr", true, "participant", c.id)
	}

	// A WebRTC offer (a browser's SIP stack) gets a PeerConnection
	// (webrtcleg.go), which has its own ports.
	webrtc := c.g.isWebRTCOffer(c.ic.Offer())
	if !webrtc {
		c.ports, err = c.g.cfg.PortPool.Allocate()
		if err != nil {
			return c.reject(fmt.Errorf("%w: %w", ErrNoPorts, err))
		}
		c.policy = c.g.policy(c.ic, c.ports)
		if c.videoWanted() {
			if err := c.reserveVideo(&c.policy); err != nil {
				c.log.Warn("video not negotiated", "err", err)
			}
		}
	}
	c.dtmfMode = c.g.dtmfMode(c.ic.Trunk())
	c.ic.OnReInvite(c.reinvite)
	c.ic.OnInfo(c.info)

	// With an offer in the INVITE we answer it now, so a bad offer is
	// refused before anyone hears a ring; a delayed offer gets ours in
	// the 200 and its answer in the ACK (RFC 3261 §13.2.1).
	var local *sdp.Session
	var answer []byte
	if webrtc {
		if answer, err = c.startWebRTC(c.ic.Offer()); err != nil {
			return c.reject(err)
		}
	} else if offer := c.ic.Offer(); offer != nil {
		neg, err := answerOffer(offer, c.policy)
		for err == nil && !c.ic.AnswerFits(neg.local.Marshal()) && c.dropContent(&c.policy) {
			neg, err = answerOffer(offer, c.policy)
		}
		if err != nil {
			return c.reject(err)
		}
		if !c.dtmfMode.Accepts(dtmf.SourceRFC4733, true) {
			neg.dropTelephoneEvent()
		}
		if dest.callOut != "" && neg.remote.Audio != nil {
			// The callee's keys reach the caller as RFC 4733 events
			// where the caller takes them.
			c.sendTE = peerEvent(neg.remote.Audio, neg.codec.ClockRate())
		}
		if err := c.startMedia(neg); err != nil {
			return c.reject(err)
		}
		c.startVideo(neg, false)
		local = neg.local
	} else if local, err = sdp.Offer(c.ownOffer(c.offerPolicy())); err != nil {
		return c.reject(err)
	} else if !c.dtmfMode.Accepts(dtmf.SourceRFC4733, true) {
		local.Audio.TelephoneEvent, local.Audio.TelephoneEvents = nil, nil
	}
	if dest.callOut != "" {
		return c.callOut(dest.callOut, local, answer)
	}
	// A direct call joins while it is answered, not before (a backend
	// known to be down got its 503 in HandleCall); an IVR call joins once
	// the PIN is known.
	if !dest.ivr && !dest.waitHost {
		c.startJoin(dest.room.Name)
	}
	if err := c.ic.Ringing(); err != nil {
		return c.reject(err)
	}
	if answer == nil {
		answer = local.Marshal()
	}
	if err := c.ic.Answer(answer); err != nil {
		if errors.Is(err, sip.ErrRemoteHangup) {
			// A BYE right behind the ACK: answered, and already over.
			// Webhook receivers still see the answer before the end.
			c.answered.Store(time.Now().UnixNano())
			c.g.observe(c, CallAnswered)
			if dest.ivr {
				c.g.m.ivrOutcomes.WithLabelValues(ivr.OutcomeHungUp.String()).Inc()
			}
			return resultAnswered, err
		}
		return c.endedEarly(err)
	}
	if c.leg.Load() == nil {
		neg, err := acceptAnswer(local, c.ic.AckSDP())
		if err != nil {
			c.log.Info("delayed offer: unusable answer in the ACK", "err", err)
			return resultNotAccept, err
		}
		if err := c.startMedia(neg); err != nil {
			return resultFailed, err
		}
		c.startVideo(neg, true)
	}
	l := c.leg.Load()
	now := time.Now()
	c.answered.Store(now.UnixNano())
	c.g.observe(c, CallAnswered)
	c.g.m.answerDelay.Observe(now.Sub(c.start).Seconds())
	c.log.Info("call answered", "codec", l.Codec().String(), "srtp", c.negotiated().srtp != nil,
		"dtmf", c.dtmfMode.String(), "telephone_event", l.TelephoneEvent(), "inband_dtmf", l.InbandDTMF(),
		"from", c.ic.LogFrom(), "setup", now.Sub(c.start).Round(time.Millisecond))
	c.prompts = dest.prompts
	switch {
	case dest.ivr:
		return resultAnswered, c.serveIVR(dest)
	case dest.waitHost:
		if err := c.holdForHost(dest.room.Name); err != nil {
			return resultAnswered, err
		}
	}
	if err := c.awaitJoin(); err != nil {
		return resultAnswered, err
	}
	if err := c.enterHub(); err != nil {
		return resultAnswered, err
	}
	if c.hostPIN {
		c.host = true
		c.g.hostJoined(dest.room.Name)
	}
	return resultAnswered, c.serve(nil)
}

// startMedia builds the leg and its RTP session from the negotiation.
func (c *call) startMedia(neg *negotiated) error {
	return c.legMedia.startMedia(neg, c.promptDone)
}

// reject refuses the call with the status code the SIP layer maps err to.
func (c *call) reject(err error) (string, error) {
	if cause := context.Cause(c.ctx); cause != nil {
		return c.endedEarly(cause)
	}
	if rerr := c.ic.RejectErr(err); rerr != nil {
		c.log.Debug("reject", "err", rerr)
	}
	c.log.Info("call rejected", "status", sip.StatusCode(err), "err", err)
	switch {
	case errors.Is(err, sip.ErrMoved):
		return resultMoved, err
	case errors.Is(err, sip.ErrNoSuchRoom):
		return resultNotFound, err
	case errors.Is(err, sip.ErrForbidden):
		return resultForbidden, err
	case errors.Is(err, sip.ErrNoCommonCodec), errors.Is(err, sip.ErrSRTPRequired), errors.Is(err, sip.ErrNotAcceptable):
		return resultNotAccept, err
	case errors.Is(err, sip.ErrOverloaded):
		return resultUnavailable, err
	}
	return resultFailed, err
}

// endedEarly classifies a call that ended before it was answered.
func (c *call) endedEarly(err error) (string, error) {
	if errors.Is(err, sip.ErrCanceled) || errors.Is(context.Cause(c.ctx), sip.ErrCanceled) {
		return resultCanceled, err
	}
	return resultFailed, err
}

// teardown releases what the call holds (legMedia.release).
func (c *call) teardown() error {
	c.waitJoin()
	c.node.close()
	if c.host {
		c.g.hostLeft(c.roomName)
	}
	c.logWebRTCMedia()
	return c.release(func() {
		if c.room.Load() != nil {
			c.g.observe(c, ParticipantLeft)
		}
	})
}
